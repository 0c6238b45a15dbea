// Package registration is the part of the SQL store that keeps the
// registration gate's state: the network rules administrators add, the
// registration tokens of organizations, and the records of the clients
// that fetched with a key or token. sqlstore.DB embeds a Queries, so
// these methods are the DB's, inside its transactions too.
package registration

import "github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"

// Queries runs the registration queries on c.
type Queries struct{ c *sqlkit.Conn }

// New returns the registration queries over c, which the DB builds for
// itself and again for every transaction it hands out.
func New(c *sqlkit.Conn) *Queries { return &Queries{c: c} }
