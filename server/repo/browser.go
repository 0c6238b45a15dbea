package repo

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/condaname"
)

// A person who opens a channel's URL (the one its page shows) in a browser
// wants the channel, not repodata's JSON. Such a request carries no
// credential, asks for HTML, and does not come from a conda client; it is
// sent to the channel's web page, which signs the person in, shows the
// channel to those who may read it, and answers everyone else with a
// styled "not found" that reveals nothing a conda client would not learn
// (checklist J6). conda, mamba, pixi and rattler keep getting JSON.

// condaAgents are the User-Agent prefixes of package managers and their
// libraries: they never get the page, whatever they accept.
var condaAgents = []string{"conda/", "mamba/", "libmamba/", "micromamba/", "pixi/", "rattler/", "python-requests/",
	"anaconda", "conda-", "pip/", "curl/", "wget/", "go-http-client/"}

// browserPage returns the web page for a browser's request of a channel's
// or platform's listing, or "" when r is not one.
func browserPage(r *http.Request, rr request) string {
	if r.Method != http.MethodGet || rr.pathKey != "" || r.Header.Get("Authorization") != "" {
		return ""
	}
	if !acceptsHTML(r.Header.Get("Accept")) {
		return ""
	}
	ua := strings.ToLower(r.UserAgent())
	for _, a := range condaAgents {
		if strings.HasPrefix(ua, a) || strings.Contains(ua, " "+a) {
			return ""
		}
	}
	page := "/channels/" + url.PathEscape(rr.channel)
	rest := strings.TrimSuffix(strings.TrimSuffix(rr.rest, "index.html"), "/")
	switch {
	case rest == "":
		return page
	case !strings.Contains(rest, "/") && condaname.ValidSubdir(rest):
		return page + "?subdir=" + url.QueryEscape(rest)
	}
	return ""
}

// acceptsHTML reports whether an Accept header names text/html with a
// non-zero weight: what browsers send when a person opens a page, and
// what conda's HTTP libraries never send.
func acceptsHTML(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		typ, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(typ), "text/html") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
