package repo

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

// servePackage streams a package file from the blob store with its sha256
// as a strong ETag, answering conditional, HEAD and single-range requests.
// A blob store outage is a 503 so clients retry instead of caching a 404
// (checklist H2).
func (x *Handler) servePackage(w http.ResponseWriter, r *http.Request, ch *gatehouse.Channel, p *gatehouse.Package) {
	h := w.Header()
	etag := `"` + p.SHA256 + `"`
	h.Set("ETag", etag)
	h.Set("Last-Modified", x.httpDate(p.CreatedAt))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "application/octet-stream")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	offset, length, partial := int64(0), p.Size, false
	if rg := r.Header.Get("Range"); rg != "" && (r.Header.Get("If-Range") == "" || r.Header.Get("If-Range") == etag) {
		o, l, ok := parseRange(rg, p.Size)
		switch {
		case !ok:
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", p.Size))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		case l < p.Size || o > 0:
			offset, length, partial = o, l, true
		}
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", offset, offset+length-1, p.Size))
		status = http.StatusPartialContent
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	rd, err := x.cfg.Blobs.NewRangeReader(r.Context(), p.BlobKey, offset, length)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND && x.cfg.Upstreams != nil {
		// A proxy channel fetches the file on first request.
		if ferr := x.cfg.Upstreams.Fetch(r.Context(), ch, p); ferr == nil {
			rd, err = x.cfg.Blobs.NewRangeReader(r.Context(), p.BlobKey, offset, length)
		} else if gatehouse.ErrorCode(ferr) != gatehouse.ENOTFOUND {
			h.Del("Content-Length")
			h.Del("Content-Range")
			x.cfg.Reply.Conda(w, r, ferr)
			return
		}
	}
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			// The database lists it but the file is gone: a fault, not an
			// absence the client should remember.
			x.cfg.Logger.Error("package blob missing", "blob", p.BlobKey, "err", err)
			err = gatehouse.Errorf(gatehouse.EUNAVAILABLE, "The package file is temporarily unavailable. Try again later.")
		}
		h.Del("Content-Length")
		h.Del("Content-Range")
		x.cfg.Reply.Conda(w, r, err)
		return
	}
	defer rd.Close()
	w.WriteHeader(status)
	// A download cut short (the client went away) is the client's
	// business; the access log shows the bytes sent.
	_, _ = io.Copy(w, rd)
}

// etagMatches implements If-None-Match's weak comparison.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// parseRange reads one "bytes=a-b", "bytes=a-" or "bytes=-n" range.
// Several ranges are answered whole, which RFC 9110 allows.
func parseRange(h string, size int64) (offset, length int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, size, true // answered whole
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		n = min(n, size)
		return size - n, n, size > 0
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end := size - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e, size-1)
	}
	return start, end - start + 1, true
}
