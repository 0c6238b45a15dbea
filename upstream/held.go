package upstream

import (
	"context"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// held tracks, during one subdir's sync, the records the filters keep out
// for their licence or age: what the store holds, and what changes. A
// record held no longer (admitted, told by its name, or gone upstream) is
// dropped at the end.
type held struct {
	m       *Manager
	channel int64
	subdir  string
	have    map[string]gatehouse.HeldRecord
	put     []gatehouse.HeldRecord
}

func (m *Manager) loadHeld(ctx context.Context, channelID int64, subdir string) (*held, error) {
	h := &held{m: m, channel: channelID, subdir: subdir, have: map[string]gatehouse.HeldRecord{}}
	err := m.cfg.Store.EachHeld(ctx, channelID, subdir, func(r gatehouse.HeldRecord) error {
		h.have[r.Filename] = r
		return nil
	})
	return h, err
}

// due reports whether a record held for its age is old enough now: the
// sync then reads the upstream's repodata even if it did not change.
func (h *held) due(now time.Time) bool {
	for _, r := range h.have {
		if !r.Until.IsZero() && !now.Before(r.Until) {
			return true
		}
	}
	return false
}

// note records the verdict on one upstream record; an admitted record or
// one its name tells about is not held.
func (h *held) note(ctx context.Context, fn string, v Verdict) error {
	if v.Rule == "" || v.told() {
		return nil
	}
	r := gatehouse.HeldRecord{Subdir: h.subdir, Filename: fn, Rule: v.Rule, Reason: v.Why, Until: v.Until.UTC()}
	if cur, ok := h.have[fn]; ok && cur.Rule == r.Rule && cur.Reason == r.Reason && cur.Until.Equal(r.Until) {
		delete(h.have, fn)
		return nil
	}
	delete(h.have, fn)
	h.put = append(h.put, r)
	if len(h.put) >= h.m.cfg.BatchSize {
		return h.flush(ctx, nil)
	}
	return nil
}

func (h *held) flush(ctx context.Context, drop []gatehouse.PackageRef) error {
	err := h.m.cfg.Store.ApplyHeld(ctx, h.channel, h.put, drop)
	h.put = h.put[:0]
	return err
}

// dueNames are the package names of records held for their age that are
// old enough now: a sync through shards reads their shards again.
func (h *held) dueNames(now time.Time) map[string]bool {
	out := map[string]bool{}
	for fn, r := range h.have {
		if !r.Until.IsZero() && !now.Before(r.Until) {
			out[nameOf(fn)] = true
		}
	}
	return out
}

// finish writes what is left and drops the records no longer held: of
// those the sync looked at (inScope), or all when inScope is nil.
func (h *held) finish(ctx context.Context, inScope func(filename string) bool) error {
	var drop []gatehouse.PackageRef
	for fn := range h.have {
		if inScope != nil && !inScope(fn) {
			continue
		}
		drop = append(drop, gatehouse.PackageRef{Subdir: h.subdir, Filename: fn})
		if len(drop) >= h.m.cfg.BatchSize {
			if err := h.flush(ctx, drop); err != nil {
				return err
			}
			drop = drop[:0]
		}
	}
	return h.flush(ctx, drop)
}
