package auditlog

import (
	"context"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/sqlstore/sqlkit"
)

// Audit page sizes.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// AppendAudit inserts e and sets e.ID. A zero Time is now. Its text
// fields may come from outside (the name someone tried): they are cleaned
// and cut to storable text, never refused, so the event is always kept.
func (db *Log) AppendAudit(ctx context.Context, e *gatehouse.AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = db.c.Now()
	}
	if err := sqlkit.CheckTimes(e.Time); err != nil {
		return err
	}
	e.Actor, e.Action = sqlkit.OutsideText(e.Actor, sqlkit.MaxAuditText), sqlkit.OutsideText(e.Action, sqlkit.MaxAuditText)
	e.Target, e.IP = sqlkit.OutsideText(e.Target, sqlkit.MaxAuditText), sqlkit.OutsideText(e.IP, sqlkit.MaxAuditText)
	e.Detail = sqlkit.OutsideText(e.Detail, sqlkit.MaxAuditInfo)
	var id int64
	err := db.c.Q.QueryRowContext(ctx, `INSERT INTO audit_events (time, actor_id, actor, action, target, ip, success, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		db.c.TV(e.Time), e.ActorID, e.Actor, e.Action, e.Target, e.IP, e.Success, e.Detail).Scan(&id)
	if err != nil {
		return sqlkit.WrapErr(err, "append audit event")
	}
	e.ID = id
	e.Time = sqlkit.NormTime(e.Time)
	return nil
}

// ListAudit returns events newest first (by ID, the order they were
// written), filtered by f. Pages follow one another with f.BeforeID set to
// the last ID of the previous page, which stays right while events are
// appended. EINVALID for a negative limit or ID.
func (db *Log) ListAudit(ctx context.Context, f gatehouse.AuditFilter) ([]*gatehouse.AuditEvent, error) {
	switch {
	case f.Limit < 0:
		return nil, gatehouse.FieldErrorf("limit", "The limit must be between 1 and %d.", maxAuditLimit)
	case f.BeforeID < 0:
		return nil, gatehouse.FieldErrorf("before_id", "before_id must be a positive event ID.")
	case f.Limit == 0:
		f.Limit = defaultAuditLimit
	case f.Limit > maxAuditLimit:
		f.Limit = maxAuditLimit
	}
	if !sqlkit.TextOK(f.Action) {
		return nil, nil // no event has such an action; PostgreSQL would refuse the query
	}
	var q strings.Builder
	q.WriteString(`SELECT id, time, actor_id, actor, action, target, ip, success, detail FROM audit_events WHERE 1 = 1`)
	args := make([]any, 0, 4)
	where := func(cond string, arg any) {
		args = append(args, arg)
		q.WriteString(" AND " + cond + " $" + strconv.Itoa(len(args)))
	}
	if f.ActorID != 0 {
		where("actor_id =", f.ActorID)
	}
	if f.Action != "" {
		where("action =", f.Action)
	}
	if f.BeforeID > 0 {
		where("id <", f.BeforeID)
	}
	args = append(args, f.Limit)
	q.WriteString(" ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args)))

	rows, err := db.c.Q.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, sqlkit.WrapErr(err, "list audit events")
	}
	defer rows.Close()
	events := make([]*gatehouse.AuditEvent, 0, min(f.Limit, 64))
	for rows.Next() {
		e := new(gatehouse.AuditEvent)
		if err := rows.Scan(&e.ID, (*sqlkit.Time)(&e.Time), &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.IP,
			&e.Success, &e.Detail); err != nil {
			return nil, sqlkit.WrapErr(err, "list audit events")
		}
		events = append(events, e)
	}
	return events, sqlkit.WrapErr(rows.Err(), "list audit events")
}
