// Package gatepolicy is the registration gate in effect: the networks
// that require registration (from the configuration and from the
// database, reloaded periodically so a rule added on another replica
// applies here too), the administrators' rules, and the registered
// clients they see (gatehouse.GateService).
package gatepolicy

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/gate"
	"github.com/gatehouse-dev/gatehouse/service/keyauth"
)

// Config is what the gate needs; every field is required.
type Config struct {
	Store  gatehouse.Store
	Clock  gatehouse.Clock
	Logger *slog.Logger
	// RequireRegistration are networks gated by configuration.
	RequireRegistration []netip.Prefix
	// ToolsChannel is exempt from the gate.
	ToolsChannel string
	// Event starts an audit event for p's action; Audit appends it in tx.
	Event func(p *gatehouse.Principal, action, target string) *gatehouse.AuditEvent
	Audit func(ctx context.Context, tx gatehouse.Store, e *gatehouse.AuditEvent) error
	// SeenKey counts a channel request by a key-holding client.
	SeenKey func(p *gatehouse.Principal, userAgent string)
	// KeyRevoked evicts a revoked key from the key cache.
	KeyRevoked func(hash []byte)
}

// Gate implements gatehouse.GateService.
type Gate struct {
	cfg   Config
	store gatehouse.Store
	now   gatehouse.Clock
	event func(p *gatehouse.Principal, action, target string) *gatehouse.AuditEvent
	audit func(ctx context.Context, tx gatehouse.Store, e *gatehouse.AuditEvent) error
	gate  *gatekeeper
}

var _ gatehouse.GateService = (*Gate)(nil)

// New builds the gate with the configured networks only; Reload reads
// the database's rules, Run keeps reloading them.
func New(cfg Config) *Gate {
	return &Gate{cfg: cfg, store: cfg.Store, now: cfg.Clock, event: cfg.Event, audit: cfg.Audit, gate: newGatekeeper(cfg)}
}

// Reload reads the rules from the database.
func (s *Gate) Reload(ctx context.Context) error { return s.gate.reload(ctx) }

// Run reloads the rules every few seconds until ctx ends.
func (s *Gate) Run(ctx context.Context) { s.gate.run(ctx) }

// Network names the most specific gated network holding addr, "" if
// none: what the clients list shows and filters by.
func (s *Gate) Network(addr netip.Addr) string { return s.gate.network(addr) }

func requireAdmin(p *gatehouse.Principal) error {
	return p.Require(gatehouse.ScopeAdmin)
}

// gatekeeper holds the registration policy in effect. Rules come from the
// configuration (fixed) and from the database (managed by administrators);
// the policy is rebuilt after every change here and reloaded periodically,
// so a rule added on another replica applies within gateReloadEvery.
type gatekeeper struct {
	cfg      Config
	exempt   map[string]bool
	current  atomic.Pointer[gate.Policy]
	nonEmpty atomic.Bool
	// prefixes are the gated networks, for naming the one a client is in.
	prefixes atomic.Pointer[[]netip.Prefix]
}

const gateReloadEvery = 10 * time.Second

func newGatekeeper(cfg Config) *gatekeeper {
	g := &gatekeeper{cfg: cfg, exempt: map[string]bool{cfg.ToolsChannel: true}}
	g.set(nil)
	return g
}

func (g *gatekeeper) set(rules []*gatehouse.NetworkRule) {
	prefixes := append([]netip.Prefix(nil), g.cfg.RequireRegistration...)
	for _, r := range rules {
		p, err := gate.ParsePrefix(r.CIDR)
		if err != nil {
			// Rules are validated on the way in; a bad one in the
			// database gates nothing rather than everything.
			g.cfg.Logger.Error("ignoring an invalid network rule", "id", r.ID, "cidr", r.CIDR)
			continue
		}
		prefixes = append(prefixes, p)
	}
	g.current.Store(&gate.Policy{Gated: gate.NewSet(prefixes), ExemptChannels: g.exempt})
	g.nonEmpty.Store(len(prefixes) > 0)
	g.prefixes.Store(&prefixes)
}

// network names the most specific gated network holding addr, "" if
// none: what the clients list shows and filters by.
func (g *gatekeeper) network(addr netip.Addr) string {
	addr = addr.Unmap()
	best := netip.Prefix{}
	for _, p := range *g.prefixes.Load() {
		if p.Contains(addr) && (!best.IsValid() || p.Bits() > best.Bits()) {
			best = p
		}
	}
	if !best.IsValid() {
		return ""
	}
	return best.Masked().String()
}

// reload reads the rules from the database.
func (g *gatekeeper) reload(ctx context.Context) error {
	rules, err := g.cfg.Store.ListNetworkRules(ctx)
	if err != nil {
		return err
	}
	g.set(rules)
	return nil
}

// run reloads until ctx ends.
func (g *gatekeeper) run(ctx context.Context) {
	t := time.NewTicker(gateReloadEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := g.reload(ctx); err != nil && ctx.Err() == nil {
				g.cfg.Logger.Warn("reloading network rules failed; keeping the previous ones", "err", err)
			}
		}
	}
}

// RequiresRegistration is the gate's decision for one channel request.
func (s *Gate) RequiresRegistration(addr netip.Addr, channel string, registered bool) bool {
	return s.gate.current.Load().RequiresRegistration(addr, channel, registered)
}

// Active reports whether any network requires registration.
func (s *Gate) Active() bool { return s.gate.nonEmpty.Load() }

// ToolsChannel is the channel exempt from the gate.
func (s *Gate) ToolsChannel() string { return s.cfg.ToolsChannel }

// Rules returns the gate as configured, for administrators.
func (s *Gate) Rules(ctx context.Context, p *gatehouse.Principal) (*gatehouse.GateRules, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	rules, err := s.store.ListNetworkRules(ctx)
	if err != nil {
		return nil, err
	}
	if rules == nil {
		rules = []*gatehouse.NetworkRule{}
	}
	static := make([]string, len(s.cfg.RequireRegistration))
	for i, p := range s.cfg.RequireRegistration {
		static[i] = p.String()
	}
	return &gatehouse.GateRules{Rules: rules, Configured: static, Exempt: []string{s.cfg.ToolsChannel}}, nil
}

// AddRule validates and stores a rule, then applies it here at once.
func (s *Gate) AddRule(ctx context.Context, p *gatehouse.Principal, req gatehouse.NetworkRuleRequest) (*gatehouse.NetworkRule, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	prefix, err := gate.ParsePrefix(req.CIDR)
	if err != nil {
		return nil, err
	}
	if req.Action == "" {
		req.Action = gatehouse.RuleRequireRegistration
	}
	if req.Action != gatehouse.RuleRequireRegistration {
		return nil, gatehouse.FieldErrorf("action", "The only action is %q.", gatehouse.RuleRequireRegistration)
	}
	if len(req.Note) > 200 {
		return nil, gatehouse.FieldErrorf("note", "Notes are at most 200 characters.")
	}
	rule := &gatehouse.NetworkRule{CIDR: prefix.String(), Action: req.Action, Note: strings.TrimSpace(req.Note), CreatedAt: s.now(), CreatedBy: p.User.Username}
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.CreateNetworkRule(ctx, rule); err != nil {
			return err
		}
		e := s.event(p, gatehouse.AuditNetworkRuleAdd, "network:"+rule.CIDR)
		e.Detail = rule.Note
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	return rule, s.gate.reload(ctx)
}

// DeleteRule removes a rule and applies that here at once.
func (s *Gate) DeleteRule(ctx context.Context, p *gatehouse.Principal, id int64) error {
	if err := requireAdmin(p); err != nil {
		return err
	}
	err := s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		if err := tx.DeleteNetworkRule(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, s.event(p, gatehouse.AuditNetworkRuleDel, "network_rule:"+strconv.FormatInt(id, 10)))
	})
	if err != nil {
		return err
	}
	return s.gate.reload(ctx)
}

// SeenClient counts a channel request by a key-holding client.
func (s *Gate) SeenClient(p *gatehouse.Principal, userAgent string) {
	s.cfg.SeenKey(p, userAgent)
}

// RevokeClientKey revokes the key a registered client uses; only
// administrators may, and it is audited like any revocation.
func (s *Gate) RevokeClientKey(ctx context.Context, p *gatehouse.Principal, userID, keyID int64) (*gatehouse.APIKey, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	var key *gatehouse.APIKey
	err := s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		var err error
		if key, err = tx.RevokeKey(ctx, userID, keyID, s.now(), gatehouse.RevokedByUser); err != nil {
			return err
		}
		return s.audit(ctx, tx, s.event(p, gatehouse.AuditKeyRevoke, keyauth.KeyTarget(key)))
	})
	if err != nil {
		return nil, err
	}
	s.cfg.KeyRevoked(key.Hash)
	return key, nil
}

// Clients lists the registered clients f selects, most recent first, for
// administrators, then the keys registered for conda that no client has
// used yet (a machine that logged in but has not fetched).
func (s *Gate) Clients(ctx context.Context, p *gatehouse.Principal, f gatehouse.ClientFilter) ([]*gatehouse.Client, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	clients, err := s.store.ListClients(ctx, f)
	if err != nil {
		return nil, err
	}
	pending, err := s.store.UnusedKeys(ctx, f, s.now())
	if err != nil {
		return nil, err
	}
	return append(append([]*gatehouse.Client{}, clients...), pending...), nil
}
