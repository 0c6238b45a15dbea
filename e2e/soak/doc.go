// Package soak holds the load-and-fault suite (issue 8): two replicas of
// the real binary on PostgreSQL and MinIO under concurrent clients (plain
// HTTP with every credential form, and rattler), uploads, key revocations
// and grant changes, then faults: a replica killed mid-upload, PostgreSQL
// crashed and restarted, MinIO stopped, the data disk full. It lives apart
// from package e2e so that it does not slow the main end-to-end tests.
//
// go test ./e2e/soak runs the short version (a few minutes on two cores);
// go test ./e2e/soak -soak.long (or GATEHOUSE_SOAK_LONG=1) the long one.
package soak
