package soak

// The load: concurrent clients doing a fixed number of operations, each
// recorded by kind and outcome.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e"
)

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// stats counts requests and errors by phase, operation and kind.
type stats struct {
	mu       sync.Mutex
	requests map[string]int            // by operation
	errors   map[string]map[string]int // phase -> "op: kind" -> count
	phases   []string

	revokedAccepted atomic.Int64 // revoked keys accepted after 1 s
	revocations     atomic.Int64
	grantAccepted   atomic.Int64 // removed grants still honoured after 1 s
	grantChanges    atomic.Int64
}

func newStats() *stats {
	return &stats{requests: map[string]int{}, errors: map[string]map[string]int{}}
}

func (s *stats) phase(name string) {
	s.mu.Lock()
	s.phases = append(s.phases, name)
	s.errors[name] = map[string]int{}
	s.mu.Unlock()
}

func (s *stats) request(op string) {
	s.mu.Lock()
	s.requests[op]++
	s.mu.Unlock()
}

func (s *stats) fail(phase, op, kind string) {
	s.mu.Lock()
	s.errors[phase][op+": "+kind]++
	s.mu.Unlock()
}

func (s *stats) errorsIn(phase string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.errors[phase] {
		out[k] = v
	}
	return out
}

// kind names what went wrong with an answer.
func kind(a answer) string {
	if a.err != nil {
		if strings.Contains(a.err.Error(), "connection refused") {
			return "connection refused"
		}
		if strings.Contains(a.err.Error(), "EOF") || strings.Contains(a.err.Error(), "reset") {
			return "connection cut"
		}
		return "transport error"
	}
	return fmt.Sprintf("HTTP %d", a.status)
}

// load runs ops operations on workers goroutines, each picked at random
// by weight, against the replicas that are up; its errors count in phase.
type load struct {
	e       *env
	st      *stats
	phase   string
	targets []*replica // which replicas the clients use
	// uploads is the share of operations that upload; the rest read,
	// revoke keys and change grants.
	noChurn bool // no revocations or grant changes (during some faults)
	grantMu sync.Mutex
}

// credential forms (protocols.md): how a client sends a key to a channel.
var forms = []string{"Bearer", "token", "Basic", "/t/<key>/repo", "/repo/t/<key>"}

// channelURL returns the URL of file in channel on the replica at base,
// with a key sent the way form says, and the function adding its header.
func channelURL(base, channel, file, form, user, key string) (string, func(*http.Request)) {
	plain := base + "/repo/" + channel + "/" + file
	switch form {
	case "Bearer":
		return plain, bearer(key)
	case "token":
		return plain, func(r *http.Request) { r.Header.Set("Authorization", "token "+key) }
	case "Basic":
		return plain, func(r *http.Request) { r.SetBasicAuth(user, key) }
	case "/t/<key>/repo":
		return base + "/t/" + key + "/repo/" + channel + "/" + file, nil
	case "/repo/t/<key>":
		return base + "/repo/t/" + key + "/" + channel + "/" + file, nil
	}
	return plain, nil // anonymous
}

func (l *load) target() (*replica, string, bool) {
	r := l.targets[rand.IntN(len(l.targets))]
	u, up := r.url()
	return r, u, up
}

// run does n operations on workers goroutines.
func (l *load) run(n, workers int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				l.one()
			}
		}()
	}
	wg.Wait()
}

func (l *load) one() {
	x := rand.IntN(100)
	switch {
	case x < 38:
		l.repodata()
	case x < 76:
		l.download()
	case x < 90:
		l.uploadOne()
	case x < 96 && !l.noChurn:
		l.revoke()
	case !l.noChurn && l.grantMu.TryLock():
		l.grant()
		l.grantMu.Unlock()
	default:
		l.repodata()
	}
}

func (l *load) reader() reader { return l.e.readers[rand.IntN(len(l.e.readers))] }

// repodata fetches a repodata file of a random channel and subdir with a
// random credential form.
func (l *load) repodata() {
	_, base, _ := l.target()
	ch := []string{publicChannel, privateChannel}[rand.IntN(2)]
	file := []string{"noarch", "linux-64"}[rand.IntN(2)] + "/" + []string{"repodata.json", "repodata.json.zst", "repodata_shards.msgpack.zst"}[rand.IntN(3)]
	rd := l.reader()
	form := forms[rand.IntN(len(forms))]
	if ch == publicChannel && rand.IntN(3) == 0 {
		form = "anonymous"
	}
	url, auth := channelURL(base, ch, file, form, rd.name, rd.key)
	l.st.request("repodata (" + form + ")")
	a := do("GET", url, nil, "", auth)
	switch {
	case a.err != nil || a.status != http.StatusOK:
		l.st.fail(l.phase, "repodata", kind(a))
	case strings.HasSuffix(file, ".json") && !json.Valid(a.body):
		l.st.fail(l.phase, "repodata", "not JSON")
	}
}

// download fetches an acknowledged package and checks its bytes.
func (l *load) download() {
	l.e.mu.Lock()
	if len(l.e.pkgList) == 0 {
		l.e.mu.Unlock()
		return
	}
	p := l.e.pkgList[rand.IntN(len(l.e.pkgList))]
	l.e.mu.Unlock()
	_, base, _ := l.target()
	rd := l.reader()
	form := forms[rand.IntN(len(forms))]
	url, auth := channelURL(base, p.channel, p.subdir+"/"+p.filename, form, rd.name, rd.key)
	l.st.request("download (" + form + ")")
	a := do("GET", url, nil, "", auth)
	switch {
	case a.err != nil || a.status != http.StatusOK:
		l.st.fail(l.phase, "download", kind(a))
	case !bytes.Equal(a.body, p.data):
		l.st.fail(l.phase, "download", "wrong bytes")
	}
}

var uploadSeq atomic.Int64

// uploadOne uploads a new package to a random channel and subdir.
func (l *load) uploadOne() {
	_, base, _ := l.target()
	i := uploadSeq.Add(1)
	ch := []string{publicChannel, privateChannel}[rand.IntN(2)]
	sd := []string{"noarch", "linux-64"}[rand.IntN(2)]
	p := buildPkg(l.e.t, ch, fmt.Sprintf("soak-%d", i), "1.0."+fmt.Sprint(i%50), "0", sd, 1<<10+rand.IntN(31<<10))
	l.st.request("upload")
	if st := l.e.upload(base, p); st != http.StatusCreated {
		l.st.fail(l.phase, "upload", kind(answer{status: st, err: errIf(st == 0)}))
	}
}

func errIf(b bool) error {
	if b {
		return fmt.Errorf("no answer: connection cut")
	}
	return nil
}

// revoke creates a key for a reader, uses it on every replica, revokes
// it on one, and after one second tries it on every replica: it must be
// refused everywhere (checklist B6, A12).
func (l *load) revoke() {
	rd := l.reader()
	_, base, _ := l.target()
	l.st.request("key create+revoke")
	k, id, a := l.e.tryCreateKey(base, bearer(rd.key), fmt.Sprintf("churn-%d", rand.Int64()))
	if a.status != http.StatusCreated {
		l.st.fail(l.phase, "key create", kind(a))
		return
	}
	for _, r := range l.targets {
		u, _ := r.url()
		url, auth := channelURL(u, privateChannel, "noarch/repodata.json", forms[rand.IntN(len(forms))], rd.name, k)
		l.st.request("key use before revoke")
		if a := do("GET", url, nil, "", auth); a.status != http.StatusOK {
			l.st.fail(l.phase, "key use before revoke", kind(a))
		}
	}
	_, base, _ = l.target()
	if a := do("DELETE", fmt.Sprintf("%s/api/keys/%d", base, id), nil, "", bearer(rd.key)); a.status != http.StatusNoContent {
		l.st.fail(l.phase, "key revoke", kind(a))
		return
	}
	l.st.revocations.Add(1)
	time.Sleep(time.Second)
	for _, r := range l.targets {
		u, _ := r.url()
		for _, form := range forms {
			url, auth := channelURL(u, privateChannel, "noarch/repodata.json", form, rd.name, k)
			l.st.request("revoked key use")
			switch a := do("GET", url, nil, "", auth); {
			case a.status == http.StatusOK:
				l.st.revokedAccepted.Add(1)
				l.e.t.Errorf("replica %s accepted a key 1 s after it was revoked (%s)", r.name, form)
			case a.status != http.StatusForbidden && a.status != http.StatusUnauthorized:
				l.st.fail(l.phase, "revoked key use", kind(a))
			}
		}
	}
}

// tryCreateKey creates a key and returns the answer instead of failing.
func (e *env) tryCreateKey(base string, auth func(*http.Request), name string) (string, int64, answer) {
	expires := time.Now().UTC().AddDate(0, 0, 7).Format(time.RFC3339)
	a := do("POST", base+"/api/keys", strings.NewReader(fmt.Sprintf(`{"name":%q,"scopes":["channels"],"expires_at":%q}`, name, expires)), "application/json", auth)
	var k struct {
		Key string
		ID  int64
	}
	if a.status == http.StatusCreated && json.Unmarshal(a.body, &k) == nil {
		e.secret(k.Key)
	}
	return k.Key, k.ID, a
}

// grant removes the granted reader's read access to the private channel on
// one replica and checks, one second later, that every replica refuses
// its key; then restores the grant and checks every replica honours it
// again within the key cache's bound (checklist C4, A12).
func (l *load) grant() {
	g := l.e.granted
	adm := bearer(l.e.adminKey)
	member := "/api/channels/" + privateChannel + "/members/" + g.name
	_, base, _ := l.target()
	l.st.request("grant remove+restore")
	if a := do("DELETE", base+member, nil, "", adm); a.status != http.StatusNoContent {
		l.st.fail(l.phase, "grant remove", kind(a))
		return
	}
	l.st.grantChanges.Add(1)
	time.Sleep(time.Second)
	for _, r := range l.targets {
		u, _ := r.url()
		url, auth := channelURL(u, privateChannel, "linux-64/repodata.json", forms[rand.IntN(len(forms))], g.name, g.key)
		l.st.request("key use after grant removed")
		switch a := do("GET", url, nil, "", auth); {
		case a.status == http.StatusOK:
			l.st.grantAccepted.Add(1)
			l.e.t.Errorf("replica %s let a key read a channel 1 s after its owner's grant was removed", r.name)
		case a.status != http.StatusForbidden:
			l.st.fail(l.phase, "key use after grant removed", kind(a))
		}
	}
	_, base, _ = l.target()
	if a := do("PUT", base+member, strings.NewReader(`{"role":"read"}`), "application/json", adm); a.status != http.StatusNoContent {
		l.st.fail(l.phase, "grant restore", kind(a))
	}
}

// solves runs n rattler solves of gh-app, alternating replicas, channels
// and the two places of /t/<key>/, and checks the packages they pick.
func (l *load) solves(n int) {
	for i := range n {
		r := l.targets[i%len(l.targets)]
		base, _ := r.url()
		rd := l.reader()
		url := base + "/repo/" + publicChannel
		how := "public channel"
		switch i % 3 {
		case 1:
			url, how = base+"/t/"+rd.key+"/repo/"+privateChannel, "/t/<key>/repo"
		case 2:
			url, how = base+"/repo/t/"+rd.key+"/"+privateChannel, "/repo/t/<key>"
		}
		l.st.request("rattler solve (" + how + ")")
		names, err := rattlerSolve([]string{"gh-app"}, []string{url})
		if err != nil {
			l.st.fail(l.phase, "rattler solve", "failed")
			l.e.t.Errorf("rattler solve on replica %s (%s): %v", r.name, how, err)
			continue
		}
		if want := "gh-app,gh-data,gh-lib,libgcc-ng"; names != want {
			l.st.fail(l.phase, "rattler solve", "wrong packages")
			l.e.t.Errorf("rattler solved %s, want %s", names, want)
		}
	}
}

// rattlerSolve runs rattler's solver (e2e.RattlerSolve) and returns the
// solved names, sorted and joined by commas.
func rattlerSolve(specs, channels []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	solved, refused, err := e2e.RattlerSolve(ctx, specs, channels, []string{"linux-64", "noarch"})
	if err != nil {
		return "", err
	}
	if refused != "" {
		return "", errors.New(refused)
	}
	var names []string
	for _, s := range solved {
		names = append(names, s.Name)
	}
	return strings.Join(names, ","), nil
}
