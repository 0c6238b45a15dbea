package service

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condabuild"
	"github.com/gatehouse-dev/gatehouse/spool"
)

// lostAnswer is a store whose transactions can fail after committing (the
// database went down before its answer arrived) or before (rolled back).
type lostAnswer struct {
	gatehouse.Store
	mode *string // "", "after the commit", "rolled back"
}

var errConnectionReset = gatehouse.Errorf(gatehouse.EUNAVAILABLE, "The database is unavailable; try again in a moment.")

func (s lostAnswer) Atomic(ctx context.Context, fn func(gatehouse.Store) error) error {
	switch *s.mode {
	case "after the commit":
		if err := s.Store.Atomic(ctx, fn); err != nil {
			return err
		}
		return errConnectionReset
	case "rolled back":
		return errors.Join(errConnectionReset, s.Store.Atomic(ctx, func(tx gatehouse.Store) error {
			if err := fn(tx); err != nil {
				return err
			}
			return errConnectionReset
		}))
	}
	return s.Store.Atomic(ctx, fn)
}

// Checklist F14, G3 (found by the soak test's PostgreSQL restart): an
// upload whose commit answered with an error but had committed keeps its
// blob, so the listed package downloads; one that was rolled back leaves
// no blob behind.
func TestAnUploadWhoseCommitLostItsAnswerKeepsItsFile(t *testing.T) {
	var mode string
	f := newFixture(t, func(s gatehouse.Store) gatehouse.Store { return lostAnswer{s, &mode} })
	ctx := t.Context()
	p := f.session(f.admin)
	if _, err := f.svc.Channels.CreateChannel(ctx, p, gatehouse.ChannelRequest{Name: "lab"}); err != nil {
		t.Fatal(err)
	}
	dir := spool.Dir(t.TempDir())
	upload := func(name string) (*gatehouse.Package, error) {
		m := condabuild.Meta{Name: name, Version: "1.0", Build: "0", Subdir: "noarch", License: "MIT", Timestamp: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
		var buf bytes.Buffer
		if err := condabuild.Build(&buf, m, []condabuild.File{condabuild.BytesFile("share/"+name+"/README", []byte(name), 0o644)}); err != nil {
			t.Fatal(err)
		}
		u, err := dir.Write(&buf, m.Filename(), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer spool.Remove(u)
		_, pkg, err := f.svc.Packages.Upload(ctx, p, "lab", u, false)
		return pkg, err
	}
	blobs := func() int {
		n := 0
		if err := f.svc.core.blobs.List(ctx, "packages/", func(string, int64, time.Time) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}

	mode = "after the commit"
	pkg, err := upload("committed")
	if err != nil {
		t.Fatalf("an upload that committed was answered %v", err)
	}
	mode = ""
	stored, err := f.store.PackageByFilename(ctx, pkg.ChannelID, "noarch", pkg.Filename)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.core.blobs.Attributes(ctx, stored.BlobKey); err != nil {
		t.Errorf("the committed package's blob is gone: %v", err)
	}

	mode = "rolled back"
	if _, err := upload("rolledback"); gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
		t.Fatalf("an upload that was rolled back was answered %v", err)
	}
	mode = ""
	if _, err := f.store.PackageByFilename(ctx, pkg.ChannelID, "noarch", "rolledback-1.0-0.conda"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		t.Errorf("the rolled-back package is listed: %v", err)
	}
	if n := blobs(); n != 1 {
		t.Errorf("%d package blobs are stored, want the committed one only", n)
	}
}
