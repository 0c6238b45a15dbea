package sqlstore

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzSQLiteDSN checks that any dsn either is refused or yields driver
// parameters that keep BEGIN IMMEDIATE, foreign keys on, and every other
// pragma of ours (or the caller's of the same name).
func FuzzSQLiteDSN(f *testing.F) {
	for _, s := range []string{
		"/var/lib/gatehouse/gatehouse.db",
		"sqlite:///var/lib/g.db",
		"file:g.db?_pragma=busy_timeout(50)",
		"g.db?_pragma=synchronous%3DNORMAL&_txlock=deferred",
		"g.db?%zz",
		":memory:",
		"sqlite:",
		"g.db?_pragma=&_pragma=(",
		"g.db?_pragma=FOREIGN_KEYS=0",
		"g.db?_fk=0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		path, params := splitSQLiteDSN(dsn)
		if strings.Contains(path, "?") {
			t.Fatalf("path %q holds the parameters", path)
		}
		q, err := sqliteQuery(params)
		if err != nil {
			return
		}
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatalf("our own query %q does not parse: %v", q, err)
		}
		if !slices.Equal(v["_txlock"], []string{"immediate"}) {
			t.Errorf("query %q changed _txlock", q)
		}
		if !slices.Contains(v["_pragma"], "foreign_keys(1)") || v.Has("_fk") || v.Has("_foreign_keys") {
			t.Errorf("query %q may turn foreign keys off", q)
		}
		for _, p := range sqlitePragmas {
			name, _, _ := strings.Cut(p, "(")
			if !slices.ContainsFunc(v["_pragma"], func(s string) bool {
				return strings.HasPrefix(strings.TrimSpace(strings.ToLower(s)), name)
			}) {
				t.Errorf("query %q lost pragma %s", q, name)
			}
		}
	})
}

// FuzzTimeEncoding checks that every time in the accepted range comes back
// from SQLite's text encoding as the same instant, in UTC, to the
// microsecond, and that the text orders as the instants do.
func FuzzTimeEncoding(f *testing.F) {
	f.Add(int64(0), int64(0), int32(0))
	f.Add(int64(1_780_000_000), int64(123456789), int32(-7*3600))
	f.Add(int64(-62135596800), int64(0), int32(19800)) // year 1
	f.Add(int64(253402300799), int64(999999999), int32(0))
	db := &DB{dialect: SQLite}
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int32) {
		in := time.Unix(sec, nsec).In(time.FixedZone("Z", int(offset%(18*3600))))
		if checkTimes(in) != nil {
			return
		}
		text := db.tv(in).(string)
		var got time.Time
		if err := (*dbTime)(&got).Scan(text); err != nil {
			t.Fatalf("%v encoded as %q does not decode: %v", in, text, err)
		}
		if want := normTime(in); !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("%v came back as %v, want %v", in, got, want)
		}
		later := in.Add(time.Microsecond)
		if checkTimes(later) == nil && !(db.tv(later).(string) > text) {
			t.Fatalf("%q does not sort after %q", db.tv(later), text)
		}
	})
}
