package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/storetest"
)

// defaultPostgres is the server the tests use unless GATEHOUSE_TEST_POSTGRES
// names another. Each test gets a database of its own on it.
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) gatehouse.Store { return openSQLiteTest(t) })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) gatehouse.Store { return openPostgresTest(t) })
}

func openSQLiteTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgresTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), newPostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var (
	pgOnce sync.Once
	pgBase string // "" if the server cannot be reached
	pgErr  error
)

// postgresBase returns the URL of the test server. When the server cannot
// be reached the test is skipped, unless CI is set: CI must never pass by
// silently skipping PostgreSQL.
func postgresBase(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		base := os.Getenv("GATEHOUSE_TEST_POSTGRES")
		if base == "" {
			base = defaultPostgres
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", base)
		if err == nil {
			err = db.PingContext(ctx)
			db.Close()
		}
		if err != nil {
			pgErr = err
			return
		}
		pgBase = base
	})
	if pgBase == "" {
		msg := "PostgreSQL is unreachable (set GATEHOUSE_TEST_POSTGRES to a server where the user may CREATE DATABASE): "
		if os.Getenv("CI") != "" {
			t.Fatal(msg, pgErr)
		}
		t.Skip(msg, pgErr)
	}
	return pgBase
}

// newPostgresDB creates a database of its own for the test, dropped when
// the test ends, and returns its URL.
func newPostgresDB(t testing.TB) string {
	t.Helper()
	base := postgresBase(t)
	var b [6]byte
	rand.Read(b[:])
	name := "gh_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// eachBackend runs fn as a subtest per backend, each with a dsn of a new,
// empty database.
func eachBackend(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, filepath.Join(t.TempDir(), "gatehouse.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, newPostgresDB(t)) })
}
