package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// CreateTrustedPublisher inserts tp and sets its ID. ENOTFOUND if the
// channel does not exist.
func (db *DB) CreateTrustedPublisher(ctx context.Context, tp *gatehouse.TrustedPublisher) error {
	if tp.Issuer == "" || tp.Audience == "" {
		return gatehouse.Errorf(gatehouse.EINVALID, "A trusted publisher needs an issuer and an audience.")
	}
	if err := requireText("issuer", tp.Issuer, "audience", tp.Audience, "created_by", tp.CreatedBy); err != nil {
		return err
	}
	for k, v := range tp.Claims {
		if !textOK(k) || !textOK(v) {
			return gatehouse.FieldErrorf("claims", "Claims must be text.")
		}
	}
	if tp.CreatedAt.IsZero() {
		tp.CreatedAt = db.now()
	}
	if err := checkTimes(tp.CreatedAt); err != nil {
		return err
	}
	claims, err := json.Marshal(orEmpty(tp.Claims))
	if err != nil {
		return err
	}
	err = db.q.QueryRowContext(ctx, `INSERT INTO trusted_publishers (channel_id, issuer, audience, claims, created_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, tp.ChannelID, tp.Issuer, tp.Audience, string(claims),
		db.tv(tp.CreatedAt), tp.CreatedBy).Scan(&tp.ID)
	if foreignKeyViolation(err) {
		return notFound("No such channel.")
	}
	tp.CreatedAt = normTime(tp.CreatedAt)
	return wrapErr(err, "create trusted publisher")
}

// TrustedPublishers returns the channel's publishers by ID.
func (db *DB) TrustedPublishers(ctx context.Context, channelID int64) ([]*gatehouse.TrustedPublisher, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT t.id, t.channel_id, c.name, t.issuer, t.audience, t.claims, t.created_at, t.created_by
		FROM trusted_publishers t JOIN channels c ON c.id = t.channel_id WHERE t.channel_id = $1 ORDER BY t.id`, channelID)
	if err != nil {
		return nil, wrapErr(err, "list trusted publishers")
	}
	defer rows.Close()
	var out []*gatehouse.TrustedPublisher
	for rows.Next() {
		tp := new(gatehouse.TrustedPublisher)
		var claims string
		if err := rows.Scan(&tp.ID, &tp.ChannelID, &tp.Channel, &tp.Issuer, &tp.Audience, &claims,
			(*dbTime)(&tp.CreatedAt), &tp.CreatedBy); err != nil {
			return nil, wrapErr(err, "list trusted publishers")
		}
		if err := json.Unmarshal([]byte(claims), &tp.Claims); err != nil {
			return nil, wrapErr(err, "read trusted publisher claims")
		}
		out = append(out, tp)
	}
	return out, wrapErr(rows.Err(), "list trusted publishers")
}

// DeleteTrustedPublisher removes the channel's publisher; ENOTFOUND if
// the channel has no such publisher.
func (db *DB) DeleteTrustedPublisher(ctx context.Context, channelID, id int64) error {
	res, err := db.q.ExecContext(ctx, `DELETE FROM trusted_publishers WHERE id = $1 AND channel_id = $2`, id, channelID)
	if err != nil {
		return wrapErr(err, "delete trusted publisher")
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrapErr(err, "delete trusted publisher")
	} else if n == 0 {
		return notFound("This channel has no such trusted publisher.")
	}
	return nil
}

// UseIDToken records an exchanged token's hash until it expires; ECONFLICT
// if it was recorded before (a replay).
func (db *DB) UseIDToken(ctx context.Context, hash []byte, expiresAt time.Time) error {
	if len(hash) != hashLen {
		return gatehouse.Errorf(gatehouse.EINVALID, "A token hash is SHA-256.")
	}
	if err := checkTimes(expiresAt); err != nil {
		return err
	}
	_, err := db.q.ExecContext(ctx, `INSERT INTO used_id_tokens (hash, expires_at) VALUES ($1, $2)`, hash, db.tv(expiresAt))
	if _, ok := uniqueViolation(err); ok {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "This ID token was exchanged already.")
	}
	return wrapErr(err, "record ID token")
}

// DeleteExpiredIDTokens forgets tokens that expired before t.
func (db *DB) DeleteExpiredIDTokens(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.q.ExecContext(ctx, `DELETE FROM used_id_tokens WHERE expires_at < $1`, db.tv(t))
	if err != nil {
		return 0, wrapErr(err, "delete expired ID tokens")
	}
	n, err := res.RowsAffected()
	return n, wrapErr(err, "delete expired ID tokens")
}
