package sso

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// claims are the ID token claims sign-in reads.
type claims struct {
	Email             string          `json:"email"`
	EmailVerified     json.RawMessage `json:"email_verified"`
	PreferredUsername string          `json:"preferred_username"`
	Name              string          `json:"name"`
	Groups            json.RawMessage `json:"groups"`
}

// verified reads email_verified, which some providers send as a string.
func (c *claims) verified() bool {
	var b bool
	if json.Unmarshal(c.EmailVerified, &b) == nil {
		return b
	}
	var s string
	return json.Unmarshal(c.EmailVerified, &s) == nil && s == "true"
}

// groups reads the groups claim: a list of names, or one name.
func (c *claims) groups() []string {
	var list []string
	if json.Unmarshal(c.Groups, &list) != nil {
		var one string
		if json.Unmarshal(c.Groups, &one) != nil || one == "" {
			return nil
		}
		list = []string{one}
	}
	out := list[:0]
	for _, g := range list {
		if validGroup(g) {
			out = append(out, g)
		}
	}
	if len(out) > 200 {
		out = out[:200]
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// signIn links the provider's subject to an account (creating it on the
// first sign-in), then brings its organization role and channel grants in
// line with its groups.
func (s *Service) signIn(ctx context.Context, c *gatehouse.SSOConfig, subject string, cl *claims, cb gatehouse.SSOCallback) (*gatehouse.Principal, error) {
	email := strings.TrimSpace(cl.Email)
	domain := SplitEmail(email)
	// checklist K3: only verified addresses in a domain this organization's
	// confirmed claim covers.
	if !cl.verified() {
		return nil, refusal("Your identity provider has not verified your email address, so it cannot be used to sign in here.")
	}
	claim, err := s.cfg.Store.ConfirmedSSODomain(ctx, domain)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || (err == nil && claim.OrgID != c.OrgID) {
		return nil, refusal("The address " + email + " is not in a domain that " + c.Org + " signs in here.")
	} else if err != nil {
		return nil, err
	}
	if subject == "" || len(subject) > 255 {
		return nil, refusal("The ID token names no subject.")
	}
	id, err := s.cfg.Store.SSOIdentity(ctx, c.Issuer, subject)
	var u *gatehouse.User
	switch gatehouse.ErrorCode(err) {
	case "":
		if u, err = s.cfg.Store.UserByID(ctx, id.UserID); err != nil {
			return nil, err
		}
	case gatehouse.ENOTFOUND:
		id = &gatehouse.SSOIdentity{Issuer: c.Issuer, Subject: subject, OrgID: c.OrgID}
		if u, err = s.createUser(ctx, c, email, cl); err != nil {
			return nil, err
		}
		id.UserID = u.ID
	default:
		return nil, err
	}
	if u.Disabled {
		return nil, refusal("Your account here is disabled. Ask an administrator to enable it.")
	}
	id.Email, id.Groups, id.LastLoginAt = email, cl.groups(), s.now()
	p := &gatehouse.Principal{User: u, Method: gatehouse.AuthSession, Addr: cb.Addr}
	if err := s.sync(ctx, c, id, p); err != nil {
		return nil, err
	}
	return p, nil
}

// createUser makes the account of a first sign-in (just in time). An
// existing account with the same address is never taken over: that person
// signs in with their password, or an administrator sorts it out
// (checklist K3).
func (s *Service) createUser(ctx context.Context, c *gatehouse.SSOConfig, email string, cl *claims) (*gatehouse.User, error) {
	same, err := s.cfg.Store.UsersByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if len(same) > 0 {
		return nil, refusal("An account with the address " + email + " exists already and is not linked to " + c.Org +
			"'s sign-in. Sign in with its username and password, or ask an administrator to link it.")
	}
	base := usernameFrom(cl.PreferredUsername, email)
	now := s.now()
	for i := 1; i <= 20; i++ {
		name := base
		if i > 1 {
			suffix := "-" + strconv.Itoa(i)
			name = strings.TrimRight(base[:min(len(base), 39-len(suffix))], "-_") + suffix
		}
		u := &gatehouse.User{Username: name, Email: email, CreatedAt: now}
		err := s.cfg.Store.Atomic(ctx, func(tx gatehouse.Store) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			e := s.event(nil, gatehouse.AuditUserCreate, "user:"+u.Username)
			e.Actor, e.Detail = "sso:"+c.Org, "just in time, first sign-in through "+c.Issuer
			return tx.AppendAudit(ctx, e)
		})
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			continue
		}
		return u, err
	}
	return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "No free username could be found for %s; ask an administrator.", email)
}

var notName = regexp.MustCompile(`[^a-z0-9_-]+`)

// usernameFrom makes a username out of the provider's preferred username,
// or the address's local part: lower case, the characters names allow.
func usernameFrom(preferred, email string) string {
	src := preferred
	if at := strings.IndexByte(src, '@'); at >= 0 {
		src = src[:at]
	}
	if src == "" {
		src, _, _ = strings.Cut(email, "@")
	}
	n := notName.ReplaceAllString(strings.ToLower(src), "-")
	n = strings.Trim(n, "-_")
	if len(n) > 39 {
		n = strings.TrimRight(n[:39], "-_")
	}
	if n == "" || gatehouse.ValidateName("username", n) != nil {
		n = "user"
	}
	return n
}

// sync gives the role and grants the groups map to, and takes back what
// the last sign-in's groups gave and these no longer do (checklist K4).
// Roles and grants set by hand are left alone: SSO only moves what it
// gave. Everything commits with the identity and its audit event.
func (s *Service) sync(ctx context.Context, c *gatehouse.SSOConfig, id *gatehouse.SSOIdentity, p *gatehouse.Principal) error {
	wantRole := gatehouse.OrgRole("")
	wantChans := map[string]gatehouse.ChannelRole{}
	for _, g := range id.Groups {
		if r, ok := c.GroupRoles[g]; ok && rank(r) > rank(wantRole) {
			wantRole = r
		}
		for ch, r := range c.GroupChannels[g] {
			if r > wantChans[ch] {
				wantChans[ch] = r
			}
		}
	}
	var changes []string
	var touched []int64
	rolesChanged := false
	err := s.cfg.Store.Atomic(ctx, func(tx gatehouse.Store) error {
		changes, touched, rolesChanged = nil, nil, false
		m, err := tx.OrgMember(ctx, c.OrgID, id.UserID)
		if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return err
		}
		prev := id.GrantedRole
		switch {
		case wantRole != "" && m == nil:
			if err := tx.PutOrgMember(ctx, c.OrgID, id.UserID, wantRole); err != nil {
				return err
			}
			id.GrantedRole, rolesChanged = wantRole, true
			changes = append(changes, "role="+string(wantRole))
		case wantRole != "" && m.Role == prev && m.Role != wantRole:
			if err := tx.PutOrgMember(ctx, c.OrgID, id.UserID, wantRole); err != nil {
				return err
			}
			id.GrantedRole, rolesChanged = wantRole, true
			changes = append(changes, "role="+string(wantRole))
		case wantRole != "" && m.Role == wantRole:
			id.GrantedRole = wantRole
		case wantRole == "" && m != nil && prev != "" && m.Role == prev:
			if err := tx.RemoveOrgMember(ctx, c.OrgID, id.UserID); err != nil {
				return err
			}
			id.GrantedRole, rolesChanged = "", true
			changes = append(changes, "role removed")
		case wantRole == "":
			id.GrantedRole = ""
		}
		granted := map[int64]gatehouse.ChannelRole{}
		wantByID := map[int64]gatehouse.ChannelRole{}
		for name, r := range wantChans {
			ch, err := tx.ChannelByName(ctx, name)
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || (err == nil && ch.OwnerOrgID != c.OrgID) {
				continue
			} else if err != nil {
				return err
			}
			wantByID[ch.ID] = r
		}
		ids := map[int64]bool{}
		for chID := range id.GrantedChannels {
			ids[chID] = true
		}
		for chID := range wantByID {
			ids[chID] = true
		}
		for chID := range ids {
			cur, err := grantOf(ctx, tx, chID, id.UserID)
			if err != nil {
				return err
			}
			prevRole, gave := id.GrantedChannels[chID]
			want, wanted := wantByID[chID]
			ours := cur == gatehouse.NoAccess || (gave && cur == prevRole)
			switch {
			case wanted && ours && cur != want:
				if err := tx.PutChannelGrant(ctx, chID, id.UserID, want, s.now()); err != nil {
					return err
				}
				granted[chID] = want
				touched = append(touched, chID)
				changes = append(changes, "channel_id:"+strconv.FormatInt(chID, 10)+"="+want.String())
			case wanted && ours:
				granted[chID] = want
			case !wanted && gave && cur == prevRole:
				if err := tx.DeleteChannelGrant(ctx, chID, id.UserID); err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
					return err
				}
				touched = append(touched, chID)
				changes = append(changes, "channel_id:"+strconv.FormatInt(chID, 10)+" removed")
			}
		}
		id.GrantedChannels = granted
		if err := tx.PutSSOIdentity(ctx, id); err != nil {
			return err
		}
		if len(changes) > 0 {
			e := s.event(p, gatehouse.AuditSSOSync, "org:"+c.Org+" user:"+p.User.Username)
			e.Actor, e.Detail = "sso:"+c.Org, "groups="+strings.Join(id.Groups, ",")+" "+strings.Join(changes, " ")
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		e := s.event(p, gatehouse.AuditSSOSignIn, "org:"+c.Org)
		e.Detail = "issuer=" + c.Issuer
		return tx.AppendAudit(ctx, e)
	})
	if err != nil {
		return err
	}
	if rolesChanged {
		s.cfg.Changed(gatehouse.Change{Kind: gatehouse.ChangeRoles})
	}
	for _, chID := range touched {
		s.cfg.Changed(gatehouse.Change{Kind: gatehouse.ChangeChannel, ChannelID: chID})
	}
	return nil
}

// rank orders the roles SSO gives; "" is none.
func rank(r gatehouse.OrgRole) int {
	switch r {
	case gatehouse.OrgMember:
		return 1
	case gatehouse.OrgAdmin:
		return 2
	case gatehouse.OrgOwner:
		return 3
	}
	return 0
}

// grantOf is the user's explicit grant on the channel, NoAccess if none.
func grantOf(ctx context.Context, tx gatehouse.Store, channelID, userID int64) (gatehouse.ChannelRole, error) {
	gs, err := tx.ChannelGrants(ctx, channelID)
	if err != nil {
		return gatehouse.NoAccess, err
	}
	for _, g := range gs {
		if g.UserID == userID {
			return g.Role, nil
		}
	}
	return gatehouse.NoAccess, nil
}
