package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/spool"
)

type packageView struct {
	*gatehouse.Package
	Channel string `json:"channel"`
	URL     string `json:"url"`
}

func (a *API) viewPackage(ch *gatehouse.Channel, p *gatehouse.Package) packageView {
	return packageView{Package: p, Channel: ch.Name, URL: a.absURL("/repo/" + ch.Name + "/" + p.Subdir + "/" + p.Filename)}
}

// handleUpload checks the caller's right to write before reading a byte of
// the body, so a refused upload costs nothing (checklist F13; Go's server
// sends "100 Continue" only when the body is first read). The body is
// streamed to the spool with its digests (checklist F1, I4), then the
// PackageService inspects and publishes it.
func (a *API) handleUpload(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	name := r.PathValue("channel")
	if _, _, err := a.cfg.Channels.Channel(r.Context(), p, name, gatehouse.ChannelWrite); err != nil {
		return err
	}
	if !uploadContentType(r) {
		return gatehouse.Errorf(gatehouse.EINVALID, "Send the package as multipart/form-data with the file in the field \"file\".")
	}
	u, replace, err := a.spoolUpload(w, r)
	if err != nil {
		return err
	}
	defer spool.Remove(u)
	ch, pkg, err := a.cfg.Packages.Upload(r.Context(), p, name, u, replace)
	if err != nil {
		return err
	}
	reply.JSON(w, http.StatusCreated, a.viewPackage(ch, pkg))
	return nil
}

func (a *API) handleListPackages(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ch, pkgs, err := a.cfg.Packages.Packages(r.Context(), p, r.PathValue("channel"), r.URL.Query().Get("subdir"))
	if err != nil {
		return err
	}
	out := make([]packageView, len(pkgs))
	for i, pkg := range pkgs {
		out[i] = a.viewPackage(ch, pkg)
	}
	reply.JSON(w, http.StatusOK, map[string]any{"channel": ch.Name, "packages": out})
	return nil
}

func (a *API) handleDeletePackage(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if _, err := a.cfg.Packages.Delete(r.Context(), p, r.PathValue("channel"), r.PathValue("subdir"), r.PathValue("filename")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// spoolUpload reads the multipart field "file" of r into the spool.
// replace is true if the form asks to overwrite (a "replace" field before
// the file, or ?replace=true).
func (a *API) spoolUpload(w http.ResponseWriter, r *http.Request) (*gatehouse.Upload, bool, error) {
	limit := a.cfg.MaxUploadSize
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
		body := &stallGuard{r: part, rc: http.NewResponseController(w), now: time.Now,
			minRate: a.cfg.UploadMinRate, grace: a.cfg.UploadGrace}
		u, err := a.cfg.Spool.Write(body, name, limit)
		return u, replace, err
	}
}

// uploadContentType reports whether r is multipart, for a clear error
// before anything is read.
func uploadContentType(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// BodyIdleTimeout is how long a request body may stall before the
// connection is cut (checklist I3).
const BodyIdleTimeout = time.Minute

// Defaults of the upload's minimum rate: after the grace period, an upload
// must average this many bytes a second (checklist I3: one byte every 20 s
// kept a spool file and a connection open for as long as the client
// liked; the idle timeout alone cannot catch a drip).
const (
	DefaultUploadMinRate = 4 << 10
	DefaultUploadGrace   = time.Minute
)

// stallGuard moves the connection's read deadline forward while an upload
// makes progress, so a large upload may take as long as it needs but a
// stalled one is cut off after BodyIdleTimeout, and one that drips slower
// than minRate on average, once grace has passed, is stopped (checklist
// I3).
type stallGuard struct {
	r       io.Reader
	rc      *http.ResponseController
	now     func() time.Time
	minRate int64
	grace   time.Duration

	start, last time.Time
	n           int64
}

var errTooSlow = gatehouse.Errorf(gatehouse.EINVALID, "The upload arrived too slowly and was stopped; nothing was stored. Try again on a faster connection.")

func (g *stallGuard) Read(p []byte) (int, error) {
	now := g.now()
	if g.start.IsZero() {
		g.start = now
	}
	if elapsed := now.Sub(g.start); g.minRate > 0 && elapsed > g.grace && float64(g.n) < float64(g.minRate)*elapsed.Seconds() {
		_ = g.rc.SetReadDeadline(now) // let the connection go too
		return 0, errTooSlow
	}
	if now.Sub(g.last) > time.Second {
		_ = g.rc.SetReadDeadline(now.Add(BodyIdleTimeout))
		g.last = now
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	return n, err
}
