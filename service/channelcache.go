package service

import (
	"context"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cache"
)

// channelCache keeps channels by name and users' roles on them for the key
// cache TTL, so that package downloads and repodata hits cost no database
// round trip. Changes made through this process evict at once; changes on
// other replicas through the change feed, or within the TTL without one.
// Only names that exist are cached: an anonymous client asking for
// random names creates no entries (checklist I6).
type channelCache struct {
	c        *core
	channels *cache.Cache[string, *gatehouse.Channel]
	roles    *cache.Cache[roleKey, gatehouse.ChannelRole]
}

type roleKey struct{ channel, user int64 }

const maxCachedEntries = 100_000

func newChannelCache(c *core) *channelCache {
	opts := cache.Options{MaxEntries: maxCachedEntries, TTL: c.cfg.KeyCacheTTL, Clock: c.now}
	return &channelCache{c: c,
		channels: cache.New[string, *gatehouse.Channel](opts),
		roles:    cache.New[roleKey, gatehouse.ChannelRole](opts)}
}

// channel returns the named channel, or nil if there is none.
func (cc *channelCache) channel(ctx context.Context, name string) (*gatehouse.Channel, error) {
	if ch, ok := cc.channels.Get(name); ok && !cc.c.deaf.Load() {
		return ch, nil
	}
	t := cc.channels.Ticket(name)
	ch, err := cc.c.store.ChannelByName(ctx, name)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cc.channels.SetIfCurrent(t, ch)
	return ch, nil
}

// role returns the user's effective role on the channel.
func (cc *channelCache) role(ctx context.Context, ch *gatehouse.Channel, userID int64) (gatehouse.ChannelRole, error) {
	k := roleKey{ch.ID, userID}
	if r, ok := cc.roles.Get(k); ok && !cc.c.deaf.Load() {
		return r, nil
	}
	t := cc.roles.Ticket(k)
	r, err := cc.c.store.ChannelRoleOf(ctx, ch.ID, userID)
	if err != nil {
		return gatehouse.NoAccess, err
	}
	cc.roles.SetIfCurrent(t, r)
	return r, nil
}

// forget evicts a channel and every role on it after a change.
func (cc *channelCache) forget(id int64) {
	cc.channels.DeleteFunc(func(_ string, ch *gatehouse.Channel) bool { return ch.ID == id })
	cc.roles.DeleteFunc(func(k roleKey, _ gatehouse.ChannelRole) bool { return k.channel == id })
}

// forgetPackages evicts a channel after a change of its packages: its
// revision moved, but not its settings or anyone's role on it, so the
// roles stay (scanning them all on every upload cost more than the upload's
// own lookups). Channel names never change, so the name is the one entry.
func (cc *channelCache) forgetPackages(ch *gatehouse.Channel) { cc.channels.Delete(ch.Name) }

// forgetName evicts a channel by name (a new channel, whose name no
// lookup may have cached as absent: absent names are not cached, but a
// replica may have cached a deleted channel of that name).
func (cc *channelCache) forgetName(name string) { cc.channels.Delete(name) }

// forgetRoles evicts every cached role, after a change of organization
// membership, which may touch many channels.
func (cc *channelCache) forgetRoles() { cc.roles.Clear() }

func (cc *channelCache) forgetAll() {
	cc.channels.Clear()
	cc.roles.Clear()
}
