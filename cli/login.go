package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/cli/keyflags"
	"github.com/gatehouse-dev/gatehouse/cli/loginflow"
	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credstore"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
)

// ClientID is the OAuth client the CLI logs in as.
const ClientID = "gatehouse-cli"

type loginOptions struct {
	at      string
	device  bool
	force   bool
	expires string
	scopes  string
	admin   bool
	// expiresSet: --expires was given; otherwise the server's longest.
	expiresSet bool
}

func newLoginCommand(env *Env) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in in the browser and store an API key for this machine",
		Long: `Log in to a Gatehouse server and store an API key for this machine.

It opens your browser to approve the login (and prints the URL in case it
cannot), then creates a key named cli-<hostname> with the User resources and
Platform channels scopes, valid for 90 days, and stores it where
anaconda-auth keeps keys (~/.anaconda/keyring, or the system keyring). Then it
gives the key to conda, mamba and rattler/pixi on this machine (what gatehouse
register does), one line per client, and remembers the server (domain in
~/.anaconda/config.toml), so later commands need no --at. Logging in again
replaces that key everywhere; the server revokes the old one.

Administrators add --admin for a key that also holds the Administration
scope, which the gatehouse admin commands need; the browser asks to approve
it. Without it, an administrator's key cannot administer.

With --device, or when no browser can be opened (no display, an SSH session),
it prints a short code to enter on a page you open in any browser.`,
		Example: `  gatehouse login --at packages.example.com
  gatehouse login --at 127.0.0.1:8080 --device
  gatehouse login --at packages.example.com --admin --force
  gatehouse login --at packages.example.com --expires 90d --scopes channels`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			o.expiresSet = cmd.Flags().Changed("expires")
			return env.login(cmd.Context(), o)
		}),
	}
	addAt(cmd, &o.at)
	f := cmd.Flags()
	f.BoolVar(&o.device, "device", false, "log in with a code entered in a browser on any device")
	f.BoolVar(&o.force, "force", false, "log in even if the stored key still works")
	f.BoolVar(&o.admin, "admin", false, "administrators: add the Administration scope, for the gatehouse admin commands")
	f.StringVar(&o.expires, "expires", keyflags.DefaultExpires, "key lifetime: a number of days (90d), weeks (12w), 1y, or a date (2027-01-31); without it, "+keyflags.DefaultExpires+" or the longest the server's key policies allow, if shorter")
	f.StringVar(&o.scopes, "scopes", keyflags.DefaultScopes, "key scopes: user, channels (and admin, for administrators)")
	return cmd
}

func (env *Env) login(ctx context.Context, o loginOptions) error {
	t, err := env.target(o.at)
	if err != nil {
		return err
	}
	scopes, err := keyflags.ParseScopes(o.scopes)
	if err != nil {
		return err
	}
	if o.admin && !slices.Contains(scopes, "admin") {
		scopes = append(scopes, "admin")
	}
	// Without --expires the server picks the longest lifetime its key
	// policies allow (a year at most).
	var expiresAt time.Time
	if o.expiresSet {
		if expiresAt, err = keyflags.ParseExpiry(env.now(), o.expires); err != nil {
			return err
		}
	}
	if !o.force {
		if done, err := env.alreadyLoggedIn(ctx, t, slices.Contains(scopes, "admin")); done || err != nil {
			return err
		}
	}
	anon, err := env.newClient(t, "")
	if err != nil {
		return err
	}
	disc, err := anon.Discover(ctx)
	if err != nil {
		return err
	}
	hostname := env.hostname()
	name := "cli-" + hostname

	// The consent page shows the machine as it names itself (client_name):
	// the host name, not the key's name.
	ctx, cancel := context.WithTimeout(ctx, env.loginTimeout())
	defer cancel()
	flow := &loginflow.Flow{
		Config: &oauth2.Config{
			ClientID: ClientID,
			Scopes:   scopes,
			Endpoint: oauth2.Endpoint{
				AuthURL: disc.AuthorizationEndpoint, TokenURL: disc.TokenEndpoint,
				DeviceAuthURL: disc.DeviceAuthorizationEndpoint, AuthStyle: oauth2.AuthStyleInParams,
			},
		},
		ClientName: hostname, Domain: t.domain, Stderr: env.Stderr,
		HTTPClient: env.httpClient(t), UserAgent: "gatehouse-cli/" + env.version(),
		OpenBrowser: env.OpenBrowser, GOOS: env.goos(), Timeout: env.loginTimeout(),
	}

	var tok *oauth2.Token
	device := o.device || disc.AuthorizationEndpoint == ""
	if !device {
		if ok, why := loginflow.CanOpenBrowser(env.getenv, env.goos()); !ok {
			fmt.Fprintf(env.Stderr, "No browser can be opened here (%s); log in with a code instead.\n", why)
			device = true
		}
	}
	if !device {
		tok, err = flow.Browser(ctx)
		if errors.Is(err, loginflow.ErrNoBrowser) {
			fmt.Fprintf(env.Stderr, "%v; log in with a code instead.\n", err)
			device = true
		} else if err != nil {
			return err
		}
	}
	if device {
		if disc.DeviceAuthorizationEndpoint == "" {
			return exitf(ExitFailure, "This server does not offer login with a code (no device_authorization_endpoint); run gatehouse login on a machine with a browser.")
		}
		tok, err = flow.Device(ctx)
		if err != nil {
			return err
		}
	}

	// The key this machine holds now, which the new one replaces in the
	// conda client files.
	var oldKey string
	if prev, src, err := credstore.Lookup(env.creds(), t.domain); err == nil && removable(src) {
		oldKey = prev.APIKey
	}
	key, err := anon.CreateKeyWithToken(ctx, tok.AccessToken, hostname, client.NewKey{Name: name, Scopes: scopes, ExpiresAt: expiresAt})
	if err != nil && slices.Contains(scopes, "admin") && client.IsStatus(err, http.StatusForbidden) {
		return exitf(ExitFailure, "The login was approved, but the key was not created: %v\nOnly administrators can log in with --admin (or --scopes admin); log in without it.", err)
	}
	if err != nil {
		return fmt.Errorf("the login was approved, but creating the key failed: %w", err)
	}
	entry := &credstore.Entry{Domain: t.domain, APIKey: key.Secret}
	kc, err := env.newClient(t, key.Secret)
	if err != nil {
		return err
	}
	user := "your account"
	isAdmin := false
	if a, err := kc.Account(ctx); err == nil {
		entry.Username, user, isAdmin = a.User.Username, a.User.Username, a.User.IsAdmin
	}
	if err := credstore.Save(env.creds(), entry); err != nil {
		return fmt.Errorf("the key %q was created but could not be stored (%w); revoke it in Account Settings → API Keys and try again", key.Name, err)
	}
	fmt.Fprintf(env.Stdout, "Logged in to %s as %s. Key %q (%s) expires %s; stored in %s.\n",
		t.domain, user, key.Name, strings.Join(key.Scopes, ", "), output.Day(key.ExpiresAt), env.storeText())
	if _, src, err := credstore.Lookup(env.creds(), t.domain); err == nil && !removable(src) {
		env.warnf("%s is set and is used instead of the key just stored.", env.sourceText(src))
	}
	if isAdmin && !slices.Contains(key.Scopes, "admin") {
		fmt.Fprintf(env.Stdout, "You are an administrator; this key cannot run gatehouse admin commands. For one that can: gatehouse login --admin --force --at %s\n", t.domain)
	}
	env.rememberServer(t)
	return env.setUpClients(t, key.Secret, slices.Contains(key.Scopes, "channels"), oldKey)
}

// alreadyLoggedIn reports, and says, whether a stored key still works.
// With wantAdmin, a stored key without the Administration scope does not
// count: the login goes on to make one that has it.
func (env *Env) alreadyLoggedIn(ctx context.Context, t *target, wantAdmin bool) (bool, error) {
	entry, src, err := credstore.Lookup(env.creds(), t.domain)
	if errors.Is(err, credstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c, err := env.newClient(t, entry.APIKey)
	if err != nil {
		return false, err
	}
	a, err := c.Account(ctx)
	switch {
	case err == nil && wantAdmin && (a.Key == nil || !slices.Contains(a.Key.Scopes, "admin")):
		fmt.Fprintf(env.Stderr, "The stored key for %s has no Administration scope; logging in again for one that has it.\n", t.domain)
		return false, nil
	case err == nil:
		desc := ""
		if a.Key != nil {
			desc = fmt.Sprintf(" with key %q (expires %s)", a.Key.Name, output.Day(a.Key.ExpiresAt))
		}
		fmt.Fprintf(env.Stdout, "Already logged in to %s as %s%s, from %s. To log in again, run: gatehouse login --force --at %s\n",
			t.domain, a.User.Username, desc, env.sourceText(src), t.domain)
		return true, nil
	case client.IsStatus(err, http.StatusUnauthorized):
		fmt.Fprintf(env.Stderr, "The stored key no longer works: %v\nLogging in again.\n", err)
		return false, nil
	case client.IsStatus(err, http.StatusForbidden):
		fmt.Fprintf(env.Stdout, "A key for %s is stored (from %s) and the server accepts it. To replace it, run: gatehouse login --force --at %s\n",
			t.domain, env.sourceText(src), t.domain)
		return true, nil
	}
	return false, err
}

// storeText says where Save puts keys.
func (env *Env) storeText() string {
	cfg, err := credstore.LoadConfig(env.creds())
	if err == nil && cfg.PreferredTokenStorage == credstore.StorageSystem {
		return "the system keyring"
	}
	p, _ := env.creds().KeyringPath()
	return "the keyring file " + p
}

// hostname names this machine in the key's name.
func (env *Env) hostname() string {
	get := env.Hostname
	if get == nil {
		get = os.Hostname
	}
	h, err := get()
	h = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(h))
	if err != nil || h == "" {
		return "unknown-host"
	}
	if len(h) > 90 {
		h = h[:90]
	}
	return h
}
