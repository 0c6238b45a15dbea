// Package citoken finds the OpenID Connect ID token of the CI job the CLI
// runs in, for trusted publishing: GitHub Actions with "id-token: write"
// hands one out on request; GitLab CI (id_tokens) and other systems put
// one in GATEHOUSE_ID_TOKEN. The upload command exchanges it with the
// server for a short-lived upload key.
package citoken

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
)

// Environment variables Find reads.
const (
	envActionsURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envActionsToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
	// EnvIDToken holds an ID token for systems that hand one over
	// directly (GitLab CI: id_tokens: GATEHOUSE_ID_TOKEN: aud: ...).
	EnvIDToken = "GATEHOUSE_ID_TOKEN"
	// EnvAudience overrides the audience asked of GitHub Actions.
	EnvAudience = "GATEHOUSE_OIDC_AUDIENCE"
)

// Find returns the CI job's ID token, and where it came from (for
// messages); "" when this is no such job. getenv reads the environment.
// GitHub Actions is asked for a token for the audience in EnvAudience, or
// else defaultAudience (the server's host).
func Find(ctx context.Context, getenv func(string) string, defaultAudience string) (token, from string, err error) {
	if tok := strings.TrimSpace(getenv(EnvIDToken)); tok != "" {
		return tok, "the environment variable " + EnvIDToken, nil
	}
	reqURL, reqToken := getenv(envActionsURL), getenv(envActionsToken)
	if reqURL == "" || reqToken == "" {
		return "", "", nil
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", "", fmt.Errorf("%s is not a URL", envActionsURL)
	}
	audience := getenv(EnvAudience)
	if audience == "" {
		audience = defaultAudience
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
