package gatehouse

import "time"

// Session is a signed-in browser session. The cookie holds a random token;
// only its SHA-256 Hash is stored, like keys.
type Session struct {
	ID        int64
	Hash      []byte
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	IP        string
	UserAgent string
}

// Session lifetimes: a session ends after SessionIdleTimeout without use,
// and in any case SessionMaxAge after sign-in.
const (
	SessionMaxAge      = 12 * time.Hour
	SessionIdleTimeout = 2 * time.Hour
)
