package server

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// channelCache keeps channels by name and users' roles on them for a few
// seconds, so that package downloads and repodata hits cost no database
// round trip. Changes made through this server evict at once; changes on
// other replicas show within ttl (the same bound as for revoked keys).
type channelCache struct {
	store gatehouse.Store
	now   gatehouse.Clock
	ttl   time.Duration

	mu       sync.RWMutex
	channels map[string]cachedChannel
	roles    map[roleKey]cachedRole
	// gen counts evictions, so a lookup that raced with one is not cached.
	gen uint64
}

type cachedChannel struct {
	ch        *gatehouse.Channel // nil: no such channel
	fetchedAt time.Time
}

type roleKey struct{ channel, user int64 }

type cachedRole struct {
	role      gatehouse.ChannelRole
	fetchedAt time.Time
}

const maxCachedEntries = 100_000

func newChannelCache(store gatehouse.Store, now gatehouse.Clock, ttl time.Duration) *channelCache {
	return &channelCache{store: store, now: now, ttl: ttl,
		channels: make(map[string]cachedChannel), roles: make(map[roleKey]cachedRole)}
}

// channel returns the named channel, or nil if there is none.
func (c *channelCache) channel(ctx context.Context, name string) (*gatehouse.Channel, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.channels[name]
	c.mu.RUnlock()
	if ok && now.Sub(e.fetchedAt) < c.ttl {
		return e.ch, nil
	}
	gen := c.generation()
	ch, err := c.store.ChannelByName(ctx, name)
	if err != nil && gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return ch, nil
	}
	if len(c.channels) >= maxCachedEntries {
		clear(c.channels)
	}
	c.channels[name] = cachedChannel{ch: ch, fetchedAt: now}
	return ch, nil
}

// role returns the user's effective role on the channel.
func (c *channelCache) role(ctx context.Context, ch *gatehouse.Channel, userID int64) (gatehouse.ChannelRole, error) {
	now := c.now()
	k := roleKey{ch.ID, userID}
	c.mu.RLock()
	e, ok := c.roles[k]
	c.mu.RUnlock()
	if ok && now.Sub(e.fetchedAt) < c.ttl {
		return e.role, nil
	}
	gen := c.generation()
	role, err := c.store.ChannelRoleOf(ctx, ch.ID, userID)
	if err != nil {
		return gatehouse.NoAccess, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return role, nil
	}
	if len(c.roles) >= maxCachedEntries {
		clear(c.roles)
	}
	c.roles[k] = cachedRole{role: role, fetchedAt: now}
	return role, nil
}

// forget evicts a channel and every role on it after a local change.
func (c *channelCache) forget(name string, id int64) {
	c.mu.Lock()
	delete(c.channels, name)
	for k := range c.roles {
		if k.channel == id {
			delete(c.roles, k)
		}
	}
	c.gen++
	c.mu.Unlock()
}

// forgetRoles evicts every cached role, after a change of organization
// membership, which may touch many channels.
func (c *channelCache) forgetRoles() {
	c.mu.Lock()
	clear(c.roles)
	c.gen++
	c.mu.Unlock()
}

func (c *channelCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}
