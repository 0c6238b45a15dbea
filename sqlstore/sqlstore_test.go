package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/pgtest"
)

func mustOpen(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// schema returns a description of the database's tables, columns and
// indexes, to compare before and after a second migration.
func schema(t *testing.T, db *DB) string {
	t.Helper()
	q := `SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master ORDER BY type, name`
	if db.Dialect() == Postgres {
		q = `SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns
			WHERE table_schema = 'public' UNION ALL
			SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`
	}
	rows, err := db.SQL().QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestOpenTwiceChangesNothingAndKeepsData(t *testing.T) { // checklist H5
	eachBackend(t, func(t *testing.T, dsn string) {
		db, err := Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		u := &gatehouse.User{Username: "alice", CreatedAt: time.Now()}
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		before := schema(t, db)
		version, err := db.SchemaVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ms := mustMigrations(t, db.Dialect())
		if want := ms[len(ms)-1].version; version != want {
			t.Errorf("schema version = %d, want %d", version, want)
		}
		// Migrating the open database again is a no-op too.
		if err := db.migrate(t.Context()); err != nil {
			t.Fatalf("second migration: %v", err)
		}
		db.Close()

		db = mustOpen(t, dsn)
		if after := schema(t, db); after != before {
			t.Errorf("schema changed on reopening:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		var applied int
		if err := db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
			t.Fatal(err)
		}
		if applied != len(ms) {
			t.Errorf("schema_migrations has %d rows after reopening, want %d", applied, len(ms))
		}
		got, err := db.UserByName(t.Context(), "alice")
		if err != nil {
			t.Fatalf("user written before reopening: %v", err)
		}
		if got.ID != u.ID {
			t.Errorf("user ID = %d after reopening, want %d", got.ID, u.ID)
		}
	})
}

func mustMigrations(t *testing.T, dialect string) []migration {
	t.Helper()
	ms, err := loadMigrations(dialect)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestBothDialectsHaveTheSameMigrations(t *testing.T) {
	lite, pg := mustMigrations(t, SQLite), mustMigrations(t, Postgres)
	if len(lite) != len(pg) {
		t.Fatalf("%d SQLite migrations, %d PostgreSQL ones", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].name != pg[i].name || lite[i].version != pg[i].version {
			t.Errorf("migration %d is %q for SQLite and %q for PostgreSQL", i+1, lite[i].name, pg[i].name)
		}
	}
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		const n = 4
		errs := make(chan error, n)
		for range n {
			go func() {
				db, err := Open(t.Context(), dsn)
				if err == nil {
					db.Close()
				}
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("concurrent Open: %v", err)
			}
		}
		db := mustOpen(t, dsn)
		var applied int
		if err := db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
			t.Fatal(err)
		}
		if want := len(mustMigrations(t, db.Dialect())); applied != want {
			t.Errorf("schema_migrations has %d rows, want %d", applied, want)
		}
	})
}

func TestOpenRefusesADatabaseFromANewerRelease(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		db := mustOpen(t, dsn)
		if _, err := db.SQL().ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 'x')`); err != nil {
			t.Fatal(err)
		}
		_, err := Open(t.Context(), dsn)
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Fatalf("Open = %v, want a refusal that says the schema is newer", err)
		}
	})
}

func TestDialectNamesTheBackend(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		db := mustOpen(t, dsn)
		want := SQLite
		if strings.HasPrefix(dsn, "postgres") {
			want = Postgres
		}
		if got := db.Dialect(); got != want {
			t.Errorf("Dialect() = %q, want %q", got, want)
		}
		if err := db.SQL().PingContext(t.Context()); err != nil {
			t.Errorf("SQL().Ping: %v", err)
		}
	})
}

func TestOpenSQLiteCreatesAPrivateFileWithDurableSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing", "data")
	cases := []struct{ name, dsn string }{
		{"a plain path", filepath.Join(dir, "a.db")},
		{"a path prefixed sqlite:", "sqlite:" + filepath.Join(dir, "b.db")},
		{"a path prefixed file:", "file:" + filepath.Join(dir, "c.db")},
		{"a sqlite:// URL", "sqlite://" + filepath.Join(dir, "d.db")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := mustOpen(t, c.dsn)
			if err := db.CreateUser(t.Context(), &gatehouse.User{Username: "alice"}); err != nil {
				t.Fatal(err)
			}
			path, _ := splitSQLiteDSN(c.dsn)
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				if mode := fi.Mode().Perm(); mode != 0o600 {
					t.Errorf("%s has mode %o, want 600: it holds password and key hashes", filepath.Base(f), mode)
				}
			}
			pragmas := []struct {
				name, want string
			}{
				{"journal_mode", "wal"},
				{"foreign_keys", "1"},
				{"busy_timeout", "10000"},
				{"synchronous", "2"}, // FULL
			}
			for _, p := range pragmas {
				var got string
				if err := db.SQL().QueryRowContext(t.Context(), "PRAGMA "+p.name).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != p.want {
					t.Errorf("PRAGMA %s = %s, want %s", p.name, got, p.want)
				}
			}
		})
	}
}

func TestOpenSQLiteInMemoryWorks(t *testing.T) {
	db := mustOpen(t, ":memory:")
	if err := db.CreateUser(t.Context(), &gatehouse.User{Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountUsers(t.Context()); err != nil || n != 1 {
		t.Fatalf("CountUsers = %d, %v; want 1", n, err)
	}
}

func TestOpenRefusesAnEmptyPathOrParametersTheStoreReliesOn(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{"", "sqlite:", "file:?mode=rwc",
		filepath.Join(dir, "a.db?_txlock=deferred"),
		filepath.Join(dir, "b.db?_pragma=foreign_keys(0)"),
		filepath.Join(dir, "c.db?_fk=false"),
		filepath.Join(dir, "d.db?%zz"),
	} {
		_, err := Open(t.Context(), dsn)
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("Open(%q) = %v, want EINVALID", dsn, err)
		}
	}
}

func TestUnreachablePostgresIsUnavailable(t *testing.T) { // checklist H1
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	dsn := fmt.Sprintf("postgres://postgres:secret-password@127.0.0.1:%d/postgres?sslmode=disable", port)
	_, err = Open(t.Context(), dsn)
	if code := gatehouse.ErrorCode(err); code != gatehouse.EUNAVAILABLE {
		t.Fatalf("Open against a closed port: code %q (%v), want %q", code, err, gatehouse.EUNAVAILABLE)
	}
	if strings.Contains(err.Error(), "secret-password") {
		t.Errorf("the error shows the password: %v", err)
	}
}

func TestPostgresThatGoesAwayIsUnavailable(t *testing.T) { // checklist H1
	db := mustOpen(t, pgtest.NewDatabase(t))
	var pid int
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	db.SQL().SetMaxOpenConns(1) // the next query must use the connection killed below
	admin, err := sql.Open("pgx", pgtest.Base(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	// database/sql retries a dead connection it has not used yet; after
	// that, every call must be unavailable or succeed, never a wrong answer.
	_, err = db.UserByName(t.Context(), "alice")
	if code := gatehouse.ErrorCode(err); code != gatehouse.EUNAVAILABLE && code != gatehouse.ENOTFOUND {
		t.Fatalf("UserByName after the server ended the connection: code %q (%v)", code, err)
	}
}

func TestLockedSQLiteIsUnavailable(t *testing.T) { // checklist H1
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	holder := mustOpen(t, path)
	// A short busy timeout so the test need not wait ten seconds.
	db := mustOpen(t, path+"?_pragma=busy_timeout(50)")
	tx, err := holder.SQL().BeginTx(t.Context(), nil) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	start := time.Now()
	err = db.CreateUser(t.Context(), &gatehouse.User{Username: "alice"})
	if code := gatehouse.ErrorCode(err); code != gatehouse.EUNAVAILABLE {
		t.Fatalf("CreateUser on a locked database: code %q (%v), want %q", code, err, gatehouse.EUNAVAILABLE)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the busy timeout", waited)
	}
	// Reads still work under WAL while a writer holds the lock.
	if _, err := db.CountUsers(t.Context()); err != nil {
		t.Errorf("read during a write lock: %v", err)
	}
}

func TestErrorsKeepTheirCause(t *testing.T) {
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	db := mustOpen(t, filepath.Join(t.TempDir(), "gatehouse.db"))
	_, err := db.UserByName(ctx, "alice")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Errorf("code = %q, want unavailable", gatehouse.ErrorCode(err))
	}
}

func BenchmarkKeyByHash(b *testing.B) {
	backends := []struct {
		name string
		open func(testing.TB) *DB
	}{
		{"sqlite", openSQLiteTest},
		{"postgres", openPostgresTest},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			ctx := context.Background()
			u := &gatehouse.User{Username: "alice", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}
			if err := db.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			// Enough keys that the lookup goes through the index.
			hashes := make([][]byte, 200)
			for i := range hashes {
				hashes[i] = make([]byte, 32)
				rand.Read(hashes[i])
				k := &gatehouse.APIKey{UserID: u.ID, Name: fmt.Sprintf("k%d", i), Hash: hashes[i], Hint: "gk-ab…yz",
					Scopes: gatehouse.ScopeUser, ExpiresAt: time.Now().Add(time.Hour)}
				if _, err := db.CreateKey(ctx, k); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				if _, _, err := db.KeyByHash(ctx, hashes[i%len(hashes)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
