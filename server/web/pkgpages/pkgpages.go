// Package pkgpages is the web pages of a channel's packages: one package's
// files with their download links, downloading a file with the browser's
// session, and uploading a package from a form. The rules are the
// services' (service/browse, the PackageService the JSON API uploads
// through); these handlers read requests and render through server/web's
// layout. Uploads are POSTs with the session's CSRF token, refused
// cross-site before anything is read (checklist E4).
package pkgpages

import (
	"embed"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/authn"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/gatehouse-dev/gatehouse/server/web"
	"github.com/gatehouse-dev/gatehouse/spool"
)

//go:embed templates/*.html
var templateFS embed.FS

// Config is what the pages need.
type Config struct {
	Pages    *web.Pages
	Browse   web.PackageBrowser
	Channels gatehouse.ChannelService
	Packages gatehouse.PackageService
	// Spool keeps an upload while it is checked; MaxUploadSize bounds it
	// (the JSON API's limits).
	Spool         spool.Dir
	MaxUploadSize int64
	PublicURL     *url.URL
}

// Handlers serves the package pages.
type Handlers struct {
	cfg Config
}

// New parses the templates into cfg.Pages.
func New(cfg Config) (*Handlers, error) {
	if err := cfg.Pages.AddTemplates(templateFS); err != nil {
		return nil, err
	}
	return &Handlers{cfg: cfg}, nil
}

// Routes registers the pages. No GET changes anything (checklist E5).
func (h *Handlers) Routes(mux web.Mux) {
	mux.Handle("GET /channels/{channel}/packages/{name}", h.cfg.Pages.Page(h.handlePackage))
	mux.Handle("GET /channels/{channel}/files/{subdir}/{filename}", h.cfg.Pages.Page(h.handleDownload))
	mux.Handle("POST /channels/{channel}/upload", h.cfg.Pages.CrossOrigin(http.HandlerFunc(h.handleUpload)))
}

type packagePage struct {
	Channel  *gatehouse.Channel
	Name     string
	CanWrite bool
	Files    []fileRow
	Latest   string
	Install  string
	DeleteID int64 // ?delete=ID opens that file's confirmation
}

type fileRow struct {
	*gatehouse.Package
	SizeText, ShortSHA, Download string
}

func (h *Handlers) handlePackage(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	ch, role, files, err := h.cfg.Browse.Package(r.Context(), c.Principal(), r.PathValue("channel"), r.PathValue("name"))
	if err != nil {
		return err
	}
	pp := &packagePage{Channel: ch, Name: files[0].Name, CanWrite: role >= gatehouse.ChannelWrite, Latest: files[0].Version}
	pp.DeleteID, _ = strconv.ParseInt(r.URL.Query().Get("delete"), 10, 64)
	u := *h.cfg.PublicURL
	u.Path, u.RawQuery = "/repo/"+ch.Name, ""
	pp.Install = "conda install -c " + u.String() + " " + pp.Name
	for _, f := range files {
		pp.Files = append(pp.Files, fileRow{Package: f, SizeText: web.ByteSize(f.Size), ShortSHA: web.ShortSHA(f.SHA256),
			Download: "/channels/" + url.PathEscape(ch.Name) + "/files/" + url.PathEscape(f.Subdir) + "/" + url.PathEscape(f.Filename)})
	}
	d := &web.Data{Title: pp.Name + " · " + ch.Name, Tab: "channels", User: c.User, CSRF: c.CSRF, Content: pp}
	if up := r.URL.Query().Get("uploaded"); up != "" {
		d.Flash = up + " was uploaded to " + ch.Name + ". conda sees it at once."
	}
	h.cfg.Pages.Render(w, r, http.StatusOK, "package", d)
	return nil
}

// handleDownload sends a file to a reader of its channel, with the
// browser's session: the /repo/ URL wants a key, which a browser has not.
func (h *Handlers) handleDownload(w http.ResponseWriter, r *http.Request, c *web.Ctx) error {
	pkg, rd, err := h.cfg.Browse.Open(r.Context(), c.Principal(), r.PathValue("channel"), r.PathValue("subdir"), r.PathValue("filename"))
	if err != nil {
		return err
	}
	defer rd.Close()
	hd := w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": pkg.Filename}))
	hd.Set("Content-Length", strconv.FormatInt(pkg.Size, 10))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("ETag", `"`+pkg.SHA256+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rd) // a download cut short is the browser's business
	return nil
}

type uploadPage struct {
	Channel string
}

// handleUpload takes a package from the channel page's form. The caller
// must be signed in and hold write access before a byte of the body is
// read (checklist F13); the form's first field is the CSRF token, checked
// before the file is spooled (E4). The file then takes the API upload's
// path: the same spool, limits and PackageService checks (F1-F17).
func (h *Handlers) handleUpload(w http.ResponseWriter, r *http.Request) {
	pages := h.cfg.Pages
	c, err := pages.Current(r)
	if err != nil || c == nil {
		if err == nil {
			err = gatehouse.Errorf(gatehouse.EUNAUTHORIZED, "Your session ended. Sign in again.")
		}
		pages.Error(w, r, nil, err)
		return
	}
	name := r.PathValue("channel")
	if _, _, err := h.cfg.Channels.Channel(r.Context(), c.Principal(), name, gatehouse.ChannelWrite); err != nil {
		pages.Error(w, r, c, err)
		return
	}
	u, replace, err := h.spool(w, r, c)
	if err == nil {
		defer spool.Remove(u)
		var pkg *gatehouse.Package
		if _, pkg, err = h.cfg.Packages.Upload(r.Context(), c.Principal(), name, u, replace); err == nil {
			http.Redirect(w, r, "/channels/"+url.PathEscape(name)+"/packages/"+url.PathEscape(pkg.Name)+
				"?uploaded="+url.QueryEscape(pkg.Subdir+"/"+pkg.Filename), http.StatusSeeOther)
			return
		}
	}
	if gatehouse.ErrorCode(err) == gatehouse.EINTERNAL || gatehouse.ErrorCode(err) == gatehouse.EUNAVAILABLE {
		pages.Error(w, r, c, err)
		return
	}
	d := &web.Data{Title: "Upload to " + name, Tab: "channels", User: c.User, CSRF: c.CSRF,
		Error: gatehouse.ErrorMessage(err), Content: &uploadPage{Channel: name}}
	pages.Render(w, r, reply.Status(err), "package_upload", d)
}

// spool reads the form: the CSRF token first, then the file into the
// spool, and the replace box wherever it is.
func (h *Handlers) spool(w http.ResponseWriter, r *http.Request, c *web.Ctx) (*gatehouse.Upload, bool, error) {
	limit := h.cfg.MaxUploadSize
	if r.ContentLength > limit+64<<10 {
		return nil, false, gatehouse.Errorf(gatehouse.ETOOLARGE, "The file is too large: this server accepts packages of at most %s.", web.ByteSize(limit))
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "Choose a package file and press Upload.")
	}
	var (
		u       *gatehouse.Upload
		replace bool
		csrfOK  bool
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			spool.Remove(u)
			return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "The upload ended early or is not a valid form; nothing was stored.")
		}
		switch part.FormName() {
		case "csrf_token":
			v, _ := io.ReadAll(io.LimitReader(part, 256))
			csrfOK = authn.ValidCSRF(c.Session, string(v))
		case "replace":
			v, _ := io.ReadAll(io.LimitReader(part, 16))
			replace = strings.TrimSpace(string(v)) == "true"
		case "file":
			if !csrfOK {
				return nil, false, gatehouse.Errorf(gatehouse.EFORBIDDEN, "The form expired or came from another site. Reload the page and try again.")
			}
			if u != nil {
				spool.Remove(u)
				return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "Upload one file at a time.")
			}
			fn := path.Base(strings.ReplaceAll(part.FileName(), "\\", "/"))
			if fn == "" || fn == "." || fn == "/" {
				return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "Choose a package file, such as numpy-2.1.0-py312_0.conda.")
			}
			if u, err = h.cfg.Spool.Write(part, fn, limit); err != nil {
				return nil, false, err
			}
		}
	}
	if !csrfOK {
		spool.Remove(u)
		return nil, false, gatehouse.Errorf(gatehouse.EFORBIDDEN, "The form expired or came from another site. Reload the page and try again.")
	}
	if u == nil {
		return nil, false, gatehouse.Errorf(gatehouse.EINVALID, "Choose a package file and press Upload.")
	}
	return u, replace, nil
}
