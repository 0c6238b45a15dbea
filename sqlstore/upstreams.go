package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/gatehouse-dev/gatehouse"
)

// PutUpstream creates or replaces the channel's upstream. ENOTFOUND if
// there is no such channel.
func (db *DB) PutUpstream(ctx context.Context, u *gatehouse.Upstream) error {
	if _, err := gatehouse.ParseUpstreamMode(string(u.Mode)); err != nil {
		return err
	}
	if u.URL == "" || !textOK(u.URL) {
		return gatehouse.FieldErrorf("upstream.url", "An upstream needs a URL.")
	}
	filters, err := json.Marshal(u.Filters)
	if err != nil {
		return err
	}
	status, err := json.Marshal(u.Status)
	if err != nil {
		return err
	}
	_, err = db.q.ExecContext(ctx, `INSERT INTO channel_upstreams (channel_id, url, mode, filters, credential, status)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (channel_id) DO UPDATE SET url = excluded.url, mode = excluded.mode, filters = excluded.filters,
			credential = excluded.credential, status = excluded.status`,
		u.ChannelID, u.URL, string(u.Mode), filters, blobArg(u.Credential), status)
	if foreignKeyViolation(err) {
		return notFound("No such channel.")
	}
	return wrapErr(err, "save the upstream")
}

const upstreamCols = `channel_id, url, mode, filters, credential, status`

func scanUpstream(sc interface{ Scan(...any) error }) (*gatehouse.Upstream, error) {
	u := new(gatehouse.Upstream)
	var filters, status dbBlob
	if err := sc.Scan(&u.ChannelID, &u.URL, (*string)(&u.Mode), &filters, (*dbBlob)(&u.Credential), &status); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(filters, &u.Filters); err != nil {
		return nil, wrapErr(err, "read the upstream's filters")
	}
	if len(status) > 0 {
		if err := json.Unmarshal(status, &u.Status); err != nil {
			return nil, wrapErr(err, "read the upstream's status")
		}
	}
	u.HasCredential = len(u.Credential) > 0
	return u, nil
}

// UpstreamOf returns the channel's upstream; ENOTFOUND if it has none.
func (db *DB) UpstreamOf(ctx context.Context, channelID int64) (*gatehouse.Upstream, error) {
	u, err := scanUpstream(db.q.QueryRowContext(ctx, `SELECT `+upstreamCols+` FROM channel_upstreams WHERE channel_id = $1`, channelID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The channel has no upstream.")
	}
	return u, wrapErr(err, "read the upstream")
}

// ListUpstreams returns every upstream, ordered by channel ID.
func (db *DB) ListUpstreams(ctx context.Context) ([]*gatehouse.Upstream, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+upstreamCols+` FROM channel_upstreams ORDER BY channel_id`)
	if err != nil {
		return nil, wrapErr(err, "list upstreams")
	}
	defer rows.Close()
	var out []*gatehouse.Upstream
	for rows.Next() {
		u, err := scanUpstream(rows)
		if err != nil {
			return nil, wrapErr(err, "list upstreams")
		}
		out = append(out, u)
	}
	return out, wrapErr(rows.Err(), "list upstreams")
}

// SetUpstreamStatus saves the status of the channel's upstream;
// ENOTFOUND if it has none.
func (db *DB) SetUpstreamStatus(ctx context.Context, channelID int64, s gatehouse.UpstreamStatus) error {
	status, err := json.Marshal(s)
	if err != nil {
		return err
	}
	res, err := db.q.ExecContext(ctx, `UPDATE channel_upstreams SET status = $1 WHERE channel_id = $2`, status, channelID)
	return mustAffect(res, err, "save the upstream status", "The channel has no upstream.")
}

// ApplyPackages adds and removes packages of one channel in one
// transaction and one revision (see gatehouse.UpstreamStore). An added
// file replaces one of the same subdir and name; removing a missing file
// is skipped. With nothing to do it changes nothing, not even the
// revision.
func (db *DB) ApplyPackages(ctx context.Context, channelID int64, add []*gatehouse.Package, remove []gatehouse.PackageRef) ([]*gatehouse.Package, error) {
	if len(add) == 0 && len(remove) == 0 {
		return nil, nil
	}
	for _, p := range add {
		if p.ChannelID != channelID {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "A package of another channel was in the batch.")
		}
		if err := checkPackage(p); err != nil {
			return nil, err
		}
	}
	now := db.now()
	var gone []*gatehouse.Package
	ids := make([]int64, len(add))
	err := db.inTx(ctx, "apply packages", func(tx *sql.Tx) error {
		gone = gone[:0]
		rev, err := db.bumpRevision(ctx, tx, channelID)
		if err != nil {
			return err
		}
		touched := map[[2]string]bool{}
		drop := func(subdir, filename string) error {
			old := new(gatehouse.Package)
			var dest [pkgColCount]any
			err := tx.QueryRowContext(ctx, `DELETE FROM packages WHERE channel_id = $1 AND subdir = $2 AND filename = $3
				RETURNING `+pkgColsBare, channelID, subdir, filename).Scan(pkgDest(old, dest[:])...)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return nil
			case err != nil:
				return wrapErr(err, "remove a package")
			}
			gone = append(gone, old)
			touched[[2]string{old.Subdir, old.Name}] = true
			return nil
		}
		for _, r := range remove {
			if !textOK(r.Subdir) || !textOK(r.Filename) {
				continue
			}
			if err := drop(r.Subdir, r.Filename); err != nil {
				return err
			}
		}
		for i, p := range add {
			if err := drop(p.Subdir, p.Filename); err != nil {
				return err
			}
			created := p.CreatedAt
			if created.IsZero() {
				created = now
			}
			err := tx.QueryRowContext(ctx, `INSERT INTO packages
				(channel_id, subdir, filename, name, version, build, size, md5, sha256, record, meta, blob_key, uploader, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
				p.ChannelID, p.Subdir, p.Filename, p.Name, p.Version, p.Build, p.Size, p.MD5, p.SHA256,
				blobArg(p.Record), blobArg(p.Meta), p.BlobKey, nullID(p.Uploader), db.tv(created)).Scan(&ids[i])
			if _, ok := uniqueViolation(err); ok {
				return gatehouse.Errorf(gatehouse.ECONFLICT, "Two packages of the batch share %s/%s or a blob key.", p.Subdir, p.Filename)
			} else if err != nil {
				return wrapErr(err, "insert package")
			}
			touched[[2]string{p.Subdir, p.Name}] = true
		}
		for k := range touched {
			if err := db.logChange(ctx, tx, channelID, rev, k[0], k[1], now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, p := range add {
		p.ID = ids[i]
		if p.CreatedAt.IsZero() {
			p.CreatedAt = normTime(now)
		}
	}
	return gone, nil
}
