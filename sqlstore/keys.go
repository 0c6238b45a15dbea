package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

const hashLen = sqlkit.HashLen

// createKeyAttempts bounds the retries of CreateKey after losing a race
// for the active name. The lock on the user's row makes a lost race
// unexpected; the bound keeps a surprise from looping.
const createKeyAttempts = 3

// errNameRace marks a CreateKey transaction that lost the race for the
// (user, name) pair to a concurrent one and may be retried.
var errNameRace = errors.New("another key with this name was created concurrently")

// CreateKey inserts k and sets k.ID. In the same transaction it revokes
// (reason RevokedReplaced, at k.CreatedAt) any unrevoked key of the same
// user with the same name, and returns it; replaced is nil if none.
// EINVALID if the hash is not 32 bytes, ECONFLICT if another key has the
// hash, ENOTFOUND if the user does not exist. A zero CreatedAt is now.
func (db *DB) CreateKey(ctx context.Context, k *gatehouse.APIKey) (replaced *gatehouse.APIKey, err error) {
	if len(k.Hash) != hashLen {
		return nil, gatehouse.FieldErrorf("hash", "A key hash is %d bytes (SHA-256); this one has %d.", hashLen, len(k.Hash))
	}
	if err := requireText("name", k.Name, "hint", k.Hint, "revoke_reason", k.RevokeReason, "created_via", k.CreatedVia); err != nil {
		return nil, err
	}
	if err := checkKeyRestrictions(k); err != nil {
		return nil, err
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	if err := checkTimes(k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RevokedAt); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		replaced, err = db.createKey(ctx, k)
		if !errors.Is(err, errNameRace) {
			break
		}
		if attempt == createKeyAttempts {
			return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "Another key named %q was being created at the same moment; try again.", k.Name)
		}
	}
	if err != nil {
		return nil, err
	}
	k.CreatedAt = normTime(k.CreatedAt)
	k.ExpiresAt = normTime(k.ExpiresAt)
	k.LastUsedAt = normNullTime(k.LastUsedAt)
	k.RevokedAt = normNullTime(k.RevokedAt)
	return replaced, nil
}

func (db *DB) createKey(ctx context.Context, k *gatehouse.APIKey) (*gatehouse.APIKey, error) {
	var replaced *gatehouse.APIKey
	var id int64
	err := db.inTx(ctx, "create key", func(tx *sql.Tx) error {
		// Checks the owner exists and, on PostgreSQL, makes key creations
		// of one user queue (NO KEY UPDATE leaves sessions and other
		// inserts that only reference the user free to go on).
		var uid int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1`+db.lockRow, k.UserID).Scan(&uid)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("No user with ID %d to own the key.", k.UserID)
		} else if err != nil {
			return wrapErr(err, "lock the key's owner")
		}
		// The partial unique index allows at most one such row: per
		// person for personal keys, per organization for service keys.
		old := new(gatehouse.APIKey)
		replace := `UPDATE api_keys SET revoked_at = $3, revoke_reason = $4
			WHERE user_id = $1 AND name = $2 AND revoked_at IS NULL AND org_id IS NULL RETURNING ` + keyColsBare
		owner := k.UserID
		if k.OrgID != 0 {
			replace = `UPDATE api_keys SET revoked_at = $3, revoke_reason = $4
				WHERE org_id = $1 AND name = $2 AND revoked_at IS NULL RETURNING ` + keyColsBare
			owner = k.OrgID
		}
		err = tx.QueryRowContext(ctx, replace, owner, k.Name, db.tv(k.CreatedAt), gatehouse.RevokedReplaced).Scan(keyDest(old)...)
		switch {
		case err == nil:
			replaced = old
			// Other replicas drop the old key only if all this commits.
			if err := db.notify(ctx, tx, gatehouse.Change{Kind: gatehouse.ChangeKey, KeyHash: old.Hash}); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return wrapErr(err, "revoke the replaced key")
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO api_keys
			(user_id, name, hash, hint, scopes, created_at, expires_at, last_used_at, revoked_at, revoke_reason, created_via,
			 org_id, channels, channel_access)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
			k.UserID, k.Name, k.Hash, k.Hint, int64(k.Scopes), db.tv(k.CreatedAt), db.tv(k.ExpiresAt),
			db.ntv(k.LastUsedAt), db.ntv(k.RevokedAt), k.RevokeReason, k.CreatedVia,
			nullID(k.OrgID), strings.Join(k.Channels, ","), accessText(k.ChannelAccess)).Scan(&id)
		if foreignKeyViolation(err) {
			return notFound("No organization with ID %d to own the key.", k.OrgID)
		}
		if constraint, ok := uniqueViolation(err); ok {
			if strings.Contains(constraint, "hash") {
				return gatehouse.Errorf(gatehouse.ECONFLICT, "A key with this hash already exists.")
			}
			return errNameRace
		}
		return wrapErr(err, "insert key")
	})
	if err != nil {
		return nil, err
	}
	k.ID = id
	return replaced, nil
}

// KeyByHash returns the key with this hash, whatever its status, and its
// owner, in one prepared query: it runs on every request a key
// authenticates.
func (db *DB) KeyByHash(ctx context.Context, hash []byte) (*gatehouse.APIKey, *gatehouse.User, error) {
	type row struct {
		k gatehouse.APIKey
		u gatehouse.User
	}
	r := new(row)    // one allocation for both
	var dest [24]any // the key columns and sqlkit.UserCols
	n := copy(dest[:], keyDest(&r.k))
	copy(dest[n:], userDest(&r.u))
	err := db.stmt(ctx, db.keyByHash).QueryRowContext(ctx, hash).Scan(dest[:]...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound("No such key.")
	} else if err != nil {
		return nil, nil, wrapErr(err, "read key by hash")
	}
	return &r.k, &r.u, nil
}

// KeyByID returns the user's key. ENOTFOUND if it is not theirs, exactly
// as if it did not exist (checklist A7: no existence oracle).
func (db *DB) KeyByID(ctx context.Context, userID, keyID int64) (*gatehouse.APIKey, error) {
	k := new(gatehouse.APIKey)
	err := db.q.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys k WHERE k.id = $1 AND k.user_id = $2 AND k.org_id IS NULL`,
		keyID, userID).Scan(keyDest(k)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("No such key.")
	} else if err != nil {
		return nil, wrapErr(err, "read key")
	}
	return k, nil
}

// ListKeys returns all the user's keys, newest first, revoked included.
func (db *DB) ListKeys(ctx context.Context, userID int64) ([]*gatehouse.APIKey, error) {
	return db.listKeys(ctx, `SELECT `+keyCols+` FROM api_keys k WHERE k.user_id = $1 AND k.org_id IS NULL
		ORDER BY k.created_at DESC, k.id DESC`, userID)
}

func (db *DB) listKeys(ctx context.Context, query string, arg int64) ([]*gatehouse.APIKey, error) {
	rows, err := db.q.QueryContext(ctx, query, arg)
	if err != nil {
		return nil, wrapErr(err, "list keys")
	}
	defer rows.Close()
	var keys []*gatehouse.APIKey
	for rows.Next() {
		k := new(gatehouse.APIKey)
		if err := rows.Scan(keyDest(k)...); err != nil {
			return nil, wrapErr(err, "list keys")
		}
		keys = append(keys, k)
	}
	return keys, wrapErr(rows.Err(), "list keys")
}

// RevokeKey revokes the user's key and returns it. Revoking a revoked key
// changes nothing and succeeds. ENOTFOUND if it is not theirs (checklist
// A7), EINVALID for an unknown reason.
func (db *DB) RevokeKey(ctx context.Context, userID, keyID int64, at time.Time, reason string) (*gatehouse.APIKey, error) {
	switch reason {
	case gatehouse.RevokedByUser, gatehouse.RevokedReplaced, gatehouse.RevokedLogout, gatehouse.RevokedReplayedLogin:
	default:
		return nil, gatehouse.FieldErrorf("reason", "Unknown revocation reason %q.", reason)
	}
	if err := checkTimes(at); err != nil {
		return nil, err
	}
	if at.IsZero() {
		at = db.now()
	}
	// The condition on revoked_at keeps the first revocation's time and
	// reason; the read that follows returns the key either way. Only the
	// first revocation tells the other replicas, in its transaction.
	err := db.inTx(ctx, "revoke key", func(tx *sql.Tx) error {
		var hash []byte
		err := tx.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = $3, revoke_reason = $4
			WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND org_id IS NULL RETURNING hash`,
			keyID, userID, db.tv(at), reason).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return wrapErr(err, "revoke key")
		}
		return db.notify(ctx, tx, gatehouse.Change{Kind: gatehouse.ChangeKey, KeyHash: hash})
	})
	if err != nil {
		return nil, err
	}
	return db.KeyByID(ctx, userID, keyID)
}

// TouchKey records a use: it sets LastUsedAt to at if that is later, so
// that out-of-order writes from several replicas never move it back.
func (db *DB) TouchKey(ctx context.Context, keyID int64, at time.Time) error {
	if err := checkTimes(at); err != nil {
		return err
	}
	res, err := db.q.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, keyID, db.tv(at))
	if err != nil {
		return wrapErr(err, "touch key")
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return wrapErr(err, "touch key")
	}
	// Nothing changed: a later use was already recorded, or no such key.
	var id int64
	err = db.q.QueryRowContext(ctx, `SELECT id FROM api_keys WHERE id = $1`, keyID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("No such key.")
	}
	return wrapErr(err, "touch key")
}
