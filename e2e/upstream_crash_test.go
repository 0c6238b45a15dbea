package e2e

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/upstream/upstreamtest"
)

// mirrorState reads the channel's upstream state and files copied.
func mirrorState(t *testing.T, srv *Server, name string) (state string, files int64) {
	t.Helper()
	var ch struct {
		Upstream struct {
			Status struct {
				State    string
				Progress struct{ Files int64 }
			}
		}
	}
	decode(t, call(t, "GET", srv.URL+"/api/channels/"+name, "", basic("admin", srv.AdminPassword)), &ch)
	return ch.Upstream.Status.State, ch.Upstream.Status.Progress.Files
}

// checkEveryRecordServed asserts every record of the mirror's linux-64
// repodata downloads with the bytes its record names: nothing is listed
// whose file is missing or partial.
func checkEveryRecordServed(t *testing.T, srv *Server, name string) int {
	t.Helper()
	rd, _ := fetchRepodata(t, srv, name, "linux-64", nil)
	client := &http.Client{Timeout: 30 * time.Second}
	for fn, rec := range rd.All() {
		res, err := client.Get(srv.URL + "/repo/" + name + "/linux-64/" + fn)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || SHA256Hex(b) != rec.SHA256 {
			t.Errorf("%s is listed but answers %d with sha256 %s (record %s)", fn, res.StatusCode, SHA256Hex(b), rec.SHA256)
		}
	}
	return len(rd.All())
}

// Issue 9: a mirror's sync killed with SIGKILL half way leaves only
// complete packages visible, and resumes after the restart until every
// record is there, without fetching the stored files again.
func TestAMirrorSyncKilledHalfWayResumes(t *testing.T) {
	const n = 3000
	up := upstreamtest.Start(forgePkgs(n))
	t.Cleanup(up.Close)
	data := t.TempDir()
	srv := Start(t, gatehouseBin, Options{Data: data, Args: []string{loopbackUpstreams}})
	name := uniqueName("mirror")
	body := fmt.Sprintf(`{"name":%q,"visibility":"public","upstream":{"url":%q,"mode":"mirror","filters":{"subdirs":["linux-64"]}}}`, name, up.URL)
	if r := call(t, "POST", srv.URL+"/api/channels", body, basic("admin", srv.AdminPassword)); r.Status != http.StatusCreated {
		t.Fatalf("creating the mirror: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, files := mirrorState(t, srv, name)
		if st == "syncing" && files >= 1000 {
			break
		}
		if st == "ok" || time.Now().After(deadline) {
			t.Fatalf("the sync was not caught half way: state %q, %d files", st, files)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.kill9()

	srv = Start(t, gatehouseBin, Options{Data: data, Args: []string{loopbackUpstreams}})
	// Whatever is listed now (the sync resumes at once) is complete.
	t.Logf("after the kill, while the sync resumes: %d of %d records listed, each served whole", checkEveryRecordServed(t, srv, name), n)
	deadline = time.Now().Add(3 * time.Minute)
	for {
		st, _ := mirrorState(t, srv, name)
		if st == "ok" {
			break
		}
		if st == "failed" || time.Now().After(deadline) {
			t.Fatalf("the resumed sync: state %q", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := checkEveryRecordServed(t, srv, name); got != n {
		t.Errorf("after the resumed sync the mirror lists %d records, want %d", got, n)
	}
	fetched := 0
	pkgs := forgePkgs(n)
	for i := range n {
		if up.Hits("/linux-64/"+pkgs[i].Filename()) > 1 {
			fetched++
		}
	}
	t.Logf("files fetched twice: %d", fetched)
	if fetched > 64 {
		t.Errorf("%d files were fetched again after the restart; only those in flight at the kill should be", fetched)
	}
}
