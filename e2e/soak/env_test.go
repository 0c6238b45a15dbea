package soak

// The deployment under test: a private PostgreSQL cluster, MinIO, and two
// replicas of the binary sharing them, each with its own --data (replica
// B's on a small tmpfs, so that the disk can be filled).

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/blobstore/miniotest"
	"github.com/gatehouse-dev/gatehouse/e2e"
	"github.com/gatehouse-dev/gatehouse/sqlstore/pgtest"
)

const (
	publicChannel  = "soak-public"
	privateChannel = "soak-private"
	dataDiskSize   = 64 << 20 // replica B's --data tmpfs
)

// replica is one server process and how to start it again.
type replica struct {
	name string
	opts e2e.Options

	mu      sync.RWMutex
	srv     *e2e.Server
	all     []*e2e.Server // every process, for their logs
	up      bool
	peakRSS int64 // the most of any of its processes so far
	starts  int
}

func (r *replica) url() (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.srv.URL, r.up
}

func (r *replica) start(t *testing.T, secrets []string) {
	t.Helper()
	srv := e2e.Start(t, gatehouseBin, r.opts)
	for _, s := range secrets {
		srv.RecordSecret(s)
	}
	r.mu.Lock()
	r.srv, r.up = srv, true
	r.all = append(r.all, srv)
	r.starts++
	r.mu.Unlock()
}

// sampleRSS records the process's peak resident memory so far.
func (r *replica) sampleRSS() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.up {
		r.peakRSS = max(r.peakRSS, r.srv.PeakRSS())
	}
}

// kill SIGKILLs the process.
func (r *replica) kill() {
	r.sampleRSS()
	r.mu.Lock()
	r.up = false
	srv := r.srv
	r.mu.Unlock()
	srv.Kill()
}

// env is the whole deployment and the people and keys of the test.
type env struct {
	t        *testing.T
	pg       *pgtest.Cluster
	minio    *miniotest.Server
	replicas []*replica
	diskMode string // how replica B's disk is made full
	diskDir  string

	adminKey string
	readers  []reader // read access to the private channel
	granted  reader   // whose grant the load removes and restores
	secrets  []string

	mu      sync.Mutex
	acked   map[string]pkg  // uploads answered 201, by subdir/filename
	tried   map[string]pkg  // every upload tried, by subdir/filename
	failed  map[string]bool // uploads answered 5xx: must never be visible
	pkgList []pkg           // acked, for picking downloads
}

// reader is a user with a key of both scopes (it creates and revokes keys
// of its own with it) that reads the private channel.
type reader struct {
	name, key string
}

// pkg is one package file.
type pkg struct {
	channel, subdir, filename, sha256 string
	data                              []byte
}

func (p pkg) path() string { return p.channel + "/" + p.subdir + "/" + p.filename }

func newEnv(t *testing.T) *env {
	e := &env{t: t, acked: map[string]pkg{}, tried: map[string]pkg{}, failed: map[string]bool{}}
	e.pg = pgtest.StartCluster(t)
	e.minio = miniotest.Start(t)
	bucket := e.minio.NewBucket(t)
	e.secrets = append(e.secrets, e.minio.Password)
	t.Logf("PostgreSQL: a private cluster on %s; MinIO at %s, bucket %s", redactURL(e.pg.URL), e.minio.Endpoint, "packages")

	dataB := filepath.Join(t.TempDir(), "data-b")
	if err := os.MkdirAll(dataB, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dataB, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", dataDiskSize)); err == nil {
		e.diskMode = fmt.Sprintf("a %d MiB tmpfs mounted on replica B's --data, filled with a file", dataDiskSize>>20)
		t.Cleanup(func() { syscall.Unmount(dataB, syscall.MNT_DETACH) })
	} else {
		e.diskMode = fmt.Sprintf("mounting a tmpfs is not permitted (%v): replica B's file size limit (RLIMIT_FSIZE, set with prlimit) is lowered to 16 KiB", err)
	}
	e.diskDir = dataB
	// Clients come through a reverse proxy on loopback, each from an
	// address of its own (X-Forwarded-For), as many clients would: the
	// per-address failure budget (checklist B8) is then each client's.
	args := []string{"--blob", bucket, "--trusted-proxies", "127.0.0.1/32"}
	for _, r := range []*replica{
		{name: "A", opts: e2e.Options{Data: t.TempDir(), Database: e.pg.URL, Args: args, Env: e.minio.Env(t)}},
		{name: "B", opts: e2e.Options{Data: dataB, Database: e.pg.URL, Args: args, Env: e.minio.Env(t)}},
	} {
		r.start(t, e.secrets)
		e.replicas = append(e.replicas, r)
	}
	return e
}

var redactPW = regexpMust(`//[^@/]*@`)

func redactURL(u string) string { return redactPW.ReplaceAllString(u, "//<user>@") }

// client is shared by every request of the test. Each request comes from
// a random client address (X-Forwarded-For, trusted from loopback).
var client = &http.Client{
	Timeout:   60 * time.Second,
	Transport: forwardedFor{&http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}},
}

// forwardedFor sends each request as if a proxy forwarded it from a
// random address in 10.0.0.0/8.
type forwardedFor struct{ next http.RoundTripper }

func (f forwardedFor) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", mrand.IntN(256), mrand.IntN(256), 1+mrand.IntN(254)))
	return f.next.RoundTrip(req)
}

// answer is one HTTP answer, or the transport error instead.
type answer struct {
	status int
	body   []byte
	err    error
}

// do sends one request; auth may be nil.
func do(method, url string, body io.Reader, contentType string, auth func(*http.Request)) answer {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return answer{err: err}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != nil {
		auth(req)
	}
	res, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, body: b, err: err}
}

func bearer(key string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}

// mustJSON sends a JSON request that must answer want, and decodes the
// answer into v (when not nil).
func (e *env) mustJSON(method, url, body string, auth func(*http.Request), want int, v any) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	a := do(method, url, rd, "application/json", auth)
	if a.err != nil || a.status != want {
		e.t.Fatalf("%s %s: %d %v %s; want %d", method, url, a.status, a.err, a.body, want)
	}
	if v != nil {
		if err := json.Unmarshal(a.body, v); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, url, a.body, err)
		}
	}
}

// createKey creates a key with auth on the replica at base, records it
// as a secret, and returns it and its ID.
func (e *env) createKey(base string, auth func(*http.Request), name string, scopes ...string) (string, int64) {
	e.t.Helper()
	key, id := e2e.CreateKey(e.t, client, base, auth, name, scopes...)
	e.secret(key)
	return key, id
}

// secret records a secret that no replica may log or store in clear
// (checklist J1, A4).
func (e *env) secret(s string) {
	e.mu.Lock()
	e.secrets = append(e.secrets, s)
	e.mu.Unlock()
	for _, r := range e.replicas {
		r.mu.RLock()
		r.srv.RecordSecret(s)
		r.mu.RUnlock()
	}
}

// secretList returns the secrets recorded so far.
func (e *env) secretList() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.secrets...)
}

// setup creates the channels, the readers and the seed packages through
// replica A.
func (e *env) setup(readers int) {
	t := e.t
	base, _ := e.replicas[0].url()
	admin := func(r *http.Request) { r.SetBasicAuth("admin", e2e.AdminPassword) }
	e.adminKey, _ = e.createKey(base, admin, "soak-admin", "user", "channels", "admin")
	adm := bearer(e.adminKey)
	e2e.CreateChannel(t, client, base, adm, publicChannel, "public")
	e2e.CreateChannel(t, client, base, adm, privateChannel, "private")
	newReader := func(i int) reader {
		r := reader{name: fmt.Sprintf("soak-reader-%d", i)}
		pw := "Soak-pw-" + rand.Text()
		e.secret(pw)
		e.mustJSON("POST", base+"/api/admin/users", fmt.Sprintf(`{"username":%q,"password":%q}`, r.name, pw), adm, http.StatusCreated, nil)
		e.mustJSON("PUT", base+"/api/channels/"+privateChannel+"/members/"+r.name, `{"role":"read"}`, adm, http.StatusNoContent, nil)
		r.key, _ = e.createKey(base, func(q *http.Request) { q.SetBasicAuth(r.name, pw) }, "soak", "user", "channels")
		return r
	}
	for i := range readers {
		e.readers = append(e.readers, newReader(i))
	}
	e.granted = newReader(readers)
	// The real fixtures (gh-app -> gh-lib -> gh-data) and libgcc-ng, in
	// both channels, for rattler to solve.
	for _, ch := range []string{publicChannel, privateChannel} {
		for _, p := range seedPackages(t, ch) {
			if st := e.upload(base, p); st != http.StatusCreated {
				t.Fatalf("seeding %s: %d", p.path(), st)
			}
		}
	}
	t.Logf("setup: channels %s (public) and %s (private), %d readers with keys, %d seed packages", publicChannel, privateChannel, len(e.readers)+1, len(e.pkgList))
}

// seedPackages are the fixture packages and libgcc-ng, in channel.
func seedPackages(t *testing.T, channel string) []pkg {
	t.Helper()
	var out []pkg
	for _, f := range append(e2e.FixturePackages(t), e2e.LibgccPackage(t)) {
		out = append(out, newPkg(channel, f))
	}
	return out
}

func newPkg(channel string, f e2e.PackageFile) pkg {
	return pkg{channel: channel, subdir: f.Subdir, filename: f.Filename, sha256: f.SHA256(), data: f.Data}
}

// buildPkg makes a valid .conda with n random payload bytes.
func buildPkg(t testing.TB, channel, name, version, build, subdir string, n int) pkg {
	payload := make([]byte, n)
	rand.Read(payload)
	return newPkg(channel, e2e.BuildConda(t, name, version, build, subdir, nil, payload))
}

// upload sends p to the replica at base as the administrator, records
// the outcome, and returns the status (0 for a transport error).
func (e *env) upload(base string, p pkg) int {
	a := e.uploadBody(base, p, nil)
	if a.err != nil {
		return 0
	}
	return a.status
}

// uploadBody is upload with the file read from body when not nil (the
// test's own slow readers), returning the whole answer.
func (e *env) uploadBody(base string, p pkg, body io.Reader) answer {
	e.mu.Lock()
	e.tried[p.path()] = p
	e.mu.Unlock()
	var r e2e.UploadResult
	var err error
	if body == nil {
		r, err = e2e.Upload(client, base, p.channel, bearer(e.adminKey), e2e.PackageFile{Subdir: p.subdir, Filename: p.filename, Data: p.data})
	} else {
		r, err = e2e.UploadFrom(client, base, p.channel, bearer(e.adminKey), p.filename, body)
	}
	a := answer{status: r.Status, body: []byte(r.Body), err: err}
	switch {
	case err != nil:
	case r.Status == http.StatusCreated:
		if r.SHA256 != p.sha256 {
			e.t.Errorf("%s: 201 with sha256 %q, the file has %s", p.path(), r.SHA256, p.sha256)
		}
		e.mu.Lock()
		e.acked[p.path()] = p
		e.pkgList = append(e.pkgList, p)
		e.mu.Unlock()
	case r.Status >= 500:
		e.mu.Lock()
		e.failed[p.path()] = true
		e.mu.Unlock()
	}
	return a
}

// prlimitFsize lowers the file size limit of a running process (the
// fallback when a tmpfs cannot be mounted); -1 lifts it.
func prlimitFsize(pid int, limit int64) error {
	v := "unlimited"
	if limit >= 0 {
		v = strconv.FormatInt(limit, 10)
	}
	out, err := exec.Command("prlimit", "--pid", strconv.Itoa(pid), "--fsize="+v+":").CombinedOutput()
	if err != nil {
		return fmt.Errorf("prlimit: %v: %s", err, out)
	}
	return nil
}
