package gatehouse

import "context"

// ChangeKind names what a Change makes stale.
type ChangeKind string

const (
	// ChangeKey: one key was revoked or replaced; KeyHash is its SHA-256.
	ChangeKey ChangeKind = "key"
	// ChangeUser: a user's account changed (disabled, enabled, made or
	// no longer an administrator); UserID says whose.
	ChangeUser ChangeKind = "user"
	// ChangeChannel: a channel's visibility or its grants changed;
	// ChannelID says which.
	ChangeChannel ChangeKind = "channel"
	// ChangeRoles: an organization's membership changed, which may change
	// any member's role on any of its channels.
	ChangeRoles ChangeKind = "roles"
	// ChangeAll: anything may have changed. The feed sends it when it
	// starts listening and after every interruption (notifications sent
	// while it was away are lost), and for a message it cannot read.
	ChangeAll ChangeKind = "all"
	// ChangeLost: the feed lost its connection. Changes committed until
	// the next ChangeAll go unheard, so until then a replica must trust
	// no cached authorization decision (issue 8: a key revoked on one
	// replica while the other's feed was reconnecting after a database
	// restart stayed usable there for the rest of the cache period).
	ChangeLost ChangeKind = "lost"
)

// Change is one committed change that may make a cached authorization
// decision wrong: a replica that receives it drops what it names.
type Change struct {
	Kind      ChangeKind
	KeyHash   []byte // ChangeKey
	UserID    int64  // ChangeUser
	ChannelID int64  // ChangeChannel
	// Err says, for a ChangeAll or ChangeLost, why the feed had to start
	// over (the connection it lost, the message it could not read); nil
	// when it first connects. For logs only.
	Err error
}

// ChangeFeed is implemented by stores that several server processes share
// (PostgreSQL), so that a revocation on one replica reaches the others'
// caches at once rather than when their entries expire (checklist A6,
// A10). A store only one process uses needs no feed.
type ChangeFeed interface {
	// Changes calls fn, from one goroutine and in commit order, for every
	// change that any process commits, until ctx ends; then it returns
	// ctx's error. When the connection drops it sends ChangeLost,
	// reconnects by itself and then sends ChangeAll. A rolled-back change is never sent. It returns
	// errors.ErrUnsupported at once if this store has no feed (SQLite).
	Changes(ctx context.Context, fn func(Change)) error
}
