package identity

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

// CreateTrustedPublisher inserts tp and sets its ID. ENOTFOUND if the
// channel does not exist.
func (db *Store) CreateTrustedPublisher(ctx context.Context, tp *gatehouse.TrustedPublisher) error {
	if tp.Issuer == "" || tp.Audience == "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "A trusted publisher needs an issuer and an audience.")
	}
	if err := sqlkit.RequireText("issuer", tp.Issuer, "audience", tp.Audience, "created_by", tp.CreatedBy); err != nil {
		return err
	}
	for k, v := range tp.Claims {
		if !sqlkit.TextOK(k) || !sqlkit.TextOK(v) {
			return gatehouse.FieldErrorf("claims", "Claims must be text.")
		}
	}
	if tp.CreatedAt.IsZero() {
		tp.CreatedAt = db.c.Now()
	}
	if err := sqlkit.CheckTimes(tp.CreatedAt); err != nil {
		return err
	}
	claims, err := json.Marshal(orEmpty(tp.Claims))
	if err != nil {
		return err
	}
	err = db.c.Q.QueryRowContext(ctx, `INSERT INTO trusted_publishers (channel_id, issuer, audience, claims, created_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, tp.ChannelID, tp.Issuer, tp.Audience, string(claims),
		db.c.TV(tp.CreatedAt), tp.CreatedBy).Scan(&tp.ID)
	if sqlkit.ForeignKeyViolation(err) {
		return sqlkit.NotFound("No such channel.")
	}
	tp.CreatedAt = sqlkit.NormTime(tp.CreatedAt)
	return sqlkit.WrapErr(err, "create trusted publisher")
}

// TrustedPublishers returns the channel's publishers by ID.
func (db *Store) TrustedPublishers(ctx context.Context, channelID int64) ([]*gatehouse.TrustedPublisher, error) {
	rows, err := db.c.Q.QueryContext(ctx, `SELECT t.id, t.channel_id, c.name, t.issuer, t.audience, t.claims, t.created_at, t.created_by
		FROM trusted_publishers t JOIN channels c ON c.id = t.channel_id WHERE t.channel_id = $1 ORDER BY t.id`, channelID)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list trusted publishers")
	}
	defer rows.Close()
	var out []*gatehouse.TrustedPublisher
	for rows.Next() {
		tp := new(gatehouse.TrustedPublisher)
		var claims string
		if err := rows.Scan(&tp.ID, &tp.ChannelID, &tp.Channel, &tp.Issuer, &tp.Audience, &claims,
			(*sqlkit.Time)(&tp.CreatedAt), &tp.CreatedBy); err != nil {
			return nil, sqlkit.WrapErr(err, "list trusted publishers")
		}
		if err := json.Unmarshal([]byte(claims), &tp.Claims); err != nil {
			return nil, sqlkit.WrapErr(err, "read trusted publisher claims")
		}
		out = append(out, tp)
	}
	return out, sqlkit.WrapErr(rows.Err(), "list trusted publishers")
}

// DeleteTrustedPublisher removes the channel's publisher; ENOTFOUND if
// the channel has no such publisher.
func (db *Store) DeleteTrustedPublisher(ctx context.Context, channelID, id int64) error {
	res, err := db.c.Q.ExecContext(ctx, `DELETE FROM trusted_publishers WHERE id = $1 AND channel_id = $2`, id, channelID)
	if err != nil {
		return sqlkit.WrapErr(err, "delete trusted publisher")
	}
	if n, err := res.RowsAffected(); err != nil {
		return sqlkit.WrapErr(err, "delete trusted publisher")
	} else if n == 0 {
		return sqlkit.NotFound("This channel has no such trusted publisher.")
	}
	return nil
}

// UseIDToken records an exchanged token's hash until it expires; ECONFLICT
// if it was recorded before (a replay).
func (db *Store) UseIDToken(ctx context.Context, hash []byte, expiresAt time.Time) error {
	if len(hash) != sqlkit.HashLen {
		return gatehouse.Errorf(gatehouse.EINVALID, "A token hash is SHA-256.")
	}
	if err := sqlkit.CheckTimes(expiresAt); err != nil {
		return err
	}
	_, err := db.c.Q.ExecContext(ctx, `INSERT INTO used_id_tokens (hash, expires_at) VALUES ($1, $2)`, hash, db.c.TV(expiresAt))
	if _, ok := sqlkit.UniqueViolation(err); ok {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "This ID token was exchanged already.")
	}
	return sqlkit.WrapErr(err, "record ID token")
}

// DeleteExpiredIDTokens forgets tokens that expired before t.
func (db *Store) DeleteExpiredIDTokens(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.c.Q.ExecContext(ctx, `DELETE FROM used_id_tokens WHERE expires_at < $1`, db.c.TV(t))
	if err != nil {
		return 0, sqlkit.WrapErr(err, "delete expired ID tokens")
	}
	n, err := res.RowsAffected()
	return n, sqlkit.WrapErr(err, "delete expired ID tokens")
}
