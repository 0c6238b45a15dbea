// Package repo serves conda channels, the hot path: every request to
// /repo/<channel>/... passes three steps in order (architecture.md): the
// credential (a bad one is refused, never treated as anonymous), the
// registration gate, then authorization; then the file: repodata and
// channeldata from the index, built once per change, and package files
// from blob storage. Every refusal is a 403 with the JSON {reason,
// message} body conda shows (protocols.md): a 401 would make conda print
// the key itself. One exception to the first step: on the tools channel a
// refused credential is ignored (KeyIgnoredHeader), so a machine with a
// stale key can still install the CLI that fixes it.
package repo

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cache"
	"github.com/gatehouse-dev/gatehouse/condaname"
	"github.com/gatehouse-dev/gatehouse/orgtoken"
	"github.com/gatehouse-dev/gatehouse/server/authn"
	"github.com/gatehouse-dev/gatehouse/server/reply"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is what the channel endpoints need.
type Config struct {
	Auth     gatehouse.AuthService
	Channels gatehouse.ChannelService
	Gate     gatehouse.GateService
	// Registration accepts organization registration tokens at the gate;
	// nil accepts none.
	Registration gatehouse.RegistrationService
	Index        gatehouse.IndexService
	// Upstreams serves proxy channels' files and says how fresh their
	// repodata is; nil when there are none.
	Upstreams gatehouse.UpstreamService
	Blobs     gatehouse.BlobStore
	Addrs     *authn.Addrs
	Reply     *reply.Replier
	Logger    *slog.Logger
	// PublicURL is how clients reach the server, for the messages.
	PublicURL *url.URL
	// RepodataMaxAge is the Cache-Control max-age of repodata.
	RepodataMaxAge time.Duration
	// Registry receives the gate's refusal count; nil registers nothing.
	Registry prometheus.Registerer
	// SmallFileMemory is the bytes of package files of at most
	// SmallFileMax bytes kept in memory; 0 keeps none.
	SmallFileMemory int64
}

// SmallFileMax is the size up to which a package file may be kept in
// memory (Config.SmallFileMemory): most noarch packages are smaller.
const SmallFileMax = 64 << 10

// Handler serves /repo/ and /t/.
type Handler struct {
	cfg          Config
	cacheControl [2][2][]string
	lastDate     atomic.Pointer[formattedDate]
	gateRefusals prometheus.Counter
	// small holds small package files by blob key. A key is written once
	// (an upload's has a random part, an upstream file's its sha256), so
	// an entry is never stale; the index is asked first, so a deleted
	// package is never served.
	small *cache.Cache[string, []byte]
}

// New returns the channel endpoints.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, cacheControl: cacheControls(strconv.Itoa(int(cfg.RepodataMaxAge / time.Second)))}
	h.gateRefusals = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gatehouse_registration_refusals_total", Help: "Channel requests refused because the network requires registration.",
	})
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(h.gateRefusals)
	}
	if cfg.SmallFileMemory > 0 {
		h.small = cache.NewWeighted(cache.Options{MaxWeight: uint64(cfg.SmallFileMemory)},
			func(_ string, b []byte) uint32 { return uint32(len(b)) + 64 })
	}
	return h
}

// request is a parsed channel URL. A key may sit where conda puts it
// (/repo/t/<key>/<channel>/...) or where hand-written URLs put it
// (/t/<key>/repo/<channel>/...).
type request struct {
	pathKey string // from /t/<key>/, "" if none
	channel string
	rest    string // what follows the channel: "", "channeldata.json", "linux-64/repodata.json", ...
}

// parsePath splits a channel URL; ok is false for paths that are not
// channel URLs at all.
func parsePath(p string) (rr request, ok bool) {
	switch {
	case strings.HasPrefix(p, "/t/"):
		key, after, found := strings.Cut(p[len("/t/"):], "/")
		if !found || !strings.HasPrefix(after, "repo/") {
			return rr, false
		}
		rr.pathKey, p = key, "/"+after
		if rr.pathKey == "" {
			return rr, false
		}
	case strings.HasPrefix(p, "/repo/t/"):
		key, after, found := strings.Cut(p[len("/repo/t/"):], "/")
		if !found || key == "" {
			return rr, false
		}
		rr.pathKey, p = key, "/repo/"+after
	}
	if !strings.HasPrefix(p, "/repo/") {
		return rr, false
	}
	rr.channel, rr.rest, _ = strings.Cut(p[len("/repo/"):], "/")
	return rr, rr.channel != ""
}

// absURL returns the public URL of path.
func (h *Handler) absURL(path string) string {
	u := *h.cfg.PublicURL
	u.Path = path
	u.RawQuery = ""
	return u.String()
}

// ServeHTTP serves every channel URL: the three steps, then the file.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.cfg.Reply.Conda(w, r, gatehouse.Errorf(gatehouse.EINVALID, "Channels are read with GET; upload packages through the API."))
		return
	}
	rr, ok := parsePath(r.URL.Path)
	if !ok {
		h.cfg.Reply.Conda(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "This is not a channel URL. Channels live at %s.", h.absURL("/repo/")+"<channel>/"))
		return
	}
	if page := browserPage(r, rr); page != "" {
		http.Redirect(w, r, page, http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	addr := h.cfg.Addrs.Client(r)

	// 1. The credential: present and bad is refused, never anonymous. An
	// organization registration token (gor-, from gatehouse register
	// --org-token) registers the client and nothing more: the request
	// stays anonymous.
	var p *gatehouse.Principal
	var registered bool
	c, err := authn.Credential(r, rr.pathKey)
	if err == nil && c.Present() {
		if orgtoken.Looks(c.Key) && h.cfg.Registration != nil {
			var t *gatehouse.RegistrationToken
			t, err = h.cfg.Registration.Registered(ctx, c.Key, r.UserAgent(), addr)
			registered = t != nil
		} else {
			p, err = h.cfg.Auth.Authenticate(ctx, c, addr)
		}
	}
	// The tools channel is public and exempt from the gate: a stale key
	// (revoked, expired, malformed, without the channels scope) or a
	// caller over its failure budget is answered as the anonymous client
	// it would be, so the fix can always be installed. The header says
	// why the key was ignored; it never holds the key.
	tools := rr.channel == h.cfg.Gate.ToolsChannel()
	if err != nil && tools && ignorable(err) {
		w.Header().Set(KeyIgnoredHeader, ignoredReason(err))
		p, err, registered = nil, nil, false
	}
	if err != nil {
		h.cfg.Reply.Conda(w, r, err)
		return
	}
	if p != nil && tools && !p.Scopes().Has(gatehouse.ScopeChannels) {
		w.Header().Set(KeyIgnoredHeader, "MISSING SCOPE")
		p = nil
	}
	if p != nil && !p.Scopes().Has(gatehouse.ScopeChannels) {
		h.cfg.Reply.Conda(w, r, gatehouse.Refusal("MISSING SCOPE", "This API key does not have the Platform channels scope, which conda needs. Create a key with it in Account Settings → API Keys (%s).", h.absURL("/settings/keys")))
		return
	}

	// 2. The registration gate. Only a request it would refuse pays for
	// reading the User-Agent's organization token (anaconda-anon-usage
	// o/), checked from memory.
	registered = registered || p != nil
	if !registered && h.cfg.Registration != nil && h.cfg.Gate.RequiresRegistration(addr, rr.channel, false) {
		t, err := h.cfg.Registration.Registered(ctx, "", r.UserAgent(), addr)
		if err != nil {
			h.cfg.Reply.Conda(w, r, err)
			return
		}
		registered = t != nil
	}
	if h.cfg.Gate.RequiresRegistration(addr, rr.channel, registered) {
		h.gateRefusals.Inc()
		host := h.cfg.PublicURL.Host
		h.cfg.Reply.Conda(w, r, gatehouse.Refusal("REGISTRATION REQUIRED", "Your network requires this conda client to be registered before it can use %s. Install gatehouse from the tools channel: conda install --name base gatehouse --channel %s --override-channels, then run: gatehouse login --at %s. Nothing else is needed: login sets up conda, mamba and pixi. Step-by-step instructions: %s",
			host, h.absURL("/repo/"+h.cfg.Gate.ToolsChannel()), host, h.absURL("/register")))
		return
	}

	// 3. Authorization.
	ch, err := h.cfg.Channels.Readable(ctx, p, rr.channel)
	if err != nil {
		h.cfg.Reply.Conda(w, r, err)
		return
	}
	h.cfg.Gate.SeenClient(p, r.UserAgent())
	h.serveFile(w, r, ch, rr.rest)
}

// KeyIgnoredHeader names, on an answer from the tools channel, the reason a
// credential sent with the request was ignored ("API KEY REVOKED",
// "MISSING SCOPE", ...): the request was served as anonymous.
const KeyIgnoredHeader = "Gatehouse-Key-Ignored"

// ignorable reports whether a credential failure may be answered as
// anonymous on the tools channel: a refused credential, or too many of
// them. A store that is down stays an error (checklist H1).
func ignorable(err error) bool {
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EUNAUTHORIZED, gatehouse.ERATELIMITED:
		return true
	}
	return false
}

// ignoredReason is the protocol reason of a refused credential, for
// KeyIgnoredHeader: upper-case letters and spaces only.
func ignoredReason(err error) string {
	reason := gatehouse.ErrorReason(err)
	if reason == "" {
		reason = "INVALID API KEY"
		if gatehouse.ErrorCode(err) == gatehouse.ERATELIMITED {
			reason = "TOO MANY ATTEMPTS"
		}
	}
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r == ' ' {
			return r
		}
		return -1
	}, strings.ToUpper(reason))
}

// Formats clients probe that are not served: a fast 404 moves them on to
// the next one (protocols.md, "Fetch order today").
var notServed = map[string]bool{
	"repodata.json.bz2": true, "current_repodata.json": true,
	"current_repodata.json.zst": true, "current_repodata.json.bz2": true, "run_exports.json": true,
	"run_exports.json.zst": true, "repodata_from_packages.json": true, "patch_instructions.json": true,
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, ch *gatehouse.Channel, rest string) {
	switch rest {
	case "", "index.html":
		http.Redirect(w, r, "/channels/"+url.PathEscape(ch.Name), http.StatusSeeOther)
		return
	case "channeldata.json":
		f, err := h.cfg.Index.File(r.Context(), ch, rest, false)
		if err != nil {
			h.cfg.Reply.Conda(w, r, err)
			return
		}
		h.setCacheHeaders(w, ch, false)
		h.serveIndexFile(w, r, f)
		return
	case "notices.json":
		h.cfg.Reply.Conda(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "This channel has no notices."))
		return
	}
	subdir, file, ok := strings.Cut(rest, "/")
	if shard, isShard := strings.CutPrefix(file, "shards/"); isShard && ok && !strings.Contains(shard, "/") {
		// CEP-16 shards: content-addressed, so cacheable for ever.
		f, err := h.cfg.Index.File(r.Context(), ch, rest, false)
		if err != nil {
			h.cfg.Reply.Conda(w, r, err)
			return
		}
		h.setCacheHeaders(w, ch, f.Immutable)
		h.serveIndexFile(w, r, f)
		return
	}
	if !ok || !condaname.ValidSubdir(subdir) || file == "" || strings.Contains(file, "/") {
		h.cfg.Reply.Conda(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "No such file in channel %q.", ch.Name))
		return
	}
	if notServed[file] {
		h.cfg.Reply.Conda(w, r, gatehouse.Errorf(gatehouse.ENOTFOUND, "This server does not serve %s; use repodata.json.", file))
		return
	}
	switch file {
	case "repodata.json", "repodata.json.zst", "repodata_shards.msgpack.zst":
		f, err := h.cfg.Index.File(r.Context(), ch, rest, file == "repodata.json" && acceptsGzip(r))
		if err != nil {
			h.cfg.Reply.Conda(w, r, err)
			return
		}
		h.setCacheHeaders(w, ch, false)
		h.serveIndexFile(w, r, f)
	default:
		pkg, err := h.cfg.Index.Package(r.Context(), ch, subdir, file)
		if err != nil {
			if h.cfg.Upstreams != nil && gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				if ferr := h.cfg.Upstreams.Filtered(r.Context(), ch, subdir, file); ferr != nil {
					err = ferr
				}
			}
			h.cfg.Reply.Conda(w, r, err)
			return
		}
		h.setCacheHeaders(w, ch, false)
		h.servePackage(w, r, ch, pkg)
	}
}

// setCacheHeaders: public channels may be cached by anyone unless the gate
// is on; everything else only by the client (checklist C8).
func (h *Handler) setCacheHeaders(w http.ResponseWriter, ch *gatehouse.Channel, immutable bool) {
	hd := w.Header()
	if h.cfg.Upstreams != nil && !immutable {
		// A proxy or mirror says how old its copy of the upstream is, and
		// when the last refresh failed that it is serving the last good one.
		if age, stale, ok := h.cfg.Upstreams.Freshness(ch.ID); ok {
			hd.Set("X-Upstream-Age", strconv.Itoa(int(age/time.Second)))
			if stale {
				hd.Set("Warning", `110 gatehouse "Response is Stale: the upstream channel could not be refreshed"`)
			}
		}
	}
	shared := ch.Visibility == gatehouse.Public && (!h.cfg.Gate.Active() || h.cfg.Gate.ToolsChannel() == ch.Name)
	// The values are built once and shared by every answer (nothing
	// changes a header after it is set), so the hot path allocates none.
	hd["Cache-Control"] = h.cacheControl[b2i(shared)][b2i(immutable)]
	hd["Vary"] = varyAuthEncoding
}

var varyAuthEncoding = []string{"Authorization, Accept-Encoding"}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cacheControls returns the Cache-Control values by [shared][immutable].
func cacheControls(maxAge string) (v [2][2][]string) {
	for shared, scope := range []string{"private, ", "public, "} {
		v[shared][0] = []string{scope + "max-age=" + maxAge}
		v[shared][1] = []string{scope + "max-age=31536000, immutable"}
	}
	return v
}

// httpDate formats t for Last-Modified, remembering the last answer: a
// subdir's files share one build time, asked for again and again.
func (h *Handler) httpDate(t time.Time) string {
	sec := t.Unix()
	if d := h.lastDate.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &formattedDate{sec, t.UTC().Format(http.TimeFormat)}
	h.lastDate.Store(d)
	return d.text
}

type formattedDate struct {
	sec  int64
	text string
}

func acceptsGzip(r *http.Request) bool {
	for rest, more := r.Header.Get("Accept-Encoding"), true; more; {
		var part string
		part, rest, more = strings.Cut(rest, ",")
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
