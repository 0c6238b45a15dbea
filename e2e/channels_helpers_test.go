package e2e

// Helpers the channel tests share (channels_*_test.go): the channel API as
// a client calls it, a generator of small valid .conda packages, the real
// fixture packages, a parser of the server's access log, and the external
// pieces (rattler under node, PostgreSQL, MinIO) with one rule: missing is
// a skip on a developer's machine and a failure when CI is set.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/condabuild"
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

// pkgFile is one package file as uploaded.
type pkgFile struct {
	Subdir, Filename string
	Data             []byte
}

func (p pkgFile) sha256() string { return sha256hex(p.Data) }

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fixturePackages reads the real packages Debian's conda-package-handling
// made (conda/testdata/make-fixtures.sh): gh-app -> gh-lib -> gh-data, in
// .conda and .tar.bz2, gh-lib in 2.9.0 and 2.10.0.
func fixturePackages(t testing.TB) []pkgFile {
	t.Helper()
	var out []pkgFile
	for _, subdir := range []string{"noarch", "linux-64"} {
		dir := filepath.Join("..", "conda", "testdata", "pkgs", subdir)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("reading the fixture packages: %v", err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pkgFile{Subdir: subdir, Filename: e.Name(), Data: b})
		}
	}
	if len(out) != 7 {
		t.Fatalf("found %d fixture packages, want 7: rebuild them with conda/testdata/make-fixtures.sh", len(out))
	}
	return out
}

// libgccPackage is the one dependency of the fixtures that is not among
// them (gh-lib needs libgcc-ng >=12): a generated stand-in, so a solver
// can finish.
func libgccPackage(t testing.TB) pkgFile {
	return buildConda(t, "libgcc-ng", "14.2.0", "h77fa898_1", "linux-64", nil, nil)
}

// buildConda makes a small valid .conda package in memory with the same
// writer the server uses for its own CLI package; the same arguments give
// the same bytes.
func buildConda(t testing.TB, name, version, build, subdir string, depends []string, payload []byte) pkgFile {
	t.Helper()
	m := condabuild.Meta{Name: name, Version: version, Build: build, Subdir: subdir, Depends: depends,
		License: "MIT", Timestamp: time.Unix(1700000000, 0).UTC()}
	if payload == nil {
		payload = []byte("payload of " + m.Stem() + "\n")
	}
	var buf bytes.Buffer
	if err := condabuild.Build(&buf, m, []condabuild.File{condabuild.BytesFile("share/"+name+"/payload", payload, 0o644)}); err != nil {
		t.Fatalf("building %s: %v", m.Filename(), err)
	}
	return pkgFile{Subdir: subdir, Filename: m.Filename(), Data: buf.Bytes()}
}

// newKey creates an API key through the API with the given credentials
// and records it, so the server's logs and data are searched for it when
// it stops (checklist J1).
func newKey(t *testing.T, srv *Server, auth func(*http.Request), name string, scopes ...string) string {
	t.Helper()
	sc, _ := json.Marshal(scopes)
	expires := time.Now().UTC().AddDate(0, 0, 30).Format(time.RFC3339)
	r := call(t, "POST", srv.URL+"/api/keys", fmt.Sprintf(`{"name":%q,"scopes":%s,"expires_at":%q}`, name, sc, expires), auth)
	if r.Status != http.StatusCreated {
		t.Fatalf("creating key %q: %d %s", name, r.Status, r.Body)
	}
	var k struct{ Key string }
	decode(t, r, &k)
	srv.RecordSecret(k.Key)
	return k.Key
}

// createChannel creates a channel as the administrator.
func createChannel(t *testing.T, srv *Server, name, visibility string) {
	t.Helper()
	r := call(t, "POST", srv.URL+"/api/channels", fmt.Sprintf(`{"name":%q,"visibility":%q}`, name, visibility), basic("admin", srv.AdminPassword))
	if r.Status != http.StatusCreated {
		t.Fatalf("creating channel %s: %d %s", name, r.Status, r.Body)
	}
}

// uploadResult is what the server answered to one upload.
type uploadResult struct {
	Status int
	Body   string
	SHA256 string // from the 201 body
}

// upload posts one package as multipart field "file". Transport errors are
// returned, not fatal: the crash test expects them.
func upload(client *http.Client, srv *Server, channel string, auth func(*http.Request), p pkgFile) (uploadResult, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", p.Filename)
	if err != nil {
		return uploadResult{}, err
	}
	fw.Write(p.Data)
	mw.Close()
	req, err := http.NewRequest("POST", srv.URL+"/api/channels/"+channel+"/packages", &body)
	if err != nil {
		return uploadResult{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	auth(req)
	res, err := client.Do(req)
	if err != nil {
		return uploadResult{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return uploadResult{Status: res.StatusCode}, err
	}
	out := uploadResult{Status: res.StatusCode, Body: string(b)}
	if res.StatusCode == http.StatusCreated {
		var v struct{ SHA256 string }
		if err := json.Unmarshal(b, &v); err != nil {
			return out, fmt.Errorf("decoding the 201 body %q: %w", b, err)
		}
		out.SHA256 = v.SHA256
	}
	return out, nil
}

// mustUpload uploads packages in order and fails on anything but 201.
func mustUpload(t *testing.T, srv *Server, channel string, auth func(*http.Request), pkgs ...pkgFile) {
	t.Helper()
	for _, p := range pkgs {
		r, err := upload(httpClient, srv, channel, auth, p)
		if err != nil {
			t.Fatalf("uploading %s: %v", p.Filename, err)
		}
		if r.Status != http.StatusCreated {
			t.Fatalf("uploading %s/%s: %d %s", p.Subdir, p.Filename, r.Status, r.Body)
		}
		if r.SHA256 != p.sha256() {
			t.Fatalf("uploading %s: the server recorded sha256 %s, the file has %s", p.Filename, r.SHA256, p.sha256())
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
		t.Fatalf("GET %s: %v", redactKeyPath(url), err)
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

var keyInPath = regexp.MustCompile(`/t/[^/]+/`)

// redactKeyPath hides a /t/<key>/ segment in test output.
func redactKeyPath(s string) string { return keyInPath.ReplaceAllString(s, "/t/<key>/") }

// repodata is the part of repodata.json the tests read.
type repodata struct {
	Info     struct{ Subdir string } `json:"info"`
	Packages map[string]record       `json:"packages"`
	Conda    map[string]record       `json:"packages.conda"`
}

type record struct {
	Name, Version, Build, Subdir string
	SHA256, MD5                  string
	Size                         int64
	Depends                      []string
	IndexedTimestamp             int64 `json:"indexed_timestamp"`
}

// all returns every record by file name.
func (r repodata) all() map[string]record {
	out := make(map[string]record, len(r.Packages)+len(r.Conda))
	for k, v := range r.Packages {
		out[k] = v
	}
	for k, v := range r.Conda {
		out[k] = v
	}
	return out
}

// fetchRepodata reads <channel>/<subdir>/repodata.json with auth.
func fetchRepodata(t testing.TB, srv *Server, channel, subdir string, auth func(*http.Request)) (repodata, []byte) {
	t.Helper()
	r := get(t, srv.URL+"/repo/"+channel+"/"+subdir+"/repodata.json", auth)
	if r.Status != http.StatusOK {
		t.Fatalf("%s/%s/repodata.json: %d %s", channel, subdir, r.Status, r.Body)
	}
	var rd repodata
	if err := json.Unmarshal([]byte(r.Body), &rd); err != nil {
		t.Fatalf("%s/%s/repodata.json is not JSON: %v", channel, subdir, err)
	}
	return rd, []byte(r.Body)
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

// solved is one package rattler's solver picked (rattler/solve.mjs).
type solved struct {
	URL, Filename, Name, Version, Build, Subdir, SHA256, MD5 string
	Size                                                     int64
	Depends                                                  []string
}

// rattlerReady reports why rattler cannot run here, or nil.
func rattlerReady() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is not installed (apt-get install nodejs npm): %w", err)
	}
	if _, err := os.Stat(filepath.Join("rattler", "node_modules", "@conda-org", "rattler", "package.json")); err != nil {
		return fmt.Errorf("@conda-org/rattler is not installed: run npm ci --prefix e2e/rattler")
	}
	return nil
}

// rattlerSolve runs rattler's simpleSolve in node. It returns the solved
// packages, or rattler's error message when the solve failed.
func rattlerSolve(t testing.TB, specs, channels, platforms []string) ([]solved, string) {
	t.Helper()
	needOrSkip(t, rattlerReady())
	in, _ := json.Marshal(map[string]any{"specs": specs, "channels": channels, "platforms": platforms})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "solve.mjs")
	cmd.Dir = "rattler"
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var failed struct{ Error string }
	if json.Unmarshal(stdout.Bytes(), &failed) == nil && failed.Error != "" {
		return nil, failed.Error
	}
	if runErr != nil {
		t.Fatalf("node solve.mjs: %v\nstdout: %s\nstderr: %s", runErr, redactKeyPath(stdout.String()), stderr.String())
	}
	var out []solved
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("solve.mjs printed no JSON list: %v\n%s", err, redactKeyPath(stdout.String()))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, ""
}

// kill9 kills the server with SIGKILL (Kill).
func (s *Server) kill9() { s.Kill() }
