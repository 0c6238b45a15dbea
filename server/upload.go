package server

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
)

// Uploads are streamed to a temporary file while md5 and sha256 are
// computed, never held whole in memory and never read past the size limit
// (checklist F1, I4). The archive is inspected in place (never extracted),
// the file is written to the blob store under a fresh key, and only then
// is the package row committed, in one transaction with the channel's
// revision. A crash at any point leaves either nothing visible or the
// whole package; a blob without a row is swept later (checklist H4).

// spooledUpload is an upload on local disk with its digests.
type spooledUpload struct {
	file     *os.File
	filename string
	size     int64
	md5      string
	sha256   string
}

func (u *spooledUpload) remove() {
	if u != nil && u.file != nil {
		name := u.file.Name()
		u.file.Close()
		os.Remove(name)
	}
}

// spoolUpload reads the multipart field "file" of r into a temporary file.
// replace is true if the form asks to overwrite (a "replace" field before
// the file, or ?replace=true).
func (s *Server) spoolUpload(w http.ResponseWriter, r *http.Request) (*spooledUpload, bool, error) {
	limit := s.cfg.MaxUploadSize
	if r.ContentLength > limit+64<<10 {
		return nil, false, gatehouse.Errorf(gatehouse.ETOOLARGE, "The upload is %d bytes; this server accepts packages of at most %d bytes.", r.ContentLength, limit)
	}
	replace := r.URL.Query().Get("replace") == "true"
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "Send the package as multipart/form-data with the file in the field \"file\".")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "The form has no field \"file\" holding the package.")
		}
		if err != nil {
			return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "The upload ended early or is not valid multipart data.")
		}
		switch part.FormName() {
		case "replace":
			v, _ := io.ReadAll(io.LimitReader(part, 16))
			replace = replace || strings.TrimSpace(string(v)) == "true"
			continue
		case "file":
		default:
			continue
		}
		name := path.Base(strings.ReplaceAll(part.FileName(), "\\", "/"))
		if name == "" || name == "." || name == "/" {
			return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "The \"file\" field needs a file name, such as numpy-2.1.0-py312_0.conda.")
		}
		body := &stallGuard{r: part, rc: http.NewResponseController(w)}
		u, err := s.spool(body, name, limit)
		return u, replace, err
	}
}

func (s *Server) spool(src io.Reader, name string, limit int64) (*spooledUpload, error) {
	f, err := os.CreateTemp(s.cfg.TempDir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("creating upload spool file: %w", err)
	}
	u := &spooledUpload{file: f, filename: name}
	hm, hs := md5.New(), sha256.New()
	n, err := io.Copy(io.MultiWriter(f, hm, hs), io.LimitReader(src, limit+1))
	if err != nil {
		u.remove()
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "The upload was cut off before the end of the file; nothing was stored. Try again.")
	}
	if n > limit {
		u.remove()
		return nil, gatehouse.Errorf(gatehouse.ETOOLARGE, "The package is over %d bytes, the most this server accepts.", limit)
	}
	u.size, u.md5, u.sha256 = n, hex.EncodeToString(hm.Sum(nil)), hex.EncodeToString(hs.Sum(nil))
	return u, nil
}

// addPackage inspects a spooled upload and publishes it in ch.
func (s *Server) addPackage(ctx context.Context, p *gatehouse.Principal, ch *gatehouse.Channel, u *spooledUpload, replace bool) (*gatehouse.Package, error) {
	info, err := conda.Inspect(u.file, u.size, u.filename, s.cfg.Limits)
	if err != nil {
		return nil, err
	}
	ix := &info.Index
	if err := ix.Validate(s.now()); err != nil {
		return nil, err
	}
	record, err := conda.Record(ix, u.md5, u.sha256, u.size, s.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	meta, err := encodeMeta(info)
	if err != nil {
		return nil, err
	}
	pkg := &gatehouse.Package{
		ChannelID: ch.ID, Subdir: ix.Subdir, Filename: info.Filename, Name: ix.Name, Version: ix.Version, Build: ix.Build,
		Size: u.size, MD5: u.md5, SHA256: u.sha256, Record: record, Meta: meta, Uploader: p.User.ID, CreatedAt: s.now(),
	}
	// A fresh key per upload: a refused duplicate never touches the blob
	// of the package it collides with.
	pkg.BlobKey = fmt.Sprintf("packages/%d/%s/%s/%s", ch.ID, pkg.Subdir, u.sha256[:16]+"-"+randomToken()[:12], pkg.Filename)
	if !replace {
		if existing, err := s.store.PackageByFilename(ctx, ch.ID, pkg.Subdir, pkg.Filename); err == nil {
			return nil, duplicate(existing, u.sha256)
		}
	}
	if _, err := u.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := s.cfg.Blobs.Put(ctx, pkg.BlobKey, u.file, "application/octet-stream"); err != nil {
		return nil, err
	}
	replaced, err := s.store.AddPackage(ctx, pkg, replace)
	if err != nil {
		s.deleteBlob(pkg.BlobKey)
		if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
			if existing, e2 := s.store.PackageByFilename(ctx, ch.ID, pkg.Subdir, pkg.Filename); e2 == nil {
				return nil, duplicate(existing, u.sha256)
			}
		}
		return nil, err
	}
	if replaced != nil {
		s.deleteBlob(replaced.BlobKey)
	}
	s.chans.forget(ch.Name, ch.ID)
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditPackageUpload,
		Target: "channel:" + ch.Name + " " + pkg.Subdir + "/" + pkg.Filename, Success: true,
		Detail: "sha256=" + pkg.SHA256 + " replace=" + strconv.FormatBool(replaced != nil)})
	return pkg, nil
}

func duplicate(existing *gatehouse.Package, sha string) error {
	if existing.SHA256 == sha {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "%s/%s is already in this channel with the same content. Nothing to do.", existing.Subdir, existing.Filename)
	}
	return gatehouse.Errorf(gatehouse.ECONFLICT, "%s/%s is already in this channel with different content. Upload with replace=true to overwrite it.", existing.Subdir, existing.Filename)
}

func (s *Server) deleteBlob(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.cfg.Blobs.Delete(ctx, key); err != nil {
		// The orphan sweeper will retry.
		s.log.Warn("deleting a blob failed", "blob", key, "err", err)
	}
}

// uploadContentType reports whether r is multipart, for a clear error
// before anything is read.
func uploadContentType(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// stallGuard moves the connection's read deadline forward while an upload
// makes progress, so a large upload may take as long as it needs but a
// stalled one is cut off after bodyIdleTimeout (checklist I3).
type stallGuard struct {
	r    io.Reader
	rc   *http.ResponseController
	last time.Time
}

func (g *stallGuard) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(g.last) > time.Second {
		_ = g.rc.SetReadDeadline(now.Add(bodyIdleTimeout))
		g.last = now
	}
	return g.r.Read(p)
}
