package ratelimit

import "time"

// FailureBudget is what failed credentials cost a caller: the server, the
// key and password checks and the device login each take it whole, so the
// four settings are declared once.
type FailureBudget struct {
	// FailureLimit failed attempts from one address in a burst, then one
	// more per FailureRefill (checklist B7).
	FailureLimit  int
	FailureRefill time.Duration
	// AccountFailureLimit is the same budget per account name, whatever
	// address the attempts come from (checklist E7).
	AccountFailureLimit int
	// IPv6PrefixLen is the IPv6 network whose addresses share one budget
	// (checklist B8); 0 is a /64, 128 the exact address.
	IPv6PrefixLen int
}
