package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Orphan collection. A crash between writing a package's blob and
// committing its row leaves a blob nobody references (checklist H4); a
// crash mid-upload leaves a spool file. Both are swept once they are old
// enough that no upload in flight can still own them.
const (
	orphanMinAge = time.Hour
	sweepEvery   = time.Hour
)

// sweepOrphans deletes unreferenced package blobs older than minAge and
// stale spool files, and returns how many blobs it removed.
func (s *Server) sweepOrphans(ctx context.Context, minAge time.Duration) (int, error) {
	// Blob and file times are the wall clock's, whatever clock the server
	// was given.
	cutoff := time.Now().Add(-minAge)
	var orphans []string
	err := s.cfg.Blobs.List(ctx, "packages/", func(key string, _ int64, mod time.Time) error {
		if mod.After(cutoff) {
			return nil
		}
		used, err := s.store.BlobKeyInUse(ctx, key)
		if err != nil {
			return err
		}
		if !used {
			orphans = append(orphans, key)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, key := range orphans {
		if err := s.cfg.Blobs.Delete(ctx, key); err != nil {
			return 0, err
		}
		s.log.Info("removed an orphaned package file", "blob", key)
	}
	if _, err := s.cfg.Blobs.SweepTemporary(ctx, minAge); err != nil {
		s.log.Warn("sweeping temporary blob files failed", "err", err)
	}
	if entries, err := os.ReadDir(s.cfg.TempDir); err == nil {
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "upload-") {
				continue
			}
			if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
				os.Remove(filepath.Join(s.cfg.TempDir, e.Name()))
			}
		}
	}
	return len(orphans), nil
}

func (s *Server) sweepLoop(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if n, err := s.sweepOrphans(ctx, orphanMinAge); err != nil && ctx.Err() == nil {
			s.log.Warn("sweeping orphaned package files failed", "err", err)
		} else if n > 0 {
			s.log.Info("swept orphaned package files", "count", n)
		}
		if _, err := s.sweepOAuth(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweeping expired login codes failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
