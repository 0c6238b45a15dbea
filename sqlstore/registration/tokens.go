package registration

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

// Organization registration tokens (registration_tokens) and the machines
// registered for conda that have not fetched yet.

const regTokenCols = `t.id, t.org_id, o.name, t.name, t.hash, t.hint, t.created_at, t.created_by, t.last_seen_at, t.revoked_at`

func regTokenDest(t *gatehouse.RegistrationToken) []any {
	return []any{&t.ID, &t.OrgID, &t.Org, &t.Name, &t.Hash, &t.Hint, (*sqlkit.Time)(&t.CreatedAt), &t.CreatedBy,
		(*sqlkit.Time)(&t.LastSeenAt), (*sqlkit.Time)(&t.RevokedAt)}
}

// CreateRegistrationToken inserts t and sets t.ID. EINVALID for a hash
// that is not 32 bytes, an empty name or text that is not UTF-8;
// ECONFLICT if the organization has an unrevoked token of the name or
// another token has the hash; ENOTFOUND if the organization does not
// exist. A zero CreatedAt is now.
func (db *Queries) CreateRegistrationToken(ctx context.Context, t *gatehouse.RegistrationToken) error {
	if len(t.Hash) != sqlkit.HashLen {
		return gatehouse.FieldErrorf("hash", "A token hash is %d bytes (SHA-256); this one has %d.", sqlkit.HashLen, len(t.Hash))
	}
	if t.Name == "" {
		return gatehouse.FieldErrorf("name", "A registration token needs a name.")
	}
	if err := sqlkit.RequireText("name", t.Name, "hint", t.Hint, "created_by", t.CreatedBy); err != nil {
		return err
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.c.Now()
	}
	if err := sqlkit.CheckTimes(t.CreatedAt, t.LastSeenAt, t.RevokedAt); err != nil {
		return err
	}
	var id int64
	err := db.c.Q.QueryRowContext(ctx, `INSERT INTO registration_tokens
		(org_id, name, hash, hint, created_at, created_by, last_seen_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		t.OrgID, t.Name, t.Hash, t.Hint, db.c.TV(t.CreatedAt), t.CreatedBy, db.c.NTV(t.LastSeenAt), db.c.NTV(t.RevokedAt)).Scan(&id)
	if sqlkit.ForeignKeyViolation(err) {
		return sqlkit.NotFound("No organization with ID %d to own the token.", t.OrgID)
	}
	if constraint, ok := sqlkit.UniqueViolation(err); ok {
		if strings.Contains(constraint, "hash") {
			return gatehouse.Errorf(gatehouse.ECONFLICT, "A registration token with this hash already exists.")
		}
		return gatehouse.FieldErrorf("name", "This organization has a registration token named %q already; revoke it or pick another name.", t.Name)
	}
	if err != nil {
		return sqlkit.WrapErr(err, "create registration token")
	}
	t.ID = id
	t.CreatedAt, t.LastSeenAt, t.RevokedAt = sqlkit.NormTime(t.CreatedAt), sqlkit.NormNullTime(t.LastSeenAt), sqlkit.NormNullTime(t.RevokedAt)
	return nil
}

// RegistrationTokenByHash returns the token with this hash, revoked or
// not. ENOTFOUND if none.
func (db *Queries) RegistrationTokenByHash(ctx context.Context, hash []byte) (*gatehouse.RegistrationToken, error) {
	t := new(gatehouse.RegistrationToken)
	err := db.c.Q.QueryRowContext(ctx, `SELECT `+regTokenCols+` FROM registration_tokens t JOIN orgs o ON o.id = t.org_id
		WHERE t.hash = $1`, hash).Scan(regTokenDest(t)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sqlkit.NotFound("No such registration token.")
	}
	if err != nil {
		return nil, sqlkit.WrapErr(err, "find registration token")
	}
	return t, nil
}

// ListRegistrationTokens returns the organization's tokens, newest first,
// with how many clients each has.
func (db *Queries) ListRegistrationTokens(ctx context.Context, orgID int64) ([]*gatehouse.RegistrationToken, error) {
	rows, err := db.c.Q.QueryContext(ctx, `SELECT `+regTokenCols+`,
		(SELECT COUNT(*) FROM clients c WHERE c.token_id = t.id)
		FROM registration_tokens t JOIN orgs o ON o.id = t.org_id
		WHERE t.org_id = $1 ORDER BY t.created_at DESC, t.id DESC`, orgID)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list registration tokens")
	}
	defer rows.Close()
	var out []*gatehouse.RegistrationToken
	for rows.Next() {
		t := new(gatehouse.RegistrationToken)
		if err := rows.Scan(append(regTokenDest(t), &t.Clients)...); err != nil {
			return nil, sqlkit.WrapErr(err, "list registration tokens")
		}
		out = append(out, t)
	}
	return out, sqlkit.WrapErr(rows.Err(), "list registration tokens")
}

// RevokeRegistrationToken revokes the organization's token at at (a
// revoked one keeps its first revocation) and returns it. ENOTFOUND if it
// is not the organization's.
func (db *Queries) RevokeRegistrationToken(ctx context.Context, orgID, id int64, at time.Time) (*gatehouse.RegistrationToken, error) {
	if err := sqlkit.CheckTimes(at); err != nil {
		return nil, err
	}
	res, err := db.c.Q.ExecContext(ctx, `UPDATE registration_tokens SET revoked_at = COALESCE(revoked_at, $3)
		WHERE org_id = $1 AND id = $2`, orgID, id, db.c.TV(at))
	if err := sqlkit.MustAffect(res, err, "revoke registration token", "This organization has no registration token "+strconv.FormatInt(id, 10)+"."); err != nil {
		return nil, err
	}
	t := new(gatehouse.RegistrationToken)
	err = db.c.Q.QueryRowContext(ctx, `SELECT `+regTokenCols+` FROM registration_tokens t JOIN orgs o ON o.id = t.org_id
		WHERE t.id = $1`, id).Scan(regTokenDest(t)...)
	return t, sqlkit.WrapErr(err, "revoke registration token")
}

// TouchRegistrationToken moves LastSeenAt forward to at.
func (db *Queries) TouchRegistrationToken(ctx context.Context, id int64, at time.Time) error {
	if err := sqlkit.CheckTimes(at); err != nil {
		return err
	}
	_, err := db.c.Q.ExecContext(ctx, `UPDATE registration_tokens SET last_seen_at = $2
		WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < $2)`, id, db.c.TV(at))
	return sqlkit.WrapErr(err, "touch registration token")
}

// UnusedKeys lists active personal keys with the Platform channels scope
// that no client names yet, as pending clients, newest first.
func (db *Queries) UnusedKeys(ctx context.Context, f gatehouse.ClientFilter, at time.Time) ([]*gatehouse.Client, error) {
	if f.OrgID != 0 || f.Org != "" || f.Network != "" {
		return []*gatehouse.Client{}, nil
	}
	limit, err := clientLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	q := `SELECT k.id, k.name, u.id, u.username, k.created_at FROM api_keys k JOIN users u ON u.id = k.user_id
		WHERE k.org_id IS NULL AND k.revoked_at IS NULL AND k.expires_at > $1 AND (k.scopes & $2) <> 0
		AND NOT EXISTS (SELECT 1 FROM clients c WHERE c.key_id = k.id)`
	args := []any{db.c.TV(at), int64(gatehouse.ScopeChannels)}
	if f.Username != "" {
		args = append(args, f.Username)
		q += ` AND u.username = $3`
	}
	args = append(args, limit)
	rows, err := db.c.Q.QueryContext(ctx, q+` ORDER BY k.created_at DESC, k.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list unused keys")
	}
	defer rows.Close()
	out := []*gatehouse.Client{}
	for rows.Next() {
		c := &gatehouse.Client{Pending: true}
		if err := rows.Scan(&c.KeyID, &c.KeyName, &c.UserID, &c.Username, (*sqlkit.Time)(&c.FirstSeen)); err != nil {
			return nil, sqlkit.WrapErr(err, "list unused keys")
		}
		out = append(out, c)
	}
	return out, sqlkit.WrapErr(rows.Err(), "list unused keys")
}
