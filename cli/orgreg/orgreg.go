// Package orgreg holds the CLI commands of organization-wide registration
// (gatehouse admin org-token ...): organization admins create, list and
// revoke registration tokens and see the registered clients; an
// administrator produces what machines get (an org_token file and a
// .condarc) and installs the token on a machine.
package orgreg

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/orgtoken"
	"github.com/spf13/cobra"
)

// Deps is what the commands need from the CLI around them.
type Deps struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Connect returns an API client for the server named by at (or the
	// remembered one) with its key.
	Connect func(at string) (*client.Client, error)
	// Server returns the server's base URL, without needing a key.
	Server func(at string) (*url.URL, error)
	// AddAt adds the --at flag.
	AddAt func(cmd *cobra.Command, at *string)
	// RunE wraps a command's function with the CLI's error handling.
	RunE func(func(*cobra.Command, []string) error) func(*cobra.Command, []string) error
}

// DefaultInstallPath is where anaconda-anon-usage looks first.
const DefaultInstallPath = "/etc/conda/org_token"

// Command returns "org-token" and its subcommands.
func Command(d Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "org-token",
		Short: "Organization registration tokens: register an organization's machines at once",
		Long: `An organization registration token makes every conda client that carries it count
as registered on networks that require registration. conda with the
anaconda-anon-usage plugin sends it by itself once the token is in an org_token
file (/etc/conda/org_token, ~/.conda/org_token, ...) or in
ANACONDA_ANON_USAGE_ORG_TOKEN; other clients get it with
"gatehouse register --org-token TOKEN". Registration is not authorization: it
opens public channels only, never a private one.`,
	}
	cmd.AddCommand(createCommand(d), listCommand(d), revokeCommand(d), clientsCommand(d), configCommand(d), installCommand(d))
	return cmd
}

func createCommand(d Deps) *cobra.Command {
	var at, org, name string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create --org ORG --name NAME",
		Short: "Create a registration token of an organization (shown once)",
		Args:  cobra.NoArgs,
		RunE: d.RunE(func(cmd *cobra.Command, _ []string) error {
			c, err := d.Connect(at)
			if err != nil {
				return err
			}
			t, err := c.CreateRegistrationToken(cmd.Context(), org, name)
			if err != nil {
				return err
			}
			if asJSON {
				return output.JSON(d.Stdout, t)
			}
			fmt.Fprintf(d.Stdout, "%s\n", t.Token)
			fmt.Fprintf(d.Stderr, "Registration token %d %q of %s. It is shown this once: store it now.\n"+
				"Roll it out with: gatehouse admin org-token config --token-file FILE --out DIR (an org_token file and a .condarc),\n"+
				"or on one machine: sudo gatehouse admin org-token install --token-file FILE\n", t.ID, t.Name, t.Org)
			return nil
		}),
	}
	d.AddAt(cmd, &at)
	cmd.Flags().StringVar(&org, "org", "", "the organization (required)")
	cmd.Flags().StringVar(&name, "name", "", "where the token goes, such as laptops (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON")
	_ = cmd.MarkFlagRequired("org")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func listCommand(d Deps) *cobra.Command {
	var at, org string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list --org ORG",
		Short: "List an organization's registration tokens, with last use and client counts",
		Args:  cobra.NoArgs,
		RunE: d.RunE(func(cmd *cobra.Command, _ []string) error {
			c, err := d.Connect(at)
			if err != nil {
				return err
			}
			list, err := c.ListRegistrationTokens(cmd.Context(), org)
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []client.RegistrationToken{}
				}
				return output.JSON(d.Stdout, map[string]any{"registration_tokens": list})
			}
			w := tabwriter.NewWriter(d.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tTOKEN\tCLIENTS\tLAST SEEN\tCREATED\tSTATUS")
			for _, t := range list {
				status := "active"
				if !t.RevokedAt.IsZero() {
					status = "revoked " + when(t.RevokedAt)
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s by %s\t%s\n", t.ID, t.Name, t.Hint, t.Clients, when(t.LastSeenAt), when(t.CreatedAt), t.CreatedBy, status)
			}
			return w.Flush()
		}),
	}
	d.AddAt(cmd, &at)
	cmd.Flags().StringVar(&org, "org", "", "the organization (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}

func revokeCommand(d Deps) *cobra.Command {
	var at, org string
	cmd := &cobra.Command{
		Use:   "revoke --org ORG ID",
		Short: "Revoke a registration token: its clients are unregistered within seconds",
		Args:  cobra.ExactArgs(1),
		RunE: d.RunE(func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("%q is not a token ID: see gatehouse admin org-token list --org %s", args[0], org)
			}
			c, err := d.Connect(at)
			if err != nil {
				return err
			}
			t, err := c.RevokeRegistrationToken(cmd.Context(), org, id)
			if err != nil {
				return err
			}
			fmt.Fprintf(d.Stdout, "Revoked registration token %d %q of %s.\n", t.ID, t.Name, t.Org)
			return nil
		}),
	}
	d.AddAt(cmd, &at)
	cmd.Flags().StringVar(&org, "org", "", "the organization (required)")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}

func clientsCommand(d Deps) *cobra.Command {
	var at, org, user, network string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "clients --org ORG",
		Short: "List the clients registered with an organization",
		Args:  cobra.NoArgs,
		RunE: d.RunE(func(cmd *cobra.Command, _ []string) error {
			c, err := d.Connect(at)
			if err != nil {
				return err
			}
			cs, total, err := c.OrgClients(cmd.Context(), org, user, network)
			if err != nil {
				return err
			}
			if asJSON {
				if cs == nil {
					cs = []client.RegisteredClient{}
				}
				return output.JSON(d.Stdout, map[string]any{"clients": cs, "total": total})
			}
			w := tabwriter.NewWriter(d.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CLIENT\tMACHINE\tCONDA\tPLATFORM\tNETWORK\tIP\tFIRST SEEN\tLAST SEEN\tREQUESTS")
			for _, c := range cs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", dash(c.ClientToken), dash(c.Machine), dash(c.CondaVersion),
					dash(c.Platform), dash(c.Network), dash(c.IP), when(c.FirstSeen), when(c.LastSeen), c.Requests)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(d.Stderr, "%d of %d clients of %s.\n", len(cs), total, org)
			return nil
		}),
	}
	d.AddAt(cmd, &at)
	cmd.Flags().StringVar(&org, "org", "", "the organization (required)")
	cmd.Flags().StringVar(&user, "user", "", "only this user's clients")
	cmd.Flags().StringVar(&network, "network", "", "only clients from this gated network, such as 10.0.0.0/8")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON")
	_ = cmd.MarkFlagRequired("org")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readToken takes the token from --token-file (a path, or - for standard
// input) so that it never sits in the process list or shell history.
func readToken(d Deps, file string) (string, error) {
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(d.Stdin, 4096))
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	tok := strings.TrimSpace(line)
	if err := orgtoken.Check(tok); err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	return tok, nil
}

// CondaRC is the .condarc an organization rolls out: the server's
// channels by name, and anaconda-anon-usage kept on, since it is what
// sends the organization token.
func CondaRC(server *url.URL) string {
	alias := strings.TrimSuffix(server.String(), "/") + "/repo"
	return "# Written by gatehouse admin org-token config.\n" +
		"channel_alias: " + alias + "\n" +
		"# anaconda-anon-usage adds the organization token (org_token) to every\n" +
		"# request; keep it on or this machine counts as unregistered.\n" +
		"anaconda_anon_usage: true\n"
}

func configCommand(d Deps) *cobra.Command {
	var at, tokenFile, out string
	cmd := &cobra.Command{
		Use:   "config --token-file FILE --out DIR",
		Short: "Write what machines get: an org_token file and a .condarc",
		Long: `Write DIR/org_token (the token, for /etc/conda/org_token or ~/.conda/org_token)
and DIR/.condarc (channel_alias for this server, anaconda_anon_usage kept on),
for configuration management or device management software to roll out.`,
		Args: cobra.NoArgs,
		RunE: d.RunE(func(cmd *cobra.Command, _ []string) error {
			tok, err := readToken(d, tokenFile)
			if err != nil {
				return err
			}
			server, err := d.Server(at)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			for name, body := range map[string]string{"org_token": tok + "\n", ".condarc": CondaRC(server)} {
				if err := writeFile(filepath.Join(out, name), []byte(body)); err != nil {
					return err
				}
				fmt.Fprintf(d.Stdout, "wrote %s\n", filepath.Join(out, name))
			}
			return nil
		}),
	}
	d.AddAt(cmd, &at)
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the token, or - for standard input (required)")
	cmd.Flags().StringVar(&out, "out", "", "directory to write into (required)")
	_ = cmd.MarkFlagRequired("token-file")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func installCommand(d Deps) *cobra.Command {
	var tokenFile, path string
	cmd := &cobra.Command{
		Use:   "install --token-file FILE",
		Short: "Install the organization token on this machine (" + DefaultInstallPath + ")",
		Args:  cobra.NoArgs,
		RunE: d.RunE(func(cmd *cobra.Command, _ []string) error {
			tok, err := readToken(d, tokenFile)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return installError(path, err)
			}
			if err := writeFile(path, []byte(tok+"\n")); err != nil {
				return installError(path, err)
			}
			fmt.Fprintf(d.Stdout, "Installed the organization token in %s: conda with anaconda-anon-usage now registers this machine.\n", path)
			return nil
		}),
	}
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the token, or - for standard input (required)")
	cmd.Flags().StringVar(&path, "path", DefaultInstallPath, "where to write the token")
	_ = cmd.MarkFlagRequired("token-file")
	return cmd
}

func installError(path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("cannot write %s: permission denied. Run it as root (sudo gatehouse admin org-token install ...), or choose a file you can write with --path (anaconda-anon-usage also reads ~/.conda/org_token)", path)
	}
	return fmt.Errorf("cannot write %s: %w", path, err)
}

// writeFile writes through a temporary file and a rename, readable by
// every user (the token registers, it does not authorize).
func writeFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".org_token-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	if _, err := w.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
