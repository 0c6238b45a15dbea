package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Organization service keys and the channel restrictions of keys: the
// columns org_id, channels and channel_access of api_keys.

// checkKeyRestrictions refuses what the columns cannot hold faithfully.
func checkKeyRestrictions(k *gatehouse.APIKey) error {
	for _, c := range k.Channels {
		if c == "" || strings.ContainsRune(c, ',') || !textOK(c) {
			return gatehouse.FieldErrorf("channels", "Channel names in a key's list may not be empty or hold commas.")
		}
	}
	switch k.ChannelAccess {
	case gatehouse.NoAccess, gatehouse.ChannelRead, gatehouse.ChannelWrite:
	default:
		return gatehouse.FieldErrorf("channel_access", "A key's channel access is read or write.")
	}
	if k.OrgID < 0 {
		return gatehouse.FieldErrorf("org_id", "No such organization.")
	}
	return nil
}

// ListOrgKeys returns all the organization's keys, newest first, revoked
// included.
func (db *DB) ListOrgKeys(ctx context.Context, orgID int64) ([]*gatehouse.APIKey, error) {
	return db.listKeys(ctx, `SELECT `+keyCols+` FROM api_keys k WHERE k.org_id = $1
		ORDER BY k.created_at DESC, k.id DESC`, orgID)
}

// RevokeOrgKey revokes the organization's key and returns it. Revoking a
// revoked key changes nothing and succeeds; ENOTFOUND if the key is not the
// organization's.
func (db *DB) RevokeOrgKey(ctx context.Context, orgID, keyID int64, at time.Time, reason string) (*gatehouse.APIKey, error) {
	switch reason {
	case gatehouse.RevokedByUser, gatehouse.RevokedReplaced, gatehouse.RevokedLogout:
	default:
		return nil, gatehouse.FieldErrorf("reason", "Unknown revocation reason %q.", reason)
	}
	if err := checkTimes(at); err != nil {
		return nil, err
	}
	if at.IsZero() {
		at = db.now()
	}
	err := db.inTx(ctx, "revoke organization key", func(tx *sql.Tx) error {
		var hash []byte
		err := tx.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = $3, revoke_reason = $4
			WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL RETURNING hash`,
			keyID, orgID, db.tv(at), reason).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return wrapErr(err, "revoke organization key")
		}
		return db.notify(ctx, tx, gatehouse.Change{Kind: gatehouse.ChangeKey, KeyHash: hash})
	})
	if err != nil {
		return nil, err
	}
	k := new(gatehouse.APIKey)
	err = db.q.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys k WHERE k.id = $1 AND k.org_id = $2`,
		keyID, orgID).Scan(keyDest(k)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("No such key.")
	} else if err != nil {
		return nil, wrapErr(err, "read organization key")
	}
	return k, nil
}

// OrgByID returns the organization, ENOTFOUND if none.
func (db *DB) OrgByID(ctx context.Context, id int64) (*gatehouse.Org, error) {
	o := new(gatehouse.Org)
	err := db.q.QueryRowContext(ctx, `SELECT id, name, created_at FROM orgs WHERE id = $1`, id).
		Scan(&o.ID, &o.Name, (*dbTime)(&o.CreatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("No such organization.")
	} else if err != nil {
		return nil, wrapErr(err, "read organization")
	}
	return o, nil
}

// UsersByEmail returns the users with this email address, compared without
// regard to case, ordered by username.
func (db *DB) UsersByEmail(ctx context.Context, email string) ([]*gatehouse.User, error) {
	if !textOK(email) || email == "" {
		return nil, nil
	}
	rows, err := db.q.QueryContext(ctx, `SELECT `+userCols+` FROM users u WHERE lower(u.email) = lower($1) ORDER BY u.username`, email)
	if err != nil {
		return nil, wrapErr(err, "find users by email")
	}
	defer rows.Close()
	var out []*gatehouse.User
	for rows.Next() {
		u := new(gatehouse.User)
		if err := rows.Scan(userDest(u)...); err != nil {
			return nil, wrapErr(err, "find users by email")
		}
		out = append(out, u)
	}
	return out, wrapErr(rows.Err(), "find users by email")
}

// KeyPolicy returns the key policy of the organization (0: the server); a
// zero policy if none was set.
func (db *DB) KeyPolicy(ctx context.Context, orgID int64) (gatehouse.KeyPolicy, error) {
	var p gatehouse.KeyPolicy
	err := db.q.QueryRowContext(ctx, `SELECT max_key_lifetime_days, expiry_warning_days FROM key_policies WHERE org_id = $1`, orgID).
		Scan(&p.MaxKeyLifetimeDays, &p.ExpiryWarningDays)
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.KeyPolicy{}, nil
	}
	return p, wrapErr(err, "read key policy")
}

// SetKeyPolicy stores the policy of the organization (0: the server).
// EINVALID for values outside what a policy may hold.
func (db *DB) SetKeyPolicy(ctx context.Context, orgID int64, p gatehouse.KeyPolicy, at time.Time) error {
	if p.MaxKeyLifetimeDays < 0 || p.MaxKeyLifetimeDays > gatehouse.DefaultMaxKeyLifetimeDays {
		return gatehouse.FieldErrorf("max_key_lifetime_days", "max_key_lifetime_days must be from 0 to 365 days.")
	}
	if p.ExpiryWarningDays < 0 || p.ExpiryWarningDays > 90 {
		return gatehouse.FieldErrorf("expiry_warning_days", "expiry_warning_days must be from 0 to 90 days.")
	}
	if err := checkTimes(at); err != nil {
		return err
	}
	_, err := db.q.ExecContext(ctx, `INSERT INTO key_policies (org_id, max_key_lifetime_days, expiry_warning_days, updated_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (org_id) DO UPDATE
		SET max_key_lifetime_days = excluded.max_key_lifetime_days, expiry_warning_days = excluded.expiry_warning_days,
		    updated_at = excluded.updated_at`, orgID, p.MaxKeyLifetimeDays, p.ExpiryWarningDays, db.tv(at))
	return wrapErr(err, "store key policy")
}
