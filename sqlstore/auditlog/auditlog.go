// Package auditlog is the part of the SQL store that keeps the audit log:
// appending events and reading them back a page at a time. sqlstore.DB
// embeds a Log, so these methods are the DB's, inside its transactions
// too (an event commits with the change it records).
package auditlog

import "github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"

// Log runs the audit log queries on c.
type Log struct{ c *sqlkit.Conn }

// New returns the audit log queries over c, which the DB builds for
// itself and again for every transaction it hands out.
func New(c *sqlkit.Conn) *Log { return &Log{c: c} }
