package service

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Orphan collection. A crash between writing a package's blob and
// committing its row leaves a blob nobody references (checklist H4); a
// crash mid-upload leaves a spool file. Both are swept once they are old
// enough that no upload in flight can still own them. Expired login
// grants go on the same round.
const (
	orphanMinAge = time.Hour
	sweepEvery   = time.Hour
)

// SweepOrphans deletes unreferenced package blobs older than minAge and
// stale spool files, and returns how many blobs it removed.
func (s *Services) SweepOrphans(ctx context.Context, minAge time.Duration) (int, error) {
	return s.core.sweepOrphans(ctx, minAge)
}

func (c *core) sweepOrphans(ctx context.Context, minAge time.Duration) (int, error) {
	// Blob and file times are the wall clock's, whatever clock the
	// services were given.
	cutoff := time.Now().Add(-minAge)
	var orphans []string
	err := c.blobs.List(ctx, "packages/", func(key string, _ int64, mod time.Time) error {
		if mod.After(cutoff) {
			return nil
		}
		used, err := c.store.BlobKeyInUse(ctx, key)
		if err != nil {
			return err
		}
		if !used {
			orphans = append(orphans, key)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, key := range orphans {
		if err := c.blobs.Delete(ctx, key); err != nil {
			return 0, err
		}
		c.log.Info("removed an orphaned package file", "blob", key)
	}
	if _, err := c.blobs.SweepTemporary(ctx, minAge); err != nil {
		c.log.Warn("sweeping temporary blob files failed", "err", err)
	}
	if c.cfg.Spool != "" {
		c.cfg.Spool.Sweep(minAge)
	}
	return len(orphans), nil
}

func (c *core) sweepLoop(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for first := true; ; first = false {
		if n, err := c.sweepOrphans(ctx, orphanMinAge); err != nil && ctx.Err() == nil {
			c.log.Warn("sweeping orphaned package files failed", "err", err)
		} else if n > 0 {
			c.log.Info("swept orphaned package files", "count", n)
		}
		// Expired logins are swept by the token endpoint as it is used;
		// this round only catches a server nobody logs in to, so it need
		// not race a start.
		if !first {
			if _, err := c.login.Sweep(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("sweeping expired login codes failed", "err", err)
			}
		}
		if _, err := c.store.DeleteExpiredSSOLogins(ctx, c.now()); err != nil && ctx.Err() == nil {
			c.log.Warn("sweeping expired single sign-on states failed", "err", err)
		}
		if _, err := c.store.DeleteExpiredIDTokens(ctx, c.now()); err != nil && ctx.Err() == nil {
			c.log.Warn("sweeping exchanged ID tokens failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// followChanges applies the changes other replicas commit to this
// process's caches, when the store has a change feed (PostgreSQL): a key
// revoked or a user disabled anywhere is refused here on the next request,
// not once the cached entry expires (checklist A6, A10). Without a feed,
// or while it is down, the cache TTL still bounds how stale an entry is.
func (c *core) followChanges(ctx context.Context) {
	feed, ok := c.store.(gatehouse.ChangeFeed)
	if !ok {
		return
	}
	c.deaf.Store(true) // until the feed's first ChangeAll
	err := feed.Changes(ctx, c.applyChange)
	c.deaf.Store(false) // the cache TTL bounds staleness from now on
	switch {
	case errors.Is(err, errors.ErrUnsupported), ctx.Err() != nil:
		// A store one process uses alone (local eviction is all it
		// needs), or Close.
	case err != nil:
		c.log.Error("the change feed stopped: changes on other replicas now take up to the key cache period to apply here",
			"err", err, "key_cache_ttl", c.cfg.KeyCacheTTL)
	}
}

// ApplyChange drops what c makes stale, as if another replica had sent it.
func (s *Services) ApplyChange(c gatehouse.Change) { s.core.applyChange(c) }

// applyChange drops what ch makes stale. A kind this build does not know
// (a newer replica's) drops everything, which is always safe.
func (c *core) applyChange(ch gatehouse.Change) {
	switch ch.Kind {
	case gatehouse.ChangeKey:
		c.keys.Forget(ch.KeyHash)
	case gatehouse.ChangeUser:
		c.keys.ForgetUser(ch.UserID)
	case gatehouse.ChangeChannel:
		c.channels.forget(ch.ChannelID)
	case gatehouse.ChangeRoles:
		c.channels.forgetRoles()
	case gatehouse.ChangeLost:
		c.deaf.Store(true)
		c.keys.ForgetAll()
		c.channels.forgetAll()
		c.policies.Forget()
		c.log.Warn("the change feed lost its connection; caches bypassed until it is back", "err", ch.Err)
	default:
		c.keys.ForgetAll()
		c.channels.forgetAll()
		c.policies.Forget()
		if ch.Kind == gatehouse.ChangeAll {
			c.deaf.Store(false)
		}
		switch {
		case ch.Kind != gatehouse.ChangeAll:
			c.log.Warn("unknown kind of change from the change feed; caches flushed", "kind", ch.Kind)
		case ch.Err != nil:
			c.log.Warn("the change feed started over; caches flushed", "err", ch.Err)
		default:
			c.log.Info("following changes from other replicas")
		}
	}
}
