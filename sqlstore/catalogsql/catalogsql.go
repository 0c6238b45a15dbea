// Package catalogsql is the part of the SQL store that answers package
// browsing: the package names of a channel matching a search, with their
// counts, and the files of one package name. sqlstore.DB embeds a Catalog,
// so these methods are the DB's, inside its transactions too.
package catalogsql

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/catalog"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

// Catalog runs the browsing queries on c.
type Catalog struct{ c *sqlkit.Conn }

// New returns the browsing queries over c.
func New(c *sqlkit.Conn) *Catalog { return &Catalog{c: c} }

// likePattern is a LIKE pattern matching names that contain text, with
// LIKE's own characters escaped. Package names are lowercase (conda's
// rule), so the text is lowered and the match is exact on both backends.
func likePattern(text string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(text)) + "%"
}

// PackageNames returns the page of package names of the channel that q
// selects, in alphabetical order, with how many names match and how many
// files the channel has. An unknown channel has none.
func (s *Catalog) PackageNames(ctx context.Context, channelID int64, q catalog.Query) (*catalog.Page, error) {
	q = q.Normalize()
	page := &catalog.Page{Query: q}
	if !sqlkit.TextOK(q.Text) || !sqlkit.TextOK(q.Subdir) {
		return page, nil // nothing matches; PostgreSQL would refuse the query
	}
	where := `channel_id = $1 AND name LIKE $2 ESCAPE '\'`
	args := []any{channelID, likePattern(q.Text)}
	if q.Subdir != "" {
		where += ` AND name IN (SELECT name FROM packages WHERE channel_id = $1 AND subdir = $3)`
		args = append(args, q.Subdir)
	}
	if err := s.c.Q.QueryRowContext(ctx, `SELECT COUNT(*) FROM packages WHERE channel_id = $1`, channelID).Scan(&page.Files); err != nil {
		return nil, sqlkit.WrapErr(err, "count packages")
	}
	if err := s.c.Q.QueryRowContext(ctx, `SELECT COUNT(DISTINCT name) FROM packages WHERE `+where, args...).Scan(&page.Names); err != nil {
		return nil, sqlkit.WrapErr(err, "count package names")
	}
	n := len(args)
	rows, err := s.c.Q.QueryContext(ctx, `SELECT name, COUNT(*) FROM packages WHERE `+where+`
		GROUP BY name ORDER BY name LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list package names")
	}
	index := map[string]int{}
	for rows.Next() {
		var sum catalog.Summary
		if err := rows.Scan(&sum.Name, &sum.Files); err != nil {
			rows.Close()
			return nil, sqlkit.WrapErr(err, "list package names")
		}
		index[sum.Name] = len(page.Packages)
		page.Packages = append(page.Packages, sum)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, sqlkit.WrapErr(err, "list package names")
	}
	if len(page.Packages) == 0 {
		return page, nil
	}
	// The details of the names on this page: their platforms and newest
	// file, in one query bounded by the page size.
	in := make([]string, len(page.Packages))
	dargs := []any{channelID}
	for i, sum := range page.Packages {
		in[i] = "$" + strconv.Itoa(i+2)
		dargs = append(dargs, sum.Name)
	}
	rows, err = s.c.Q.QueryContext(ctx, `SELECT name, subdir, version, created_at FROM packages
		WHERE channel_id = $1 AND name IN (`+strings.Join(in, ", ")+`) ORDER BY name, subdir, created_at, id`, dargs...)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "read package names")
	}
	defer rows.Close()
	for rows.Next() {
		var name, subdir, version string
		var at time.Time
		if err := rows.Scan(&name, &subdir, &version, (*sqlkit.Time)(&at)); err != nil {
			return nil, sqlkit.WrapErr(err, "read package names")
		}
		sum := &page.Packages[index[name]]
		if n := len(sum.Subdirs); n == 0 || sum.Subdirs[n-1] != subdir {
			sum.Subdirs = append(sum.Subdirs, subdir)
		}
		if !at.Before(sum.Updated) {
			sum.Updated, sum.Latest = at, version
		}
	}
	return page, sqlkit.WrapErr(rows.Err(), "read package names")
}

// PackageFiles returns every file of the package name in the channel,
// newest first, without their records. None is an empty list.
func (s *Catalog) PackageFiles(ctx context.Context, channelID int64, name string) ([]*gatehouse.Package, error) {
	if !sqlkit.TextOK(name) {
		return nil, nil
	}
	rows, err := s.c.Q.QueryContext(ctx, `SELECT id, channel_id, subdir, filename, name, version, build, size, md5, sha256,
		blob_key, COALESCE(uploader, 0), created_at FROM packages WHERE channel_id = $1 AND name = $2
		ORDER BY created_at DESC, id DESC`, channelID, name)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list package files")
	}
	defer rows.Close()
	var out []*gatehouse.Package
	for rows.Next() {
		p := new(gatehouse.Package)
		if err := rows.Scan(&p.ID, &p.ChannelID, &p.Subdir, &p.Filename, &p.Name, &p.Version, &p.Build, &p.Size,
			&p.MD5, &p.SHA256, &p.BlobKey, &p.Uploader, (*sqlkit.Time)(&p.CreatedAt)); err != nil {
			return nil, sqlkit.WrapErr(err, "list package files")
		}
		out = append(out, p)
	}
	return out, sqlkit.WrapErr(rows.Err(), "list package files")
}
