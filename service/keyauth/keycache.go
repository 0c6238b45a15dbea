package keyauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
	"github.com/gatehouse-dev/gatehouse/cache"
)

// Cache verifies API keys on the request path. A verified key and its
// owner are cached for the key cache TTL, so the hot path costs a hash and
// a lookup; revocation through this process evicts at once, other replicas
// through the change feed (or within the TTL without one). Last-used times
// are written in the background, at most once per key per touchEvery
// (checklist I1).
type Cache struct {
	store   gatehouse.Store
	now     gatehouse.Clock
	log     *slog.Logger
	metrics *metrics
	deaf    *atomic.Bool
	record  func(ctx context.Context, e *gatehouse.AuditEvent)
	entries *cache.Cache[[32]byte, *cachedKey]
	touches chan touch
	// revokedUse throttles "use after revoke" audit events per key.
	revokedUse *cache.Cache[int64, struct{}]
}

type cachedKey struct {
	key  *gatehouse.APIKey
	user *gatehouse.User
	// org is the organization of an organization key, which acts as it
	// (user is then the key's creator, for the record only).
	org *gatehouse.Org
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

func newKeyCache(cfg Config, m *metrics) *Cache {
	return &Cache{
		store: cfg.Store, now: cfg.Clock, log: cfg.Logger, metrics: m, deaf: cfg.Deaf, record: cfg.Record,
		entries:    cache.New[[32]byte, *cachedKey](cache.Options{MaxEntries: maxCachedKeys, TTL: cfg.KeyCacheTTL, Clock: cfg.Clock}),
		touches:    make(chan touch, 1024),
		revokedUse: cache.New[int64, struct{}](cache.Options{MaxEntries: 10_000, TTL: time.Minute, Clock: cfg.Clock}),
	}
}

// errBadFormat is returned before any database lookup (checklist B1).
var errBadFormat = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID API KEY",
	Message: "This is not a Gatehouse API key: it may be cut short or mistyped. Copy it again, or create a new one in Account Settings → API Keys."}

// Authenticate returns the principal for key, or an EUNAUTHORIZED error
// that says why not. It never falls back to anonymous.
func (k *Cache) Authenticate(ctx context.Context, key string) (*gatehouse.Principal, error) {
	m := k.metrics
	// Ordinary keys, and the JWT-shaped keys of anaconda-auth logins,
	// whose hash covers the whole token (claims are never trusted).
	if apikey.CheckAny(key) != nil {
		m.keyChecks.WithLabelValues("malformed").Inc()
		return nil, errBadFormat
	}
	h := apikey.Hash(key)
	now := k.now()
	var ck *cachedKey
	ok := false
	if !k.deaf.Load() {
		ck, ok = k.entries.Get(h)
	}
	if ok {
		m.keyCacheHits.Inc()
	} else {
		var err error
		if ck, err = k.load(ctx, h); err != nil {
			return nil, err
		}
	}
	if err := k.check(ck, now); err != nil {
		return nil, err
	}
	if last := ck.touchedAt.Load(); now.UnixNano()-last >= int64(touchEvery) && ck.touchedAt.CompareAndSwap(last, now.UnixNano()) {
		select {
		case k.touches <- touch{ck.key.ID, now}:
		default: // the writer is behind; last-used is advisory
		}
	}
	m.keyOK.Inc()
	if ck.org != nil {
		return &gatehouse.Principal{User: gatehouse.OrgActor(ck.org), Org: ck.org, Key: ck.key, Method: gatehouse.AuthKey}, nil
	}
	return &gatehouse.Principal{User: ck.user, Key: ck.key, Method: gatehouse.AuthKey}, nil
}

func (k *Cache) load(ctx context.Context, h [32]byte) (*cachedKey, error) {
	ticket := k.entries.Ticket(h)
	key, user, err := k.store.KeyByHash(ctx, h[:])
	switch gatehouse.ErrorCode(err) {
	case "":
	case gatehouse.ENOTFOUND:
		k.metrics.keyChecks.WithLabelValues("unknown").Inc()
		return nil, &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "INVALID API KEY",
			Message: "This API key is not known to this server. Check you copied the whole key, or create a new one in Account Settings → API Keys."}
	case gatehouse.EUNAVAILABLE:
		// checklist H1: a store outage is a 503, never anonymous access.
		return nil, err
	default:
		return nil, fmt.Errorf("looking up key: %w", err)
	}
	ck := &cachedKey{key: key, user: user}
	if key.OrgID != 0 {
		if ck.org, err = k.store.OrgByID(ctx, key.OrgID); err != nil {
			return nil, fmt.Errorf("looking up the organization of key %d: %w", key.ID, err)
		}
	}
	if old, ok := k.entries.Get(h); ok {
		ck.touchedAt.Store(old.touchedAt.Load())
	}
	// A lookup that raced a revocation serves this request but is not
	// remembered.
	k.entries.SetIfCurrent(ticket, ck)
	return ck, nil
}

// check applies the rules that depend on time and on the owner's state.
func (k *Cache) check(ck *cachedKey, now time.Time) error {
	m := k.metrics
	switch ck.key.Status(now) {
	case gatehouse.KeyRevoked:
		m.keyChecks.WithLabelValues("revoked").Inc()
		k.auditRevokedUse(ck)
		msg := fmt.Sprintf("This API key (%q) was revoked on %s. Create a new key in Account Settings → API Keys, or run: gatehouse login.",
			ck.key.Name, ck.key.RevokedAt.UTC().Format(time.DateOnly))
		if ck.key.RevokeReason == gatehouse.RevokedReplaced {
			msg = fmt.Sprintf("This API key (%q) was replaced by a newer key with the same name on %s. Use the new key, or create one in Account Settings → API Keys.",
				ck.key.Name, ck.key.RevokedAt.UTC().Format(time.DateOnly))
		}
		return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "API KEY REVOKED", Message: msg}
	case gatehouse.KeyExpired:
		m.keyChecks.WithLabelValues("expired").Inc()
		return &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "API KEY EXPIRED",
			Message: fmt.Sprintf("This API key (%q) expired on %s. Create a new key in Account Settings → API Keys, or run: gatehouse login.",
				ck.key.Name, ck.key.ExpiresAt.UTC().Format(time.DateOnly))}
	}
	// An organization key survives its creator: only personal keys
	// stop with their owner's account (checklist A10).
	if ck.user.Disabled && ck.org == nil {
		m.keyChecks.WithLabelValues("disabled").Inc()
		return errAccountDisabledKey
	}
	return nil
}

var errAccountDisabledKey = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: "ACCOUNT DISABLED",
	Message: "The account that owns this API key is disabled. Ask an administrator to enable it."}

// auditRevokedUse records, at most once a minute per key, that a revoked
// key is still out there in use (checklist A6).
func (k *Cache) auditRevokedUse(ck *cachedKey) {
	if _, seen := k.revokedUse.Get(ck.key.ID); seen {
		return
	}
	k.revokedUse.Set(ck.key.ID, struct{}{})
	e := &gatehouse.AuditEvent{ActorID: ck.user.ID, Actor: ck.user.Username, Action: gatehouse.AuditKeyUseRevoked,
		Target: KeyTarget(ck.key), Success: false}
	k.record(context.Background(), e)
}

// Forget evicts a key after revocation, so this replica refuses it on the
// very next request (checklist A6).
func (k *Cache) Forget(hash []byte) {
	if len(hash) == 32 {
		k.entries.Delete([32]byte(hash))
	}
}

// ForgetUser evicts every cached key of a user whose rights changed
// (disabled, demoted).
func (k *Cache) ForgetUser(userID int64) {
	k.entries.DeleteFunc(func(_ [32]byte, ck *cachedKey) bool { return ck.user.ID == userID })
}

// ForgetAll empties the cache.
func (k *Cache) ForgetAll() { k.entries.Clear() }

// TouchLoop writes last-used times until ctx ends, then writes what is
// queued and returns.
func (k *Cache) TouchLoop(ctx context.Context) {
	write := func(t touch) {
		wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := k.store.TouchKey(wctx, t.id, t.at); err != nil && !errors.Is(err, context.Canceled) {
			k.log.Warn("recording key use failed", "key_id", t.id, "err", err)
		}
	}
	for {
		select {
		case t := <-k.touches:
			write(t)
		case <-ctx.Done():
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

// KeyTarget names a key in the audit log.
func KeyTarget(k *gatehouse.APIKey) string {
	return fmt.Sprintf("key:%d (%s)", k.ID, k.Name)
}

// Cached reports whether the key with this SHA-256 is in the cache.
func (k *Cache) Cached(hash []byte) bool {
	if len(hash) != 32 {
		return false
	}
	_, ok := k.entries.Get([32]byte(hash))
	return ok
}
