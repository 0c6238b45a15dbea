package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/cli/keyflags"
	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/spf13/cobra"
)

func newKeysCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "List, create and revoke your API keys"}
	cmd.AddCommand(newKeysListCommand(env), newKeysCreateCommand(env), newKeysRevokeCommand(env))
	return cmd
}

func newKeysListCommand(env *Env) *cobra.Command {
	var at, org string
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List your API keys (never the keys themselves)",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			var keys []client.Key
			if org != "" {
				keys, err = s.c.ListOrgKeys(cmd.Context(), org)
			} else {
				keys, err = s.c.ListKeys(cmd.Context())
			}
			if err != nil {
				return env.keyRefused(s, err)
			}
			if !all {
				active := keys[:0]
				for _, k := range keys {
					if k.Status == "active" {
						active = append(active, k)
					}
				}
				keys = active
			}
			if asJSON {
				if keys == nil {
					keys = []client.Key{}
				}
				return output.JSON(env.Stdout, keys)
			}
			tw := output.Table(env.Stdout, "ID", "NAME", "KEY", "SCOPES", "CHANNELS", "STATUS", "EXPIRES", "LAST USED")
			for _, k := range keys {
				status := k.Status
				if k.ExpiringSoon {
					status += " (expires soon)"
				}
				output.Row(tw, strconv.FormatInt(k.ID, 10), k.Name, k.Hint, strings.Join(k.Scopes, ","), restriction(k), status, output.Day(k.ExpiresAt), output.DayPtr(k.LastUsedAt))
			}
			return tw.Flush()
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&all, "all", false, "include expired and revoked keys")
	cmd.Flags().StringVar(&org, "org", "", "list the service keys of this organization")
	return cmd
}

// restriction says what a key may reach: "all" or its channels, and its
// access cap.
func restriction(k client.Key) string {
	out := "all"
	if len(k.Channels) > 0 {
		out = strings.Join(k.Channels, ",")
	}
	if k.ChannelAccess != "" {
		out += " (" + k.ChannelAccess + ")"
	}
	return out
}

// splitList reads a comma-separated flag; nil for none.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func newKeysCreateCommand(env *Env) *cobra.Command {
	var at, name, scopes, expires, channels, access, org string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create an API key and print it (shown this once)",
		Long: `Create an API key and print it on standard output; details go to standard
error. The key is shown only this once. A key with the name of one of your
active keys replaces it, and the old one stops working at once.`,
		Example: `  KEY=$(gatehouse keys create --name ci --scopes channels --expires 90d)
  gatehouse keys create --name docker --scopes channels --channels lab,tools --channel-access read
  gatehouse keys create --org acme --name ci --scopes channels --expires 30d`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			sc, err := keyflags.ParseScopes(scopes)
			if err != nil {
				return err
			}
			exp, err := keyflags.ParseExpiry(env.now(), expires)
			if err != nil {
				return err
			}
			nk := client.NewKey{Name: name, Scopes: sc, ExpiresAt: exp, Channels: splitList(channels), ChannelAccess: access}
			if access != "" && access != "read" && access != "write" {
				return exitf(ExitFailure, "--channel-access %q: use read or write.", access)
			}
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			var k *client.CreatedKey
			if org != "" {
				k, err = s.c.CreateOrgKey(cmd.Context(), org, nk)
			} else {
				k, err = s.c.CreateKey(cmd.Context(), nk)
			}
			if err != nil {
				return env.keyRefused(s, err)
			}
			if asJSON {
				return output.JSON(env.Stdout, k)
			}
			fmt.Fprintln(env.Stdout, k.Secret)
			fmt.Fprintf(env.Stderr, "Created key %q (id %d, %s), expires %s. It is shown only this once.\n", k.Name, k.ID, strings.Join(k.Scopes, ", "), output.Day(k.ExpiresAt))
			if len(k.Channels) > 0 || k.ChannelAccess != "" {
				fmt.Fprintf(env.Stderr, "It is limited to %s.\n", restriction(k.Key))
			}
			if k.Replaced != nil {
				fmt.Fprintf(env.Stderr, "It replaces key %d of the same name, which no longer works.\n", k.Replaced.ID)
			}
			return nil
		}),
	}
	addAt(cmd, &at)
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the key's name (required)")
	f.StringVar(&scopes, "scopes", keyflags.DefaultScopes, "scopes: user, channels, admin")
	f.StringVar(&expires, "expires", keyflags.DefaultExpires, "lifetime: days (90d), weeks (12w), 1y, or a date (2027-01-31)")
	f.StringVar(&channels, "channels", "", "limit the key to these channels (comma-separated)")
	f.StringVar(&access, "channel-access", "", "cap the key's access to channels: read or write")
	f.StringVar(&org, "org", "", "create a service key of this organization (for its owners and admins)")
	f.BoolVar(&asJSON, "json", false, "print JSON (it holds the key)")
	cmd.MarkFlagRequired("name")
	return cmd
}

func newKeysRevokeCommand(env *Env) *cobra.Command {
	var at, org string
	var yes bool
	cmd := &cobra.Command{
		Use:   "revoke ID|NAME...",
		Short: "Revoke API keys by ID or by name; they stop working at once",
		Long: `Revoke API keys by ID or by name; they stop working at once. Revoking the
key this CLI itself uses asks first (--yes answers for scripts); afterwards
run gatehouse login again.`,
		Args: cobra.MinimumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			// The key this CLI uses, so revoking it is never a surprise.
			var own *client.Key
			if org == "" {
				if a, err := s.c.Account(cmd.Context()); err == nil && a.Key != nil {
					own = a.Key
				}
			}
			var keys []client.Key
			for _, arg := range args {
				id, err := strconv.ParseInt(arg, 10, 64)
				if err != nil {
					if keys == nil {
						if org != "" {
							keys, err = s.c.ListOrgKeys(cmd.Context(), org)
						} else {
							keys, err = s.c.ListKeys(cmd.Context())
						}
						if err != nil {
							return env.keyRefused(s, err)
						}
					}
					if id, err = keyByName(keys, arg); err != nil {
						return err
					}
				}
				if own != nil && id == own.ID {
					q := fmt.Sprintf("Key %s (%q) is the key this CLI uses for %s; revoking it logs this machine out. Revoke it?", arg, own.Name, s.t.domain)
					if !yes && !env.confirm(q) {
						return exitf(ExitFailure, "Not revoked: key %s (%q) is the key this CLI uses for %s. To revoke it anyway, pass --yes; or run gatehouse logout, which also cleans up this machine.", arg, own.Name, s.t.domain)
					}
				}
				revoke := s.c.RevokeKey
				if org != "" {
					revoke = func(ctx context.Context, id int64) error { return s.c.RevokeOrgKey(ctx, org, id) }
				}
				if err := revoke(cmd.Context(), id); err != nil {
					return env.keyRefused(s, err)
				}
				fmt.Fprintf(env.Stdout, "Revoked key %s.\n", arg)
				if own != nil && id == own.ID {
					env.warnf("that was the key this CLI uses for %s; log in again: gatehouse login --at %s", s.t.domain, s.t.domain)
				}
			}
			return nil
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().StringVar(&org, "org", "", "revoke service keys of this organization")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "revoke the key this CLI uses without asking")
	return cmd
}

// keyByName finds the active key with the name.
func keyByName(keys []client.Key, name string) (int64, error) {
	for _, k := range keys {
		if k.Name == name && k.Status == "active" {
			return k.ID, nil
		}
	}
	return 0, exitf(ExitFailure, "You have no active key named %q; see gatehouse keys list.", name)
}
