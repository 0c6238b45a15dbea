// Package sqlkit is what every part of the SQL store shares: the error
// mapping both drivers need, time and text encodings that give SQLite and
// PostgreSQL the same answers, and the column lists and scanners of users
// and keys. It holds no state and runs no query of its own.
package sqlkit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// WrapErr turns a driver error into what the Store contract promises: an
// *gatehouse.Error passes through, a database that cannot be reached (or
// answer in time) becomes EUNAVAILABLE with the cause still in the chain,
// and anything else is wrapped with op for the log.
func WrapErr(err error, op string) error {
	if err == nil {
		return nil
	}
	var ge *gatehouse.Error
	if errors.As(err, &ge) {
		return err
	}
	if Unavailable(err) {
		return fmt.Errorf("sqlstore: %s: %w: %w", op, gatehouse.Errorf(gatehouse.EUNAVAILABLE,
			"The database is Unavailable; try again in a moment."), err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// Unavailable reports whether err means the database could not be reached,
// was locked beyond the busy timeout, or did not answer before the
// deadline: failures a retry later may cure, as opposed to bugs.
func Unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		// A pooled connection a database restart closed (issue 8: the
		// soak saw "begin a transaction: conn closed" answered 500).
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Classes 08 (connection exception) and 53 (insufficient
		// resources), and the codes after which a retry can succeed.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") || retryablePgCodes[pe.Code]
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || pgconn.Timeout(err) || errors.As(err, &ne)
}

var retryablePgCodes = map[string]bool{
	"57P01": true, // admin_shutdown
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now
	"57014": true, // query_canceled (statement timeout)
	"40001": true, // serialization_failure
	"40P01": true, // deadlock_detected
}

// UniqueViolation reports whether err is a unique or primary key
// violation, and the name of the constraint or columns at fault as the
// driver spells it (PostgreSQL: the index name; SQLite: "table.column, ...").
func UniqueViolation(err error) (constraint string, ok bool) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		if c := se.Code(); c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			// "constraint failed: UNIQUE constraint failed: t.a, t.b (2067)"
			msg := se.Error()
			const marker = "constraint failed: "
			cols := msg
			if i := strings.LastIndex(msg, marker); i >= 0 {
				cols = msg[i+len(marker):]
			}
			cols, _, _ = strings.Cut(cols, " (")
			return cols, true
		}
		return "", false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}

// ForeignKeyViolation reports whether err is a foreign key violation: a
// row that names a user, organization or key that does not exist.
func ForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

func NotFound(format string, args ...any) error {
	return gatehouse.Errorf(gatehouse.ENOTFOUND, format, args...)
}
