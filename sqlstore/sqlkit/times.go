package sqlkit

import (
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// SQLiteTimeLayout is how SQLite stores times: UTC, fixed width, so that
// comparing the text compares the instants (expires_at < $1 works).
const SQLiteTimeLayout = "2006-01-02T15:04:05.000000Z"

// NormTime is what the store keeps of t: UTC, truncated to microseconds
// (PostgreSQL's precision), without a monotonic reading.
func NormTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// CheckTimes refuses times the fixed-width encoding cannot order, so that
// both backends accept exactly the same range.
func CheckTimes(ts ...time.Time) error {
	for _, t := range ts {
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return gatehouse.Errorf(gatehouse.EINVALID, "Times must fall between the years 1 and 9999.")
		}
	}
	return nil
}

// TV encodes t for a NOT NULL time column of dialect.
func TV(dialect string, t time.Time) any {
	t = NormTime(t)
	if dialect == "sqlite" {
		return t.Format(SQLiteTimeLayout)
	}
	return t
}

// NTV encodes t for a nullable time column: the zero time is NULL.
func NTV(dialect string, t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return TV(dialect, t)
}

// Time scans a time column of either dialect into a time.Time, in UTC;
// NULL becomes the zero time. Use it as (*Time)(&x.CreatedAt).
type Time time.Time

func (d *Time) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = Time{}
	case time.Time:
		*d = Time(v.UTC())
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("sqlstore: cannot read a time from %T", src)
	}
	return nil
}

func (d *Time) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("sqlstore: cannot read the time %q: %w", s, err)
	}
	*d = Time(t.UTC())
	return nil
}

// Scopes scans an integer column into gatehouse.Scopes.
type Scopes gatehouse.Scopes

func (s *Scopes) Scan(src any) error {
	v, ok := src.(int64)
	if !ok || v < 0 || v > 0xff {
		return fmt.Errorf("sqlstore: bad scopes value %v (%T)", src, src)
	}
	*s = Scopes(v)
	return nil
}
