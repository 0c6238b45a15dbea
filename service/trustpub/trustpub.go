// Package trustpub is trusted publishing: a channel trusts CI identities
// (an OIDC issuer, an audience, and claims that must match), and a CI job
// of such an identity exchanges its ID token for a key that can only
// upload to that channel and expires within 15 minutes. Every exchange is
// audited with the claims that matched; every refused one with why.
package trustpub

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condaname"
	"github.com/gatehouse-dev/gatehouse/secret"
	"github.com/gatehouse-dev/gatehouse/service/idp"
)

// Config is what the service needs.
type Config struct {
	Store     gatehouse.Store
	Channels  gatehouse.ChannelService
	Providers *idp.Providers
	Clock     gatehouse.Clock
	Logger    *slog.Logger
	PublicURL *url.URL
	// Mint stores a new key, as the key service does (its audit event
	// included): an organization's when org is set.
	Mint func(ctx context.Context, p *gatehouse.Principal, key *gatehouse.APIKey, org *gatehouse.Org) (*gatehouse.NewKey, error)
	// Blocked and Failed are the failure budget of an address, shared with
	// bad keys (checklist B7).
	Blocked func(netip.Addr) error
	Failed  func(netip.Addr)
}

// Service implements gatehouse.TrustedPublishingService.
type Service struct {
	cfg Config
	now gatehouse.Clock
}

var _ gatehouse.TrustedPublishingService = (*Service)(nil)

// New returns the service.
func New(cfg Config) *Service { return &Service{cfg: cfg, now: cfg.Clock} }

var claimNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// AddPublisher makes the channel trust a CI identity; the channel's
// administrators may. At least one claim is required: an issuer alone
// (every repository on GitHub) is never trusted.
func (s *Service) AddPublisher(ctx context.Context, p *gatehouse.Principal, channel string, req gatehouse.TrustedPublisherRequest) (*gatehouse.TrustedPublisher, error) {
	if !p.IsPerson() {
		return nil, gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only people manage trusted publishers; use a personal key or sign in.")
	}
	ch, _, err := s.cfg.Channels.Channel(ctx, p, channel, gatehouse.ChannelAdmin)
	if err != nil {
		return nil, err
	}
	tp := &gatehouse.TrustedPublisher{ChannelID: ch.ID, Channel: ch.Name, Issuer: strings.TrimSpace(req.Issuer),
		Audience: strings.TrimSpace(req.Audience), CreatedAt: s.now(), CreatedBy: p.User.Username, Claims: map[string]string{}}
	if err := idp.ValidateIssuer("issuer", tp.Issuer); err != nil {
		return nil, err
	}
	if tp.Audience == "" {
		tp.Audience = s.cfg.PublicURL.Host
	}
	if len(tp.Audience) > 256 {
		return nil, gatehouse.FieldErrorf("audience", "The audience is at most 256 characters.")
	}
	if len(req.Claims) == 0 {
		return nil, gatehouse.FieldErrorf("claims", "Name at least one claim the CI's token must carry, such as \"repository\": \"acme/lab\" (GitHub Actions) or \"project_path\": \"acme/lab\" (GitLab).")
	}
	if len(req.Claims) > gatehouse.MaxPublisherClaims {
		return nil, gatehouse.FieldErrorf("claims", "A trusted publisher requires at most %d claims.", gatehouse.MaxPublisherClaims)
	}
	for k, v := range req.Claims {
		if !claimNameRE.MatchString(k) || k == "iss" || k == "aud" || k == "exp" {
			return nil, gatehouse.FieldErrorf("claims", "%q is not a claim name a publisher can require (lower-case letters, digits, '_').", truncate(k))
		}
		if v == "" || len(v) > 512 {
			return nil, gatehouse.FieldErrorf("claims", "The value of claim %q must be 1 to 512 characters.", k)
		}
		tp.Claims[k] = v
	}
	err = s.cfg.Store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.CreateTrustedPublisher(ctx, tp); err != nil {
			return err
		}
		e := event(p, gatehouse.AuditPublisherAdd, "channel:"+ch.Name+" publisher:"+strconv.FormatInt(tp.ID, 10), s.now())
		e.Detail = "issuer=" + tp.Issuer + " audience=" + tp.Audience + " claims=" + claimList(tp.Claims)
		return tx.AppendAudit(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	return tp, nil
}

// Publishers lists the channel's trusted publishers, for its
// administrators.
func (s *Service) Publishers(ctx context.Context, p *gatehouse.Principal, channel string) ([]*gatehouse.TrustedPublisher, error) {
	ch, _, err := s.cfg.Channels.Channel(ctx, p, channel, gatehouse.ChannelAdmin)
	if err != nil {
		return nil, err
	}
	tps, err := s.cfg.Store.TrustedPublishers(ctx, ch.ID)
	if tps == nil && err == nil {
		tps = []*gatehouse.TrustedPublisher{}
	}
	return tps, err
}

// RemovePublisher stops trusting one; keys it minted expire on their own
// within 15 minutes.
func (s *Service) RemovePublisher(ctx context.Context, p *gatehouse.Principal, channel string, id int64) error {
	if !p.IsPerson() {
		return gatehouse.Errorf(gatehouse.EFORBIDDEN, "Only people manage trusted publishers; use a personal key or sign in.")
	}
	ch, _, err := s.cfg.Channels.Channel(ctx, p, channel, gatehouse.ChannelAdmin)
	if err != nil {
		return err
	}
	return s.cfg.Store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.DeleteTrustedPublisher(ctx, ch.ID, id); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, event(p, gatehouse.AuditPublisherRemove, "channel:"+ch.Name+" publisher:"+strconv.FormatInt(id, 10), s.now()))
	})
}

func event(p *gatehouse.Principal, action, target string, now time.Time) *gatehouse.AuditEvent {
	e := &gatehouse.AuditEvent{Action: action, Target: target, Success: true, Time: now}
	if p != nil && p.User != nil {
		e.ActorID, e.Actor = p.User.ID, p.User.Username
	}
	if p != nil && p.Addr.IsValid() {
		e.IP = p.Addr.String()
	}
	return e
}

func claimList(c map[string]string) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + c[k]
	}
	return strings.Join(parts, ",")
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// refused is the error of an exchange that cannot succeed: 403, with why.
func refused(format string, args ...any) *gatehouse.Error {
	return &gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: "TRUSTED PUBLISHING REFUSED", Message: fmt.Sprintf(format, args...)}
}

// Exchange verifies a CI job's ID token against the channel's trusted
// publishers (signature, issuer, expiry, audience, claims, and that it was
// never exchanged before) and mints a key that can only upload to the
// channel, for at most 15 minutes (checklist K6, K7).
func (s *Service) Exchange(ctx context.Context, req gatehouse.TokenExchange) (*gatehouse.NewKey, *gatehouse.TrustedPublisher, error) {
	if err := s.cfg.Blocked(req.Addr); err != nil {
		return nil, nil, err
	}
	audit := &gatehouse.AuditEvent{Action: gatehouse.AuditTrustedExchange, Actor: "trusted-publishing",
		Target: "channel:" + truncate(req.Channel)}
	if req.Addr.IsValid() {
		audit.IP = req.Addr.String()
	}
	fail := func(why string, err error) (*gatehouse.NewKey, *gatehouse.TrustedPublisher, error) {
		if code := gatehouse.ErrorCode(err); code == gatehouse.EUNAUTHORIZED || code == gatehouse.EFORBIDDEN {
			s.cfg.Failed(req.Addr)
		}
		audit.Success, audit.Detail, audit.Time = false, why, s.now()
		if aerr := s.cfg.Store.AppendAudit(context.WithoutCancel(ctx), audit); aerr != nil {
			s.cfg.Logger.Error("audit write failed", "action", audit.Action, "err", aerr)
		}
		return nil, nil, err
	}
	noPublisher := refused("No trusted publisher of channel %q accepts tokens of this issuer. A channel administrator adds one in the channel's settings (POST /api/channels/%s/trusted-publishers).", truncate(req.Channel), url.PathEscape(truncate(req.Channel)))
	iss, err := idp.PeekIssuer(req.Token)
	if err != nil {
		return fail("not an ID token", err)
	}
	ch, err := s.cfg.Store.ChannelByName(ctx, req.Channel)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND || condaname.ValidateChannel(req.Channel) != nil {
		return fail("no such channel", noPublisher)
	} else if err != nil {
		return nil, nil, err
	}
	all, err := s.cfg.Store.TrustedPublishers(ctx, ch.ID)
	if err != nil {
		return nil, nil, err
	}
	var pubs []*gatehouse.TrustedPublisher
	for _, tp := range all {
		if tp.Issuer == iss {
			pubs = append(pubs, tp)
		}
	}
	if len(pubs) == 0 {
		return fail("no publisher for issuer "+truncate(iss), noPublisher)
	}
	idt, err := s.cfg.Providers.Verify(ctx, iss, "", req.Token)
	if err != nil {
		return fail("token refused: "+gatehouse.ErrorMessage(err), err)
	}
	var got map[string]any
	if err := idt.Claims(&got); err != nil {
		return fail("unreadable claims", refused("The token's claims cannot be read."))
	}
	var match *gatehouse.TrustedPublisher
	var mismatches []string
	audMatched := false
	for _, tp := range pubs {
		if !slices.Contains(idt.Audience, tp.Audience) {
			continue
		}
		audMatched = true
		if bad := mismatched(tp.Claims, got); len(bad) > 0 {
			mismatches = append(mismatches, bad...)
			continue
		}
		match = tp
		break
	}
	switch {
	case !audMatched:
		auds := make([]string, 0, len(pubs))
		for _, tp := range pubs {
			auds = append(auds, tp.Audience)
		}
		return fail("wrong audience "+strings.Join(idt.Audience, ","), &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED,
			Reason: "INVALID ID TOKEN", Message: fmt.Sprintf("The token was issued for the audience %s; channel %q expects %s. Ask your CI for a token with that audience.",
				strings.Join(idt.Audience, ", "), ch.Name, strings.Join(slices.Compact(auds), " or "))})
	case match == nil:
		slices.Sort(mismatches)
		mismatches = slices.Compact(mismatches)
		return fail("claims do not match: "+strings.Join(mismatches, ","), refused("No trusted publisher of channel %q accepts this token: its claims %s do not match.", ch.Name, strings.Join(mismatches, ", ")))
	}
	sum := sha256.Sum256([]byte(req.Token))
	if err := s.cfg.Store.UseIDToken(ctx, sum[:], idt.Expiry); err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			return fail("replayed token", &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID ID TOKEN",
				Message: "This ID token was exchanged already; each token works once. Ask your CI for a new one."})
		}
		return nil, nil, err
	}
	nk, err := s.mint(ctx, ch, match, req.Addr)
	if err != nil {
		return nil, nil, err
	}
	audit.Success, audit.Time = true, s.now()
	audit.Target = "channel:" + ch.Name + " publisher:" + strconv.FormatInt(match.ID, 10)
	audit.Detail = "issuer=" + iss + " matched " + claimList(match.Claims) + " key:" + strconv.FormatInt(nk.Key.ID, 10)
	if err := s.cfg.Store.AppendAudit(ctx, audit); err != nil {
		s.cfg.Logger.Error("audit write failed", "action", audit.Action, "err", err)
	}
	return nk, match, nil
}

// mismatched returns the names of required claims the token lacks or
// holds with another value.
func mismatched(want map[string]string, got map[string]any) []string {
	var bad []string
	for k, v := range want {
		if claimText(got[k]) != v {
			bad = append(bad, k)
		}
	}
	return bad
}

// claimText renders a claim value for comparison: strings as they are,
// numbers and booleans as JSON writes them; anything else never matches.
func claimText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return "\x00"
}

// mint makes the upload key of an exchange: owned by the channel's owner
// (an organization key for an organization's channel), limited to the
// channel, write access, Platform channels scope, 15 minutes.
func (s *Service) mint(ctx context.Context, ch *gatehouse.Channel, tp *gatehouse.TrustedPublisher, addr netip.Addr) (*gatehouse.NewKey, error) {
	now := s.now()
	key := &gatehouse.APIKey{Name: "trusted-publishing-" + strconv.FormatInt(tp.ID, 10) + "-" + secret.Token()[:8],
		Scopes: gatehouse.ScopeChannels, CreatedAt: now, ExpiresAt: now.Add(gatehouse.TrustedPublishingKeyLifetime),
		CreatedVia: gatehouse.CreatedViaTrustedPublishing, Channels: []string{ch.Name}, ChannelAccess: gatehouse.ChannelWrite}
	actor := &gatehouse.Principal{User: &gatehouse.User{Username: "trusted-publisher:" + strconv.FormatInt(tp.ID, 10)},
		Method: gatehouse.AuthMethod(gatehouse.CreatedViaTrustedPublishing), Addr: addr}
	var org *gatehouse.Org
	if ch.OwnerOrgID != 0 {
		o, err := s.cfg.Store.OrgByID(ctx, ch.OwnerOrgID)
		if err != nil {
			return nil, err
		}
		org = o
		// An organization key records a person: the one who set up the
		// publisher, or any owner if they are gone.
		if u, err := s.cfg.Store.UserByName(ctx, tp.CreatedBy); err == nil {
			key.UserID = u.ID
		} else if ms, err := s.cfg.Store.OrgMembers(ctx, o.ID); err == nil {
			for _, m := range ms {
				if m.Role == gatehouse.OrgOwner {
					key.UserID = m.UserID
					break
				}
			}
		}
	} else {
		key.UserID = ch.OwnerUserID
	}
	return s.cfg.Mint(ctx, actor, key, org)
}
