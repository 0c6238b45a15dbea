package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

const pkgCols = `p.id, p.channel_id, p.subdir, p.filename, p.name, p.version, p.build, p.size, p.md5, p.sha256,
	p.record, p.meta, p.blob_key, COALESCE(p.uploader, 0), p.created_at`

// pkgColsBare is pkgCols without the table alias, for RETURNING.
var pkgColsBare = strings.ReplaceAll(pkgCols, "p.", "")

// pkgDest returns the scan destinations for pkgCols, in dest's array.
func pkgDest(p *gatehouse.Package, dest []any) []any {
	return append(dest[:0], &p.ID, &p.ChannelID, &p.Subdir, &p.Filename, &p.Name, &p.Version, &p.Build,
		&p.Size, &p.MD5, &p.SHA256, (*dbBlob)(&p.Record), (*dbBlob)(&p.Meta), &p.BlobKey, &p.Uploader,
		(*dbTime)(&p.CreatedAt))
}

const pkgColCount = 15

// checkPackage refuses a package the store cannot keep as the same value
// on both backends, or that would break repodata: an empty subdir (it
// means "every subdir" to ListPackages), filename, blob key or record.
func checkPackage(p *gatehouse.Package) error {
	for _, f := range [...]struct{ field, value string }{{"subdir", p.Subdir}, {"filename", p.Filename}, {"blob_key", p.BlobKey}} {
		if f.value == "" {
			return gatehouse.FieldErrorf(f.field, "A package needs a %s.", strings.ReplaceAll(f.field, "_", " "))
		}
	}
	if len(p.Record) == 0 {
		return gatehouse.FieldErrorf("record", "A package needs its repodata record.")
	}
	if p.Size < 0 {
		return gatehouse.FieldErrorf("size", "A package's size cannot be negative.")
	}
	if err := requireText("subdir", p.Subdir, "filename", p.Filename, "name", p.Name, "version", p.Version,
		"build", p.Build, "md5", p.MD5, "sha256", p.SHA256, "blob_key", p.BlobKey); err != nil {
		return err
	}
	return checkTimes(p.CreatedAt)
}

// bumpRevision adds one to the channel's revision in tx. Every change of a
// channel's packages starts with it, so on PostgreSQL the row lock it
// takes makes the changes of one channel queue, in one lock order, and the
// revision counts them exactly. Other replicas hear of it when tx commits
// (ChangeChannel), so their repodata lists a package as soon as its upload
// is acknowledged, not once their cached channel expires (issue 8).
// ENOTFOUND if there is no such channel.
func (db *DB) bumpRevision(ctx context.Context, tx *sql.Tx, channelID int64) (int64, error) {
	var rev int64
	err := tx.QueryRowContext(ctx, `UPDATE channels SET revision = revision + 1 WHERE id = $1 RETURNING revision`, channelID).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("No such channel.")
	}
	if err != nil {
		return 0, wrapErr(err, "bump the channel revision")
	}
	return rev, db.notify(ctx, tx, gatehouse.Change{Kind: gatehouse.ChangeChannel, ChannelID: channelID})
}

// logChange writes the change-log row saying revision rev changed the
// records of name in subdir (IndexStore.PackageChanges).
func (db *DB) logChange(ctx context.Context, tx *sql.Tx, channelID, rev int64, subdir, name string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO package_changes (channel_id, revision, subdir, name, at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`, channelID, rev, subdir, name, db.tv(at))
	return wrapErr(err, "log the change")
}

// AddPackage inserts p, sets p.ID and bumps the channel's revision, in one
// transaction. If the channel has a package with the same subdir and
// filename: ECONFLICT and nothing changes, unless replace, in which case
// that package is deleted in the same transaction and returned (its blob
// is the caller's to remove). ECONFLICT also if another package has the
// blob key; ENOTFOUND if the channel or the uploader does not exist;
// EINVALID for an empty subdir, filename, blob key or record, and for text
// that is not UTF-8. A zero CreatedAt is now; an Uploader of 0 is none.
func (db *DB) AddPackage(ctx context.Context, p *gatehouse.Package, replace bool) (replaced *gatehouse.Package, err error) {
	if err := checkPackage(p); err != nil {
		return nil, err
	}
	created := p.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	var id int64
	err = db.inTx(ctx, "add package", func(tx *sql.Tx) error {
		replaced = nil
		rev, err := db.bumpRevision(ctx, tx, p.ChannelID)
		if err != nil {
			return err
		}
		if err := db.logChange(ctx, tx, p.ChannelID, rev, p.Subdir, p.Name, created); err != nil {
			return err
		}
		if replace {
			old := new(gatehouse.Package)
			var dest [pkgColCount]any
			err := tx.QueryRowContext(ctx, `DELETE FROM packages WHERE channel_id = $1 AND subdir = $2 AND filename = $3
				RETURNING `+pkgColsBare, p.ChannelID, p.Subdir, p.Filename).Scan(pkgDest(old, dest[:])...)
			switch {
			case err == nil:
				replaced = old
				if old.Name != p.Name {
					if err := db.logChange(ctx, tx, p.ChannelID, rev, old.Subdir, old.Name, created); err != nil {
						return err
					}
				}
			case !errors.Is(err, sql.ErrNoRows):
				return wrapErr(err, "remove the replaced package")
			}
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO packages
			(channel_id, subdir, filename, name, version, build, size, md5, sha256, record, meta, blob_key, uploader, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
			p.ChannelID, p.Subdir, p.Filename, p.Name, p.Version, p.Build, p.Size, p.MD5, p.SHA256,
			blobArg(p.Record), blobArg(p.Meta), p.BlobKey, nullID(p.Uploader), db.tv(created)).Scan(&id)
		if constraint, ok := uniqueViolation(err); ok {
			if strings.Contains(constraint, "blob_key") {
				return gatehouse.Errorf(gatehouse.ECONFLICT, "Another package is stored under the same blob key.")
			}
			return gatehouse.Errorf(gatehouse.ECONFLICT, "The channel already has %s/%s; delete it first, or upload with replacement allowed.", p.Subdir, p.Filename)
		} else if foreignKeyViolation(err) {
			// The channel exists: bumpRevision found it.
			return notFound("No user with ID %d to be the package's uploader.", p.Uploader)
		}
		return wrapErr(err, "insert package")
	})
	if err != nil {
		return nil, err
	}
	p.ID = id
	p.CreatedAt = normTime(created)
	return replaced, nil
}

// DeletePackage removes the package, bumps the channel's revision and
// returns the package, in one transaction (its blob is the caller's to
// remove). ENOTFOUND if there is no such package, and then the revision
// stays.
func (db *DB) DeletePackage(ctx context.Context, channelID int64, subdir, filename string) (*gatehouse.Package, error) {
	if !textOK(subdir) || !textOK(filename) {
		return nil, notFound("The channel has no such package.") // and PostgreSQL would refuse the query
	}
	p := new(gatehouse.Package)
	err := db.inTx(ctx, "delete package", func(tx *sql.Tx) error {
		rev, err := db.bumpRevision(ctx, tx, channelID)
		if err != nil {
			return err
		}
		var dest [pkgColCount]any
		err = tx.QueryRowContext(ctx, `DELETE FROM packages WHERE channel_id = $1 AND subdir = $2 AND filename = $3
			RETURNING `+pkgColsBare, channelID, subdir, filename).Scan(pkgDest(p, dest[:])...)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("The channel has no %s/%s.", subdir, filename)
		} else if err != nil {
			return wrapErr(err, "delete package")
		}
		return db.logChange(ctx, tx, channelID, rev, p.Subdir, p.Name, db.now())
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// PackageByFilename returns the package, ENOTFOUND if none.
func (db *DB) PackageByFilename(ctx context.Context, channelID int64, subdir, filename string) (*gatehouse.Package, error) {
	if !textOK(subdir) || !textOK(filename) {
		return nil, notFound("The channel has no such package.")
	}
	p := new(gatehouse.Package)
	var dest [pkgColCount]any
	err := db.q.QueryRowContext(ctx, `SELECT `+pkgCols+` FROM packages p
		WHERE p.channel_id = $1 AND p.subdir = $2 AND p.filename = $3`, channelID, subdir, filename).Scan(pkgDest(p, dest[:])...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("The channel has no %s/%s.", subdir, filename)
	} else if err != nil {
		return nil, wrapErr(err, "read package")
	}
	return p, nil
}

// pkgSlab is how many packages ListPackages allocates at once: a channel
// lists thousands, and one allocation per package shows in the profile.
const pkgSlab = 64

// ListPackages returns the channel's packages in subdir ("" for every
// subdir), ordered by subdir then filename, Record and Meta included.
// None is an empty list, also for an unknown channel.
func (db *DB) ListPackages(ctx context.Context, channelID int64, subdir string) ([]*gatehouse.Package, error) {
	if !textOK(subdir) {
		return nil, nil // no package is there; PostgreSQL would refuse the query
	}
	var (
		rows *sql.Rows
		err  error
	)
	if subdir == "" {
		rows, err = db.q.QueryContext(ctx, `SELECT `+pkgCols+` FROM packages p WHERE p.channel_id = $1
			ORDER BY p.subdir, p.filename`, channelID)
	} else {
		rows, err = db.q.QueryContext(ctx, `SELECT `+pkgCols+` FROM packages p WHERE p.channel_id = $1 AND p.subdir = $2
			ORDER BY p.filename`, channelID, subdir)
	}
	if err != nil {
		return nil, wrapErr(err, "list packages")
	}
	defer rows.Close()
	var (
		pkgs []*gatehouse.Package
		slab []gatehouse.Package
		dest [pkgColCount]any
	)
	for rows.Next() {
		if len(slab) == 0 {
			slab = make([]gatehouse.Package, pkgSlab)
		}
		p := &slab[0]
		slab = slab[1:]
		if err := rows.Scan(pkgDest(p, dest[:])...); err != nil {
			return nil, wrapErr(err, "list packages")
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, wrapErr(rows.Err(), "list packages")
}

// ChannelSubdirs returns the subdirs that hold packages, sorted.
func (db *DB) ChannelSubdirs(ctx context.Context, channelID int64) ([]string, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT DISTINCT subdir FROM packages WHERE channel_id = $1 ORDER BY subdir`, channelID)
	if err != nil {
		return nil, wrapErr(err, "list channel subdirs")
	}
	defer rows.Close()
	var subdirs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, wrapErr(err, "list channel subdirs")
		}
		subdirs = append(subdirs, s)
	}
	return subdirs, wrapErr(rows.Err(), "list channel subdirs")
}

// BlobKeyInUse reports whether any package references the blob key, for
// collecting blobs orphaned by a crash between the blob write and the
// commit (checklist H4).
func (db *DB) BlobKeyInUse(ctx context.Context, key string) (bool, error) {
	if !textOK(key) {
		return false, nil // no package could be stored under it
	}
	var used bool
	err := db.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM packages WHERE blob_key = $1)`, key).Scan(&used)
	return used, wrapErr(err, "check blob key")
}
