package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

func heldFiles(t *testing.T, s gatehouse.Store, channelID int64, subdir string) []string {
	t.Helper()
	var out []string
	must(t, s.EachHeld(t.Context(), channelID, subdir, func(h gatehouse.HeldRecord) error {
		out = append(out, h.Filename+":"+h.Rule)
		return nil
	}))
	return out
}

var heldTests = []test{
	{"held records are put, replaced, listed by file name and dropped", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "forge", alice.ID, 0, gatehouse.Public)
		other := mkChannel(t, s, "other", alice.ID, 0, gatehouse.Public)
		until := t0.Add(72 * time.Hour)
		must(t, s.ApplyHeld(t.Context(), c.ID, []gatehouse.HeldRecord{
			{Subdir: "linux-64", Filename: "gpl-1-0.conda", Rule: "licenses", Reason: "its licence GPL-3.0 is not allowed"},
			{Subdir: "linux-64", Filename: "fresh-1-0.conda", Rule: "min_age_days", Reason: "too new", Until: until},
			{Subdir: "noarch", Filename: "gpl-2-0.conda", Rule: "licenses", Reason: "x"},
		}, nil))
		if got, want := heldFiles(t, s, c.ID, "linux-64"), []string{"fresh-1-0.conda:min_age_days", "gpl-1-0.conda:licenses"}; !slices.Equal(got, want) {
			t.Errorf("held in linux-64: %v, want %v", got, want)
		}
		if got := heldFiles(t, s, other.ID, "linux-64"); len(got) != 0 {
			t.Errorf("another channel holds %v", got)
		}
		h, err := s.HeldRecordOf(t.Context(), c.ID, "linux-64", "fresh-1-0.conda")
		must(t, err)
		if h.Rule != "min_age_days" || h.Reason != "too new" || !h.Until.Equal(stored(until)) || h.Until.Location() != time.UTC {
			t.Errorf("held record %+v, want min_age_days until %v in UTC", h, stored(until))
		}
		if h, err := s.HeldRecordOf(t.Context(), c.ID, "linux-64", "gpl-1-0.conda"); err != nil || !h.Until.IsZero() {
			t.Errorf("a licence hold: %+v, %v; want no time", h, err)
		}
		// Replaced (the record aged into another rule) and dropped.
		must(t, s.ApplyHeld(t.Context(), c.ID, []gatehouse.HeldRecord{{Subdir: "linux-64", Filename: "fresh-1-0.conda", Rule: "licenses", Reason: "y"}},
			[]gatehouse.PackageRef{{Subdir: "linux-64", Filename: "gpl-1-0.conda"}, {Subdir: "linux-64", Filename: "never-held-1-0.conda"}}))
		if got, want := heldFiles(t, s, c.ID, "linux-64"), []string{"fresh-1-0.conda:licenses"}; !slices.Equal(got, want) {
			t.Errorf("after replace and drop: %v, want %v", got, want)
		}
		if h, err := s.HeldRecordOf(t.Context(), c.ID, "linux-64", "fresh-1-0.conda"); err != nil || !h.Until.IsZero() || h.Reason != "y" {
			t.Errorf("the replaced record: %+v, %v", h, err)
		}
		if _, err := s.HeldRecordOf(t.Context(), c.ID, "linux-64", "gpl-1-0.conda"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("a dropped record: %v, want ENOTFOUND", err)
		}
		if _, err := s.HeldRecordOf(t.Context(), c.ID, "linux-64", "bad\x00name"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("a name with NUL: %v, want ENOTFOUND", err)
		}
	}},
	{"a held record must name a known rule, a subdir and a file", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		c := mkChannel(t, s, "forge", alice.ID, 0, gatehouse.Public)
		for _, h := range []gatehouse.HeldRecord{
			{Subdir: "noarch", Filename: "a-1-0.conda", Rule: "exclude", Reason: "told by the name"},
			{Subdir: "", Filename: "a-1-0.conda", Rule: "licenses"},
			{Subdir: "noarch", Filename: "a\x00-1-0.conda", Rule: "licenses"},
		} {
			// The bad one comes second: the good one must not stay either.
			err := s.ApplyHeld(t.Context(), c.ID, []gatehouse.HeldRecord{{Subdir: "noarch", Filename: "ok-1-0.conda", Rule: "licenses"}, h}, nil)
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("%+v: %v, want EINVALID", h, err)
			}
		}
		if got := heldFiles(t, s, c.ID, "noarch"); len(got) != 0 {
			t.Errorf("refused batches left %v", got)
		}
	}},
	{"holding a record for a missing channel is ENOTFOUND", func(t *testing.T, s gatehouse.Store) {
		if err := s.ApplyHeld(t.Context(), 999999, []gatehouse.HeldRecord{{Subdir: "noarch", Filename: "a-1-0.conda", Rule: "licenses"}}, nil); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("holding for a missing channel: %v, want ENOTFOUND", err)
		}
	}},
}
