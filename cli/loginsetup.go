package cli

import (
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/credstore"
)

// After a login the machine's conda clients get the new key at once (what
// gatehouse register does), so that no further command is needed and none
// of them keeps the key the login just replaced; and the server becomes
// the default for later commands, as anaconda-auth remembers its domain.

// setUpClients gives key to conda, mamba and rattler/pixi for t, one line
// per client. oldKey is the key this machine held before the login: when
// the new key cannot read channels, the entries holding the old one (which
// the server revoked or will refuse) are taken out instead.
func (env *Env) setUpClients(t *target, key string, channels bool, oldKey string) error {
	if !channels {
		if oldKey != "" {
			if err := env.unregister(t, oldKey, false); err != nil {
				return fmt.Errorf("removing the previous key from the conda client files failed: %w", err)
			}
		}
		fmt.Fprintf(env.Stdout, "The key has no Platform channels scope, so conda, mamba and pixi were not given it. Log in with --scopes user,channels for that.\n")
		return nil
	}
	changes, err := env.registerChanges(t, key)
	for _, c := range changes {
		if c.Path == "" {
			continue
		}
		switch c.Action {
		case "skipped":
			env.warnf("%s not set up: %s %s", c.Client, env.tilde(c.Path), c.Detail)
		case "unchanged":
			fmt.Fprintf(env.Stdout, "%s: already uses the key (%s)\n", c.Client, env.tilde(c.Path))
		default:
			fmt.Fprintf(env.Stdout, "%s: %s the key for %s (%s)\n", c.Client, c.Action, t.domain, env.tilde(c.Path))
		}
	}
	if err != nil {
		return exitf(ExitFailure, "Logged in, but setting up the conda clients failed: %v. Fix that, then run: gatehouse register --at %s", err, t.domain)
	}
	return nil
}

// rememberServer makes t the server commands use without --at: domain
// under [plugin.auth] in ~/.anaconda/config.toml, where anaconda-auth
// keeps it too. The scheme is written only where a bare host would be
// read differently (https on a loopback address, or plain http).
func (env *Env) rememberServer(t *target) {
	if t.base.Path != "" {
		// A server under a path prefix cannot be a bare domain.
		return
	}
	value := t.domain
	if u, err := ParseServer(value); err != nil || u.Scheme != t.base.Scheme {
		value = t.base.Scheme + "://" + t.domain
	}
	cfg, err := credstore.LoadConfig(env.creds())
	if err != nil {
		return
	}
	if cur, err := ParseServer(cfg.Domain); err == nil && cfg.Domain != "" && strings.EqualFold(cur.String(), t.base.String()) {
		return
	}
	if err := credstore.SetConfigValue(env.creds(), "domain", value); err != nil {
		env.warnf("could not remember %s as the default server (%v); give --at %s to later commands.", t.domain, err, t.domain)
		return
	}
	fmt.Fprintf(env.Stdout, "%s is now the default server (domain in %s): later commands need no --at.\n", t.domain, env.tilde(cfg.Path))
}
