package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse-dev/gatehouse"
)

// PackageChanges returns the change-log rows of the channel after
// revision after, in revision order, at most limit; more reports that
// rows were left out.
func (db *DB) PackageChanges(ctx context.Context, channelID, after int64, limit int) ([]gatehouse.PackageChange, bool, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.q.QueryContext(ctx, `SELECT revision, subdir, name, at FROM package_changes
		WHERE channel_id = $1 AND revision > $2 ORDER BY revision, subdir, name LIMIT $3`, channelID, after, limit+1)
	if err != nil {
		return nil, false, wrapErr(err, "read the change log")
	}
	defer rows.Close()
	var out []gatehouse.PackageChange
	for rows.Next() {
		var c gatehouse.PackageChange
		if err := rows.Scan(&c.Revision, &c.Subdir, &c.Name, (*dbTime)(&c.At)); err != nil {
			return nil, false, wrapErr(err, "read the change log")
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, wrapErr(err, "read the change log")
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// EachPackage streams the channel's packages in subdir (of one name, or
// all when name is ""), ordered by name then filename, reusing one
// Package: a subdir of 465,000 records costs the memory of one.
func (db *DB) EachPackage(ctx context.Context, channelID int64, subdir, name string, fn func(*gatehouse.Package) error) error {
	if !textOK(subdir) || !textOK(name) {
		return nil
	}
	var (
		rows *sql.Rows
		err  error
	)
	if name == "" {
		rows, err = db.q.QueryContext(ctx, `SELECT `+pkgCols+` FROM packages p WHERE p.channel_id = $1 AND p.subdir = $2
			ORDER BY p.name, p.filename`, channelID, subdir)
	} else {
		rows, err = db.q.QueryContext(ctx, `SELECT `+pkgCols+` FROM packages p WHERE p.channel_id = $1 AND p.subdir = $2
			AND p.name = $3 ORDER BY p.filename`, channelID, subdir, name)
	}
	if err != nil {
		return wrapErr(err, "list packages")
	}
	defer rows.Close()
	var (
		p    gatehouse.Package
		dest [pkgColCount]any
	)
	pkgDest(&p, dest[:])
	for rows.Next() {
		if err := rows.Scan(dest[:]...); err != nil {
			return wrapErr(err, "list packages")
		}
		if err := fn(&p); err != nil {
			return err
		}
	}
	return wrapErr(rows.Err(), "list packages")
}

// ChannelRevision returns the channel's revision; ENOTFOUND if there is
// no such channel.
func (db *DB) ChannelRevision(ctx context.Context, channelID int64) (int64, error) {
	var rev int64
	err := db.q.QueryRowContext(ctx, `SELECT revision FROM channels WHERE id = $1`, channelID).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("No such channel.")
	}
	return rev, wrapErr(err, "read the channel revision")
}
