package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

const sessionCols = `s.id, s.hash, s.user_id, s.created_at, s.expires_at, s.ip, s.user_agent`

// CreateSession inserts s and sets s.ID. EINVALID if the hash is not 32
// bytes, ECONFLICT if another session has it, ENOTFOUND if the user does
// not exist. A zero CreatedAt is now. IP and UserAgent come from the
// client: they are cleaned and cut to storable text, not refused.
func (db *DB) CreateSession(ctx context.Context, s *gatehouse.Session) error {
	if len(s.Hash) != hashLen {
		return gatehouse.FieldErrorf("hash", "A session hash is %d bytes (SHA-256); this one has %d.", hashLen, len(s.Hash))
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = db.now()
	}
	if err := checkTimes(s.CreatedAt, s.ExpiresAt); err != nil {
		return err
	}
	s.IP, s.UserAgent = outsideText(s.IP, maxSessionIP), outsideText(s.UserAgent, maxUserAgent)
	var id int64
	err := db.q.QueryRowContext(ctx, `INSERT INTO sessions (hash, user_id, created_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		s.Hash, s.UserID, db.tv(s.CreatedAt), db.tv(s.ExpiresAt), s.IP, s.UserAgent).Scan(&id)
	if _, ok := uniqueViolation(err); ok {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "A session with this hash already exists.")
	} else if foreignKeyViolation(err) {
		return notFound("No user with ID %d to sign in.", s.UserID)
	} else if err != nil {
		return wrapErr(err, "create session")
	}
	s.ID = id
	s.CreatedAt = normTime(s.CreatedAt)
	s.ExpiresAt = normTime(s.ExpiresAt)
	return nil
}

// SessionByHash returns the session and its user, in one query.
// ENOTFOUND if none. Expiry is the caller's to check.
func (db *DB) SessionByHash(ctx context.Context, hash []byte) (*gatehouse.Session, *gatehouse.User, error) {
	s, u := new(gatehouse.Session), new(gatehouse.User)
	dest := append([]any{&s.ID, &s.Hash, &s.UserID, (*dbTime)(&s.CreatedAt), (*dbTime)(&s.ExpiresAt), &s.IP, &s.UserAgent},
		userDest(u)...)
	err := db.stmt(ctx, db.sessionByHash).QueryRowContext(ctx, hash).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound("No such session.")
	} else if err != nil {
		return nil, nil, wrapErr(err, "read session")
	}
	return s, u, nil
}

// ExtendSession moves the session's expiry. ENOTFOUND if none.
func (db *DB) ExtendSession(ctx context.Context, id int64, expiresAt time.Time) error {
	if err := checkTimes(expiresAt); err != nil {
		return err
	}
	res, err := db.q.ExecContext(ctx, `UPDATE sessions SET expires_at = $2 WHERE id = $1`, id, db.tv(expiresAt))
	return mustAffect(res, err, "extend session", "No such session.")
}

// DeleteSession ends the session with this hash. Ending one that is gone
// already succeeds: sign-out is idempotent.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := db.q.ExecContext(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
	return wrapErr(err, "delete session")
}

// DeleteUserSessions ends every session of the user.
func (db *DB) DeleteUserSessions(ctx context.Context, userID int64) error {
	_, err := db.q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return wrapErr(err, "delete the user's sessions")
}

// DeleteExpiredSessions removes sessions that expired before t and
// returns how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	if err := checkTimes(t); err != nil {
		return 0, err
	}
	res, err := db.q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1`, db.tv(t))
	if err != nil {
		return 0, wrapErr(err, "delete expired sessions")
	}
	n, err := res.RowsAffected()
	return n, wrapErr(err, "delete expired sessions")
}
