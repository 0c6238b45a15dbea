package cli

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/cli/orgreg"
	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/spf13/cobra"
)

func newAdminCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Administration: the registration gate's networks, registered clients, the CLI package"}
	network := &cobra.Command{Use: "network", Short: "Networks whose clients must register before using channels"}
	network.AddCommand(newNetworkListCommand(env), newNetworkAddCommand(env), newNetworkRemoveCommand(env))
	cmd.AddCommand(network, newClientsCommand(env), newPublishCLICommand(env), orgreg.Command(orgreg.Deps{Stdin: os.Stdin,
		Stdout: env.Stdout, Stderr: env.Stderr, AddAt: addAt, RunE: runE, Connect: func(at string) (*client.Client, error) {
			if s, err := env.connect(at); err != nil {
				return nil, err
			} else {
				return s.c, nil
			}
		}, Server: func(at string) (*url.URL, error) {
			if t, err := env.target(at); err != nil {
				return nil, err
			} else {
				return t.base, nil
			}
		}}))
	return cmd
}

func newNetworkListCommand(env *Env) *cobra.Command {
	var at string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the networks that must register",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			rules, err := s.c.NetworkRules(cmd.Context())
			if err != nil {
				return env.keyRefused(s, err)
			}
			if asJSON {
				if rules.Rules == nil {
					rules.Rules = []client.NetworkRule{}
				}
				return output.JSON(env.Stdout, rules)
			}
			tw := output.Table(env.Stdout, "ID", "NETWORK", "ACTION", "NOTE", "ADDED", "BY")
			for _, r := range rules.Rules {
				output.Row(tw, strconv.FormatInt(r.ID, 10), r.CIDR, r.Action, r.Note, output.Day(r.CreatedAt), r.CreatedBy)
			}
			for _, c := range rules.Configured {
				output.Row(tw, "-", c, "require-registration", "from the server's configuration", "-", "-")
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(rules.ExemptChannels) > 0 {
				fmt.Fprintf(env.Stdout, "\nAlways open: %s\n", strings.Join(rules.ExemptChannels, ", "))
			}
			return nil
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newNetworkAddCommand(env *Env) *cobra.Command {
	var at, note string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "add CIDR",
		Short:   "Make clients in a network register before using channels",
		Example: "  gatehouse admin network add 10.0.0.0/8 --note office",
		Args:    cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			r, err := s.c.AddNetworkRule(cmd.Context(), args[0], note)
			if err != nil {
				return env.keyRefused(s, err)
			}
			if asJSON {
				return output.JSON(env.Stdout, r)
			}
			fmt.Fprintf(env.Stdout, "Clients in %s must now register (rule %d).\n", r.CIDR, r.ID)
			return nil
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().StringVar(&note, "note", "", "a note for other administrators")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newNetworkRemoveCommand(env *Env) *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "remove ID|CIDR",
		Short: "Remove a network rule",
		Args:  cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				rules, err := s.c.NetworkRules(cmd.Context())
				if err != nil {
					return env.keyRefused(s, err)
				}
				for _, r := range rules.Rules {
					if r.CIDR == args[0] {
						id = r.ID
					}
				}
				if id == 0 {
					return exitf(ExitFailure, "No rule for %s; see gatehouse admin network list.", args[0])
				}
			}
			if err := s.c.RemoveNetworkRule(cmd.Context(), id); err != nil {
				return env.keyRefused(s, err)
			}
			fmt.Fprintf(env.Stdout, "Removed network rule %s.\n", args[0])
			return nil
		}),
	}
	addAt(cmd, &at)
	return cmd
}

func newClientsCommand(env *Env) *cobra.Command {
	var at string
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "List registered conda clients, most recently seen first",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			cs, err := s.c.Clients(cmd.Context(), limit)
			if err != nil {
				return env.keyRefused(s, err)
			}
			if asJSON {
				if cs == nil {
					cs = []client.RegisteredClient{}
				}
				return output.JSON(env.Stdout, cs)
			}
			tw := output.Table(env.Stdout, "USER", "KEY", "ADDRESS", "CLIENT", "REQUESTS", "FIRST SEEN", "LAST SEEN")
			for _, c := range cs {
				ua := c.UserAgent
				if len(ua) > 40 {
					ua = ua[:37] + "..."
				}
				output.Row(tw, c.Username, c.KeyName, c.IP, ua, strconv.FormatInt(c.Requests, 10), output.Day(c.FirstSeen), output.Day(c.LastSeen))
			}
			return tw.Flush()
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many clients")
	return cmd
}
