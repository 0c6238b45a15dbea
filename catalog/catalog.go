// Package catalog holds the types of browsing a channel's packages: a
// search by name, one row per package name, and a page of them. The store
// (sqlstore/catalogsql) answers the queries, service/browse decides who
// may ask, and the web pages show the answers. It imports only the root.
package catalog

import "time"

// MaxLimit bounds one page of package names.
const MaxLimit = 200

// Query selects package names of one channel.
type Query struct {
	// Text matches names that contain it, case-insensitively; "" is all.
	Text string
	// Subdir keeps packages with a file in that platform; "" is all.
	Subdir string
	// Limit (1 to MaxLimit, 0 is 50) and Offset page the names, which
	// come in alphabetical order.
	Limit, Offset int
}

// Summary is one package name of a channel: how many files it has, its
// newest upload and the platforms it is built for.
type Summary struct {
	Name string
	// Latest is the version of the most recently uploaded file.
	Latest  string
	Files   int
	Subdirs []string
	Updated time.Time
}

// Page is a page of package names, with the totals of the whole query.
type Page struct {
	Query    Query
	Packages []Summary
	// Names is how many names match the query; Files how many files the
	// whole channel has.
	Names, Files int
	// Subdirs are the channel's platforms, for a filter to offer.
	Subdirs []string
}

// Normalize applies the defaults and bounds of a query.
func (q Query) Normalize() Query {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, MaxLimit)
	q.Offset = max(q.Offset, 0)
	if len(q.Text) > 128 {
		q.Text = q.Text[:128]
	}
	return q
}
