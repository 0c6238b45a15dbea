package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// appendEvents appends n events, one second apart, alternating between two
// actors and two actions, and returns them in the order written.
func appendEvents(t *testing.T, s gatehouse.Store, n int) []*gatehouse.AuditEvent {
	t.Helper()
	events := make([]*gatehouse.AuditEvent, n)
	for i := range n {
		e := &gatehouse.AuditEvent{Time: t0.Add(time.Duration(i) * time.Second), ActorID: int64(1 + i%2),
			Actor: []string{"alice", "bob"}[i%2], Action: []string{gatehouse.AuditSignIn, gatehouse.AuditKeyCreate}[i/2%2],
			Target: "key:1 (ci)", IP: "192.0.2.7", Success: true}
		must(t, s.AppendAudit(t.Context(), e))
		events[i] = e
	}
	return events
}

func ids(events []*gatehouse.AuditEvent) []int64 {
	var out []int64
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

// newestFirst returns the IDs of the events that pass keep, newest first.
func newestFirst(events []*gatehouse.AuditEvent, keep func(*gatehouse.AuditEvent) bool) []int64 {
	var out []int64
	for i := len(events) - 1; i >= 0; i-- {
		if keep(events[i]) {
			out = append(out, events[i].ID)
		}
	}
	return out
}

var auditTests = []test{
	{"appending an event sets its ID and keeps every field, failures and anonymous actors included", func(t *testing.T, s gatehouse.Store) {
		e := &gatehouse.AuditEvent{Time: t0, Actor: "nobody-tried-this", Action: gatehouse.AuditSignIn,
			IP: "2001:db8::7", Success: false, Detail: "wrong password"}
		must(t, s.AppendAudit(t.Context(), e))
		if e.ID <= 0 {
			t.Fatalf("ID = %d after AppendAudit", e.ID)
		}
		full := &gatehouse.AuditEvent{Time: t0.Add(time.Second), ActorID: 7, Actor: "alice", Action: gatehouse.AuditKeyRevoke,
			Target: "key:12 (ci)", IP: "192.0.2.1", Success: true, Detail: "by user"}
		must(t, s.AppendAudit(t.Context(), full))
		got, err := s.ListAudit(t.Context(), gatehouse.AuditFilter{})
		must(t, err)
		want := []*gatehouse.AuditEvent{
			{ID: full.ID, Time: stored(full.Time), ActorID: 7, Actor: "alice", Action: gatehouse.AuditKeyRevoke,
				Target: "key:12 (ci)", IP: "192.0.2.1", Success: true, Detail: "by user"},
			{ID: e.ID, Time: stored(t0), Actor: "nobody-tried-this", Action: gatehouse.AuditSignIn,
				IP: "2001:db8::7", Detail: "wrong password"},
		}
		equal(t, "events", got, want)
	}},
	{"listing returns events newest first, filtered by actor and by action", func(t *testing.T, s gatehouse.Store) {
		events := appendEvents(t, s, 12)
		all := func(*gatehouse.AuditEvent) bool { return true }
		cases := []struct {
			name   string
			filter gatehouse.AuditFilter
			keep   func(*gatehouse.AuditEvent) bool
		}{
			{"no filter", gatehouse.AuditFilter{}, all},
			{"actor 2", gatehouse.AuditFilter{ActorID: 2}, func(e *gatehouse.AuditEvent) bool { return e.ActorID == 2 }},
			{"action key.create", gatehouse.AuditFilter{Action: gatehouse.AuditKeyCreate},
				func(e *gatehouse.AuditEvent) bool { return e.Action == gatehouse.AuditKeyCreate }},
			{"actor 1 and action signin", gatehouse.AuditFilter{ActorID: 1, Action: gatehouse.AuditSignIn},
				func(e *gatehouse.AuditEvent) bool { return e.ActorID == 1 && e.Action == gatehouse.AuditSignIn }},
			{"an actor with no events", gatehouse.AuditFilter{ActorID: 99}, func(*gatehouse.AuditEvent) bool { return false }},
			{"before the 6th event", gatehouse.AuditFilter{BeforeID: events[5].ID},
				func(e *gatehouse.AuditEvent) bool { return e.ID < events[5].ID }},
			{"a limit of 3", gatehouse.AuditFilter{Limit: 3}, func(e *gatehouse.AuditEvent) bool { return e.ID >= events[9].ID }},
		}
		for _, c := range cases {
			got, err := s.ListAudit(t.Context(), c.filter)
			must(t, err)
			equal(t, c.name, ids(got), newestFirst(events, c.keep))
		}
	}},
	{"pages that follow one another by BeforeID cover every event once", func(t *testing.T, s gatehouse.Store) {
		events := appendEvents(t, s, 23)
		var got []int64
		f := gatehouse.AuditFilter{ActorID: 1, Limit: 4}
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			page, err := s.ListAudit(t.Context(), f)
			must(t, err)
			if len(page) == 0 {
				break
			}
			got = append(got, ids(page)...)
			f.BeforeID = page[len(page)-1].ID
		}
		equal(t, "IDs over all pages", got, newestFirst(events, func(e *gatehouse.AuditEvent) bool { return e.ActorID == 1 }))
	}},
	{"a page holds 100 events unless asked otherwise, and never more than 1000", func(t *testing.T, s gatehouse.Store) {
		appendEvents(t, s, 1001)
		for _, c := range []struct{ limit, want int }{{0, 100}, {1, 1}, {1000, 1000}, {1001, 1000}, {1 << 30, 1000}} {
			got, err := s.ListAudit(t.Context(), gatehouse.AuditFilter{Limit: c.limit})
			must(t, err)
			equal(t, "events with limit "+name("", c.limit), len(got), c.want)
		}
	}},
	{"a negative limit or BeforeID is invalid", func(t *testing.T, s gatehouse.Store) {
		_, err := s.ListAudit(t.Context(), gatehouse.AuditFilter{Limit: -1})
		wantCode(t, err, gatehouse.EINVALID)
		_, err = s.ListAudit(t.Context(), gatehouse.AuditFilter{BeforeID: -1})
		wantCode(t, err, gatehouse.EINVALID)
	}},
	{"an empty log lists no events", func(t *testing.T, s gatehouse.Store) {
		got, err := s.ListAudit(t.Context(), gatehouse.AuditFilter{})
		must(t, err)
		equal(t, "number of events", len(got), 0)
	}},
}
