package service

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cache"
)

// clientRecorder remembers which registered clients use channels. The hot
// path only counts in memory; a background loop writes the counts, so a
// client is written at most once per clientFlushEvery however many files
// it fetches. A client never seen before is written promptly, so an
// administrator sees a new registration within seconds.
type clientRecorder struct {
	c *core

	mu      sync.Mutex
	pending map[clientKey]*gatehouse.Client
	// flushing is held for a whole flush, so a flush asked for waits for
	// one in progress: after it returns, every client counted before is
	// written.
	flushing sync.Mutex
	// known are the clients written already, so only new ones wake the
	// writer; bounded (a forgotten one is merely written early again).
	known *cache.Cache[clientKey, struct{}]
	kick  chan struct{}
}

type clientKey struct {
	keyID int64
	ip    netip.Addr
	ua    string
}

const (
	clientFlushEvery = 15 * time.Second
	maxPendingClient = 10_000
	maxKnownClients  = 100_000
)

func newClientRecorder(c *core) *clientRecorder {
	return &clientRecorder{c: c, pending: make(map[clientKey]*gatehouse.Client),
		known: cache.New[clientKey, struct{}](cache.Options{MaxEntries: maxKnownClients, TTL: time.Hour, Clock: c.now}),
		kick:  make(chan struct{}, 1)}
}

func (r *clientRecorder) seen(p *gatehouse.Principal, ua string) {
	k := clientKey{p.Key.ID, p.Addr, truncateUA(ua)}
	now := r.c.now()
	r.mu.Lock()
	e := r.pending[k]
	if e == nil {
		if len(r.pending) >= maxPendingClient {
			r.mu.Unlock()
			return
		}
		e = &gatehouse.Client{KeyID: p.Key.ID, KeyName: p.Key.Name, UserID: p.User.ID, Username: p.User.Username,
			IP: p.Addr.String(), UserAgent: k.ua, FirstSeen: now}
		r.pending[k] = e
	}
	e.LastSeen = now
	e.Requests++
	r.mu.Unlock()
	if _, known := r.known.Get(k); !known {
		r.known.Set(k, struct{}{})
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func (r *clientRecorder) flush() {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	r.mu.Lock()
	batch := r.pending
	r.pending = make(map[clientKey]*gatehouse.Client, len(batch))
	r.mu.Unlock()
	for _, e := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := r.c.store.RecordClient(ctx, e); err != nil {
			r.c.log.Warn("recording a registered client failed", "key_id", e.KeyID, "err", err)
		}
		cancel()
	}
}

// loop writes the counts until ctx ends, then writes what is left.
func (r *clientRecorder) loop(ctx context.Context) {
	t := time.NewTicker(clientFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.flush()
		case <-r.kick:
			r.flush()
		case <-ctx.Done():
			r.flush()
			return
		}
	}
}
