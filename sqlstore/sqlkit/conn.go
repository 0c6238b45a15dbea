package sqlkit

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Querier is what *sql.DB and *sql.Tx both offer.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Conn is what a part of the store runs its queries with: the pool, or
// inside a transaction the transaction.
type Conn struct {
	Q       Querier
	Dialect string
	// Now fills times the caller leaves zero.
	Now gatehouse.Clock
	// InTx runs fn in one transaction (a savepoint inside an open one).
	InTx func(ctx context.Context, op string, fn func(tx *sql.Tx) error) error
}

// TV encodes t for a NOT NULL time column.
func (c *Conn) TV(t time.Time) any { return TV(c.Dialect, t) }

// NTV encodes t for a nullable time column: the zero time is NULL.
func (c *Conn) NTV(t time.Time) any { return NTV(c.Dialect, t) }
