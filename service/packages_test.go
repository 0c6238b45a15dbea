package service

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/service/keyauth"
	"github.com/gatehouse-dev/gatehouse/spool"
)

func TestPackageInspectionsAreBoundedAcrossUploads(t *testing.T) {
	// checklist F15: twenty uploads at once are inspected at most
	// InspectConcurrency at a time, each within its own budget, so the
	// memory of inspection has a ceiling whatever arrives together.
	f := newFixture(t, nil)
	f.svc.core.inspections = keyauth.NewSlots(2, inspectWait, errInspectBusy)
	var running, peak atomic.Int64
	f.svc.core.inspect = func(r io.ReaderAt, size int64, name string, lim conda.Limits) (*conda.Package, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		// Long enough that, unbounded, the twenty would overlap.
		time.Sleep(20 * time.Millisecond)
		return conda.Inspect(r, size, name, lim)
	}
	ctx := context.Background()
	if _, err := f.svc.Channels.CreateChannel(ctx, f.session(f.admin), gatehouse.ChannelRequest{Name: "lab"}); err != nil {
		t.Fatal(err)
	}
	dir := spool.Dir(t.TempDir())
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			u, err := dir.Write(strings.NewReader(strings.Repeat("not a package ", 100+i)), "x-1.0-0.conda", 1<<20)
			if err != nil {
				t.Error(err)
				return
			}
			defer spool.Remove(u)
			if _, _, err := f.svc.Packages.Upload(ctx, f.session(f.admin), "lab", u, false); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("upload %d: %v, want invalid", i, err)
			}
		})
	}
	wg.Wait()
	if peak.Load() != 2 {
		t.Errorf("%d packages were inspected at once; want the bound, 2", peak.Load())
	}
}

func TestPackageBlobKeysNeverSpellTheStoragesReservedEscape(t *testing.T) {
	// The blob stores reserve "__0x" for their own escapes; a key that
	// spelled it was refused, failing about one upload in 70,000.
	sha := strings.Repeat("ab", 32)
	for range 1000 {
		key := packageBlobKey(7, "linux-64", sha, "numpy-2.0-0.conda")
		unique := strings.TrimSuffix(strings.TrimPrefix(key, "packages/7/linux-64/"), "-numpy-2.0-0.conda")
		if len(unique) != 16+1+12 || strings.Trim(unique[17:], "0123456789abcdef") != "" || strings.Contains(key, "__0x") {
			t.Fatalf("blob key %q: want packages/7/linux-64/<sha prefix>-<12 hex>-<file>", key)
		}
	}
}
