package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// changesChannel is the PostgreSQL NOTIFY channel the replicas share. An
// operator may send "all" on it by hand (NOTIFY gatehouse_changes, 'all')
// to make every replica drop its caches.
const changesChannel = "gatehouse_changes"

// listenerName is the application_name of the listening connection, so
// that it can be told apart in pg_stat_activity.
const listenerName = "gatehouse-change-listener"

// Timings of the listener. A quiet connection is checked every
// listenerIdle, so one that died without a word (a partitioned network) is
// replaced within about that time; reconnections back off up to
// maxBackoff. The key cache's own expiry still bounds staleness meanwhile.
var (
	listenerIdle   = 30 * time.Second
	pingTimeout    = 5 * time.Second
	connectTimeout = 10 * time.Second
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 5 * time.Second
)

var _ gatehouse.ChangeFeed = (*DB)(nil)

// notify queues c for every replica's listener, in tx: PostgreSQL delivers
// it when tx commits and drops it if tx rolls back, so nobody hears of a
// change that did not happen, nor misses one that did. SQLite has no
// other process to tell.
func (db *DB) notify(ctx context.Context, tx *sql.Tx, c gatehouse.Change) error {
	if db.dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, changesChannel, encodeChange(c))
	return wrapErr(err, "queue the change notification")
}

// encodeChange writes c as a short payload: "key:<64 hex digits>",
// "user:<id>", "channel:<id>", "roles" or "all" (well under PostgreSQL's
// 8000-byte limit).
func encodeChange(c gatehouse.Change) string {
	switch c.Kind {
	case gatehouse.ChangeKey:
		return "key:" + hex.EncodeToString(c.KeyHash)
	case gatehouse.ChangeUser:
		return "user:" + strconv.FormatInt(c.UserID, 10)
	case gatehouse.ChangeChannel:
		return "channel:" + strconv.FormatInt(c.ChannelID, 10)
	case gatehouse.ChangeRoles:
		return "roles"
	}
	return "all"
}

// parseChange reads a payload encodeChange wrote. Anyone who may connect
// to the database can NOTIFY, so it is checked strictly; the caller turns
// a payload it cannot read into ChangeAll, which is always safe.
func parseChange(p string) (gatehouse.Change, error) {
	kind, arg, hasArg := strings.Cut(p, ":")
	switch gatehouse.ChangeKind(kind) {
	case gatehouse.ChangeRoles, gatehouse.ChangeAll:
		if !hasArg {
			return gatehouse.Change{Kind: gatehouse.ChangeKind(kind)}, nil
		}
	case gatehouse.ChangeKey:
		if len(arg) == 2*hashLen {
			if h, err := hex.DecodeString(arg); err == nil && hex.EncodeToString(h) == arg {
				return gatehouse.Change{Kind: gatehouse.ChangeKey, KeyHash: h}, nil
			}
		}
	case gatehouse.ChangeUser, gatehouse.ChangeChannel:
		// Canonical decimal only, so that every change has one spelling.
		if id, err := strconv.ParseInt(arg, 10, 64); err == nil && id > 0 && strconv.FormatInt(id, 10) == arg {
			if kind == string(gatehouse.ChangeUser) {
				return gatehouse.Change{Kind: gatehouse.ChangeUser, UserID: id}, nil
			}
			return gatehouse.Change{Kind: gatehouse.ChangeChannel, ChannelID: id}, nil
		}
	}
	if len(p) > 80 {
		p = p[:80] + "…"
	}
	return gatehouse.Change{}, fmt.Errorf("sqlstore: unreadable change notification %q", p)
}

// Changes calls fn for every change committed to the database by any
// process, in commit order, until ctx ends. It listens on a connection of
// its own and, when that connection fails, reconnects with backoff; after
// each (re)connection it first sends ChangeAll, since notifications sent
// meanwhile are lost; when a connection fails it sends ChangeLost before
// trying again. It returns ctx's error, or errors.ErrUnsupported at
// once on SQLite, which one process uses alone.
func (db *DB) Changes(ctx context.Context, fn func(gatehouse.Change)) error {
	if db.dialect != Postgres {
		return errors.ErrUnsupported
	}
	var cause error // why the previous connection ended; nil at first
	backoff := minBackoff
	for {
		connected, err := db.listen(ctx, fn, cause)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cause = err
		if connected {
			// Deaf from now until the next ChangeAll: say so at once.
			fn(gatehouse.Change{Kind: gatehouse.ChangeLost, Err: err})
			backoff = minBackoff
		}
		// Full jitter, so that replicas do not reconnect in step after
		// a restart of the database.
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, maxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// listen runs one connection: LISTEN, send ChangeAll, then deliver
// notifications until the connection fails or ctx ends. connected reports
// whether LISTEN succeeded.
func (db *DB) listen(ctx context.Context, fn func(gatehouse.Change), cause error) (connected bool, err error) {
	cfg, err := db.connConfig(ctx)
	if err != nil {
		return false, err
	}
	cfg.RuntimeParams["application_name"] = listenerName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, wrapErr(err, "connect the change listener")
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return false, wrapErr(err, "listen for changes")
	}
	fn(gatehouse.Change{Kind: gatehouse.ChangeAll, Err: cause})
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenerIdle)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			c, perr := parseChange(n.Payload)
			if perr != nil {
				c = gatehouse.Change{Kind: gatehouse.ChangeAll, Err: perr}
			}
			fn(c)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(waitCtx.Err(), context.DeadlineExceeded):
			// Quiet for a while: make sure the connection still answers.
			pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return true, wrapErr(err, "check the change listener")
			}
		default:
			return true, wrapErr(err, "wait for changes")
		}
	}
}

// connConfig parses afresh the connection string the pool's connections
// were opened with (address, credentials, TLS), so that the listener
// connects exactly as they do. (A copy of a live connection's config
// would carry that connection's notification handler.)
func (db *DB) connConfig(ctx context.Context) (*pgx.ConnConfig, error) {
	// A pooled connection cut off by the same fault as the listener may
	// hang on its health check; give up and retry rather than wait.
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	c, err := db.db.Conn(ctx)
	if err != nil {
		return nil, wrapErr(err, "read the connection settings")
	}
	defer c.Close()
	var dsn string
	err = c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: the PostgreSQL driver connection is a %T, not pgx's", dc)
		}
		dsn = sc.Conn().Config().ConnString()
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "read the connection settings")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// Never echo the string: it may hold a password.
		return nil, fmt.Errorf("sqlstore: the PostgreSQL URL of the pool cannot be parsed again: %T", err)
	}
	return cfg, nil
}
