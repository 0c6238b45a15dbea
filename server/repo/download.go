package repo

import (
	"context"
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
	if x.small != nil && p.Size <= SmallFileMax {
		// Small files (most noarch packages, every proxied one asked
		// for again) are answered from memory: the header and the body
		// go out in one write, with no open, stat or sendfile.
		b, err := x.small.GetOrLoad(r.Context(), p.BlobKey, func(ctx context.Context) ([]byte, error) {
			return x.readWhole(ctx, ch, p)
		})
		if err != nil {
			x.openFailed(w, r, err)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write(b[offset : offset+length])
		return
	}
	rd, err := x.open(r.Context(), ch, p, offset, length)
	if err != nil {
		x.openFailed(w, r, err)
		return
	}
	defer rd.Close()
	w.WriteHeader(status)
	// A download cut short (the client went away) is the client's
	// business; the access log shows the bytes sent.
	_, _ = io.Copy(w, rd)
}

// open returns a reader of the package file's bytes from offset. A proxy
// channel fetches a file it does not hold yet from upstream first. A file
// the database lists but storage lacks is a fault, answered 503 so clients
// retry instead of remembering an absence.
func (x *Handler) open(ctx context.Context, ch *gatehouse.Channel, p *gatehouse.Package, offset, length int64) (io.ReadCloser, error) {
	rd, err := x.cfg.Blobs.NewRangeReader(ctx, p.BlobKey, offset, length)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND && x.cfg.Upstreams != nil {
		ferr := x.cfg.Upstreams.Fetch(ctx, ch, p)
		if ferr == nil {
			rd, err = x.cfg.Blobs.NewRangeReader(ctx, p.BlobKey, offset, length)
		} else if gatehouse.ErrorCode(ferr) != gatehouse.ENOTFOUND {
			return nil, ferr
		}
	}
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		x.cfg.Logger.Error("package blob missing", "blob", p.BlobKey, "err", err)
		err = gatehouse.Errorf(gatehouse.EUNAVAILABLE, "The package file is temporarily unavailable. Try again later.")
	}
	return rd, err
}

// readWhole reads a small package file for the memory tier. A file shorter
// than its record is a fault, never cached.
func (x *Handler) readWhole(ctx context.Context, ch *gatehouse.Channel, p *gatehouse.Package) ([]byte, error) {
	rd, err := x.open(ctx, ch, p, 0, p.Size)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	b := make([]byte, p.Size)
	if _, err := io.ReadFull(rd, b); err != nil {
		return nil, fmt.Errorf("reading package blob %s: %w", p.BlobKey, err)
	}
	return b, nil
}

// openFailed answers a download whose file could not be opened; the
// headers set for the file are taken back.
func (x *Handler) openFailed(w http.ResponseWriter, r *http.Request, err error) {
	h := w.Header()
	h.Del("Content-Length")
	h.Del("Content-Range")
	x.cfg.Reply.Conda(w, r, err)
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
