package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestWrapErrGivesEachFailureItsCode(t *testing.T) {
	pg := func(code, constraint string) error {
		return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, ConstraintName: constraint, Message: "boom"})
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"nil stays nil", nil, ""},
		{"a domain error passes through", gatehouse.Errorf(gatehouse.ECONFLICT, "Taken."), gatehouse.ECONFLICT},
		{"a passed deadline is unavailable", context.DeadlineExceeded, gatehouse.EUNAVAILABLE},
		{"a bad connection is unavailable", driver.ErrBadConn, gatehouse.EUNAVAILABLE},
		{"a closed connection is unavailable", sql.ErrConnDone, gatehouse.EUNAVAILABLE},
		{"a connection a database restart closed is unavailable (issue 8)", fmt.Errorf("begin: %w", pgconn.ErrConnClosed), gatehouse.EUNAVAILABLE},
		{"a refused dial is unavailable", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, gatehouse.EUNAVAILABLE},
		{"a PostgreSQL connection exception is unavailable", pg("08006", ""), gatehouse.EUNAVAILABLE},
		{"a PostgreSQL shutdown is unavailable", pg("57P01", ""), gatehouse.EUNAVAILABLE},
		{"too many PostgreSQL connections is unavailable", pg("53300", ""), gatehouse.EUNAVAILABLE},
		{"a PostgreSQL deadlock is unavailable", pg("40P01", ""), gatehouse.EUNAVAILABLE},
		{"a PostgreSQL syntax error is internal", pg("42601", ""), gatehouse.EINTERNAL},
		{"an unmapped unique violation is internal", pg("23505", "x"), gatehouse.EINTERNAL},
		{"a cancelled call is internal, not unavailable", context.Canceled, gatehouse.EINTERNAL},
		{"anything else is internal", errors.New("surprise"), gatehouse.EINTERNAL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := wrapErr(c.err, "test")
			if got := gatehouse.ErrorCode(err); got != c.want {
				t.Errorf("code = %q, want %q (err %v)", got, c.want, err)
			}
			if c.err != nil && !errors.Is(err, c.err) {
				t.Errorf("%v does not wrap its cause %v", err, c.err)
			}
		})
	}
}

func TestConstraintViolationsAreRecognised(t *testing.T) {
	if c, ok := uniqueViolation(&pgconn.PgError{Code: "23505", ConstraintName: "api_keys_hash_key"}); !ok || c != "api_keys_hash_key" {
		t.Errorf("PostgreSQL unique violation: %q, %v", c, ok)
	}
	if _, ok := uniqueViolation(&pgconn.PgError{Code: "23503"}); ok {
		t.Error("a foreign key violation taken for a unique one")
	}
	if !foreignKeyViolation(&pgconn.PgError{Code: "23503"}) {
		t.Error("PostgreSQL foreign key violation not recognised")
	}
	if _, ok := uniqueViolation(nil); ok || foreignKeyViolation(nil) {
		t.Error("nil taken for a violation")
	}

	// SQLite's errors cannot be built outside its package: provoke them.
	db := mustOpen(t, ":memory:")
	ctx := t.Context()
	_, err := db.SQL().ExecContext(ctx, `INSERT INTO names (name, kind) VALUES ('a', 'user'), ('a', 'user')`)
	if c, ok := uniqueViolation(err); !ok || c != "names.name" {
		t.Errorf("SQLite unique violation %v: %q, %v", err, c, ok)
	}
	_, err = db.SQL().ExecContext(ctx, `INSERT INTO users (username, created_at) VALUES ('nobody', 'x')`)
	if !foreignKeyViolation(err) {
		t.Errorf("SQLite foreign key violation %v not recognised", err)
	}
}
