package e2e

// Helpers the channel tests share (channels_*_test.go): channels.go's
// helpers bound to a Server and this package's client, a parser of the
// server's access log, and the external pieces (rattler under node,
// PostgreSQL, MinIO) with one rule: missing is a skip on a developer's
// machine and a failure when CI is set.

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// needOrSkip skips the test when something it needs is missing, unless CI
// is set: CI must run every test, so there it fails.
func needOrSkip(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set and %v", err)
	}
	t.Skip(err)
}

// newKey creates an API key through the API with the given credentials
// and records it, so the server's logs and data are searched for it when
// it stops (checklist J1).
func newKey(t *testing.T, srv *Server, auth func(*http.Request), name string, scopes ...string) string {
	t.Helper()
	key, _ := CreateKey(t, httpClient, srv.URL, auth, name, scopes...)
	srv.RecordSecret(key)
	return key
}

// createChannel creates a channel as the administrator.
func createChannel(t *testing.T, srv *Server, name, visibility string) {
	t.Helper()
	CreateChannel(t, httpClient, srv.URL, basic("admin", srv.AdminPassword), name, visibility)
}

// mustUpload uploads packages in order and fails on anything but 201.
func mustUpload(t *testing.T, srv *Server, channel string, auth func(*http.Request), pkgs ...PackageFile) {
	t.Helper()
	for _, p := range pkgs {
		r, err := Upload(httpClient, srv.URL, channel, auth, p)
		if err != nil {
			t.Fatalf("uploading %s: %v", p.Filename, err)
		}
		if r.Status != http.StatusCreated {
			t.Fatalf("uploading %s/%s: %d %s", p.Subdir, p.Filename, r.Status, r.Body)
		}
		if r.SHA256 != p.SHA256() {
			t.Fatalf("uploading %s: the server recorded sha256 %s, the file has %s", p.Filename, r.SHA256, p.SHA256())
		}
	}
}

// get fetches url with raw bytes (no transparent gzip) and returns the
// answer; transport errors fail the test.
func get(t testing.TB, url string, auth func(*http.Request)) apiResp {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	if auth != nil {
		auth(req)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", RedactKeyPath(url), err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResp{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// tokenAuth sends a key as anaconda.org clients do.
func tokenAuth(key string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "token "+key) }
}

// fetchRepodata reads <channel>/<subdir>/repodata.json with auth.
func fetchRepodata(t testing.TB, srv *Server, channel, subdir string, auth func(*http.Request)) (Repodata, []byte) {
	t.Helper()
	rd, b, err := GetRepodata(httpClient, srv.URL, channel, subdir, auth)
	if err != nil {
		t.Fatal(err)
	}
	return rd, b
}

// accessLine is one request line of the server's log.
type accessLine struct {
	Method, Path string
	Status       int
}

var accessRE = regexp.MustCompile(`msg=request method=(\S+) path=("(?:[^"\\]|\\.)*"|\S+) status=(\d+)`)

// accessLog parses the request lines of a log.
func accessLog(log string) []accessLine {
	var out []accessLine
	for _, m := range accessRE.FindAllStringSubmatch(log, -1) {
		p := m[2]
		if uq, err := strconv.Unquote(p); err == nil {
			p = uq
		}
		st, _ := strconv.Atoi(m[3])
		out = append(out, accessLine{Method: m[1], Path: p, Status: st})
	}
	return out
}

// logMark returns a function giving the request lines logged since the
// call: the requests one step of a test made.
func logMark(srv *Server) func() []accessLine {
	from := len(srv.Logs())
	return func() []accessLine { return accessLog(srv.Logs()[from:]) }
}

// rattlerSolve runs rattler's simpleSolve in node (RattlerSolve),
// skipping where rattler cannot run. It returns the solved packages, or
// rattler's error message when the solve failed.
func rattlerSolve(t testing.TB, specs, channels, platforms []string) ([]Solved, string) {
	t.Helper()
	needOrSkip(t, RattlerReady())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, refused, err := RattlerSolve(ctx, specs, channels, platforms)
	if err != nil {
		t.Fatal(err)
	}
	return out, refused
}

// kill9 kills the server with SIGKILL (Kill).
func (s *Server) kill9() { s.Kill() }
