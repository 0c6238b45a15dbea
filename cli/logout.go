package cli

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credstore"
	"github.com/spf13/cobra"
)

func newLogoutCommand(env *Env) *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Revoke the stored key on the server, then remove it from this machine",
		Long: `Revoke the stored key on the server, then remove it from this machine (the
server first, so a key never outlives its removal here). If the server cannot be reached, the key is removed here anyway and you are
told to revoke it in Account Settings → API Keys. The files gatehouse register
wrote for this server's key are cleaned up too. A key set in the environment,
a Docker secret or the config file is not gatehouse's to remove.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			t, err := env.target(at)
			if err != nil {
				return err
			}
			entry, src, err := credstore.Lookup(env.creds(), t.domain)
			if errors.Is(err, credstore.ErrNotFound) {
				fmt.Fprintf(env.Stderr, "Not logged in to %s: no key is stored for it.\n", t.domain)
				return nil
			}
			if err != nil {
				return err
			}
			if !removable(src) {
				return exitf(ExitFailure, "The key for %s comes from %s, which gatehouse cannot remove. %s",
					t.domain, env.sourceText(src), removeHint(src))
			}

			c, err := env.newClient(t, entry.APIKey)
			if err != nil {
				return err
			}
			revoked, name, warning := revokeOwnKey(cmd, c)

			if err := credstore.Delete(env.creds(), t.domain); err != nil && !errors.Is(err, credstore.ErrNotFound) {
				state := "was not revoked on the server"
				if revoked {
					state = "was revoked on the server"
				}
				return fmt.Errorf("the key %s, but removing it from %s failed: %w", state, env.sourceText(src), err)
			}
			if warning != "" {
				env.warnf("%s", warning)
			}
			if err := env.unregister(t, entry.APIKey, false); err != nil {
				env.warnf("cleaning up the conda client files failed: %v", err)
			}
			switch {
			case revoked:
				fmt.Fprintf(env.Stdout, "Logged out of %s: key %q revoked on the server and removed from %s.\n", t.domain, name, env.sourceText(src))
			default:
				fmt.Fprintf(env.Stdout, "Logged out of %s: the key was removed from %s.\n", t.domain, env.sourceText(src))
			}
			return nil
		}),
	}
	addAt(cmd, &at)
	return cmd
}

// revokeOwnKey revokes the key c authenticates with. It reports whether
// the server revoked it, the key's name, and what to tell the person when
// it did not (empty when there is nothing to worry about).
func revokeOwnKey(cmd *cobra.Command, c *client.Client) (revoked bool, name, warning string) {
	ctx := cmd.Context()
	a, err := c.Account(ctx)
	if err == nil && a.Key != nil {
		name = a.Key.Name
		err = c.RevokeKey(ctx, a.Key.ID)
		if err == nil {
			return true, name, ""
		}
	}
	const where = "Revoke it in Account Settings → API Keys"
	switch {
	case err == nil:
		return false, name, "the server did not say which key this is, so it was not revoked. " + where + "."
	case client.IsStatus(err, http.StatusUnauthorized):
		// Expired, revoked or unknown: nothing left to revoke.
		return false, name, ""
	case client.IsUnreachable(err):
		return false, name, fmt.Sprintf("%v The key was removed from this machine but NOT revoked on the server. %s when you can.", err, where)
	}
	return false, name, fmt.Sprintf("the server refused to revoke the key (%v). It was removed from this machine but NOT revoked. %s.", err, where)
}

// removeHint says how to remove a key gatehouse cannot.
func removeHint(src credstore.Source) string {
	switch src {
	case credstore.SourceEnv:
		return "Unset it: unset " + credstore.EnvAPIKey
	case credstore.SourceSecret:
		return "Remove the secret from the container's configuration."
	case credstore.SourceConfig:
		return "Delete the api_key line under [plugin.auth]."
	}
	return ""
}
