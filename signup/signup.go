// Package signup holds the types of self-service sign-up: the modes an
// administrator chooses and the requests that wait for approval. The
// store (sqlstore/signupsql) keeps the requests, service/signup decides,
// the web pages ask. It imports only the root.
package signup

import (
	"fmt"
	"strings"
	"time"
)

// Mode is how people without an account may get one.
type Mode string

const (
	// Off: only administrators create accounts; the sign-in page says
	// whom to ask.
	Off Mode = "off"
	// Open: anyone (in the allowed email domains) creates an account and
	// may sign in at once.
	Open Mode = "open"
	// Approval: anyone (in the allowed domains) asks; an administrator
	// approves or denies.
	Approval Mode = "approval"
)

// ParseMode reads --signup.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case Off, Open, Approval:
		return m, nil
	case "":
		return Off, nil
	}
	return "", fmt.Errorf("--signup must be off, open or approval, not %q", s)
}

// Request statuses.
const (
	Pending  = "pending"
	Approved = "approved"
	Denied   = "denied"
)

// Request is a sign-up waiting for (or past) an administrator's decision.
type Request struct {
	ID           int64
	Username     string
	Email        string
	PasswordHash string
	IP           string
	Status       string
	CreatedAt    time.Time
	DecidedAt    time.Time
	DecidedBy    string
}
