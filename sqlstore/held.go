package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse-dev/gatehouse"
)

// EachHeld calls fn for the channel's held records in subdir, ordered by
// file name (see gatehouse.UpstreamStore).
func (db *DB) EachHeld(ctx context.Context, channelID int64, subdir string, fn func(gatehouse.HeldRecord) error) error {
	rows, err := db.q.QueryContext(ctx, `SELECT subdir, filename, rule, reason, until_at FROM upstream_held
		WHERE channel_id = $1 AND subdir = $2 ORDER BY filename`, channelID, subdir)
	if err != nil {
		return wrapErr(err, "list held records")
	}
	defer rows.Close()
	for rows.Next() {
		var h gatehouse.HeldRecord
		if err := rows.Scan(&h.Subdir, &h.Filename, &h.Rule, &h.Reason, (*dbTime)(&h.Until)); err != nil {
			return wrapErr(err, "list held records")
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return wrapErr(rows.Err(), "list held records")
}

// HeldRecordOf returns one held record; ENOTFOUND if the file is not held.
func (db *DB) HeldRecordOf(ctx context.Context, channelID int64, subdir, filename string) (*gatehouse.HeldRecord, error) {
	if !textOK(subdir) || !textOK(filename) {
		return nil, notFound("The file is not held.")
	}
	var h gatehouse.HeldRecord
	err := db.q.QueryRowContext(ctx, `SELECT subdir, filename, rule, reason, until_at FROM upstream_held
		WHERE channel_id = $1 AND subdir = $2 AND filename = $3`, channelID, subdir, filename).
		Scan(&h.Subdir, &h.Filename, &h.Rule, &h.Reason, (*dbTime)(&h.Until))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The file is not held.")
	}
	if err != nil {
		return nil, wrapErr(err, "read a held record")
	}
	return &h, nil
}

// ApplyHeld adds or replaces held records and drops others in one
// transaction (see gatehouse.UpstreamStore).
func (db *DB) ApplyHeld(ctx context.Context, channelID int64, put []gatehouse.HeldRecord, drop []gatehouse.PackageRef) error {
	if len(put) == 0 && len(drop) == 0 {
		return nil
	}
	for _, h := range put {
		if h.Rule != "licenses" && h.Rule != "min_age_days" {
			return gatehouse.Errorf(gatehouse.EINVALID, "A record can be held only for its licence or its age.")
		}
		if !textOK(h.Subdir) || !textOK(h.Filename) || !textOK(h.Reason) || h.Subdir == "" || h.Filename == "" {
			return gatehouse.Errorf(gatehouse.EINVALID, "A held record needs a subdir and a file name.")
		}
		if err := checkTimes(h.Until); !h.Until.IsZero() && err != nil {
			return err
		}
	}
	return db.inTx(ctx, "apply held records", func(tx *sql.Tx) error {
		for _, r := range drop {
			if !textOK(r.Subdir) || !textOK(r.Filename) {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM upstream_held WHERE channel_id = $1 AND subdir = $2 AND filename = $3`,
				channelID, r.Subdir, r.Filename); err != nil {
				return wrapErr(err, "drop a held record")
			}
		}
		for _, h := range put {
			_, err := tx.ExecContext(ctx, `INSERT INTO upstream_held (channel_id, subdir, filename, rule, reason, until_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (channel_id, subdir, filename) DO UPDATE SET rule = excluded.rule, reason = excluded.reason, until_at = excluded.until_at`,
				channelID, h.Subdir, h.Filename, h.Rule, h.Reason, db.ntv(h.Until))
			if foreignKeyViolation(err) {
				return notFound("No such channel.")
			}
			if err != nil {
				return wrapErr(err, "hold a record")
			}
		}
		return nil
	})
}
