package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gatehouse-dev/gatehouse/cli/clientcfg"
	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/orgtoken"
	"github.com/spf13/cobra"
)

// change is one thing register did, or found done.
type change = clientcfg.Change

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
				if err2 := output.JSON(env.Stdout, map[string]any{"server": t.base.String(), "changes": changes}); err2 != nil {
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
		fmt.Fprintf(env.Stdout, "Use channels as %s<channel> (or set channel_alias: %s/repo in ~/.condarc and use -c <channel>).\n", clientcfg.CondaPrefix(t.base), t.base.String())
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

// clientEnv is the clientcfg view of the environment.
func (env *Env) clientEnv() clientcfg.Env {
	return clientcfg.Env{Getenv: env.getenv, Home: env.home, GOOS: env.goos()}
}

// registerChanges writes key into every client's file for t.
func (env *Env) registerChanges(t *target, key string) ([]change, error) {
	return clientcfg.Register(env.clientEnv(), clientcfg.Server{Base: t.base, Domain: t.domain}, key)
}

// unregisterChanges removes our entries for t: those holding key, or any
// gatehouse key when key is "".
func (env *Env) unregisterChanges(t *target, key string) ([]change, error) {
	return clientcfg.Unregister(env.clientEnv(), clientcfg.Server{Base: t.base, Domain: t.domain}, key)
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
