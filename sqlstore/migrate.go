package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Migrations are numbered files, one directory per dialect:
// migrations/sqlite/0002_channels.sql and migrations/postgres/0002_channels.sql
// come next. A released file never changes; a change is a new file.
//
//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the dialect's migrations in order. Versions start
// at 1 and increase; a number may be skipped (work done in parallel
// reserves its own numbers), and migrate applies each version the
// database lacks, whatever order the files arrived in.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, rest, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(rest, ".sql") {
			return nil, fmt.Errorf("sqlstore: migration %s/%s: name it NNNN_what.sql", dir, e.Name())
		}
		prev := 0
		if len(ms) > 0 {
			prev = ms[len(ms)-1].version
		}
		if v <= prev || (prev == 0 && v != 1) {
			return nil, fmt.Errorf("sqlstore: migration %s/%s: expected version 1 first, then versions above %d", dir, e.Name(), prev)
		}
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration: %w", err)
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(rest, ".sql"), sql: string(b)})
	}
	return ms, nil
}

// migrationLockID is the PostgreSQL advisory lock that serializes
// replicas migrating the same database at once ("gatehous" in ASCII).
const migrationLockID = 0x6761746568_6f7573

// migrate applies the migrations the database lacks, all in one
// transaction: an upgrade either happens whole or not at all, and running
// it again changes nothing (checklist H5).
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(db.dialect)
	if err != nil {
		return err
	}
	return db.inTx(ctx, "migrate the schema", func(tx *sql.Tx) error {
		if db.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockID)); err != nil {
				return wrapErr(err, "lock the schema for migration")
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL
		)`); err != nil {
			return wrapErr(err, "create schema_migrations")
		}
		applied, err := appliedVersions(ctx, tx)
		if err != nil {
			return err
		}
		known := map[int]bool{}
		for _, m := range ms {
			known[m.version] = true
		}
		for v := range applied {
			if !known[v] {
				return fmt.Errorf("sqlstore: the database schema has migration %d, which this gatehouse does not know (it knows up to %d): run a newer gatehouse, or restore a backup taken before the upgrade", v, ms[len(ms)-1].version)
			}
		}
		for _, m := range ms {
			if applied[m.version] {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return wrapErr(err, fmt.Sprintf("apply migration %s/%04d_%s", db.dialect, m.version, m.name))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, normTime(db.now()).Format(sqliteTimeLayout)); err != nil {
				return wrapErr(err, "record migration")
			}
		}
		return nil
	})
}

// appliedVersions reads the versions schema_migrations records.
func appliedVersions(ctx context.Context, tx *sql.Tx) (map[int]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, wrapErr(err, "read the schema version")
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, wrapErr(err, "read the schema version")
		}
		out[v] = true
	}
	return out, wrapErr(rows.Err(), "read the schema version")
}

// SchemaVersion returns the number of the last migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, wrapErr(err, "read the schema version")
}
