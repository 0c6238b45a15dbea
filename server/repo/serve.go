package repo

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// serveIndexFile answers with a prebuilt index file, honouring ETag,
// Last-Modified and HEAD: from memory in a single write, or from its file
// on disk (opened by the index, or here), which the connection sends with
// sendfile. Range requests, rare
// for these, go through http.ServeContent. A file that vanished between
// the lookup and the open (a revision retired meanwhile) is a 503 the
// client retries, never a 404 it would remember.
func (h *Handler) serveIndexFile(w http.ResponseWriter, r *http.Request, f *gatehouse.IndexFile) {
	etag, modTime := f.ETag, f.ModTime
	hd := w.Header()
	hd.Set("Content-Type", f.ContentType)
	hd.Set("ETag", etag)
	if f.Encoding != "" {
		hd.Set("Content-Encoding", f.Encoding)
	}
	file := f.File
	if file != nil {
		defer file.Close()
		if r.Method == http.MethodHead {
			file = nil
		}
	} else if f.Data == nil && f.Path != "" && r.Method != http.MethodHead {
		var err error
		if file, err = os.Open(f.Path); err != nil {
			h.cfg.Logger.Warn("an index file is missing", "err", err)
			hd.Del("ETag")
			hd.Del("Content-Encoding")
			h.cfg.Reply.Conda(w, r, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "The index is being rebuilt. Try again in a moment."))
			return
		}
		defer file.Close()
	}
	if r.Header.Get("Range") != "" {
		if f.Encoding != "" || f.ContentType == "application/zstd" {
			// The ETag names the content, and a compressed form's bytes
			// change when its subdir is compacted (repodata/compact.go):
			// an If-Range must never splice two of them, so it matches
			// nothing here and gets the whole file.
			hd.Del("ETag")
		}
		var rs io.ReadSeeker = bytes.NewReader(f.Data)
		if file != nil {
			rs = file
		}
		http.ServeContent(w, r, "", modTime, rs)
		return
	}
	if !modTime.IsZero() {
		hd.Set("Last-Modified", h.httpDate(modTime))
	}
	if notModified(r, etag, modTime) {
		hd.Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.WriteHeader(http.StatusOK)
	switch {
	case r.Method == http.MethodHead:
	case file != nil:
		_, _ = io.Copy(w, file) // sendfile; a client that went away is its business
	default:
		w.Write(f.Data)
	}
}

// notModified applies If-None-Match, or else If-Modified-Since (RFC 9110
// §13.2.2: the ETag check wins when both are sent).
func notModified(r *http.Request, etag string, modTime time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		return etagMatches(inm, etag)
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !modTime.IsZero() {
		t, err := http.ParseTime(ims)
		return err == nil && !modTime.Truncate(time.Second).After(t)
	}
	return false
}
