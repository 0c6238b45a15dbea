package orgreg

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cache"
	"github.com/gatehouse-dev/gatehouse/orgtoken"
)

// Recorder remembers which registered clients use channels: those with an
// API key and those with an organization registration token. The hot path
// only counts in memory; a background loop writes the counts, so a client
// is written at most once per FlushEvery however many files it fetches,
// and then trims the records to the Bounds. A client never seen before is
// written promptly, so an administrator sees a new registration within
// seconds.
type Recorder struct {
	s *Service

	mu      sync.Mutex
	pending map[sighting]*entry
	// flushing is held for a whole flush: after Flush returns, every
	// client counted before it is written.
	flushing sync.Mutex
	// known are the clients written already, so only new ones wake the
	// writer; bounded (a forgotten one is merely written early again).
	known *cache.Cache[sighting, struct{}]
	kick  chan struct{}
}

// sighting is what makes a client one: its key or token, and its
// anaconda-anon-usage client token when it sends one (a new conda session
// is the same client, from any address), else its address and agent.
type sighting struct {
	keyID, tokenID int64
	client         string
	ip             netip.Addr
	ua             string
}

type entry struct {
	c    gatehouse.Client
	addr netip.Addr
}

// FlushEvery is how often counts are written.
const FlushEvery = 15 * time.Second

const (
	maxPending = 10_000
	maxKnown   = 100_000
	maxUA      = 256
)

func newRecorder(s *Service) *Recorder {
	return &Recorder{s: s, pending: make(map[sighting]*entry),
		known: cache.New[sighting, struct{}](cache.Options{MaxEntries: maxKnown, TTL: time.Hour, Clock: s.cfg.Clock}),
		kick:  make(chan struct{}, 1)}
}

func truncateUA(ua string) string {
	if len(ua) > maxUA {
		return ua[:maxUA]
	}
	return ua
}

// clientOf returns the c/ token of ua, without parsing agents that
// cannot carry one.
func clientOf(ua string) string {
	if !strings.Contains(ua, "c/") {
		return ""
	}
	return orgtoken.ParseUserAgent(ua).Client
}

// SeenKey counts a channel request by a client with an API key.
func (r *Recorder) SeenKey(p *gatehouse.Principal, ua string) {
	if p == nil || p.Key == nil {
		return
	}
	ua = truncateUA(ua)
	k := sighting{keyID: p.Key.ID, client: clientOf(ua)}
	if k.client == "" {
		k.ip, k.ua = p.Addr, ua
	}
	r.count(k, ua, p.Addr, func(c *gatehouse.Client) {
		c.KeyID, c.KeyName, c.UserID, c.Username = p.Key.ID, p.Key.Name, p.User.ID, p.User.Username
		if p.Org != nil {
			c.OrgID, c.Org = p.Org.ID, p.Org.Name
		}
	})
}

// seenToken counts a request registered by an organization token.
func (r *Recorder) seenToken(t *gatehouse.RegistrationToken, ua string, addr netip.Addr) {
	ua = truncateUA(ua)
	k := sighting{tokenID: t.ID, client: clientOf(ua)}
	if k.client == "" {
		k.ip, k.ua = addr, ua
	}
	r.count(k, ua, addr, func(c *gatehouse.Client) {
		c.OrgID, c.Org, c.TokenID = t.OrgID, t.Org, t.ID
	})
}

func (r *Recorder) count(k sighting, ua string, addr netip.Addr, fill func(*gatehouse.Client)) {
	now := r.s.cfg.Clock()
	r.mu.Lock()
	e := r.pending[k]
	if e == nil {
		if len(r.pending) >= maxPending {
			r.mu.Unlock()
			return
		}
		e = &entry{c: gatehouse.Client{FirstSeen: now}}
		fill(&e.c)
		r.pending[k] = e
	}
	// The latest request's address and agent are what the record shows;
	// the address is formatted off the hot path.
	e.c.UserAgent, e.addr = ua, addr
	e.c.LastSeen = now
	e.c.Requests++
	r.mu.Unlock()
	if _, known := r.known.Get(k); !known {
		r.known.Set(k, struct{}{})
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// Flush writes the counts now, then trims the records to the bounds.
func (r *Recorder) Flush() {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	r.mu.Lock()
	batch := r.pending
	r.pending = make(map[sighting]*entry, len(batch))
	r.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	st, b := r.s.cfg.Store, r.s.cfg.Bounds
	orgs, keys, tokens := map[int64]bool{}, map[int64]bool{}, map[int64]time.Time{}
	for _, en := range batch {
		e := &en.c
		a := orgtoken.ParseUserAgent(e.UserAgent)
		e.ClientToken, e.Machine, e.CondaVersion, e.Platform = a.Client, a.Machine, a.Conda, a.Platform
		// The organization token never reaches the database in clear.
		e.UserAgent = orgtoken.RedactUserAgent(e.UserAgent)
		e.IP = addrText(en.addr)
		if en.addr.IsValid() {
			e.Network = r.s.cfg.Network(en.addr.Unmap())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := st.RecordClient(ctx, e); err != nil {
			r.s.cfg.Logger.Warn("recording a registered client failed", "key_id", e.KeyID, "token_id", e.TokenID, "err", err)
		}
		cancel()
		if e.OrgID != 0 {
			orgs[e.OrgID] = true
		}
		if e.KeyID != 0 {
			keys[e.KeyID] = true
		}
		if e.TokenID != 0 && e.LastSeen.After(tokens[e.TokenID]) {
			tokens[e.TokenID] = e.LastSeen
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for id, at := range tokens {
		if err := st.TouchRegistrationToken(ctx, id, at); err != nil {
			r.s.cfg.Logger.Warn("recording a registration token's last use failed", "token_id", id, "err", err)
		}
	}
	prune := func(org, key int64, keep int) {
		if _, err := st.PruneClients(ctx, org, key, keep); err != nil {
			r.s.cfg.Logger.Warn("trimming the client records failed", "org_id", org, "key_id", key, "err", err)
		}
	}
	for id := range orgs {
		prune(id, 0, b.PerOrg)
	}
	for id := range keys {
		prune(0, id, b.PerKey)
	}
	prune(0, 0, b.Total)
}

// Loop writes the counts until ctx ends, then writes what is left.
func (r *Recorder) Loop(ctx context.Context) {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.Flush()
		case <-r.kick:
			r.Flush()
		case <-ctx.Done():
			r.Flush()
			return
		}
	}
}
