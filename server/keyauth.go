package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
)

// keyAuth verifies API keys on the request path. A verified key and its
// owner are cached for ttl, so the hot path costs a hash and a map lookup;
// revocation through this server evicts at once, and other replicas see it
// within ttl. Last-used times are written in the background, at most once
// per key per touchEvery (checklist I1).
type keyAuth struct {
	store   gatehouse.Store
	now     gatehouse.Clock
	ttl     time.Duration
	log     *slog.Logger
	metrics *metrics

	mu    sync.RWMutex
	cache map[[32]byte]*cachedKey
	// gen counts evictions. A lookup that raced with one (read before a
	// revocation committed, returned after it was applied here) must not
	// put its stale answer into the cache.
	gen uint64

	touches chan touch
	done    chan struct{}
	wg      sync.WaitGroup

	// lastAudit throttles "use after revoke" audit events per key.
	auditMu   sync.Mutex
	lastAudit map[int64]time.Time
}

type cachedKey struct {
	key       *gatehouse.APIKey
	user      *gatehouse.User
	fetchedAt time.Time
	// touchedAt is when a last-used write was last queued (UnixNano);
	// requests race on it, so it is atomic.
	touchedAt atomic.Int64
}

type touch struct {
	id int64
	at time.Time
}

const (
	touchEvery    = 30 * time.Second
	maxCachedKeys = 100_000
)

func newKeyAuth(store gatehouse.Store, now gatehouse.Clock, ttl time.Duration, log *slog.Logger, m *metrics) *keyAuth {
	k := &keyAuth{
		store:     store,
		now:       now,
		ttl:       ttl,
		log:       log,
		metrics:   m,
		cache:     make(map[[32]byte]*cachedKey),
		touches:   make(chan touch, 1024),
		done:      make(chan struct{}),
		lastAudit: make(map[int64]time.Time),
	}
	k.wg.Add(1)
	go k.touchLoop()
	return k
}

func (k *keyAuth) close() {
	select {
	case <-k.done:
	default:
		close(k.done)
	}
	k.wg.Wait()
}

// errBadFormat is returned before any database lookup (checklist B1).
var errBadFormat = &credError{
	Err:    gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "This is not a Gatehouse API key: it may be cut short or mistyped. Copy it again, or create a new one in Account Settings → API Keys."),
	Reason: "INVALID API KEY",
}

// authenticate returns the principal for key, or a *credError that says
// why not. It never falls back to anonymous.
func (k *keyAuth) authenticate(ctx context.Context, key string) (*gatehouse.Principal, error) {
	if apikey.Check(key) != nil {
		k.metrics.keyChecks.WithLabelValues("malformed").Inc()
		return nil, errBadFormat
	}
	h := apikey.Hash(key)
	now := k.now()

	k.mu.RLock()
	c := k.cache[h]
	k.mu.RUnlock()
	if c == nil || now.Sub(c.fetchedAt) >= k.ttl {
		var err error
		c, err = k.load(ctx, h, now)
		if err != nil {
			return nil, err
		}
	} else {
		k.metrics.keyCacheHits.Inc()
	}
	if err := k.check(c, now); err != nil {
		return nil, err
	}
	if last := c.touchedAt.Load(); now.UnixNano()-last >= int64(touchEvery) && c.touchedAt.CompareAndSwap(last, now.UnixNano()) {
		select {
		case k.touches <- touch{c.key.ID, now}:
		default: // the writer is behind; last-used is advisory
		}
	}
	k.metrics.keyOK.Inc()
	return &gatehouse.Principal{User: c.user, Key: c.key, Method: gatehouse.AuthKey}, nil
}

func (k *keyAuth) load(ctx context.Context, h [32]byte, now time.Time) (*cachedKey, error) {
	k.mu.RLock()
	gen := k.gen
	k.mu.RUnlock()
	key, user, err := k.store.KeyByHash(ctx, h[:])
	switch gatehouse.ErrorCode(err) {
	case "":
	case gatehouse.ENOTFOUND:
		k.metrics.keyChecks.WithLabelValues("unknown").Inc()
		return nil, &credError{
			Err:    gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "This API key is not known to this server. Check you copied the whole key, or create a new one in Account Settings → API Keys."),
			Reason: "INVALID API KEY",
		}
	case gatehouse.EUNAVAILABLE:
		// checklist H1: a store outage is a 503, never anonymous access.
		return nil, err
	default:
		return nil, fmt.Errorf("looking up key: %w", err)
	}
	c := &cachedKey{key: key, user: user, fetchedAt: now}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.gen != gen {
		return c, nil // serve this request, but do not remember it
	}
	if old := k.cache[h]; old != nil {
		c.touchedAt.Store(old.touchedAt.Load())
	}
	if len(k.cache) >= maxCachedKeys {
		k.evictExpiredLocked(now)
	}
	k.cache[h] = c
	return c, nil
}

// check applies the rules that depend on time and on the owner's state.
func (k *keyAuth) check(c *cachedKey, now time.Time) error {
	switch c.key.Status(now) {
	case gatehouse.KeyRevoked:
		k.metrics.keyChecks.WithLabelValues("revoked").Inc()
		k.auditRevokedUse(c, now)
		msg := fmt.Sprintf("This API key (%q) was revoked on %s. Create a new key in Account Settings → API Keys, or run: gatehouse login.",
			c.key.Name, c.key.RevokedAt.UTC().Format(time.DateOnly))
		if c.key.RevokeReason == gatehouse.RevokedReplaced {
			msg = fmt.Sprintf("This API key (%q) was replaced by a newer key with the same name on %s. Use the new key, or create one in Account Settings → API Keys.",
				c.key.Name, c.key.RevokedAt.UTC().Format(time.DateOnly))
		}
		return &credError{Err: gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "%s", msg), Reason: "API KEY REVOKED"}
	case gatehouse.KeyExpired:
		k.metrics.keyChecks.WithLabelValues("expired").Inc()
		return &credError{
			Err: gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "This API key (%q) expired on %s. Create a new key in Account Settings → API Keys, or run: gatehouse login.",
				c.key.Name, c.key.ExpiresAt.UTC().Format(time.DateOnly)),
			Reason: "API KEY EXPIRED",
		}
	}
	if c.user.Disabled {
		k.metrics.keyChecks.WithLabelValues("disabled").Inc()
		return &credError{
			Err:    gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "The account that owns this API key is disabled. Ask an administrator to enable it."),
			Reason: "ACCOUNT DISABLED",
		}
	}
	return nil
}

func (k *keyAuth) auditRevokedUse(c *cachedKey, now time.Time) {
	k.auditMu.Lock()
	last, seen := k.lastAudit[c.key.ID]
	if seen && now.Sub(last) < time.Minute {
		k.auditMu.Unlock()
		return
	}
	if len(k.lastAudit) > 10_000 {
		clear(k.lastAudit)
	}
	k.lastAudit[c.key.ID] = now
	k.auditMu.Unlock()
	// checklist A6: record that a revoked key is still out there in use.
	e := &gatehouse.AuditEvent{Time: now, ActorID: c.user.ID, Actor: c.user.Username, Action: gatehouse.AuditKeyUseRevoked,
		Target: keyTarget(c.key), Success: false}
	if err := k.store.AppendAudit(context.Background(), e); err != nil {
		k.log.Error("audit write failed", "action", e.Action, "err", err)
	}
}

// forget evicts a key after revocation, so this replica refuses it on the
// very next request (checklist A6).
func (k *keyAuth) forget(hash []byte) {
	if len(hash) != 32 {
		return
	}
	k.mu.Lock()
	delete(k.cache, [32]byte(hash))
	k.gen++
	k.mu.Unlock()
}

// forgetUser evicts every cached key of a user whose rights changed
// (disabled, demoted, password changed).
func (k *keyAuth) forgetUser(userID int64) {
	k.mu.Lock()
	for h, c := range k.cache {
		if c.user.ID == userID {
			delete(k.cache, h)
		}
	}
	k.gen++
	k.mu.Unlock()
}

func (k *keyAuth) evictExpiredLocked(now time.Time) {
	for h, c := range k.cache {
		if now.Sub(c.fetchedAt) >= k.ttl {
			delete(k.cache, h)
		}
	}
	if len(k.cache) >= maxCachedKeys {
		clear(k.cache)
	}
}

func (k *keyAuth) touchLoop() {
	defer k.wg.Done()
	write := func(t touch) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := k.store.TouchKey(ctx, t.id, t.at); err != nil && !errors.Is(err, context.Canceled) {
			k.log.Warn("recording key use failed", "key_id", t.id, "err", err)
		}
	}
	for {
		select {
		case t := <-k.touches:
			write(t)
		case <-k.done:
			for {
				select {
				case t := <-k.touches:
					write(t)
				default:
					return
				}
			}
		}
	}
}

func keyTarget(k *gatehouse.APIKey) string {
	return fmt.Sprintf("key:%d (%s)", k.ID, k.Name)
}
