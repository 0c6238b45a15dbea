package service

import "time"

// What the hot-path caches hold, and a way to write out what the
// background jobs hold, for diagnostics and for the tests of the packages
// built on the services (which must prove a cache was filled before they
// prove a change emptied it).

// CachedKey reports whether the key with this SHA-256 is in the key cache.
func (s *Services) CachedKey(hash []byte) bool {
	return s.core.keys.Cached(hash)
}

// CachedChannel reports whether the channel is in the channel cache.
func (s *Services) CachedChannel(name string) bool {
	_, ok := s.core.channels.channels.Get(name)
	return ok
}

// CachedRoles reports whether any user's role on the channel is cached.
func (s *Services) CachedRoles(channelID int64) bool {
	for k := range s.core.channels.roles.All() {
		if k.channel == channelID {
			return true
		}
	}
	return false
}

// FlushClients writes the registered clients counted in memory now,
// rather than at the recorder's next round.
func (s *Services) FlushClients() { s.core.reg.Recorder().Flush() }

// KeyCacheTTL is how long a verified key is trusted without a lookup.
func (s *Services) KeyCacheTTL() time.Duration { return s.core.cfg.KeyCacheTTL }
