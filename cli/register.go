package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/orgtoken"
	"github.com/spf13/cobra"
)

// change is one thing register did, or found done.
type change struct {
	Client string `json:"client"`
	Path   string `json:"path"`
	// Action is added, updated, removed, unchanged or skipped.
	Action string `json:"action"`
	Detail string `json:"detail"`
}

func newRegisterCommand(env *Env) *cobra.Command {
	var at, orgToken string
	var remove, asJSON bool
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Set up conda, mamba and rattler/pixi on this machine to send your key to the server",
		Long: `Write the server's key into the files the conda clients read credentials from,
so they use its private channels with no further setup:

  rattler, pixi  $RATTLER_AUTH_FILE or ~/.rattler/credentials.json   {"HOST": {"BearerToken": KEY}}
  mamba          ~/.mamba/auth/authentication.json                   {"HOST:PORT": {"type": "BearerToken", "token": KEY}}
  conda          <anaconda-client token directory>/<quoted URL>.token  conda then puts /t/KEY/ into
                 URLs under https://HOST/repo/ (add_anaconda_token, on by default)

Other entries in those files are kept; an entry for this server that gatehouse
did not write is left alone and reported. Running it again changes nothing;
--remove takes out exactly what it added.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			var changes []change
			var err error
			var t *target
			if orgToken != "" { // registration only: public channels, on gated networks
				if err = orgtoken.Check(orgToken); err != nil {
					return err
				}
				if t, err = env.target(at); err != nil {
					return err
				}
				changes, err = env.registerChanges(t, orgToken)
			} else if remove {
				t, err = env.target(at)
				if err != nil {
					return err
				}
				changes, err = env.unregisterChanges(t, "")
			} else {
				s, err2 := env.connect(at)
				if err2 != nil {
					return err2
				}
				t = s.t
				// A key the server refuses would only break the clients.
				if _, err := s.c.Account(cmd.Context()); client.IsUnreachable(err) {
					env.warnf("%v The key was not checked.", err)
				} else if err != nil && !client.IsStatus(err, 403) {
					return env.keyRefused(s, err)
				}
				changes, err = env.registerChanges(t, s.entry.APIKey)
			}
			if asJSON {
				if changes == nil {
					changes = []change{}
				}
				if err2 := printJSON(env.Stdout, map[string]any{"server": t.base.String(), "changes": changes}); err2 != nil {
					return err2
				}
			} else {
				env.printChanges(t, changes, remove)
			}
			return err
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().BoolVar(&remove, "remove", false, "remove what register added")
	cmd.Flags().StringVar(&orgToken, "org-token", "", "write this organization registration token instead of your key")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the changes as JSON")
	return cmd
}

// printChanges tells the person what changed, file by file.
func (env *Env) printChanges(t *target, changes []change, removing bool) {
	changed := false
	for _, c := range changes {
		switch c.Action {
		case "unchanged":
			continue
		case "skipped":
			env.warnf("%s: %s", env.tilde(c.Path), c.Detail)
			continue
		}
		changed = true
		fmt.Fprintf(env.Stdout, "%s: %s %s (%s)\n", env.tilde(c.Path), c.Action, c.Detail, c.Client)
	}
	switch {
	case !changed && removing:
		fmt.Fprintf(env.Stdout, "Nothing changed: no conda client file holds a gatehouse key for %s.\n", t.domain)
	case !changed:
		fmt.Fprintf(env.Stdout, "Nothing changed: conda, mamba and rattler/pixi were already set up for %s.\n", t.domain)
	case !removing:
		fmt.Fprintf(env.Stdout, "Use channels as %s<channel> (or set channel_alias: %s/repo in ~/.condarc and use -c <channel>).\n", condaPrefix(t), t.base.String())
	}
}

// tilde shortens a path under the home directory.
func (env *Env) tilde(p string) string {
	home, err := env.home()
	if err == nil && home != "" && strings.HasPrefix(p, home+string(filepath.Separator)) {
		return "~" + p[len(home):]
	}
	return p
}

// registerChanges writes key into every client's file for t.
func (env *Env) registerChanges(t *target, key string) ([]change, error) {
	return env.eachClientFile(t, key, (*jsonCredFile).put, env.putCondaToken)
}

// unregisterChanges removes our entries for t: those holding key, or any
// gatehouse key when key is "".
func (env *Env) unregisterChanges(t *target, key string) ([]change, error) {
	return env.eachClientFile(t, key, (*jsonCredFile).remove, env.removeCondaToken)
}

// eachClientFile applies one edit to the rattler and mamba credential
// files and one to conda's token file, and reports every change and error.
func (env *Env) eachClientFile(t *target, key string, edit func(*jsonCredFile, string) (change, error),
	conda func(*target, string) (change, error)) ([]change, error) {
	var changes []change
	var errs []error
	for _, mk := range []func(*target, string) (*jsonCredFile, error){env.rattlerFile, env.mambaFile} {
		f, err := mk(t, key)
		if err == nil {
			var c change
			c, err = edit(f, key)
			changes = append(changes, c)
		}
		errs = append(errs, err)
	}
	c, err := conda(t, key)
	changes = append(changes, c)
	errs = append(errs, err)
	return changes, errors.Join(errs...)
}

// unregister is logout's clean-up: it removes the entries that hold key
// and prints what it changed (unless quiet).
func (env *Env) unregister(t *target, key string, quiet bool) error {
	changes, err := env.unregisterChanges(t, key)
	if !quiet {
		for _, c := range changes {
			if c.Action == "removed" {
				fmt.Fprintf(env.Stdout, "%s: removed %s (%s)\n", env.tilde(c.Path), c.Detail, c.Client)
			}
		}
	}
	return err
}

// ours reports whether a token was written by gatehouse: a gatehouse key,
// and the very key when want is set.
func ours(token, want string) bool {
	if want != "" {
		return token == want
	}
	return strings.HasPrefix(token, keyPrefix)
}

// put adds or updates the entry for the host.
func (f *jsonCredFile) put(key string) (change, error) {
	c := change{Client: f.client, Path: f.path, Detail: fmt.Sprintf("the key for %s", f.host)}
	m, err := readJSONObject(f.path)
	if err != nil {
		return c, err
	}
	old, exists := m[f.host]
	switch tok := f.token(old); {
	case !exists:
		c.Action = "added"
	case tok == key && jsonEqual(old, f.value):
		c.Action = "unchanged"
		return c, nil
	case ours(tok, ""):
		c.Action = "updated"
	default:
		c.Action = "skipped"
		c.Detail = fmt.Sprintf("it already holds other credentials for %s, which gatehouse did not write; left unchanged (remove that entry to let gatehouse manage it)", f.host)
		return c, nil
	}
	m[f.host] = f.value
	data, err := encodeJSONObject(m, f.indent)
	if err != nil {
		return c, err
	}
	return c, writeFileAtomic(f.path, data)
}

// remove deletes the host's entry if it is ours. A file left empty is
// deleted, unless it is a symlink (then it is emptied).
func (f *jsonCredFile) remove(key string) (change, error) {
	c := change{Client: f.client, Path: f.path, Detail: fmt.Sprintf("the key for %s", f.host), Action: "unchanged"}
	m, err := readJSONObject(f.path)
	if err != nil {
		return c, err
	}
	old, exists := m[f.host]
	if !exists || !ours(f.token(old), key) {
		return c, nil
	}
	delete(m, f.host)
	c.Action = "removed"
	if len(m) == 0 {
		if fi, err := os.Lstat(f.path); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			return c, removeFile(f.path)
		}
	}
	data, err := encodeJSONObject(m, f.indent)
	if err != nil {
		return c, err
	}
	return c, writeFileAtomic(f.path, data)
}

// putCondaToken writes conda's token file for t.
func (env *Env) putCondaToken(t *target, key string) (change, error) {
	c := change{Client: "conda", Detail: "the token for " + condaPrefix(t)}
	path, err := env.condaTokenPath(t)
	if err != nil {
		return c, err
	}
	c.Path = path
	old, err := readSmall(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Action = "added"
	case err != nil:
		return c, err
	case string(old) == key:
		c.Action = "unchanged"
		return c, nil
	case ours(string(bytes.TrimSpace(old)), ""):
		c.Action = "updated"
	default:
		c.Action = "skipped"
		c.Detail = "it holds a token gatehouse did not write; left unchanged (delete the file to let gatehouse manage it)"
		return c, nil
	}
	// conda reads the file whole and does not strip it: no newline.
	return c, writeFileAtomic(path, []byte(key))
}

// removeCondaToken deletes conda's token file for t if it is ours.
func (env *Env) removeCondaToken(t *target, key string) (change, error) {
	c := change{Client: "conda", Detail: "the token for " + condaPrefix(t), Action: "unchanged"}
	path, err := env.condaTokenPath(t)
	if err != nil {
		return c, err
	}
	c.Path = path
	old, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if !ours(string(bytes.TrimSpace(old)), key) {
		return c, nil
	}
	c.Action = "removed"
	return c, removeFile(path)
}

// jsonEqual compares two JSON values ignoring formatting.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
