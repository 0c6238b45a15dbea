package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/credstore"
)

// Trusted publishing from the CLI: in a CI job that can have an OpenID
// Connect ID token (GitHub Actions with "id-token: write", GitLab CI with
// id_tokens, or any system that puts one in an environment variable),
// `gatehouse upload` with no stored key exchanges the token for a key that
// uploads to the channel for 15 minutes, and uses that.

// Environment variables the exchange reads.
const (
	envActionsURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envActionsToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
	// EnvIDToken holds an ID token for systems that hand one over
	// directly (GitLab CI: id_tokens: GATEHOUSE_ID_TOKEN: aud: ...).
	EnvIDToken = "GATEHOUSE_ID_TOKEN"
	// EnvAudience overrides the audience asked of GitHub Actions.
	EnvAudience = "GATEHOUSE_OIDC_AUDIENCE"
)

// sourceTrusted marks a key from a trusted-publishing exchange.
const sourceTrusted credstore.Source = "a trusted-publishing exchange"

// ciIDToken returns the CI job's ID token for audience, and where it came
// from; "" when this is no such job.
func (env *Env) ciIDToken(ctx context.Context, audience string) (token, from string, err error) {
	if tok := strings.TrimSpace(env.getenv(EnvIDToken)); tok != "" {
		return tok, "the environment variable " + EnvIDToken, nil
	}
	reqURL, reqToken := env.getenv(envActionsURL), env.getenv(envActionsToken)
	if reqURL == "" || reqToken == "" {
		return "", "", nil
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", "", fmt.Errorf("%s is not a URL", envActionsURL)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Authorization", "Bearer "+reqToken)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("asking GitHub Actions for an ID token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("GitHub Actions refused an ID token (HTTP %d): does the job have \"permissions: id-token: write\"?", resp.StatusCode)
	}
	var body struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil || body.Value == "" {
		return "", "", errors.New("GitHub Actions answered without an ID token")
	}
	return body.Value, "GitHub Actions", nil
}

// trustedSession exchanges the CI job's ID token for an upload key of the
// channel. ok is false when this is no CI job with an ID token.
func (env *Env) trustedSession(ctx context.Context, at, channel string) (s *session, ok bool, err error) {
	t, err := env.target(at)
	if err != nil {
		return nil, false, err
	}
	audience := env.getenv(EnvAudience)
	if audience == "" {
		audience = t.base.Host
	}
	tok, from, err := env.ciIDToken(ctx, audience)
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
