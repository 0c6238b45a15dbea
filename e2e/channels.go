package e2e

// The channel helpers the end-to-end tests and the soak (e2e/soak) share:
// package files (the real fixtures and generated ones), creating channels
// and keys, uploading, reading repodata, and solving with rattler. They
// take the client and base URL to use, so each suite keeps its own
// (the soak's sends every request from an address of its own).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/condabuild"
)

// PackageFile is one package file as uploaded.
type PackageFile struct {
	Subdir, Filename string
	Data             []byte
}

// SHA256 is the file's digest, as repodata lists it.
func (p PackageFile) SHA256() string { return SHA256Hex(p.Data) }

// SHA256Hex is the hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// repoPath returns elem under the module's root, found from the working
// directory up, so that the suites find the fixtures from any folder.
func repoPath(elem ...string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(append([]string{dir}, elem...)...), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FixturePackages reads the real packages Debian's conda-package-handling
// made (conda/testdata/make-fixtures.sh): gh-app -> gh-lib -> gh-data, in
// .conda and .tar.bz2, gh-lib in 2.9.0 and 2.10.0.
func FixturePackages(t testing.TB) []PackageFile {
	t.Helper()
	root, err := repoPath("conda", "testdata", "pkgs")
	if err != nil {
		t.Fatal(err)
	}
	var out []PackageFile
	for _, subdir := range []string{"noarch", "linux-64"} {
		entries, err := os.ReadDir(filepath.Join(root, subdir))
		if err != nil {
			t.Fatalf("reading the fixture packages: %v", err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(root, subdir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, PackageFile{Subdir: subdir, Filename: e.Name(), Data: b})
		}
	}
	if len(out) != 7 {
		t.Fatalf("found %d fixture packages, want 7: rebuild them with conda/testdata/make-fixtures.sh", len(out))
	}
	return out
}

// LibgccPackage is the one dependency of the fixtures that is not among
// them (gh-lib needs libgcc-ng >=12): a generated stand-in, so a solver
// can finish.
func LibgccPackage(t testing.TB) PackageFile {
	return BuildConda(t, "libgcc-ng", "14.2.0", "h77fa898_1", "linux-64", nil, nil)
}

// BuildConda makes a small valid .conda package in memory with the same
// writer the server uses for its own CLI package; the same arguments give
// the same bytes. A nil payload is a line naming the package.
func BuildConda(t testing.TB, name, version, build, subdir string, depends []string, payload []byte) PackageFile {
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
	return PackageFile{Subdir: subdir, Filename: m.Filename(), Data: buf.Bytes()}
}

// postJSON sends body to url and decodes a want answer into v (when not
// nil); any other answer is an error that quotes it.
func postJSON(client *http.Client, url, body string, auth func(*http.Request), want int, v any) error {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	auth(req)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%d %s", res.StatusCode, b)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}

// CreateChannel creates a channel through the API with auth (an
// administrator's).
func CreateChannel(t testing.TB, client *http.Client, base string, auth func(*http.Request), name, visibility string) {
	t.Helper()
	if err := postJSON(client, base+"/api/channels", fmt.Sprintf(`{"name":%q,"visibility":%q}`, name, visibility), auth, http.StatusCreated, nil); err != nil {
		t.Fatalf("creating channel %s: %v", name, err)
	}
}

// CreateKey creates an API key of 30 days through the API with auth, and
// returns it and its ID. The caller records it as a secret of the servers
// it may reach.
func CreateKey(t testing.TB, client *http.Client, base string, auth func(*http.Request), name string, scopes ...string) (string, int64) {
	t.Helper()
	sc, _ := json.Marshal(scopes)
	expires := time.Now().UTC().AddDate(0, 0, 30).Format(time.RFC3339)
	var k struct {
		Key string
		ID  int64
	}
	if err := postJSON(client, base+"/api/keys", fmt.Sprintf(`{"name":%q,"scopes":%s,"expires_at":%q}`, name, sc, expires), auth, http.StatusCreated, &k); err != nil {
		t.Fatalf("creating key %q: %v", name, err)
	}
	return k.Key, k.ID
}

// UploadResult is what the server answered to one upload.
type UploadResult struct {
	Status int
	Body   string
	SHA256 string // from the 201 body
}

// Upload posts p to channel as multipart field "file". Transport errors
// are returned, not fatal: the crash tests expect them.
func Upload(client *http.Client, base, channel string, auth func(*http.Request), p PackageFile) (UploadResult, error) {
	head, tail, ct := multipartFile(p.Filename)
	body := bytes.Join([][]byte{head, p.Data, tail}, nil)
	return postPackage(client, base, channel, auth, ct, bytes.NewReader(body))
}

// UploadFrom is Upload with the file's bytes read from file as the
// request goes (a test's slow or failing reader), with no length.
func UploadFrom(client *http.Client, base, channel string, auth func(*http.Request), filename string, file io.Reader) (UploadResult, error) {
	head, tail, ct := multipartFile(filename)
	return postPackage(client, base, channel, auth, ct, io.MultiReader(bytes.NewReader(head), file, bytes.NewReader(tail)))
}

// multipartFile returns what goes before and after a file's bytes in a
// multipart body of one field "file", and the body's content type.
func multipartFile(filename string) (head, tail []byte, contentType string) {
	var h, t bytes.Buffer
	mw := multipart.NewWriter(&h)
	mw.CreateFormFile("file", filename)
	end := multipart.NewWriter(&t)
	end.SetBoundary(mw.Boundary())
	end.Close()
	return h.Bytes(), t.Bytes(), mw.FormDataContentType()
}

func postPackage(client *http.Client, base, channel string, auth func(*http.Request), contentType string, body io.Reader) (UploadResult, error) {
	req, err := http.NewRequest("POST", base+"/api/channels/"+channel+"/packages", body)
	if err != nil {
		return UploadResult{}, err
	}
	req.Header.Set("Content-Type", contentType)
	auth(req)
	res, err := client.Do(req)
	if err != nil {
		return UploadResult{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return UploadResult{Status: res.StatusCode}, err
	}
	out := UploadResult{Status: res.StatusCode, Body: string(b)}
	if res.StatusCode == http.StatusCreated {
		var v struct{ SHA256 string }
		if err := json.Unmarshal(b, &v); err != nil {
			return out, fmt.Errorf("decoding the 201 body %q: %w", b, err)
		}
		out.SHA256 = v.SHA256
	}
	return out, nil
}

// Repodata is the part of repodata.json the tests read.
type Repodata struct {
	Info     struct{ Subdir string } `json:"info"`
	Packages map[string]Record       `json:"packages"`
	Conda    map[string]Record       `json:"packages.conda"`
}

// Record is one package of a repodata.json.
type Record struct {
	Name, Version, Build, Subdir string
	SHA256, MD5                  string
	Size                         int64
	Depends                      []string
	IndexedTimestamp             int64 `json:"indexed_timestamp"`
}

// All returns every record by file name.
func (r Repodata) All() map[string]Record {
	out := make(map[string]Record, len(r.Packages)+len(r.Conda))
	for k, v := range r.Packages {
		out[k] = v
	}
	for k, v := range r.Conda {
		out[k] = v
	}
	return out
}

// GetRepodata reads <channel>/<subdir>/repodata.json on the server at
// base with auth (nil for none), as raw bytes (no transparent gzip).
func GetRepodata(client *http.Client, base, channel, subdir string, auth func(*http.Request)) (Repodata, []byte, error) {
	var rd Repodata
	req, err := http.NewRequest("GET", base+"/repo/"+channel+"/"+subdir+"/repodata.json", nil)
	if err != nil {
		return rd, nil, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	if auth != nil {
		auth(req)
	}
	res, err := client.Do(req)
	if err != nil {
		return rd, nil, fmt.Errorf("%s/%s/repodata.json: %v", channel, subdir, RedactKeyPath(err.Error()))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return rd, nil, err
	}
	if res.StatusCode != http.StatusOK {
		return rd, b, fmt.Errorf("%s/%s/repodata.json: %d %s", channel, subdir, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, &rd); err != nil {
		return rd, b, fmt.Errorf("%s/%s/repodata.json is not JSON: %v", channel, subdir, err)
	}
	return rd, b, nil
}

var keyInPath = regexp.MustCompile(`/t/[^/]+/`)

// RedactKeyPath hides a /t/<key>/ segment in test output.
func RedactKeyPath(s string) string { return keyInPath.ReplaceAllString(s, "/t/<key>/") }

// Solved is one package rattler's solver picked (rattler/solve.mjs).
type Solved struct {
	URL, Filename, Name, Version, Build, Subdir, SHA256, MD5 string
	Size                                                     int64
	Depends                                                  []string
}

// RattlerReady reports why rattler cannot run here, or nil.
func RattlerReady() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is not installed (apt-get install nodejs npm): %w", err)
	}
	dir, err := repoPath("e2e", "rattler")
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@conda-org", "rattler", "package.json")); err != nil {
		return fmt.Errorf("@conda-org/rattler is not installed: run npm ci --prefix e2e/rattler")
	}
	return nil
}

// RattlerSolve runs rattler's simpleSolve in node (e2e/rattler/solve.mjs)
// and returns the solved packages by name, or rattler's message when the
// solve failed (refused); err is for rattler not running at all.
func RattlerSolve(ctx context.Context, specs, channels, platforms []string) (solved []Solved, refused string, err error) {
	dir, err := repoPath("e2e", "rattler")
	if err != nil {
		return nil, "", err
	}
	in, _ := json.Marshal(map[string]any{"specs": specs, "channels": channels, "platforms": platforms})
	cmd := exec.CommandContext(ctx, "node", "solve.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var failed struct{ Error string }
	if json.Unmarshal(stdout.Bytes(), &failed) == nil && failed.Error != "" {
		return nil, failed.Error, nil
	}
	if runErr != nil {
		return nil, "", fmt.Errorf("node solve.mjs: %v\nstdout: %s\nstderr: %s", runErr, RedactKeyPath(stdout.String()), stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), &solved); err != nil {
		return nil, "", fmt.Errorf("solve.mjs printed no JSON list: %v\n%s", err, RedactKeyPath(stdout.String()))
	}
	sort.Slice(solved, func(i, j int) bool { return solved[i].Name < solved[j].Name })
	return solved, "", nil
}

// StalledFile is an upload body that gives the first half of data, calls
// halfSent once the transport asks for more, then waits for killed and
// fails: an upload held half sent while the server dies.
func StalledFile(data []byte, halfSent func(), killed <-chan struct{}) io.Reader {
	return &stalled{data: data, halfSent: halfSent, killed: killed}
}

type stalled struct {
	data     []byte
	off      int
	halfSent func()
	killed   <-chan struct{}
	once     sync.Once
}

func (s *stalled) Read(p []byte) (int, error) {
	if half := len(s.data) / 2; s.off < half {
		n := copy(p, s.data[s.off:half])
		s.off += n
		return n, nil
	}
	s.once.Do(s.halfSent)
	<-s.killed
	return 0, io.ErrUnexpectedEOF
}
