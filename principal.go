package gatehouse

import "net/netip"

// AuthMethod is how a request proved who it is.
type AuthMethod string

const (
	AuthSession  AuthMethod = "session"  // browser session cookie
	AuthPassword AuthMethod = "password" // HTTP Basic with username and password
	AuthKey      AuthMethod = "key"      // an API key, in any of the accepted forms
	AuthOAuth    AuthMethod = "oauth"    // a short-lived OAuth access token (CLI login)
	AuthSystem   AuthMethod = "system"   // the server acting for itself (first start, publishing its CLI)
)

// Principal is the authenticated caller of one request: the user as they
// are at this moment, and the key they used, if any.
type Principal struct {
	User *User
	Key  *APIKey // nil unless Method is AuthKey (or AuthOAuth: the token's stand-in)
	// Token is the login token of an AuthOAuth caller, nil otherwise.
	Token  *AccessToken
	Method AuthMethod
	// Addr is the client's address, for the audit log and rate limits;
	// the zero Addr when the server acts for itself.
	Addr netip.Addr
	// Org is set when the caller is an organization service key: it acts
	// as the organization, on the organization's channels only, and User
	// is the organization's stand-in (ID 0, see OrgActor), never a person.
	Org *Org
}

// OrgActor is the User an organization service key acts as: ID 0, so no
// personal right, grant or key is ever found for it.
func OrgActor(o *Org) *User {
	return &User{ID: 0, Username: "org:" + o.Name, CreatedAt: o.CreatedAt}
}

// IsPerson reports whether the caller is a person (not an organization
// service key). Only people create keys, channels and organizations.
func (p *Principal) IsPerson() bool { return p.Org == nil && p.User != nil && p.User.ID != 0 }

// CapChannelRole cuts role, what the caller's account holds on the
// channel, down to what the key the caller used allows there. Without a
// key (a session, a password) it is role itself.
func (p *Principal) CapChannelRole(channel string, role ChannelRole) ChannelRole {
	if p == nil || p.Key == nil {
		return role
	}
	return p.Key.CapChannelRole(channel, role)
}

// Scopes returns what the caller may do. Sessions and passwords carry every
// scope the user holds; a key carries its own scopes, cut down to what the
// owner holds now (an administrator demoted loses ScopeAdmin on every key).
func (p *Principal) Scopes() Scopes {
	held := ScopeUser | ScopeChannels
	if p.User.IsAdmin {
		held |= ScopeAdmin
	}
	if p.Key != nil {
		return p.Key.Scopes & held
	}
	return held
}

// Require returns nil if the caller holds every scope in want, and an
// EFORBIDDEN error that names the missing scope otherwise.
func (p *Principal) Require(want Scopes) error {
	have := p.Scopes()
	if have.Has(want) {
		return nil
	}
	missing := want &^ have
	if p.Key == nil {
		return Errorf(EFORBIDDEN, "This needs administrator rights.")
	}
	return Errorf(EFORBIDDEN, "This key lacks the %s scope. Create a key that includes it in Account Settings → API Keys.", missing.Labels()[0])
}
