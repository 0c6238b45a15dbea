package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/conda/repofmt"
)

// Packages implements gatehouse.PackageService.
//
// An upload has arrived in the spool with its digests (the HTTP layer
// streams it there, checklist F1, I4). It is inspected in place (never
// extracted), written to the blob store under a fresh key, and only then
// is the package row committed, in one transaction with the channel's
// revision and the audit event. A crash at any point leaves either nothing
// visible or the whole package; a blob without a row is swept later
// (checklist H4).
type Packages struct{ *core }

// Upload adds a spooled package to the channel; p needs write access.
func (s *Packages) Upload(ctx context.Context, p *gatehouse.Principal, channel string, u *gatehouse.Upload, replace bool) (*gatehouse.Channel, *gatehouse.Package, error) {
	ch, _, err := (&Channels{s.core}).Channel(ctx, p, channel, gatehouse.ChannelWrite)
	if err != nil {
		return nil, nil, err
	}
	pkg, err := s.add(ctx, p, ch, u, replace)
	if err != nil {
		return nil, nil, err
	}
	return ch, pkg, nil
}

// add inspects a spooled upload and publishes it in ch.
func (s *Packages) add(ctx context.Context, p *gatehouse.Principal, ch *gatehouse.Channel, u *gatehouse.Upload, replace bool) (*gatehouse.Package, error) {
	var info *conda.Package
	err := s.inspections.Run(ctx, func() (err error) {
		info, err = s.inspect(u.File, u.Size, u.Filename, s.cfg.Limits)
		return err
	})
	if err != nil {
		return nil, err
	}
	ix := &info.Index
	now := s.now()
	if err := ix.Validate(now); err != nil {
		return nil, err
	}
	record, err := conda.Record(ix, u.MD5, u.SHA256, u.Size, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	meta, err := repofmt.EncodeMeta(info)
	if err != nil {
		return nil, err
	}
	pkg := &gatehouse.Package{
		ChannelID: ch.ID, Subdir: ix.Subdir, Filename: info.Filename, Name: ix.Name, Version: ix.Version, Build: ix.Build,
		Size: u.Size, MD5: u.MD5, SHA256: u.SHA256, Record: record, Meta: meta, Uploader: p.User.ID, CreatedAt: now,
	}
	pkg.BlobKey = packageBlobKey(ch.ID, pkg.Subdir, u.SHA256, pkg.Filename)
	if !replace {
		if existing, err := s.store.PackageByFilename(ctx, ch.ID, pkg.Subdir, pkg.Filename); err == nil {
			return nil, duplicate(existing, u.SHA256)
		}
	}
	if err := s.storageQuota(ctx, p, ch, pkg, replace); err != nil {
		return nil, err
	}
	if err := gatehouse.PutSpooled(ctx, s.blobs, pkg.BlobKey, u); err != nil {
		return nil, err
	}
	var replaced *gatehouse.Package
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		var err error
		if replaced, err = tx.AddPackage(ctx, pkg, replace); err != nil {
			return err
		}
		e := s.event(p, gatehouse.AuditPackageUpload, "channel:"+ch.Name+" "+pkg.Subdir+"/"+pkg.Filename)
		e.Detail = "sha256=" + pkg.SHA256 + " replace=" + strconv.FormatBool(replaced != nil)
		return s.audit(ctx, tx, e)
	})
	if err != nil {
		// A commit whose answer was lost (the database went down in
		// between) may have committed: the row then holds this blob, and
		// the upload stands. The blob goes only once no row can hold it;
		// when that cannot be told, the orphan sweeper decides later.
		existing, e2 := s.store.PackageByFilename(ctx, ch.ID, pkg.Subdir, pkg.Filename)
		switch {
		case e2 == nil && existing.BlobKey == pkg.BlobKey:
			s.log.Warn("an upload's commit failed to answer but had committed", "blob", pkg.BlobKey, "err", err)
			s.channels.forgetPackages(ch)
			return existing, nil
		case e2 == nil || gatehouse.ErrorCode(e2) == gatehouse.ENOTFOUND:
			s.deleteBlob(pkg.BlobKey)
		}
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT && e2 == nil {
			return nil, duplicate(existing, u.SHA256)
		}
		return nil, err
	}
	if replaced != nil {
		s.deleteBlob(replaced.BlobKey)
	}
	// The channel's revision moved: repodata is rebuilt on the next ask.
	s.channels.forgetPackages(ch)
	return pkg, nil
}

// packageBlobKey is a fresh blob key for an upload, so a refused duplicate
// never touches the blob of the package it collides with:
// packages/<channel>/<subdir>/<sha256[:16]>-<random>-<filename>. One
// directory per channel and subdir: a directory per upload (the layout
// before, still read, since every row keeps its key) cost a directory
// creation and its sync on every upload. A file name too long to share its
// path segment with the prefix keeps that older layout.
func packageBlobKey(channelID int64, subdir, sha256, filename string) string {
	// Hex, not a base64url token: base64url can spell the "__0x" the
	// storage reserves for escapes (one upload in about 70,000 did).
	var random [6]byte
	rand.Read(random[:])
	unique := sha256[:16] + "-" + hex.EncodeToString(random[:])
	if len(unique)+1+len(filename) <= gatehouse.MaxBlobKeySegment {
		return fmt.Sprintf("packages/%d/%s/%s-%s", channelID, subdir, unique, filename)
	}
	return fmt.Sprintf("packages/%d/%s/%s/%s", channelID, subdir, unique, filename)
}

func duplicate(existing *gatehouse.Package, sha string) error {
	if existing.SHA256 == sha {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "%s/%s is already in this channel with the same content. Nothing to do.", existing.Subdir, existing.Filename)
	}
	return gatehouse.Errorf(gatehouse.ECONFLICT, "%s/%s is already in this channel with different content. Upload with replace=true to overwrite it.", existing.Subdir, existing.Filename)
}

// deleteBlob removes a blob no row references any more; a failure leaves
// it to the orphan sweeper.
func (s *Packages) deleteBlob(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.blobs.Delete(ctx, key); err != nil {
		s.log.Warn("deleting a blob failed", "blob", key, "err", err)
	}
}

// Packages lists the channel's packages in subdir ("" for all), for those
// who can see the channel.
func (s *Packages) Packages(ctx context.Context, p *gatehouse.Principal, channel, subdir string) (*gatehouse.Channel, []*gatehouse.Package, error) {
	ch, _, err := (&Channels{s.core}).Channel(ctx, p, channel, gatehouse.NoAccess)
	if err != nil {
		return nil, nil, err
	}
	pkgs, err := s.store.ListPackages(ctx, ch.ID, subdir)
	if err != nil {
		return nil, nil, err
	}
	return ch, pkgs, nil
}

// Delete removes a package from the channel; writers may. The row goes
// first, so repodata never lists a missing file (checklist G4); then the
// file.
func (s *Packages) Delete(ctx context.Context, p *gatehouse.Principal, channel, subdir, filename string) (*gatehouse.Package, error) {
	ch, _, err := (&Channels{s.core}).Channel(ctx, p, channel, gatehouse.ChannelWrite)
	if err != nil {
		return nil, err
	}
	var pkg *gatehouse.Package
	err = s.store.Atomic(ctx, func(tx gatehouse.Store) error {
		var err error
		if pkg, err = tx.DeletePackage(ctx, ch.ID, subdir, filename); err != nil {
			return err
		}
		return s.audit(ctx, tx, s.event(p, gatehouse.AuditPackageDelete, "channel:"+ch.Name+" "+pkg.Subdir+"/"+pkg.Filename))
	})
	if err != nil {
		return nil, err
	}
	s.channels.forgetPackages(ch)
	s.deleteBlob(pkg.BlobKey)
	return pkg, nil
}

// storageQuota refuses a package that would take an ordinary owner's
// channels past the bytes the server allows (checklist I4). A package it
// replaces frees its own size.
func (s *Packages) storageQuota(ctx context.Context, p *gatehouse.Principal, ch *gatehouse.Channel, pkg *gatehouse.Package, replace bool) error {
	limit := s.cfg.Quotas.BytesPerOwner
	if limit < 0 {
		return nil
	}
	if exempt, err := s.quotaExempt(ctx, p, ch); err != nil || exempt {
		return err
	}
	used, err := s.store.OwnerBytes(ctx, ch.OwnerUserID, ch.OwnerOrgID)
	if err != nil {
		return err
	}
	if replace {
		if old, err := s.store.PackageByFilename(ctx, ch.ID, pkg.Subdir, pkg.Filename); err == nil {
			used -= old.Size
		}
	}
	if used+pkg.Size <= limit {
		return nil
	}
	return gatehouse.Errorf(gatehouse.EQUOTA, "%s's channels hold %s of the %s this server allows; this package (%s) does not fit. Delete packages they no longer need, or ask an administrator.",
		ch.Owner, byteSize(used), byteSize(limit), byteSize(pkg.Size))
}

// byteSize writes n bytes the way a person reads them.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, exp := float64(n)/unit, 0
	for v >= unit && exp < 3 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[exp])
}

var errInspectBusy = &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, RetryAfter: 5 * time.Second,
	Message: "The server is busy checking other packages. Try the upload again in a few seconds."}

// inspectWait is how long an upload waits for a free inspection slot.
const inspectWait = time.Minute
