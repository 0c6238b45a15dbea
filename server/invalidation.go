package server

import (
	"context"
	"errors"

	"github.com/gatehouse-dev/gatehouse"
)

// followChanges applies the changes other replicas commit to this
// server's caches, when the store has a change feed (PostgreSQL): a key
// revoked or a user disabled anywhere is refused here on the next request,
// not once the cached entry expires (checklist A6, A10). The feed stops
// when ctx ends, which Close does. Without a feed, or while it is down,
// the cache period (KeyCacheTTL) still bounds how stale an entry can be.
func (s *Server) followChanges(ctx context.Context) {
	feed, ok := s.store.(gatehouse.ChangeFeed)
	if !ok {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		err := feed.Changes(ctx, s.applyChange)
		switch {
		case errors.Is(err, errors.ErrUnsupported), ctx.Err() != nil:
			// A store one process uses alone (local eviction is all it
			// needs), or Close.
		case err != nil:
			s.log.Error("the change feed stopped: changes on other replicas now take up to the key cache period to apply here",
				"err", err, "key_cache_ttl", s.cfg.KeyCacheTTL)
		}
	}()
}

// applyChange drops what c makes stale. A kind this build does not know
// (a newer replica's) drops everything, which is always safe.
func (s *Server) applyChange(c gatehouse.Change) {
	switch c.Kind {
	case gatehouse.ChangeKey:
		s.keys.forget(c.KeyHash)
	case gatehouse.ChangeUser:
		s.keys.forgetUser(c.UserID)
	case gatehouse.ChangeChannel:
		s.chans.forgetChannelID(c.ChannelID)
	case gatehouse.ChangeRoles:
		s.chans.forgetRoles()
	default:
		s.keys.forgetAll()
		s.chans.forgetAll()
		switch {
		case c.Kind != gatehouse.ChangeAll:
			s.log.Warn("unknown kind of change from the change feed; caches flushed", "kind", c.Kind)
		case c.Err != nil:
			s.log.Warn("the change feed started over; caches flushed", "err", c.Err)
		default:
			s.log.Info("following changes from other replicas")
		}
	}
}

// forgetAll empties the key cache.
func (k *keyAuth) forgetAll() {
	k.mu.Lock()
	clear(k.cache)
	k.gen++
	k.mu.Unlock()
}

// forgetChannelID evicts a channel, known here by ID only, and every role
// on it.
func (c *channelCache) forgetChannelID(id int64) {
	c.mu.Lock()
	for name, e := range c.channels {
		if e.ch != nil && e.ch.ID == id {
			delete(c.channels, name)
		}
	}
	for k := range c.roles {
		if k.channel == id {
			delete(c.roles, k)
		}
	}
	c.gen++
	c.mu.Unlock()
}

// forgetAll empties the channel and role caches.
func (c *channelCache) forgetAll() {
	c.mu.Lock()
	clear(c.channels)
	clear(c.roles)
	c.gen++
	c.mu.Unlock()
}
