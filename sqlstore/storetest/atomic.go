package storetest

import (
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

// errAbort is what the tests' functions return to roll a transaction back.
var errAbort = errors.New("abort")

var atomicTests = []test{
	{"a change and its audit event made in Atomic are both kept when it commits", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := newKey(alice.ID, "ci", t0)
		must(t, s.Atomic(t.Context(), func(tx gatehouse.Store) error {
			if _, err := tx.CreateKey(t.Context(), k); err != nil {
				return err
			}
			return tx.AppendAudit(t.Context(), &gatehouse.AuditEvent{Time: t0, Actor: "alice", Action: gatehouse.AuditKeyCreate, Success: true})
		}))
		if _, _, err := s.KeyByHash(t.Context(), k.Hash); err != nil {
			t.Fatalf("the key created in Atomic is not there after commit: %v", err)
		}
		events, err := s.ListAudit(t.Context(), gatehouse.AuditFilter{Action: gatehouse.AuditKeyCreate})
		must(t, err)
		if len(events) != 1 {
			t.Fatalf("%d audit events after commit, want 1", len(events))
		}
	}},
	{"an error in Atomic rolls back every change it made, the audit event included", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := newKey(alice.ID, "ci", t0)
		err := s.Atomic(t.Context(), func(tx gatehouse.Store) error {
			if _, err := tx.CreateKey(t.Context(), k); err != nil {
				return err
			}
			if err := tx.AppendAudit(t.Context(), &gatehouse.AuditEvent{Time: t0, Actor: "alice", Action: gatehouse.AuditKeyCreate}); err != nil {
				return err
			}
			// The transaction sees its own writes.
			if _, _, err := tx.KeyByHash(t.Context(), k.Hash); err != nil {
				t.Errorf("inside Atomic the new key is not visible: %v", err)
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("Atomic returned %v, want fn's error", err)
		}
		_, _, err = s.KeyByHash(t.Context(), k.Hash)
		wantCode(t, err, gatehouse.ENOTFOUND)
		events, err := s.ListAudit(t.Context(), gatehouse.AuditFilter{})
		must(t, err)
		if len(events) != 0 {
			t.Fatalf("%d audit events after a rollback, want 0", len(events))
		}
	}},
	{"a refused step inside Atomic undoes only itself, and the transaction goes on", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		must(t, s.Atomic(t.Context(), func(tx gatehouse.Store) error {
			// A name taken: the store refuses this step (on PostgreSQL a
			// failed statement would poison the whole transaction).
			err := tx.CreateUser(t.Context(), &gatehouse.User{Username: "alice", PasswordHash: "x", CreatedAt: t0, PasswordChangedAt: t0})
			wantCode(t, err, gatehouse.ECONFLICT)
			return tx.AppendAudit(t.Context(), &gatehouse.AuditEvent{Time: t0, ActorID: alice.ID, Actor: "alice", Action: gatehouse.AuditUserCreate})
		}))
		events, err := s.ListAudit(t.Context(), gatehouse.AuditFilter{})
		must(t, err)
		if len(events) != 1 {
			t.Fatalf("%d audit events, want the one written after the refused step", len(events))
		}
	}},
	{"Atomic inside Atomic joins the outer transaction", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		k := newKey(alice.ID, "ci", t0)
		err := s.Atomic(t.Context(), func(tx gatehouse.Store) error {
			if err := tx.Atomic(t.Context(), func(inner gatehouse.Store) error {
				_, err := inner.CreateKey(t.Context(), k)
				return err
			}); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("Atomic returned %v, want fn's error", err)
		}
		_, _, err = s.KeyByHash(t.Context(), k.Hash)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
}
