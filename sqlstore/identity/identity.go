// Package identity is the part of the SQL store that keeps sign-in state
// and identities: OAuth grants and access tokens of CLI logins, single
// sign-on configurations, domain claims, logins in flight and linked
// identities, and the trusted publishers of channels. sqlstore.DB embeds
// a Store, so these methods are the DB's, inside its transactions too.
package identity

import "github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"

// Store runs the identity queries on c.
type Store struct{ c *sqlkit.Conn }

// New returns the identity queries over c, which the DB builds for itself
// and again for every transaction it hands out.
func New(c *sqlkit.Conn) *Store { return &Store{c: c} }
