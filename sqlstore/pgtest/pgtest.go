// Package pgtest gives a test a PostgreSQL database of its own, the way
// net/http/httptest gives it a server: created empty on the server that
// GATEHOUSE_TEST_POSTGRES names and dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Env names the server tests create databases on; scripts/test sets it.
const Env = "GATEHOUSE_TEST_POSTGRES"

// Default is the local server scripts/test starts.
const Default = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	once    sync.Once
	base    string // "" if the server cannot be reached
	baseErr error
)

// Base returns the URL of the test server. When it cannot be reached the
// test is skipped, unless CI is set: CI must never pass by silently
// skipping PostgreSQL.
func Base(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		u := os.Getenv(Env)
		if u == "" {
			u = Default
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", u)
		if err == nil {
			err = db.PingContext(ctx)
			db.Close()
		}
		if err != nil {
			baseErr = err
			return
		}
		base = u
	})
	if base == "" {
		msg := "PostgreSQL is unreachable (set " + Env + " to a server where the user may CREATE DATABASE, or run scripts/test, which starts one): "
		if os.Getenv("CI") != "" {
			t.Fatal(msg, baseErr)
		}
		t.Skip(msg, baseErr)
	}
	return base
}

// NewDatabase creates an empty database for the test, dropped when the
// test ends (after anything that registered its cleanup later, such as a
// server using it), and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	b := Base(t)
	var r [6]byte
	rand.Read(r[:])
	name := "gh_test_" + hex.EncodeToString(r[:])
	exec := func(ctx context.Context, stmt string) error {
		admin, err := sql.Open("pgx", b)
		if err != nil {
			return err
		}
		defer admin.Close()
		_, err = admin.ExecContext(ctx, stmt)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
