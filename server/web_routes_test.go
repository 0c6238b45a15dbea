package server

import (
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// registeredRoutes returns the pattern of every route the server serves,
// as the mux was given them: a route added in any room is audited without
// anyone touching this test.
func registeredRoutes(t *testing.T, srv *Server) []string {
	t.Helper()
	patterns := srv.Routes()
	sort.Strings(patterns)
	if len(patterns) < 20 {
		t.Fatalf("found only %d routes: %v", len(patterns), patterns)
	}
	return patterns
}

var wildcard = regexp.MustCompile(`\{([^}]*)\}`)

// checklist E5: no GET changes state. The path of every route, GET or
// not, is requested with GET and HEAD, signed in as an administrator,
// signed out, and with an all-scopes key; the whole database must be the
// same afterwards, row for row.
func TestGETRoutesChangeNothing(t *testing.T) {
	e := newWebEnv(t, "http://gatehouse.test")
	e.addUser("root", true)
	e.addUser("bob", false)
	admin := e.browser()
	admin.signIn("root", webTestPassword)
	admin.post("/orgs", "/orgs", url.Values{"name": {"team"}})
	admin.post("/orgs/team", "/orgs/team/members", url.Values{"username": {"bob"}, "role": {"member"}})
	key, _ := admin.createKeyInPage(keyForm2("audit", "30", "", "user", "channels", "admin"))
	keyID := strconv.FormatInt(e.keys(e.user("root"))[0].ID, 10)
	// Values for path wildcards; unknown ones get a plain word.
	values := map[string]string{"id": keyID, "org": "team", "user": "bob", "$": ""}
	fill := func(path string) string {
		return wildcard.ReplaceAllStringFunc(path, func(w string) string {
			name := strings.TrimSuffix(w[1:len(w)-1], "...")
			if v, ok := values[name]; ok {
				return v
			}
			return "x"
		})
	}

	// A key's first use records its last-used time in the background; let
	// that land first. Later uses at the same (fake) time write nothing.
	if r := e.apiGet("/api/account", "Bearer "+key); r.StatusCode != http.StatusOK {
		t.Fatalf("the key: %d", r.StatusCode)
	}
	for e.keys(e.user("root"))[0].LastUsedAt.IsZero() {
		runtime.Gosched()
	}
	before := e.dump()
	signedOut := e.browser()
	withKey := e.browser()
	withKey.headers.Set("Authorization", "Bearer "+key)
	var gets, others int
	for _, pattern := range registeredRoutes(t, e.srv) {
		method, path, hasMethod := strings.Cut(pattern, " ")
		if !hasMethod {
			method, path = "", pattern
		}
		if i := strings.Index(path, "/"); i > 0 {
			path = path[i:] // a host in the pattern
		}
		target := fill(path)
		if strings.HasSuffix(target, "/") && path != "/{$}" && path != "/" {
			target += "probe"
		}
		// A GET to the path of a POST (or PUT, ...) route must not reach
		// it either: it gets 405, or the GET route on the same path.
		if method == "" || method == http.MethodGet {
			gets++
		} else {
			others++
		}
		for _, b := range []*webBrowser{admin, signedOut, withKey} {
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				if r := b.do(m, target, nil); r.StatusCode >= 500 {
					t.Errorf("%s %s (route %q): status %d", m, target, pattern, r.StatusCode)
				}
			}
		}
	}
	e.srv.Close() // flush any background write
	if after := e.dump(); after != before {
		t.Errorf("GET requests changed the database:\n%s", diffLines(before, after))
	}
	t.Logf("audited %d GET routes and %d others", gets, others)
}

// diffLines lists the lines only in a or only in b.
func diffLines(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for l := range ma {
		if !mb[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range mb {
		if !ma[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
