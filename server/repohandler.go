package server

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// handleRepo serves every channel URL: the three steps, then the file.
func (s *Server) handleRepo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.refuse(w, r, gatehouse.Errorf(gatehouse.EINVALID, "Channels are read with GET; upload packages through the API."))
		return
	}
	rr, ok := parseRepoPath(r.URL.Path)
	if !ok {
		s.refuse(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "This is not a channel URL. Channels live at %s.", s.absURL("/repo/<channel>/")))
		return
	}
	ctx := r.Context()
	ip := s.clientAddr(r)

	// 1. The credential: present and bad is refused, never anonymous.
	var p *gatehouse.Principal
	c, err := readCredential(r, rr.pathKey)
	if err == nil && c.present() {
		p, err = s.authenticateCredential(ctx, c, ip)
	}
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	if p != nil && !p.Scopes().Has(gatehouse.ScopeChannels) {
		s.refuse(w, r, refusal("MISSING SCOPE", "This API key does not have the Platform channels scope, which conda needs. Create a key with it in Account Settings → API Keys (%s).", s.absURL("/settings/keys")))
		return
	}

	// 2. The registration gate.
	if s.gate.policy().RequiresRegistration(ip, rr.channel, p != nil) {
		s.metrics.gateRefusals.Inc()
		s.refuse(w, r, refusal("REGISTRATION REQUIRED", "Your network requires this conda client to be registered before it can use %s. Run: gatehouse login --at %s (to install gatehouse first: conda install --name base gatehouse --channel %s --override-channels). Step-by-step instructions: %s",
			s.cfg.PublicURL.Host, s.cfg.PublicURL.Host, s.absURL("/repo/"+s.cfg.ToolsChannel), s.absURL("/register")))
		return
	}

	// 3. Authorization.
	ch, err := s.readableChannel(r, rr.channel, p)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	if p != nil && p.Key != nil {
		s.clients.seen(p, ip, r.UserAgent())
	}
	s.serveChannelFile(w, r, ch, rr.rest)
}

// readableChannel returns the channel if p (nil: anonymous) may read it.
// A missing channel and a private one look the same to those who cannot
// read it, so names of private channels do not leak.
func (s *Server) readableChannel(r *http.Request, name string, p *gatehouse.Principal) (*gatehouse.Channel, error) {
	ch, err := s.chans.channel(r.Context(), name)
	if err != nil {
		return nil, err
	}
	if ch != nil && ch.Visibility == gatehouse.Public {
		return ch, nil
	}
	if p == nil {
		return nil, refusal("ACCESS DENIED", "Channel %q does not exist, or it is private and needs an API key with the Platform channels scope. Add your key to the channel URL (%s) or run: gatehouse login --at %s",
			name, s.absURL("/repo/t/<key>/"+name), s.cfg.PublicURL.Host)
	}
	if ch != nil {
		role, err := s.chans.role(r.Context(), ch, p.User.ID)
		if err != nil {
			return nil, err
		}
		if role >= gatehouse.ChannelRead {
			return ch, nil
		}
	}
	return nil, refusal("ACCESS DENIED", "Channel %q does not exist, or %s has no access to it. Ask an administrator of the channel to grant you read access.", name, p.User.Username)
}

// Formats clients probe that we do not serve: a fast 404 moves them on to
// the next one (protocols.md, "Fetch order today").
var notServed = map[string]bool{
	"repodata_shards.msgpack.zst": true, "repodata.json.bz2": true, "current_repodata.json": true,
	"current_repodata.json.zst": true, "current_repodata.json.bz2": true, "run_exports.json": true,
	"run_exports.json.zst": true, "repodata_from_packages.json": true, "patch_instructions.json": true,
}

func (s *Server) serveChannelFile(w http.ResponseWriter, r *http.Request, ch *gatehouse.Channel, rest string) {
	switch rest {
	case "", "index.html":
		http.Redirect(w, r, "/channels/"+url.PathEscape(ch.Name), http.StatusSeeOther)
		return
	case "channeldata.json":
		s.serveChannelData(w, r, ch)
		return
	case "notices.json":
		s.refuse(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "This channel has no notices."))
		return
	}
	subdir, file, ok := strings.Cut(rest, "/")
	if !ok || !gatehouse.ValidSubdir(subdir) || file == "" || strings.Contains(file, "/") {
		s.refuse(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such file in channel %q.", ch.Name))
		return
	}
	if notServed[file] {
		s.refuse(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "This server does not serve %s; use repodata.json.", file))
		return
	}
	idx, err := s.repodata.get(r.Context(), ch, subdir)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	if len(idx.files) == 0 && !gatehouse.KnownSubdir(subdir) {
		s.refuse(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "Channel %q has no packages for %s.", ch.Name, subdir))
		return
	}
	switch file {
	case "repodata.json":
		s.setCacheHeaders(w, ch)
		if acceptsGzip(r) {
			w.Header().Set("Content-Encoding", "gzip")
			serveBytes(w, r, idx.gz, "application/json", idx.etag, idx.built)
			return
		}
		serveBytes(w, r, idx.json, "application/json", idx.etag, idx.built)
	case "repodata.json.zst":
		s.setCacheHeaders(w, ch)
		serveBytes(w, r, idx.zst, "application/zstd", idx.etag, idx.built)
	default:
		pkg := idx.files[file]
		if pkg == nil {
			s.refuse(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "Channel %q has no package %s for %s.", ch.Name, file, subdir))
			return
		}
		s.setCacheHeaders(w, ch)
		s.servePackage(w, r, pkg)
	}
}

// setCacheHeaders: public channels may be cached by anyone unless the gate
// is on; everything else only by the client (checklist C8).
func (s *Server) setCacheHeaders(w http.ResponseWriter, ch *gatehouse.Channel) {
	h := w.Header()
	maxAge := strconv.Itoa(int(s.cfg.RepodataMaxAge / time.Second))
	if ch.Visibility == gatehouse.Public && (s.gate.empty() || s.cfg.ToolsChannel == ch.Name) {
		h.Set("Cache-Control", "public, max-age="+maxAge)
	} else {
		h.Set("Cache-Control", "private, max-age="+maxAge)
	}
	h.Set("Vary", "Authorization, Accept-Encoding")
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// serveBytes answers with prebuilt data, honouring ETag, Last-Modified and
// HEAD, in a single write; Range requests, rare for these, go through
// http.ServeContent.
func serveBytes(w http.ResponseWriter, r *http.Request, data []byte, contentType, etag string, modTime time.Time) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", etag)
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
