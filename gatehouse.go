// Package gatehouse holds the domain of the Gatehouse platform: users,
// organizations, API keys, sessions and the audit log, the rules that govern
// them, and the interfaces that storage backends implement. It imports
// nothing of ours, so every other package can depend on it.
package gatehouse

import "time"

// Clock returns the current time. Services take one so that tests can move
// time without sleeping (expiry, sessions, rate limits).
type Clock func() time.Time

// SystemClock is the wall clock, in UTC.
func SystemClock() time.Time { return time.Now().UTC() }
