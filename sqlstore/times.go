package sqlstore

import (
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// sqliteTimeLayout is how SQLite stores times: UTC, fixed width, so that
// comparing the text compares the instants (expires_at < $1 works).
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// normTime is what the store keeps of t: UTC, truncated to microseconds
// (PostgreSQL's precision), without a monotonic reading.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// checkTimes refuses times the fixed-width encoding cannot order, so that
// both backends accept exactly the same range.
func checkTimes(ts ...time.Time) error {
	for _, t := range ts {
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return gatehouse.Errorf(gatehouse.EINVALID, "Times must fall between the years 1 and 9999.")
		}
	}
	return nil
}

// tv encodes t for a NOT NULL time column.
func (db *DB) tv(t time.Time) any {
	t = normTime(t)
	if db.dialect == SQLite {
		return t.Format(sqliteTimeLayout)
	}
	return t
}

// ntv encodes t for a nullable time column: the zero time is NULL.
func (db *DB) ntv(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return db.tv(t)
}

// dbTime scans a time column of either dialect into a time.Time, in UTC;
// NULL becomes the zero time. Use it as (*dbTime)(&x.CreatedAt).
type dbTime time.Time

func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = dbTime{}
	case time.Time:
		*d = dbTime(v.UTC())
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("sqlstore: cannot read a time from %T", src)
	}
	return nil
}

func (d *dbTime) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("sqlstore: cannot read the time %q: %w", s, err)
	}
	*d = dbTime(t.UTC())
	return nil
}

// dbScopes scans an integer column into gatehouse.Scopes.
type dbScopes gatehouse.Scopes

func (s *dbScopes) Scan(src any) error {
	v, ok := src.(int64)
	if !ok || v < 0 || v > 0xff {
		return fmt.Errorf("sqlstore: bad scopes value %v (%T)", src, src)
	}
	*s = dbScopes(v)
	return nil
}
