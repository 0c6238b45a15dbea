package identity

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

// user_id is NULL while a grant is pending; COALESCE reads it as 0, the
// domain's "nobody yet".
const grantCols = `g.id, g.kind, g.code_hash, g.user_code, g.client_id, g.redirect_uri, g.code_challenge,
	g.scopes, g.client_name, COALESCE(g.user_id, 0), g.status, g.created_at, g.expires_at, g.last_polled_at`

func grantDest(g *gatehouse.OAuthGrant) []any {
	return []any{&g.ID, &g.Kind, &g.CodeHash, &g.UserCode, &g.ClientID, &g.RedirectURI, &g.CodeChallenge,
		(*sqlkit.Scopes)(&g.Scopes), &g.ClientName, &g.UserID, &g.Status,
		(*sqlkit.Time)(&g.CreatedAt), (*sqlkit.Time)(&g.ExpiresAt), (*sqlkit.Time)(&g.LastPolledAt)}
}

const tokenCols = `t.id, t.hash, t.user_id, t.scopes, t.client_name, t.created_at, t.expires_at, t.grant_id, t.used_at`

func tokenDest(t *gatehouse.AccessToken) []any {
	return []any{&t.ID, &t.Hash, &t.UserID, (*sqlkit.Scopes)(&t.Scopes), &t.ClientName,
		(*sqlkit.Time)(&t.CreatedAt), (*sqlkit.Time)(&t.ExpiresAt), &t.GrantID, (*sqlkit.Time)(&t.UsedAt)}
}

func validGrantStatus(s string) bool {
	switch s {
	case gatehouse.GrantPending, gatehouse.GrantApproved, gatehouse.GrantDenied, gatehouse.GrantUsed:
		return true
	}
	return false
}

// grantMoves are the only status changes there are: nothing moves back,
// and only an approved grant is ever used.
var grantMoves = map[[2]string]bool{
	{gatehouse.GrantPending, gatehouse.GrantApproved}: true,
	{gatehouse.GrantPending, gatehouse.GrantDenied}:   true,
	{gatehouse.GrantApproved, gatehouse.GrantUsed}:    true,
}

// userRef encodes a user ID for a nullable reference: 0 is NULL.
func userRef(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateGrant inserts g and sets g.ID. A zero Status is GrantPending, a
// zero CreatedAt now. EINVALID for an unknown kind or status, a hash that
// is not 32 bytes, no expiry, or text that is not UTF-8; ECONFLICT if
// another grant has the code hash, or a pending one the user code;
// ENOTFOUND if UserID names no user.
func (db *Store) CreateGrant(ctx context.Context, g *gatehouse.OAuthGrant) error {
	if g.Kind != gatehouse.GrantCode && g.Kind != gatehouse.GrantDevice {
		return gatehouse.FieldErrorf("kind", "A grant is of kind %q or %q.", gatehouse.GrantCode, gatehouse.GrantDevice)
	}
	if len(g.CodeHash) != sqlkit.HashLen {
		return gatehouse.FieldErrorf("code_hash", "A code hash is %d bytes (SHA-256); this one has %d.", sqlkit.HashLen, len(g.CodeHash))
	}
	status := g.Status
	if status == "" {
		status = gatehouse.GrantPending
	}
	if !validGrantStatus(status) {
		return gatehouse.FieldErrorf("status", "Unknown grant status %q.", sqlkit.OutsideText(status, 32))
	}
	if err := sqlkit.RequireText("user_code", g.UserCode, "client_id", g.ClientID, "redirect_uri", g.RedirectURI,
		"code_challenge", g.CodeChallenge, "client_name", g.ClientName); err != nil {
		return err
	}
	if g.ExpiresAt.IsZero() {
		return gatehouse.FieldErrorf("expires_at", "A grant needs an expiry.")
	}
	created := g.CreatedAt
	if created.IsZero() {
		created = db.c.Now()
	}
	if err := sqlkit.CheckTimes(created, g.ExpiresAt, g.LastPolledAt); err != nil {
		return err
	}
	var id int64
	err := db.c.Q.QueryRowContext(ctx, `INSERT INTO oauth_grants
		(kind, code_hash, user_code, client_id, redirect_uri, code_challenge, scopes, client_name, user_id,
		 status, created_at, expires_at, last_polled_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		g.Kind, g.CodeHash, g.UserCode, g.ClientID, g.RedirectURI, g.CodeChallenge, int64(g.Scopes), g.ClientName,
		userRef(g.UserID), status, db.c.TV(created), db.c.TV(g.ExpiresAt), db.c.NTV(g.LastPolledAt)).Scan(&id)
	if constraint, ok := sqlkit.UniqueViolation(err); ok {
		if strings.Contains(constraint, "user_code") {
			return gatehouse.Errorf(gatehouse.ECONFLICT, "Another pending sign-in has this user code.")
		}
		return gatehouse.Errorf(gatehouse.ECONFLICT, "A grant with this code already exists.")
	} else if sqlkit.ForeignKeyViolation(err) {
		return sqlkit.NotFound("No user with ID %d to hold the grant.", g.UserID)
	} else if err != nil {
		return sqlkit.WrapErr(err, "create grant")
	}
	g.ID, g.Status, g.CreatedAt = id, status, sqlkit.NormTime(created)
	g.ExpiresAt, g.LastPolledAt = sqlkit.NormTime(g.ExpiresAt), sqlkit.NormNullTime(g.LastPolledAt)
	return nil
}

func (db *Store) grant(ctx context.Context, op, query string, args ...any) (*gatehouse.OAuthGrant, error) {
	g := new(gatehouse.OAuthGrant)
	err := db.c.Q.QueryRowContext(ctx, query, args...).Scan(grantDest(g)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sqlkit.NotFound("No such sign-in request: it may have expired.")
	} else if err != nil {
		return nil, sqlkit.WrapErr(err, op)
	}
	return g, nil
}

// GrantByCodeHash returns the grant with this code hash, whatever its
// status. ENOTFOUND if none. Expiry is the caller's to check.
func (db *Store) GrantByCodeHash(ctx context.Context, hash []byte) (*gatehouse.OAuthGrant, error) {
	return db.grant(ctx, "read grant by code", `SELECT `+grantCols+` FROM oauth_grants g WHERE g.code_hash = $1`, hash)
}

// GrantByUserCode returns the pending grant with this user code.
// ENOTFOUND if none is pending, or userCode is empty or not text. Expiry
// is the caller's to check.
func (db *Store) GrantByUserCode(ctx context.Context, userCode string) (*gatehouse.OAuthGrant, error) {
	if userCode == "" || !sqlkit.TextOK(userCode) {
		return nil, sqlkit.NotFound("No such sign-in request: it may have expired.")
	}
	return db.grant(ctx, "read grant by user code", `SELECT `+grantCols+` FROM oauth_grants g
		WHERE g.user_code = $1 AND g.status = 'pending' AND g.user_code <> ''`, userCode)
}

// SetGrantStatus moves the grant from status from to status to, and
// records userID when it is not 0, in one conditional UPDATE: of two
// concurrent moves from the same status exactly one succeeds. EINVALID for
// a move the lifecycle does not have; ECONFLICT if the grant is not in
// status from; ENOTFOUND if there is no such grant, or no such user.
func (db *Store) SetGrantStatus(ctx context.Context, id int64, from, to string, userID int64) error {
	if !grantMoves[[2]string{from, to}] {
		return gatehouse.FieldErrorf("status", "A grant cannot move from %q to %q.", sqlkit.OutsideText(from, 32), sqlkit.OutsideText(to, 32))
	}
	res, err := db.c.Q.ExecContext(ctx, `UPDATE oauth_grants SET status = $3, user_id = COALESCE($4, user_id)
		WHERE id = $1 AND status = $2`, id, from, to, userRef(userID))
	if sqlkit.ForeignKeyViolation(err) {
		return sqlkit.NotFound("No user with ID %d to hold the grant.", userID)
	} else if err != nil {
		return sqlkit.WrapErr(err, "set grant status")
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return sqlkit.WrapErr(err, "set grant status")
	}
	// Nothing moved: either no such grant, or it had moved on already.
	var status string
	err = db.c.Q.QueryRowContext(ctx, `SELECT status FROM oauth_grants WHERE id = $1`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlkit.NotFound("No such sign-in request: it may have expired.")
	} else if err != nil {
		return sqlkit.WrapErr(err, "set grant status")
	}
	return gatehouse.Errorf(gatehouse.ECONFLICT, "This sign-in request is %s already.", status)
}

// TouchGrantPoll records a device-flow poll at at. ENOTFOUND if no grant.
func (db *Store) TouchGrantPoll(ctx context.Context, id int64, at time.Time) error {
	if err := sqlkit.CheckTimes(at); err != nil {
		return err
	}
	res, err := db.c.Q.ExecContext(ctx, `UPDATE oauth_grants SET last_polled_at = $2 WHERE id = $1`, id, db.c.TV(at))
	return sqlkit.MustAffect(res, err, "record device poll", "No such sign-in request: it may have expired.")
}

// CreateAccessToken inserts t and sets t.ID. A zero CreatedAt is now.
// EINVALID if the hash is not 32 bytes, there is no expiry, or the client
// name is not text; ECONFLICT if another token has the hash; ENOTFOUND if
// the user does not exist.
func (db *Store) CreateAccessToken(ctx context.Context, t *gatehouse.AccessToken) error {
	if len(t.Hash) != sqlkit.HashLen {
		return gatehouse.FieldErrorf("hash", "A token hash is %d bytes (SHA-256); this one has %d.", sqlkit.HashLen, len(t.Hash))
	}
	if err := sqlkit.RequireText("client_name", t.ClientName); err != nil {
		return err
	}
	if t.ExpiresAt.IsZero() {
		return gatehouse.FieldErrorf("expires_at", "An access token needs an expiry.")
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = db.c.Now()
	}
	if err := sqlkit.CheckTimes(created, t.ExpiresAt); err != nil {
		return err
	}
	var id int64
	err := db.c.Q.QueryRowContext(ctx, `INSERT INTO oauth_tokens (hash, user_id, scopes, client_name, created_at, expires_at, grant_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		t.Hash, t.UserID, int64(t.Scopes), t.ClientName, db.c.TV(created), db.c.TV(t.ExpiresAt), t.GrantID).Scan(&id)
	if _, ok := sqlkit.UniqueViolation(err); ok {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "An access token with this hash already exists.")
	} else if sqlkit.ForeignKeyViolation(err) {
		return sqlkit.NotFound("No user with ID %d to hold the token.", t.UserID)
	} else if err != nil {
		return sqlkit.WrapErr(err, "create access token")
	}
	t.ID, t.CreatedAt, t.ExpiresAt = id, sqlkit.NormTime(created), sqlkit.NormTime(t.ExpiresAt)
	return nil
}

// AccessTokenByHash returns the token and its user as they are now, in
// one query. ENOTFOUND if none. Expiry is the caller's to check.
func (db *Store) AccessTokenByHash(ctx context.Context, hash []byte) (*gatehouse.AccessToken, *gatehouse.User, error) {
	t, u := new(gatehouse.AccessToken), new(gatehouse.User)
	err := db.c.Q.QueryRowContext(ctx, `SELECT `+tokenCols+`, `+sqlkit.UserCols+`
		FROM oauth_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, hash).
		Scan(append(tokenDest(t), sqlkit.UserDest(u)...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, sqlkit.NotFound("No such access token.")
	} else if err != nil {
		return nil, nil, sqlkit.WrapErr(err, "read access token")
	}
	return t, u, nil
}

// DeleteExpiredOAuth removes grants and access tokens that expired before
// t, whatever their status, and returns how many rows went.
func (db *Store) DeleteExpiredOAuth(ctx context.Context, t time.Time) (int64, error) {
	if err := sqlkit.CheckTimes(t); err != nil {
		return 0, err
	}
	var total int64
	err := db.c.InTx(ctx, "delete expired sign-ins", func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM oauth_grants WHERE expires_at < $1`, `DELETE FROM oauth_tokens WHERE expires_at < $1`} {
			res, err := tx.ExecContext(ctx, q, db.c.TV(t))
			if err != nil {
				return sqlkit.WrapErr(err, "delete expired sign-ins")
			}
			n, err := res.RowsAffected()
			if err != nil {
				return sqlkit.WrapErr(err, "delete expired sign-ins")
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}

// UseAccessToken marks the token spent, once: a conditional update, so
// two requests racing with one token cannot both mint a key.
func (db *Store) UseAccessToken(ctx context.Context, id int64, at time.Time) error {
	if err := sqlkit.CheckTimes(at); err != nil {
		return err
	}
	res, err := db.c.Q.ExecContext(ctx, `UPDATE oauth_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, db.c.TV(at))
	if err != nil {
		return sqlkit.WrapErr(err, "use access token")
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var used int
	err = db.c.Q.QueryRowContext(ctx, `SELECT COUNT(*) FROM oauth_tokens WHERE id = $1`, id).Scan(&used)
	if err != nil {
		return sqlkit.WrapErr(err, "use access token")
	}
	if used == 0 {
		return sqlkit.NotFound("No such access token.")
	}
	return gatehouse.Errorf(gatehouse.ECONFLICT, "This login token has made its key already.")
}

// LinkLoginKey records that the key was minted through the grant.
func (db *Store) LinkLoginKey(ctx context.Context, grantID, keyID int64) error {
	_, err := db.c.Q.ExecContext(ctx, `INSERT INTO login_keys (grant_id, key_id) VALUES ($1, $2)`, grantID, keyID)
	if sqlkit.ForeignKeyViolation(err) {
		return sqlkit.NotFound("No key with ID %d.", keyID)
	}
	return sqlkit.WrapErr(err, "link login key")
}

// GrantKeys returns the unrevoked keys minted through the grant.
func (db *Store) GrantKeys(ctx context.Context, grantID int64) ([]*gatehouse.APIKey, error) {
	rows, err := db.c.Q.QueryContext(ctx, `SELECT `+sqlkit.KeyCols+` FROM api_keys k JOIN login_keys l ON l.key_id = k.id
		WHERE l.grant_id = $1 AND k.revoked_at IS NULL ORDER BY k.id`, grantID)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list the keys of a grant")
	}
	defer rows.Close()
	var out []*gatehouse.APIKey
	for rows.Next() {
		k := new(gatehouse.APIKey)
		if err := rows.Scan(sqlkit.KeyDest(k)...); err != nil {
			return nil, sqlkit.WrapErr(err, "read a key of a grant")
		}
		out = append(out, k)
	}
	return out, sqlkit.WrapErr(rows.Err(), "list the keys of a grant")
}

// DeleteGrantTokens deletes the access tokens issued for the grant.
func (db *Store) DeleteGrantTokens(ctx context.Context, grantID int64) (int64, error) {
	res, err := db.c.Q.ExecContext(ctx, `DELETE FROM oauth_tokens WHERE grant_id = $1`, grantID)
	if err != nil {
		return 0, sqlkit.WrapErr(err, "delete the tokens of a grant")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
