package cli

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/cli/citoken"
	"github.com/gatehouse-dev/gatehouse/credstore"
)

// Trusted publishing from the CLI: in a CI job that can have an OpenID
// Connect ID token (GitHub Actions with "id-token: write", GitLab CI with
// id_tokens, or any system that puts one in an environment variable),
// `gatehouse upload` with no stored key exchanges the token for a key that
// uploads to the channel for 15 minutes, and uses that.

// sourceTrusted marks a key from a trusted-publishing exchange.
const sourceTrusted credstore.Source = "a trusted-publishing exchange"

// trustedSession exchanges the CI job's ID token for an upload key of the
// channel. ok is false when this is no CI job with an ID token.
func (env *Env) trustedSession(ctx context.Context, at, channel string) (s *session, ok bool, err error) {
	t, err := env.target(at)
	if err != nil {
		return nil, false, err
	}
	tok, from, err := citoken.Find(ctx, env.getenv, t.base.Host)
	if err != nil || tok == "" {
		return nil, false, err
	}
	anon, err := env.newClient(t, "")
	if err != nil {
		return nil, true, err
	}
	ek, err := anon.ExchangeIDToken(ctx, tok, channel)
	if err != nil {
		return nil, true, &ExitError{Code: ExitNoKey, Err: fmt.Errorf("trusted publishing with the ID token from %s was refused: %w", from, err)}
	}
	fmt.Fprintf(env.Stderr, "Trusted publishing: exchanged the ID token from %s for a key that uploads to %s until %s.\n",
		from, ek.Channel, ek.ExpiresAt.UTC().Format("15:04 UTC"))
	c, err := env.newClient(t, ek.Secret)
	if err != nil {
		return nil, true, err
	}
	return &session{t: t, entry: &credstore.Entry{Domain: t.domain, APIKey: ek.Secret}, source: sourceTrusted, c: c}, true, nil
}
