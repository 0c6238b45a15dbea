package repo

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// serveIndexFile answers with a prebuilt index file, honouring ETag,
// Last-Modified and HEAD, in a single write; Range requests, rare for
// these, go through http.ServeContent.
func serveIndexFile(w http.ResponseWriter, r *http.Request, f *gatehouse.IndexFile) {
	data, etag, modTime := f.Data, f.ETag, f.ModTime
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("ETag", etag)
	if f.Encoding != "" {
		h.Set("Content-Encoding", f.Encoding)
	}
	if r.Header.Get("Range") != "" {
		http.ServeContent(w, r, "", modTime, bytes.NewReader(data))
		return
	}
	h.Set("Last-Modified", modTime.UTC().Format(http.TimeFormat))
	if notModified(r, etag, modTime) {
		h.Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}

// notModified applies If-None-Match, or else If-Modified-Since (RFC 9110
// §13.2.2: the ETag check wins when both are sent).
func notModified(r *http.Request, etag string, modTime time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		return etagMatches(inm, etag)
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !modTime.Truncate(time.Second).After(t)
	}
	return false
}
