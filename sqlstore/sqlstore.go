// Package sqlstore implements gatehouse.Store with database/sql, for SQLite
// (modernc.org/sqlite, the default: one file in the data directory) and
// PostgreSQL (pgx, for several replicas). The SQL is written once, with $N
// placeholders both drivers accept; the few places where the dialects
// differ (column types, row locks, time encoding) are named in DB.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/auditlog"
	"github.com/gatehouse-dev/gatehouse/sqlstore/catalogsql"
	"github.com/gatehouse-dev/gatehouse/sqlstore/identity"
	"github.com/gatehouse-dev/gatehouse/sqlstore/registration"
	"github.com/gatehouse-dev/gatehouse/sqlstore/signupsql"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
	"github.com/gatehouse-dev/gatehouse/sqlstore/usage"

	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	"modernc.org/sqlite"               // registers driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names, as Dialect returns them.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is a gatehouse.Store on SQLite or PostgreSQL.
type DB struct {
	db *sql.DB
	// q runs the queries: the pool, or inside Atomic the transaction.
	q querier
	// tx is the transaction of a store that Atomic handed out; nil on
	// the store Open returns.
	tx      *sql.Tx
	dialect string
	// lockRow follows a SELECT that must hold its row until the end of the
	// transaction. SQLite needs none: every writing transaction there
	// starts with BEGIN IMMEDIATE and so holds the whole database.
	lockRow string
	// now fills times the caller leaves zero (CreatedAt, AddedAt).
	now gatehouse.Clock
	// Statements prepared once, for the lookups every request makes.
	// (SQLite would otherwise parse the query on each call; pgx caches
	// its statements either way.)
	keyByHash, sessionByHash *sql.Stmt
	// The sign-in and identity queries, bound to q.
	*identity.Store
	// The package browsing queries, bound to q.
	*catalogsql.Catalog
	// The sign-up requests, bound to q.
	*signupsql.Signups
	// The network rules, registration tokens and client records, bound
	// to q.
	*registration.Queries
	// The audit log, and the counts quotas are checked against, bound to
	// q.
	*auditlog.Log
	*usage.Counts
}

var _ gatehouse.Store = (*DB)(nil)

// querier is what *sql.DB and *sql.Tx both offer.
type querier = sqlkit.Querier

// bind gives the parts of the store that live in packages of their own the
// connection this DB runs on: the pool, or its transaction.
func (db *DB) bind() {
	c := &sqlkit.Conn{Q: db.q, Dialect: db.dialect, Now: db.now, InTx: db.inTx}
	db.Store = identity.New(c)
	db.Queries = registration.New(c)
	db.Log = auditlog.New(c)
	db.Counts = usage.New(c)
	db.Catalog = catalogsql.New(c)
	db.Signups = signupsql.New(c)
}

// sqlitePragmas are the settings every SQLite connection gets.
// busy_timeout makes a writer wait up to 10 s for the lock before the call
// fails as unavailable; synchronous=FULL makes every acknowledged commit
// survive a power cut, not only a crash of the process.
var sqlitePragmas = []string{"busy_timeout(10000)", "foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)"}

// sqliteQuery returns the driver parameters: ours, with the caller's
// (from the dsn) added, a caller's pragma replacing ours of the same name.
// Two settings are not the caller's to change, because the store's rules
// rest on them: foreign keys, and _txlock=immediate, which makes writing
// transactions queue for the write lock at BEGIN, so that the checks they
// make (last owner, active key name) still hold when they write.
func sqliteQuery(params string) (string, error) {
	user, err := url.ParseQuery(params)
	if err != nil {
		return "", gatehouse.Errorf(gatehouse.EINVALID, "The parameters after '?' in the SQLite path cannot be parsed.")
	}
	pragmaName := func(p string) string {
		name, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(p)), "(")
		name, _, _ = strings.Cut(name, "=")
		return strings.TrimSpace(name)
	}
	for k, vs := range user {
		switch k := strings.ToLower(k); k {
		case "_txlock", "_foreign_keys", "_fk":
			return "", gatehouse.Errorf(gatehouse.EINVALID, "The SQLite parameter %s cannot be changed: Gatehouse relies on it.", k)
		case "_pragma":
			for _, v := range vs {
				if pragmaName(v) == "foreign_keys" {
					return "", gatehouse.Errorf(gatehouse.EINVALID, "The SQLite pragma foreign_keys cannot be changed: Gatehouse relies on it.")
				}
			}
		}
	}
	q := url.Values{"_txlock": {"immediate"}}
	for _, p := range sqlitePragmas {
		if !slices.ContainsFunc(user["_pragma"], func(u string) bool { return pragmaName(u) == pragmaName(p) }) {
			q.Add("_pragma", p)
		}
	}
	for k, vs := range user {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	return q.Encode(), nil
}

// Open opens the database that dsn names and brings its schema up to date.
// A dsn that starts with postgres:// or postgresql:// is a PostgreSQL URL;
// anything else is the path of a SQLite file, optionally prefixed with
// "sqlite:" or "file:" and followed by "?" and extra driver parameters.
// The file and its directory are created, readable by their owner only;
// ":memory:" is a private in-memory database, for tests.
//
// EUNAVAILABLE if the database cannot be reached; an error that says so if
// its schema is newer than this build knows.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var (
		db  *DB
		err error
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err = openPostgres(ctx, dsn)
	} else {
		db, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	db.bind()
	if err := db.migrate(ctx); err != nil {
		db.db.Close()
		return nil, err
	}
	if err := db.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// The URL may hold a password: never echo it.
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "The PostgreSQL URL cannot be parsed; use postgres://user:password@host:5432/dbname.")
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		// Without it a dial to a black-holed host waits for the kernel.
		q.Set("connect_timeout", "10")
		u.RawQuery = q.Encode()
	}
	sdb, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
	}
	sdb.SetMaxOpenConns(32)
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{db: sdb, q: sdb, dialect: Postgres, lockRow: " FOR NO KEY UPDATE", now: gatehouse.SystemClock}
	if err := db.Ping(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// splitSQLiteDSN returns the file path and the extra driver parameters of
// a SQLite dsn.
func splitSQLiteDSN(dsn string) (path, params string) {
	s := strings.TrimPrefix(dsn, "sqlite:")
	s = strings.TrimPrefix(s, "file:")
	s = strings.TrimPrefix(s, "//") // sqlite:///abs/path and file:///abs/path
	path, params, _ = strings.Cut(s, "?")
	return path, params
}

func openSQLite(ctx context.Context, dsn string) (*DB, error) {
	path, params := splitSQLiteDSN(dsn)
	if path == "" {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "Give the SQLite database a file path, such as /var/lib/gatehouse/gatehouse.db.")
	}
	memory := path == ":memory:"
	if !memory {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("sqlstore: create the directory of the SQLite database %s: %w", path, err)
		}
		// The file holds password and key hashes. SQLite creates its -wal
		// and -shm files with the mode of the database file.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("sqlstore: create the SQLite database %s: %w", path, err)
		}
	}
	query, err := sqliteQuery(params)
	if err != nil {
		return nil, err
	}
	sdb, err := sql.Open("sqlite", "file:"+path+"?"+query)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
	}
	if memory {
		// Each connection to :memory: is a database of its own.
		sdb.SetMaxOpenConns(1)
	}
	sdb.SetMaxIdleConns(4)
	db := &DB{db: sdb, q: sdb, dialect: SQLite, now: gatehouse.SystemClock}
	if err := firstPing(ctx, sdb); err != nil {
		sdb.Close()
		return nil, wrapErr(err, "ping the database")
	}
	return db, nil
}

// firstPing opens the first connection, which sets the pragmas. Switching
// a new file to WAL while another process or pool does the same can
// answer SQLITE_BUSY without waiting in the busy handler, so a busy or
// locked file is tried again for up to 10 s, like a busy write.
func firstPing(ctx context.Context, sdb *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		err := sdb.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || time.Now().After(deadline) {
			return err
		}
		if c := se.Code() & 0xff; c != sqlite3.SQLITE_BUSY && c != sqlite3.SQLITE_LOCKED {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// SQL returns the connection pool, for packages that keep tables of their
// own in the same database.
func (db *DB) SQL() *sql.DB { return db.db }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return wrapErr(db.db.PingContext(ctx), "ping the database")
}

func (db *DB) prepare(ctx context.Context) error {
	var err error
	db.keyByHash, err = db.db.PrepareContext(ctx, `SELECT `+keyCols+`, `+userCols+`
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = $1`)
	if err != nil {
		return wrapErr(err, "prepare the key lookup")
	}
	db.sessionByHash, err = db.db.PrepareContext(ctx, `SELECT `+sessionCols+`, `+userCols+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = $1`)
	return wrapErr(err, "prepare the session lookup")
}

// Close closes the connection pool.
func (db *DB) Close() error {
	for _, st := range []*sql.Stmt{db.keyByHash, db.sessionByHash} {
		if st != nil {
			st.Close()
		}
	}
	return db.db.Close()
}

// Atomic runs fn with a store whose every call is part of one transaction,
// and commits if fn returns nil; any error rolls the whole of it back. The
// services use it to write a change and its audit event together. Inside
// fn, Atomic joins the transaction already open. Change notifications
// (PostgreSQL) are delivered at commit, never for a rollback.
func (db *DB) Atomic(ctx context.Context, fn func(gatehouse.Store) error) error {
	if db.tx != nil {
		return fn(db)
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(err, "begin a transaction")
	}
	inner := *db
	inner.tx, inner.q = tx, tx
	inner.bind()
	if err := fn(&inner); err != nil {
		tx.Rollback()
		return err
	}
	return wrapErr(tx.Commit(), "commit a transaction")
}

// stmt returns a prepared statement usable by this store: itself, or bound
// to the transaction inside Atomic.
func (db *DB) stmt(ctx context.Context, s *sql.Stmt) *sql.Stmt {
	if db.tx != nil {
		return db.tx.StmtContext(ctx, s)
	}
	return s
}

// inTx runs fn in one transaction and commits if fn returns nil. Errors
// from fn are returned as they are; errors of the transaction itself are
// wrapped with op. Inside Atomic it runs in a savepoint of the open
// transaction instead, so a step that fails (and that its method may
// retry) undoes only itself.
func (db *DB) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if db.tx != nil {
		if _, err := db.tx.ExecContext(ctx, `SAVEPOINT gatehouse_step`); err != nil {
			return wrapErr(err, op)
		}
		if err := fn(db.tx); err != nil {
			if _, rerr := db.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT gatehouse_step`); rerr != nil {
				return wrapErr(rerr, op)
			}
			return err
		}
		_, err := db.tx.ExecContext(ctx, `RELEASE SAVEPOINT gatehouse_step`)
		return wrapErr(err, op)
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(err, op)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return wrapErr(tx.Commit(), op)
}
