package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// RegistrationToken is an organization registration token as listed.
type RegistrationToken struct {
	ID         int64     `json:"id"`
	Org        string    `json:"org"`
	Name       string    `json:"name"`
	Hint       string    `json:"hint"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
	LastSeenAt time.Time `json:"last_seen_at"`
	RevokedAt  time.Time `json:"revoked_at"`
	Clients    int       `json:"clients"`
}

// CreatedRegistrationToken holds the token, shown this once.
type CreatedRegistrationToken struct {
	Token string `json:"token"`
	RegistrationToken
}

// CreateRegistrationToken makes a registration token of the organization.
func (c *Client) CreateRegistrationToken(ctx context.Context, org, name string) (*CreatedRegistrationToken, error) {
	var out CreatedRegistrationToken
	err := c.call(ctx, http.MethodPost, "/api/orgs/"+seg(org)+"/registration-tokens", map[string]string{"name": name}, &out, nil)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListRegistrationTokens lists the organization's registration tokens.
func (c *Client) ListRegistrationTokens(ctx context.Context, org string) ([]RegistrationToken, error) {
	var out struct {
		Tokens []RegistrationToken `json:"registration_tokens"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/orgs/"+seg(org)+"/registration-tokens", nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Tokens, nil
}

// RevokeRegistrationToken revokes one of the organization's tokens.
func (c *Client) RevokeRegistrationToken(ctx context.Context, org string, id int64) (*RegistrationToken, error) {
	var out RegistrationToken
	if err := c.call(ctx, http.MethodDelete, "/api/orgs/"+seg(org)+"/registration-tokens/"+strconv.FormatInt(id, 10), nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// OrgClients lists the organization's registered clients and their total.
func (c *Client) OrgClients(ctx context.Context, org, user, network string) ([]RegisteredClient, int, error) {
	q := url.Values{}
	if user != "" {
		q.Set("user", user)
	}
	if network != "" {
		q.Set("network", network)
	}
	p := "/api/orgs/" + seg(org) + "/clients"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var out struct {
		Clients []RegisteredClient `json:"clients"`
		Total   int                `json:"total"`
	}
	if err := c.call(ctx, http.MethodGet, p, nil, &out, nil); err != nil {
		return nil, 0, err
	}
	return out.Clients, out.Total, nil
}
