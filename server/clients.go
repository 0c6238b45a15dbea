package server

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// clientRecorder remembers which registered clients use channels. The hot
// path only counts in memory; a background loop writes the counts, so a
// client is written at most once per flushEvery however many files it
// fetches. A client never seen before is written promptly, so an
// administrator sees a new registration within seconds.
type clientRecorder struct {
	store gatehouse.Store
	now   gatehouse.Clock
	log   *slog.Logger

	mu      sync.Mutex
	pending map[clientKey]*gatehouse.Client
	known   map[clientKey]bool
	kick    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

type clientKey struct {
	keyID int64
	ip    netip.Addr
	ua    string
}

const (
	clientFlushEvery = 15 * time.Second
	maxPendingClient = 10_000
)

func newClientRecorder(store gatehouse.Store, now gatehouse.Clock, log *slog.Logger) *clientRecorder {
	c := &clientRecorder{store: store, now: now, log: log, pending: make(map[clientKey]*gatehouse.Client),
		known: make(map[clientKey]bool), kick: make(chan struct{}, 1), done: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

func (c *clientRecorder) seen(p *gatehouse.Principal, ip netip.Addr, ua string) {
	k := clientKey{p.Key.ID, ip, truncateUA(ua)}
	now := c.now()
	c.mu.Lock()
	e := c.pending[k]
	if e == nil {
		if len(c.pending) >= maxPendingClient {
			c.mu.Unlock()
			return
		}
		e = &gatehouse.Client{KeyID: p.Key.ID, KeyName: p.Key.Name, UserID: p.User.ID, Username: p.User.Username,
			IP: ip.String(), UserAgent: k.ua, FirstSeen: now}
		c.pending[k] = e
	}
	e.LastSeen = now
	e.Requests++
	isNew := !c.known[k]
	if isNew {
		if len(c.known) >= 100_000 {
			clear(c.known)
		}
		c.known[k] = true
	}
	c.mu.Unlock()
	if isNew {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

func (c *clientRecorder) flush() {
	c.mu.Lock()
	batch := c.pending
	c.pending = make(map[clientKey]*gatehouse.Client, len(batch))
	c.mu.Unlock()
	for _, e := range batch {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := c.store.RecordClient(ctx, e); err != nil {
			c.log.Warn("recording a registered client failed", "key_id", e.KeyID, "err", err)
		}
		cancel()
	}
}

func (c *clientRecorder) loop() {
	defer c.wg.Done()
	t := time.NewTicker(clientFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.flush()
		case <-c.kick:
			c.flush()
		case <-c.done:
			c.flush()
			return
		}
	}
}

func (c *clientRecorder) close() {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
	c.wg.Wait()
}
