package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// keyBody is NewKey on the wire: expires_at in RFC 3339 UTC, the only form
// the server accepts (checklist A2).
type keyBody struct {
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	ExpiresAt     string   `json:"expires_at,omitempty"`
	Channels      []string `json:"channels,omitempty"`
	ChannelAccess string   `json:"channel_access,omitempty"`
}

// body encodes k; a zero ExpiresAt is left out, which only the login's key
// creation accepts (the server then picks the longest its policies allow).
func (k NewKey) body() (keyBody, error) {
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	b := keyBody{Name: k.Name, Scopes: scopes, Channels: k.Channels, ChannelAccess: k.ChannelAccess}
	if !k.ExpiresAt.IsZero() {
		b.ExpiresAt = k.ExpiresAt.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return b, nil
}

// Account returns who the client's credential belongs to, with the key's
// scopes and expiry.
func (c *Client) Account(ctx context.Context) (*Account, error) {
	var a Account
	if err := c.call(ctx, http.MethodGet, "/api/account", nil, &a, nil); err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateKey creates a key for the caller. A key with the name of an active
// one replaces it.
func (c *Client) CreateKey(ctx context.Context, k NewKey) (*CreatedKey, error) {
	body, err := k.body()
	if err != nil {
		return nil, err
	}
	var out CreatedKey
	if err := c.call(ctx, http.MethodPost, "/api/keys", body, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateKeyWithToken creates a key with an OAuth access token (the last
// step of a CLI login). hostname is sent as X-Client-Hostname.
func (c *Client) CreateKeyWithToken(ctx context.Context, accessToken, hostname string, k NewKey) (*IAMKey, error) {
	body, err := k.body()
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+accessToken)
	if hostname != "" {
		h.Set("X-Client-Hostname", hostname)
	}
	var out IAMKey
	if err := c.call(ctx, http.MethodPost, "/api/iam/api-keys", body, &out, h); err != nil {
		return nil, err
	}
	if out.Secret == "" {
		return nil, errors.New("the server created a key but did not send it back; is this a Gatehouse server?")
	}
	return &out, nil
}

// CreateOrgKey creates a service key of the organization.
func (c *Client) CreateOrgKey(ctx context.Context, org string, k NewKey) (*CreatedKey, error) {
	if k.ExpiresAt.IsZero() {
		return nil, errors.New("an expiry date is required")
	}
	body, _ := k.body()
	var out CreatedKey
	if err := c.call(ctx, http.MethodPost, "/api/orgs/"+seg(org)+"/keys", body, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListOrgKeys lists the organization's service keys.
func (c *Client) ListOrgKeys(ctx context.Context, org string) ([]Key, error) {
	var out struct {
		Keys []Key `json:"keys"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/orgs/"+seg(org)+"/keys", nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Keys, nil
}

// RevokeOrgKey revokes one of the organization's service keys.
func (c *Client) RevokeOrgKey(ctx context.Context, org string, id int64) error {
	return c.call(ctx, http.MethodDelete, "/api/orgs/"+seg(org)+"/keys/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// ExchangedKey is the upload key a trusted-publishing exchange returns.
type ExchangedKey struct {
	Secret    string    `json:"key"`
	ExpiresAt time.Time `json:"expires_at"`
	Channel   string    `json:"channel"`
}

// ExchangeIDToken trades a CI job's OIDC ID token for a short-lived key
// that uploads to the channel (trusted publishing). No key is needed.
func (c *Client) ExchangeIDToken(ctx context.Context, idToken, channel string) (*ExchangedKey, error) {
	var out ExchangedKey
	body := map[string]string{"token": idToken, "channel": channel}
	if err := c.call(ctx, http.MethodPost, "/api/trusted-publishing/token", body, &out, nil); err != nil {
		return nil, err
	}
	if out.Secret == "" {
		return nil, errors.New("the server sent no key back; is this a Gatehouse server?")
	}
	return &out, nil
}

// ListKeys lists the caller's keys, newest first, revoked ones included.
func (c *Client) ListKeys(ctx context.Context) ([]Key, error) {
	var out struct {
		Keys []Key `json:"keys"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/keys", nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Keys, nil
}

// RevokeKey revokes one of the caller's keys. Revoking twice succeeds.
func (c *Client) RevokeKey(ctx context.Context, id int64) error {
	return c.call(ctx, http.MethodDelete, "/api/keys/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// CreateChannel creates a channel.
func (c *Client) CreateChannel(ctx context.Context, ch NewChannel) (*Channel, error) {
	var out Channel
	if err := c.call(ctx, http.MethodPost, "/api/channels", ch, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListChannels lists the channels the caller can see.
func (c *Client) ListChannels(ctx context.Context) ([]Channel, error) {
	var out struct {
		Channels []Channel `json:"channels"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/channels", nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Channels, nil
}

// Channel returns one channel.
func (c *Client) Channel(ctx context.Context, name string) (*Channel, error) {
	var out Channel
	if err := c.call(ctx, http.MethodGet, "/api/channels/"+seg(name), nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetChannelVisibility makes a channel "public" or "private".
func (c *Client) SetChannelVisibility(ctx context.Context, name, visibility string) (*Channel, error) {
	var out Channel
	in := map[string]string{"visibility": visibility}
	if err := c.call(ctx, http.MethodPatch, "/api/channels/"+seg(name), in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// ChannelMembers lists the explicit grants on a channel.
func (c *Client) ChannelMembers(ctx context.Context, channel string) ([]ChannelMember, error) {
	var out struct {
		Members []ChannelMember `json:"members"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/channels/"+seg(channel)+"/members", nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Members, nil
}

// GrantChannel gives user the role ("read", "write" or "admin") on channel.
func (c *Client) GrantChannel(ctx context.Context, channel, user, role string) error {
	in := map[string]string{"role": role}
	return c.call(ctx, http.MethodPut, "/api/channels/"+seg(channel)+"/members/"+seg(user), in, nil, nil)
}

// RevokeChannel removes user's grant on channel.
func (c *Client) RevokeChannel(ctx context.Context, channel, user string) error {
	return c.call(ctx, http.MethodDelete, "/api/channels/"+seg(channel)+"/members/"+seg(user), nil, nil, nil)
}

// ListPackages lists a channel's packages, in subdir ("" for all).
func (c *Client) ListPackages(ctx context.Context, channel, subdir string) ([]Package, error) {
	p := "/api/channels/" + seg(channel) + "/packages"
	if subdir != "" {
		p += "?subdir=" + url.QueryEscape(subdir)
	}
	var out struct {
		Packages []Package `json:"packages"`
	}
	if err := c.call(ctx, http.MethodGet, p, nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Packages, nil
}

// DeletePackage removes one package file from a channel.
func (c *Client) DeletePackage(ctx context.Context, channel, subdir, filename string) error {
	return c.call(ctx, http.MethodDelete, "/api/channels/"+seg(channel)+"/packages/"+seg(subdir)+"/"+seg(filename), nil, nil, nil)
}

// NetworkRules returns the registration gate's rules (administrators).
func (c *Client) NetworkRules(ctx context.Context) (*NetworkRules, error) {
	var out NetworkRules
	if err := c.call(ctx, http.MethodGet, "/api/admin/network-rules", nil, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// AddNetworkRule makes clients in cidr register before using channels.
func (c *Client) AddNetworkRule(ctx context.Context, cidr, note string) (*NetworkRule, error) {
	in := map[string]string{"cidr": cidr, "action": "require-registration", "note": note}
	var out NetworkRule
	if err := c.call(ctx, http.MethodPost, "/api/admin/network-rules", in, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveNetworkRule deletes a rule by its ID.
func (c *Client) RemoveNetworkRule(ctx context.Context, id int64) error {
	return c.call(ctx, http.MethodDelete, "/api/admin/network-rules/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// Clients lists registered conda clients, most recently seen first, at
// most limit (0 for the server's default).
func (c *Client) Clients(ctx context.Context, limit int) ([]RegisteredClient, error) {
	p := "/api/admin/clients"
	if limit > 0 {
		p += "?limit=" + strconv.Itoa(limit)
	}
	var out struct {
		Clients []RegisteredClient `json:"clients"`
	}
	if err := c.call(ctx, http.MethodGet, p, nil, &out, nil); err != nil {
		return nil, err
	}
	return out.Clients, nil
}

// Discover reads the server's OAuth metadata.
func (c *Client) Discover(ctx context.Context) (*Discovery, error) {
	var out Discovery
	notGatehouse := func(why string) error {
		return &NotGatehouseError{Host: c.base.Host, Message: fmt.Sprintf("%s is not a Gatehouse server: %s. Check the address: use the one the Gatehouse web pages are served from, such as --at packages.example.com or --at 127.0.0.1:8080.", c.base.String(), why)}
	}
	err := c.call(ctx, http.MethodGet, "/.well-known/openid-configuration", nil, &out, nil)
	var e *Error
	switch {
	case errors.As(err, &e) && e.Code == "":
		// Not one of our JSON errors: another program answered.
		return nil, notGatehouse(fmt.Sprintf("it answered %d %s to /.well-known/openid-configuration", e.Status, http.StatusText(e.Status)))
	case err != nil && !IsUnreachable(err) && e == nil:
		return nil, notGatehouse("its answer to /.well-known/openid-configuration is not the JSON a Gatehouse server sends")
	case err != nil:
		return nil, err
	case out.TokenEndpoint == "" || (out.AuthorizationEndpoint == "" && out.DeviceAuthorizationEndpoint == ""):
		return nil, notGatehouse("its OpenID metadata has no token or authorization endpoint")
	case !strings.HasSuffix(out.TokenEndpoint, "/oauth/token"):
		return nil, notGatehouse("it is another kind of OpenID provider (its token endpoint is " + out.TokenEndpoint + ")")
	}
	return &out, nil
}

// NotGatehouseError says the server answered, but is not Gatehouse.
type NotGatehouseError struct {
	Host    string
	Message string
}

func (e *NotGatehouseError) Error() string { return e.Message }

// seg escapes one path segment.
func seg(s string) string {
	return url.PathEscape(s)
}
