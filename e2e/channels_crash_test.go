package e2e

// Crash safety of uploads (checklist H4, F14, G3): the server is killed
// with SIGKILL while uploads stream in, then started again on the same
// data. Every upload that got a 201 must be served after the restart, and
// nothing may be half visible: no repodata entry without its file, no
// package whose upload never finished.

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/blobstore/miniotest"
	"github.com/gatehouse-dev/gatehouse/sqlstore/pgtest"
)

const (
	crashRoundCount = 4
	crashPerRound   = 24 // packages each round tries to upload
	crashUploaders  = 4  // concurrent uploads
	crashStallers   = 3  // uploads held half sent when the server dies
	crashPayloadLen = 96 << 10
)

// attempt is one package the test tried to publish, and what it learned.
type attempt struct {
	pkg      PackageFile
	status   int // 0: no answer (the server died, or never tried)
	err      error
	stalled  bool // the body was never finished
	answered string
	inFlight bool // sent before the kill, no answer
}

// Checklist H4, F14, G3: rounds of concurrent uploads, each ended by a
// SIGKILL with uploads in flight, each followed by a restart on the same
// --data and a check of everything served; on the default storage and on
// PostgreSQL with package files in S3 (MinIO), where the blob write and
// the commit are further apart.
func TestUploadsThatGotA201SurviveSIGKILL(t *testing.T) {
	t.Run("on the default storage", func(t *testing.T) {
		data := t.TempDir()
		crashRounds(t, Options{Data: data}, func(*testing.T) int { return countFiles(filepath.Join(data, "packages")) })
	})
	t.Run("on PostgreSQL and MinIO", func(t *testing.T) {
		minio := miniotest.Start(t)
		db := pgtest.NewDatabase(t)
		bucket := minio.NewBucket(t)
		crashRounds(t, Options{Data: t.TempDir(), Database: db, Args: []string{"--blob", bucket}, Env: minio.Env(t)},
			func(t *testing.T) int { return minio.CountObjects(t, bucket, "packages/") })
	})
}

// crashRounds runs the rounds; countBlobs counts the package files in the
// server's storage, to report what the kills left to the orphan sweeper.
func crashRounds(t *testing.T, opts Options, countBlobs func(*testing.T) int) {
	srv := Start(t, gatehouseBin, opts)
	opts.Database = srv.Database
	channel := uniqueName("crash")
	createChannel(t, srv, channel, "private")
	key := newKey(t, srv, basic("admin", srv.AdminPassword), "uploader", "user", "channels")
	auth := bearer(key)

	var all []*attempt
	for round := range crashRoundCount {
		tried := crashRound(t, srv, channel, auth, round)
		all = append(all, tried...)
		srv = Start(t, gatehouseBin, opts)
		srv.RecordSecret(key)
		t.Run(fmt.Sprintf("after kill %d every 201 is served and nothing is half visible", round+1), func(t *testing.T) {
			checkAfterCrash(t, srv, channel, auth, all, countBlobs(t))
		})
	}
}

// crashRound uploads a round of packages, kills the server once some have
// been accepted while others are in flight, and returns what happened.
func crashRound(t *testing.T, srv *Server, channel string, auth func(*http.Request), round int) []*attempt {
	t.Helper()
	var tries []*attempt
	for i := range crashPerRound {
		subdir := []string{"noarch", "linux-64"}[i%2]
		payload := make([]byte, crashPayloadLen)
		rand.Read(payload) // incompressible: uploads take a little while
		p := BuildConda(t, fmt.Sprintf("crash-r%d-p%02d", round, i), "1.0."+fmt.Sprint(i), "0", subdir, nil, payload)
		tries = append(tries, &attempt{pkg: p})
	}
	// The uploads the server is killed in the middle of, on purpose.
	var stallers []*attempt
	for i := range crashStallers {
		p := BuildConda(t, fmt.Sprintf("crash-r%d-stalled%d", round, i), "1.0", "0", "noarch", nil, make([]byte, crashPayloadLen))
		stallers = append(stallers, &attempt{pkg: p, stalled: true})
	}

	client := &http.Client{Timeout: 60 * time.Second}
	killed := make(chan struct{})
	var halfSent sync.WaitGroup
	var stallWG sync.WaitGroup
	for _, a := range stallers {
		halfSent.Add(1)
		stallWG.Add(1)
		go func() {
			defer stallWG.Done()
			a.status, a.err = stalledUpload(client, srv, channel, auth, a.pkg, halfSent.Done, killed)
		}()
	}

	// The kill comes after a number of 201s that grows each round, so the
	// kill falls at different points of the upload path.
	killAfter := 3 + round*4
	var dying atomic.Bool
	accepted := make(chan struct{}, crashPerRound)
	queue := make(chan *attempt)
	var wg sync.WaitGroup
	for range crashUploaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range queue {
				before := !dying.Load()
				r, err := Upload(client, srv.URL, channel, auth, a.pkg)
				a.status, a.err, a.answered = r.Status, err, r.SHA256
				a.inFlight = before && r.Status == 0
				if r.Status == http.StatusCreated {
					accepted <- struct{}{}
				}
			}
		}()
	}
	go func() {
		defer close(queue)
		for _, a := range tries {
			select {
			case queue <- a:
			case <-killed:
				return // the rest are never tried
			}
		}
	}()

	halfSent.Wait()
	deadline := time.After(60 * time.Second)
	for n := 0; n < killAfter; n++ {
		select {
		case <-accepted:
		case <-deadline:
			t.Fatalf("round %d: only %d uploads accepted in 60s; the server's log:\n%s", round, n, srv.Logs())
		}
	}
	dying.Store(true)
	srv.kill9()
	close(killed)
	wg.Wait()
	stallWG.Wait()

	var ok, inFlight, refused int
	for _, a := range tries {
		switch {
		case a.status == http.StatusCreated:
			ok++
			if a.answered != a.pkg.SHA256() {
				t.Errorf("%s: the 201 reports sha256 %s, the file has %s", a.pkg.Filename, a.answered, a.pkg.SHA256())
			}
		case a.inFlight:
			inFlight++
		case a.status == 0:
			refused++ // sent to the dead server, or never sent
		default:
			t.Errorf("%s: %d before the kill; want 201 for a valid package", a.pkg.Filename, a.status)
		}
	}
	for _, a := range stallers {
		if a.status != 0 {
			t.Errorf("a half-sent upload got an answer: %d", a.status)
		}
	}
	t.Logf("round %d: SIGKILL after %d uploads got 201, with %d in flight and %d held half sent; %d more were refused or never sent",
		round, ok, inFlight, len(stallers), refused)
	return append(tries, stallers...)
}

// stalledUpload sends the multipart head and half the file, calls
// halfSent, and holds the rest back until the server is dead.
func stalledUpload(client *http.Client, srv *Server, channel string, auth func(*http.Request), p PackageFile, halfSent func(), killed <-chan struct{}) (int, error) {
	r, err := UploadFrom(client, srv.URL, channel, auth, p.Filename, StalledFile(p.Data, halfSent, killed))
	return r.Status, err
}

// checkAfterCrash compares what the restarted server serves with what the
// uploads were told (checklist H4, F14, G3).
func checkAfterCrash(t *testing.T, srv *Server, channel string, auth func(*http.Request), all []*attempt, blobs int) {
	t.Helper()
	byName := map[string]*attempt{}
	for _, a := range all {
		byName[a.pkg.Subdir+"/"+a.pkg.Filename] = a
	}
	served := map[string]Record{}
	for _, sd := range []string{"noarch", "linux-64"} {
		rd, _ := fetchRepodata(t, srv, channel, sd, auth)
		if len(rd.Packages) != 0 {
			t.Errorf("%s lists .tar.bz2 packages %v; only .conda files were uploaded", sd, rd.Packages)
		}
		for file, rec := range rd.All() {
			served[sd+"/"+file] = rec
		}
	}

	var visibleWithout201 int
	names := make([]string, 0, len(served))
	for name := range served {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rec := served[name]
		a := byName[name]
		switch {
		case a == nil:
			t.Errorf("repodata lists %s, which was never uploaded", name)
			continue
		case a.stalled:
			t.Errorf("repodata lists %s, whose upload never finished sending (checklist F14)", name)
		case rec.SHA256 != a.pkg.SHA256() || rec.Size != int64(len(a.pkg.Data)):
			t.Errorf("repodata lists %s with sha256 %s and size %d; the file uploaded has %s and %d", name, rec.SHA256, rec.Size, a.pkg.SHA256(), len(a.pkg.Data))
		case a.status != http.StatusCreated:
			// Committed just before the kill, answer lost: allowed, as long
			// as it is whole (checked next).
			visibleWithout201++
		}
		// No repodata entry lacks its file (checklist H4, G3).
		r := get(t, srv.URL+"/repo/"+channel+"/"+name, auth)
		if r.Status != http.StatusOK {
			t.Errorf("repodata lists %s but downloading it answers %d %s", name, r.Status, r.Body)
		} else if got := SHA256Hex([]byte(r.Body)); got != rec.SHA256 {
			t.Errorf("%s downloads with sha256 %s, its record says %s", name, got, rec.SHA256)
		}
	}

	var accepted int
	for _, a := range all {
		if a.status != http.StatusCreated {
			continue
		}
		accepted++
		name := a.pkg.Subdir + "/" + a.pkg.Filename
		if _, ok := served[name]; !ok {
			t.Errorf("%s got a 201 before the kill but is not in repodata after the restart", name)
		}
	}

	// The package API and repodata come from the same rows.
	var list struct {
		Packages []struct{ Subdir, Filename, SHA256 string }
	}
	decode(t, call(t, "GET", srv.URL+"/api/channels/"+channel+"/packages", "", auth), &list)
	if len(list.Packages) != len(served) {
		t.Errorf("the package API lists %d packages, repodata %d", len(list.Packages), len(served))
	}
	for _, p := range list.Packages {
		if rec, ok := served[p.Subdir+"/"+p.Filename]; !ok || rec.SHA256 != p.SHA256 {
			t.Errorf("the package API lists %s/%s (%s), repodata does not agree", p.Subdir, p.Filename, p.SHA256)
		}
	}
	t.Logf("after the restart: %d accepted uploads all served; %d packages served in all, %d of them committed without their 201 reaching the client",
		accepted, len(served), visibleWithout201)
	// What the kills left for the orphan sweeper (checklist H4: swept
	// after an hour, so not here): package files without a row, spool files.
	spooled := countFiles(filepath.Join(srv.Data, "spool"))
	if blobs < len(served) {
		t.Errorf("%d package files on disk for %d packages served", blobs, len(served))
	}
	t.Logf("left for the sweeper: %d orphaned package files, %d spool files", blobs-len(served), spooled)
}

// countFiles counts the regular files under dir.
func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// Checklist F14: a client that goes away in the middle of an upload, while
// the server lives on, leaves no spool file, no package file and no entry.
func TestAnUploadCutOffByItsClientLeavesNothing(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	channel := uniqueName("cutoff")
	createChannel(t, srv, channel, "public")
	auth := basic("admin", srv.AdminPassword)
	spool, blobs := filepath.Join(srv.Data, "spool"), filepath.Join(srv.Data, "packages")
	blobsBefore := countFiles(blobs)

	p := BuildConda(t, "cut-off", "1.0", "0", "noarch", nil, make([]byte, crashPayloadLen))
	gone := make(chan struct{})
	halfSent := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := stalledUpload(httpClient, srv, channel, auth, p, func() { close(halfSent) }, gone)
		done <- err
	}()
	<-halfSent
	// Half the file is in the server's spool now.
	waitFor(t, "the upload to reach the spool directory", func() bool { return countFiles(spool) == 1 })
	close(gone) // the client gives up: the body ends early
	if err := <-done; err == nil {
		t.Fatal("the cut-off upload got an answer; want a broken request")
	}
	waitFor(t, "the spool file to be removed", func() bool { return countFiles(spool) == 0 })
	if n := countFiles(blobs); n != blobsBefore {
		t.Errorf("%d package files after a cut-off upload, %d before", n, blobsBefore)
	}
	rd, _ := fetchRepodata(t, srv, channel, "noarch", nil)
	if len(rd.All()) != 0 {
		t.Errorf("repodata lists %v after a cut-off upload", rd.All())
	}
	// And the same package uploads whole afterwards.
	mustUpload(t, srv, channel, auth, p)
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
