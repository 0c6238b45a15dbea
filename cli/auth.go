package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credstore"
	"github.com/spf13/cobra"
)

func newAuthCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Show and use the stored API key (api-key, whoami, login, logout)",
	}
	login := newLoginCommand(env)
	logout := newLogoutCommand(env)
	cmd.AddCommand(newAPIKeyCommand(env), newWhoamiCommand(env, "whoami"), login, logout)
	return cmd
}

func newAPIKeyCommand(env *Env) *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "api-key",
		Short: "Print the API key for the server, for scripts",
		Long: `Print the API key for the server and nothing else, so that

    export ANACONDA_AUTH_API_KEY="$(gatehouse auth api-key)"

works. The key is looked up like anaconda-auth does: ANACONDA_AUTH_API_KEY,
the Docker secret /run/secrets/ANACONDA_AUTH_API_KEY, api_key in
~/.anaconda/config.toml, then the keyring. With no key it prints nothing on
stdout, says why on stderr and exits with status 2 (1 when no server is
known), so a script that checks the status fails instead of exporting an
empty key: in CI, run it as a step of its own (set -e), or
KEY="$(gatehouse auth api-key)" || exit 1.

When the server can be reached, the key is checked first: one it refuses
(revoked, expired, unknown) is not printed, and the exit status is 2. When
it cannot be reached, the key is printed with a warning on stderr.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			t, err := env.target(at)
			if err != nil {
				return err
			}
			entry, src, err := credstore.Lookup(env.creds(), t.domain)
			if errors.Is(err, credstore.ErrNotFound) {
				return &ExitError{Code: ExitNoKey, Err: err}
			}
			if err != nil {
				return err
			}
			if strings.TrimSpace(entry.APIKey) == "" {
				return exitf(ExitNoKey, "The API key for %s is empty; nothing was printed. Run: gatehouse login --at %s", t.domain, t.domain)
			}
			if err := env.checkKey(cmd.Context(), &session{t: t, entry: entry, source: src}); err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, entry.APIKey)
			return nil
		}),
	}
	addAt(cmd, &at)
	return cmd
}

// keyCheckTimeout bounds auth api-key's check, so a script on a machine
// that cannot reach the server is not held up long.
const keyCheckTimeout = 5 * time.Second

// checkKey asks the server whether it accepts s's key: a refusal is an
// error with exit status 2; an unreachable server is a warning.
func (env *Env) checkKey(ctx context.Context, s *session) error {
	c, err := env.newClient(s.t, s.entry.APIKey, client.WithTimeout(keyCheckTimeout))
	if err != nil {
		return err
	}
	s.c = c
	_, err = c.Account(ctx)
	switch {
	case err == nil, client.IsStatus(err, http.StatusForbidden):
		// Accepted (a key without the User resources scope gets 403
		// here and still works for conda).
		return nil
	case client.IsUnreachable(err):
		env.warnf("%v The key was not checked.", err)
		return nil
	case client.IsStatus(err, http.StatusUnauthorized):
		return env.keyRefused(s, fmt.Errorf("API key for %s refused by the server, so it was not printed: %w", s.t.domain, err))
	}
	env.warnf("the key could not be checked: %v", err)
	return nil
}

// addAt adds the --at flag every server command has.
func addAt(cmd *cobra.Command, at *string) {
	cmd.Flags().StringVar(at, "at", "", "the server: a host, host:port or URL (default: ANACONDA_AUTH_DOMAIN or domain in ~/.anaconda/config.toml)")
}

// whoamiView is whoami's --json answer.
type whoamiView struct {
	Server string                 `json:"server"`
	Domain string                 `json:"domain"`
	User   client.User            `json:"user"`
	Scopes []string               `json:"scopes"`
	Key    *client.Key            `json:"key"`
	Orgs   []client.OrgMembership `json:"orgs"`
	Source string                 `json:"source"`
}

func newWhoamiCommand(env *Env, use string) *cobra.Command {
	var at string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use,
		Short: "Show who the stored key belongs to, its scopes and expiry",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			a, err := s.c.Account(cmd.Context())
			if err != nil {
				return env.keyRefused(s, err)
			}
			if asJSON {
				return output.JSON(env.Stdout, whoamiView{Server: s.t.base.String(), Domain: s.t.domain, User: a.User,
					Scopes: a.Scopes, Key: a.Key, Orgs: a.Orgs, Source: string(s.source)})
			}
			w := env.Stdout
			fmt.Fprintf(w, "Logged in to %s as %s.\n", s.t.domain, a.User.Username)
			tw := output.Table(w, "  Server:", s.t.base.String())
			user := a.User.Username
			if a.User.IsAdmin {
				user += " (administrator)"
			}
			output.Row(tw, "  User:", user)
			if a.Key != nil {
				output.Row(tw, "  Key:", fmt.Sprintf("%s (%s)", a.Key.Name, a.Key.Hint))
				output.Row(tw, "  Scopes:", strings.Join(a.Key.Scopes, ", "))
				output.Row(tw, "  Expires:", fmt.Sprintf("%s (%s)", output.Day(a.Key.ExpiresAt), output.Until(env.now(), a.Key.ExpiresAt)))
			}
			output.Row(tw, "  Key from:", env.sourceText(s.source))
			return tw.Flush()
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// keyRefused turns a refusal of the stored key into the server's sentence
// and the one thing to do about it, with exit status 2.
func (env *Env) keyRefused(s *session, err error) error {
	if client.IsStatus(err, http.StatusForbidden) && strings.Contains(err.Error(), "Administration scope") {
		// An administrator logged in without --admin.
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%w\nAdministrators: log in with the Administration scope: gatehouse login --admin --force --at %s", err, s.t.domain)}
	}
	if !client.IsStatus(err, http.StatusUnauthorized) {
		return err
	}
	var hint string
	switch s.source {
	case credstore.SourceEnv:
		hint = fmt.Sprintf("The key comes from %s: set it to a working key, or unset it and run: gatehouse login --at %s", credstore.EnvAPIKey, s.t.domain)
	case credstore.SourceSecret, credstore.SourceConfig:
		hint = fmt.Sprintf("The key comes from %s: replace or remove it, then run: gatehouse login --at %s", env.sourceText(s.source), s.t.domain)
	default:
		hint = "Run: gatehouse login --at " + s.t.domain
	}
	return &ExitError{Code: ExitNoKey, Err: fmt.Errorf("%w\n%s", err, hint)}
}
