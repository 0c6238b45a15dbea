package cli

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/spf13/cobra"
)

func newChannelCommand(env *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "channel", Aliases: []string{"channels"}, Short: "Create, list, show and share conda channels"}
	cmd.AddCommand(newChannelCreateCommand(env), newChannelListCommand(env), newChannelShowCommand(env), newChannelGrantCommand(env))
	return cmd
}

func newChannelCreateCommand(env *Env) *cobra.Command {
	var at, owner string
	var private, public, asJSON bool
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a channel (private unless --public)",
		Long: `Create a channel. It is private, as on the web form: only you (or the
owning organization) and the people you grant a role can read it. With
--public anyone who may use the server can read it; uploading always needs a
role.`,
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if public && private {
				return exitf(ExitFailure, "Choose one: --public or --private (the default).")
			}
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			vis := "private"
			if public {
				vis = "public"
			}
			ch, err := s.c.CreateChannel(cmd.Context(), client.NewChannel{Name: args[0], Visibility: vis, Owner: owner})
			if err != nil {
				return env.keyRefused(s, err)
			}
			if asJSON {
				return output.JSON(env.Stdout, ch)
			}
			fmt.Fprintf(env.Stdout, "Created %s channel %s, owned by %s: %s\n", ch.Visibility, ch.Name, ch.Owner, ch.URL)
			return nil
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().BoolVar(&public, "public", false, "anyone who may use the server can read it")
	cmd.Flags().BoolVar(&private, "private", false, "only members can read it (the default)")
	cmd.Flags().StringVar(&owner, "owner", "", "an organization you administer to own it (default: you)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newChannelListCommand(env *Env) *cobra.Command {
	var at string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the channels you can see",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			chans, err := s.c.ListChannels(cmd.Context())
			if err != nil {
				return env.keyRefused(s, err)
			}
			if asJSON {
				if chans == nil {
					chans = []client.Channel{}
				}
				return output.JSON(env.Stdout, chans)
			}
			tw := output.Table(env.Stdout, "NAME", "VISIBILITY", "OWNER", "YOUR ROLE", "URL")
			for _, c := range chans {
				output.Row(tw, c.Name, c.Visibility, c.Owner, c.Role, c.URL)
			}
			return tw.Flush()
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// channelDetail is `channel show --json`.
type channelDetail struct {
	*client.Channel
	Members  []client.ChannelMember `json:"members"`
	Packages []client.Package       `json:"packages"`
}

func newChannelShowCommand(env *Env) *cobra.Command {
	var at string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a channel, its members and its packages",
		Args:  cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			ch, err := s.c.Channel(ctx, args[0])
			if err != nil {
				return env.keyRefused(s, err)
			}
			d := channelDetail{Channel: ch, Members: []client.ChannelMember{}, Packages: []client.Package{}}
			if m, err := s.c.ChannelMembers(ctx, ch.Name); err == nil && m != nil {
				d.Members = m
			}
			if p, err := s.c.ListPackages(ctx, ch.Name, ""); err == nil && p != nil {
				d.Packages = p
			}
			if asJSON {
				return output.JSON(env.Stdout, d)
			}
			w := env.Stdout
			fmt.Fprintf(w, "%s (%s, owned by %s; your role: %s)\n%s\n", ch.Name, ch.Visibility, ch.Owner, ch.Role, ch.URL)
			if len(d.Members) > 0 {
				fmt.Fprintln(w)
				tw := output.Table(w, "MEMBER", "ROLE", "SINCE")
				for _, m := range d.Members {
					output.Row(tw, m.Username, m.Role, output.Day(m.GrantedAt))
				}
				tw.Flush()
			}
			fmt.Fprintln(w)
			if len(d.Packages) == 0 {
				fmt.Fprintln(w, "No packages yet. Add some with: gatehouse upload FILE --channel "+ch.Name)
				return nil
			}
			tw := output.Table(w, "SUBDIR", "FILE", "SIZE", "UPLOADED")
			for _, p := range d.Packages {
				output.Row(tw, p.Subdir, p.Filename, output.Size(p.Size), output.Day(p.UploadedAt))
			}
			return tw.Flush()
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newChannelGrantCommand(env *Env) *cobra.Command {
	var at, role string
	var remove bool
	cmd := &cobra.Command{
		Use:   "grant CHANNEL USER --role read|write|admin",
		Short: "Give a user a role on a channel (or --remove it)",
		Args:  cobra.ExactArgs(2),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			s, err := env.connect(at)
			if err != nil {
				return err
			}
			if remove {
				if err := s.c.RevokeChannel(cmd.Context(), args[0], args[1]); err != nil {
					return env.keyRefused(s, err)
				}
				fmt.Fprintf(env.Stdout, "Removed %s's role on %s.\n", args[1], args[0])
				return nil
			}
			if err := s.c.GrantChannel(cmd.Context(), args[0], args[1], role); err != nil {
				return env.keyRefused(s, err)
			}
			fmt.Fprintf(env.Stdout, "%s now has %s access to %s.\n", args[1], role, args[0])
			return nil
		}),
	}
	addAt(cmd, &at)
	cmd.Flags().StringVar(&role, "role", "read", "read, write or admin")
	cmd.Flags().BoolVar(&remove, "remove", false, "remove the user's role instead")
	return cmd
}
