package service

import (
	"context"

	"github.com/gatehouse-dev/gatehouse"
)

// Audit implements gatehouse.AuditService.
type Audit struct{ *core }

// List returns audit events, newest first, for administrators.
func (s *Audit) List(ctx context.Context, p *gatehouse.Principal, f gatehouse.AuditFilter) ([]*gatehouse.AuditEvent, error) {
	if err := requireAdmin(p); err != nil {
		return nil, err
	}
	events, err := s.store.ListAudit(ctx, f)
	if err != nil {
		return nil, err
	}
	if events == nil {
		events = []*gatehouse.AuditEvent{}
	}
	return events, nil
}

// Record appends an event that is not part of a change; a failure to
// write it is logged.
func (s *Audit) Record(ctx context.Context, e *gatehouse.AuditEvent) { s.record(ctx, e) }
