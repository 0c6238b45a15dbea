// Package signupsql is the part of the SQL store that keeps sign-up
// requests waiting for an administrator. sqlstore.DB embeds a Signups, so
// these methods are the DB's, inside its transactions too.
package signupsql

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/signup"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

// Signups runs the sign-up queries on c.
type Signups struct{ c *sqlkit.Conn }

// New returns the sign-up queries over c.
func New(c *sqlkit.Conn) *Signups { return &Signups{c: c} }

const cols = `id, username, email, password_hash, ip, status, created_at, decided_at, decided_by`

func scan(row interface{ Scan(...any) error }, r *signup.Request) error {
	return row.Scan(&r.ID, &r.Username, &r.Email, &r.PasswordHash, &r.IP, &r.Status,
		(*sqlkit.Time)(&r.CreatedAt), (*sqlkit.Time)(&r.DecidedAt), &r.DecidedBy)
}

// CreateSignupRequest inserts a pending request and sets its ID.
// ECONFLICT if a request for the username or email is already pending.
func (s *Signups) CreateSignupRequest(ctx context.Context, r *signup.Request) error {
	if err := sqlkit.RequireText("username", r.Username, "email", r.Email, "password_hash", r.PasswordHash); err != nil {
		return err
	}
	if !sqlkit.TextOK(r.IP) {
		return gatehouse.FieldErrorf("ip", "The address is not text.")
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.c.Now()
	}
	if err := sqlkit.CheckTimes(r.CreatedAt); err != nil {
		return err
	}
	r.Status = signup.Pending
	err := s.c.Q.QueryRowContext(ctx, `INSERT INTO signup_requests (username, email, password_hash, ip, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, r.Username, r.Email, r.PasswordHash, r.IP, r.Status,
		s.c.TV(r.CreatedAt)).Scan(&r.ID)
	if _, dup := sqlkit.UniqueViolation(err); dup {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "A request for this username or email address is already waiting for an administrator.")
	}
	r.CreatedAt = sqlkit.NormTime(r.CreatedAt)
	return sqlkit.WrapErr(err, "create sign-up request")
}

// SignupRequest returns the request with id; ENOTFOUND if none.
func (s *Signups) SignupRequest(ctx context.Context, id int64) (*signup.Request, error) {
	r := new(signup.Request)
	err := scan(s.c.Q.QueryRowContext(ctx, `SELECT `+cols+` FROM signup_requests WHERE id = $1`, id), r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sqlkit.NotFound("No such sign-up request.")
	}
	return r, sqlkit.WrapErr(err, "read sign-up request")
}

// PendingSignupFor returns the pending request for the username or the
// email (case-insensitively), nil if none.
func (s *Signups) PendingSignupFor(ctx context.Context, username, email string) (*signup.Request, error) {
	if !sqlkit.TextOK(username) || !sqlkit.TextOK(email) {
		return nil, nil
	}
	r := new(signup.Request)
	err := scan(s.c.Q.QueryRowContext(ctx, `SELECT `+cols+` FROM signup_requests
		WHERE status = 'pending' AND (username = $1 OR lower(email) = $2) ORDER BY id LIMIT 1`, username, strings.ToLower(email)), r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return r, sqlkit.WrapErr(err, "read sign-up request")
}

// SignupRequests returns the requests in status ("" for all), newest
// first, at most limit.
func (s *Signups) SignupRequests(ctx context.Context, status string, limit int) ([]*signup.Request, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q, args := `SELECT `+cols+` FROM signup_requests ORDER BY id DESC LIMIT $1`, []any{limit}
	if status != "" {
		q, args = `SELECT `+cols+` FROM signup_requests WHERE status = $1 ORDER BY id DESC LIMIT $2`, []any{status, limit}
	}
	rows, err := s.c.Q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list sign-up requests")
	}
	defer rows.Close()
	var out []*signup.Request
	for rows.Next() {
		r := new(signup.Request)
		if err := scan(rows, r); err != nil {
			return nil, sqlkit.WrapErr(err, "list sign-up requests")
		}
		out = append(out, r)
	}
	return out, sqlkit.WrapErr(rows.Err(), "list sign-up requests")
}

// DecideSignupRequest moves a pending request to status (approved or
// denied), recording who decided when. ECONFLICT if it was decided
// already (two administrators at once: one wins), ENOTFOUND if none.
func (s *Signups) DecideSignupRequest(ctx context.Context, id int64, status, by string) (*signup.Request, error) {
	if status != signup.Approved && status != signup.Denied {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "A sign-up request is approved or denied.")
	}
	if !sqlkit.TextOK(by) {
		return nil, gatehouse.FieldErrorf("decided_by", "The name is not text.")
	}
	now := s.c.Now()
	res, err := s.c.Q.ExecContext(ctx, `UPDATE signup_requests SET status = $1, decided_at = $2, decided_by = $3
		WHERE id = $4 AND status = 'pending'`, status, s.c.TV(now), by, id)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "decide sign-up request")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		r, err := s.SignupRequest(ctx, id)
		if err != nil {
			return nil, err
		}
		return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "The request of %s was %s already.", r.Username, r.Status)
	}
	return s.SignupRequest(ctx, id)
}
