package sqlstore

import (
	"strings"
	"testing"
)

// Migrations written in parallel take their own numbers, so one may land
// before a lower one: each version the database lacks is applied, once,
// and a version this binary does not know stops it (checklist H5).
func TestMigrationsApplyEachMissingVersionOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		db := mustOpen(t, dsn)
		ms := mustMigrations(t, db.Dialect())
		last := ms[len(ms)-1]
		// As if the last migration had arrived after a database that
		// already has none of it: its row and its table are gone.
		if !strings.Contains(last.sql, "upstream_held") {
			t.Skipf("the last migration is %s; this test removes upstream_held", last.name)
		}
		for _, q := range []string{`DELETE FROM schema_migrations WHERE version = $1`, `DROP TABLE upstream_held`} {
			var err error
			if strings.Contains(q, "$1") {
				_, err = db.SQL().ExecContext(t.Context(), q, last.version)
			} else {
				_, err = db.SQL().ExecContext(t.Context(), q)
			}
			mustDo(t, err)
		}
		mustDo(t, db.migrate(t.Context()))
		var n int
		mustDo(t, db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM upstream_held`).Scan(&n))
		mustDo(t, db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n))
		if n != len(ms) {
			t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
		}

		_, err := db.SQL().ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future', '2026-01-01T00:00:00.000000Z')`, last.version+1000)
		mustDo(t, err)
		err = db.migrate(t.Context())
		if err == nil || !strings.Contains(err.Error(), "does not know") {
			t.Errorf("a database with an unknown migration: %v, want a refusal", err)
		}
	})
}
