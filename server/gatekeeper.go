package server

import (
	"context"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/gate"
)

// gatekeeper holds the registration policy in effect. Rules come from the
// configuration (fixed) and from the database (managed by administrators);
// the policy is rebuilt after every change here and reloaded periodically,
// so a rule added on another replica applies within reloadEvery.
type gatekeeper struct {
	store    gatehouse.Store
	log      *slog.Logger
	static   []netip.Prefix
	exempt   map[string]bool
	current  atomic.Pointer[gate.Policy]
	nonEmpty atomic.Bool
}

const gateReloadEvery = 10 * time.Second

func newGatekeeper(store gatehouse.Store, log *slog.Logger, static []netip.Prefix, exempt []string) *gatekeeper {
	g := &gatekeeper{store: store, log: log, static: static, exempt: make(map[string]bool)}
	for _, c := range exempt {
		g.exempt[c] = true
	}
	g.set(nil)
	return g
}

func (g *gatekeeper) policy() *gate.Policy { return g.current.Load() }

// empty reports whether no network requires registration.
func (g *gatekeeper) empty() bool { return !g.nonEmpty.Load() }

func (g *gatekeeper) set(rules []*gatehouse.NetworkRule) {
	prefixes := append([]netip.Prefix(nil), g.static...)
	for _, r := range rules {
		p, err := gate.ParsePrefix(r.CIDR)
		if err != nil {
			// Rules are validated on the way in; a bad one in the
			// database gates nothing rather than everything.
			g.log.Error("ignoring an invalid network rule", "id", r.ID, "cidr", r.CIDR)
			continue
		}
		prefixes = append(prefixes, p)
	}
	g.current.Store(&gate.Policy{Gated: gate.NewSet(prefixes), ExemptChannels: g.exempt})
	g.nonEmpty.Store(len(prefixes) > 0)
}

// reload reads the rules from the database.
func (g *gatekeeper) reload(ctx context.Context) error {
	rules, err := g.store.ListNetworkRules(ctx)
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
			if err := g.reload(ctx); err != nil {
				g.log.Warn("reloading network rules failed; keeping the previous ones", "err", err)
			}
		}
	}
}
