package soak

// The faults, each injected under load and followed by a recovery phase
// that must be error-free.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e"
)

type phaser func(name string, rule phaseRule) *load

// recover runs a load on both replicas once both answer /readyz; no error
// is allowed.
func (e *env) recovered(sz size, phase phaser, after string) {
	e.t.Helper()
	for _, r := range e.replicas {
		e.waitReady(r, 60*time.Second)
	}
	l := phase("recovered from "+after, none)
	l.run(sz.faultOps, sz.workers)
	e.t.Logf("recovered from %s: %d operations with key revocations and grant changes on both replicas", after, sz.faultOps)
}

func (e *env) waitReady(r *replica, limit time.Duration) {
	e.t.Helper()
	base, _ := r.url()
	deadline := time.Now().Add(limit)
	for {
		a := do("GET", base+"/readyz", nil, "", nil)
		if a.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("replica %s not ready %v after the fault: %d %v %s", r.name, limit, a.status, a.err, a.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// background runs l until n operations are done, and returns a channel
// closed at the end and the count done so far.
func background(l *load, n, workers int) (<-chan struct{}, *atomic.Int64) {
	done := make(chan struct{})
	var count atomic.Int64
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for count.Add(1) <= int64(n) {
					l.one()
				}
			}()
		}
		wg.Wait()
	}()
	return done, &count
}

// faultKill kills replica B with SIGKILL while uploads stream into it,
// some of them held half sent, and starts it again on the same data;
// replica A serves a load throughout, which must see no error (checklist
// H4, H5, F14).
func (e *env) faultKill(sz size, phase phaser) {
	t := e.t
	a, b := e.replicas[0], e.replicas[1]
	l := phase("SIGKILL of replica B mid-upload", func(op, kind string) bool {
		return op == "upload to B" && (kind == "connection cut" || kind == "transport error" || kind == "connection refused")
	})
	l.targets = []*replica{a}
	done, _ := background(l, sz.faultOps, sz.workers/2)

	baseB, _ := b.url()
	killed := make(chan struct{})
	var acked atomic.Int64
	var wg sync.WaitGroup
	// Uploads held half sent when the replica dies.
	var halfSent sync.WaitGroup
	for i := range 2 {
		halfSent.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := buildPkg(t, privateChannel, fmt.Sprintf("soak-stalled-%d", i), "1.0", "0", "noarch", 256<<10)
			body := e2e.StalledFile(p.data, halfSent.Done, killed)
			l.st.request("upload to B")
			if a := e.uploadBody(baseB, p, body); a.err == nil {
				t.Errorf("a half-sent upload to the killed replica got an answer: %d %s", a.status, a.body)
			}
			l.st.fail(l.phase, "upload to B", "connection cut")
		}()
	}
	// Uploads of 1 MiB packages, four at a time, until the kill.
	var next atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-killed:
					return
				default:
				}
				i := next.Add(1)
				p := buildPkg(t, []string{publicChannel, privateChannel}[i%2], fmt.Sprintf("soak-kill-%d", i), "1.0", "0", "linux-64", 1<<20)
				l.st.request("upload to B")
				switch st := e.upload(baseB, p); st {
				case http.StatusCreated:
					acked.Add(1)
				default:
					l.st.fail(l.phase, "upload to B", kind(answer{status: st, err: errIf(st == 0)}))
				}
			}
		}()
	}
	halfSent.Wait()
	for acked.Load() < int64(sz.killLoads) {
		time.Sleep(10 * time.Millisecond)
	}
	b.kill()
	close(killed)
	wg.Wait()
	t.Logf("SIGKILL of replica B: after %d uploads to it got 201, with 4 in flight and 2 held half sent; %d tried in all", acked.Load(), next.Load()+2)
	b.start(t, e.secretList())
	<-done
	t.Logf("replica B started again on the same --data; replica A served %d operations meanwhile", sz.faultOps)
	e.recovered(sz, phase, "the SIGKILL")
}

// faultPostgres crashes PostgreSQL (immediate stop: connections cut, no
// checkpoint) under load and starts it again: meanwhile answers may be
// 503, never anything else (checklist H1, H3).
func (e *env) faultPostgres(sz size, phase phaser) {
	l := phase("PostgreSQL crashed and restarted", func(op, kind string) bool { return kind == "HTTP 503" })
	l.noChurn = true
	done, count := background(l, sz.faultOps, sz.workers)
	for count.Load() < int64(sz.faultOps/4) {
		time.Sleep(5 * time.Millisecond)
	}
	e.pg.Crash(e.t)
	down := time.Now()
	time.Sleep(2 * time.Second) // the load meets the outage
	e.pg.Start(e.t)
	<-done
	e.t.Logf("PostgreSQL crashed and restarted under load (down %s, %d operations)", time.Since(down).Round(100*time.Millisecond), sz.faultOps)
	e.recovered(sz, phase, "the PostgreSQL restart")
}

// faultMinio stops MinIO under load: a download answers 503, never 404
// (checklist H2), unless the replica holds the file in memory (small
// package files, read once), when it is served as before; uploads answer
// 5xx with nothing stored; then MinIO comes back.
func (e *env) faultMinio(sz size, phase phaser) {
	l := phase("MinIO stopped", func(op, kind string) bool {
		return (op == "download" && kind == "HTTP 503") || (op == "upload" && (kind == "HTTP 503" || kind == "HTTP 500"))
	})
	l.noChurn = true
	// One file of each kind, on one replica: a small one read before the
	// outage, and one too large for memory.
	var base string
	for up := false; !up; {
		_, base, up = l.target()
	}
	small := buildPkg(e.t, publicChannel, "soak-outage-small", "1.0", "0", "noarch", 1<<10)
	large := buildPkg(e.t, publicChannel, "soak-outage-large", "1.0", "0", "noarch", 128<<10)
	get := func(p pkg) answer { return do("GET", base+"/repo/"+p.path(), nil, "", bearer(e.adminKey)) }
	for _, p := range []pkg{small, large} {
		if st := e.upload(base, p); st != http.StatusCreated {
			e.t.Fatalf("uploading %s before the outage: %d", p.path(), st)
		}
	}
	if a := get(small); a.err != nil || a.status != http.StatusOK {
		e.t.Fatalf("downloading %s before the outage: %d %v", small.path(), a.status, a.err)
	}
	e.minio.Stop(e.t)
	if a := get(small); a.err != nil || a.status != http.StatusOK || !bytes.Equal(a.body, small.data) {
		e.t.Errorf("a small package read before the outage, during it: %d %v; want its bytes from memory", a.status, a.err)
	}
	if a := get(large); a.err != nil || a.status != http.StatusServiceUnavailable {
		e.t.Errorf("a package too large for memory, during the outage: %d %v; want 503 (H2)", a.status, a.err)
	}
	l.run(sz.faultOps, sz.workers)
	errs := l.st.errorsIn(l.phase)
	if errs["upload: HTTP 503"]+errs["upload: HTTP 500"] == 0 {
		e.t.Errorf("with MinIO stopped no upload failed (%v): the outage was not met", errs)
	}
	e.t.Logf("during the outage %d downloads answered 503 (files not in memory), the rest from memory", errs["download: HTTP 503"])
	e.minio.Restart(e.t)
	e.t.Logf("MinIO stopped for %d operations, then started again on the same data", sz.faultOps)
	e.recovered(sz, phase, "the MinIO outage")
}

// faultDiskFull fills replica B's data disk (its upload spool): uploads to
// B answer 507 with a JSON reason and leave nothing, everything else keeps
// working (checklist I4, H4).
func (e *env) faultDiskFull(sz size, phase phaser) {
	t := e.t
	b := e.replicas[1]
	l := phase("replica B's data disk full", func(op, kind string) bool {
		return (op == "upload to B" || op == "upload") && kind == "HTTP 507"
	})
	l.noChurn = true
	release := e.fillDisk(b)
	done, _ := background(l, sz.faultOps, sz.workers/2)
	baseB, _ := b.url()
	for i := range max(sz.killLoads, 8) {
		p := buildPkg(t, publicChannel, fmt.Sprintf("soak-full-%d", i), "1.0", "0", "noarch", 64<<10)
		l.st.request("upload to B")
		if st := e.upload(baseB, p); st != http.StatusCreated {
			l.st.fail(l.phase, "upload to B", kind(answer{status: st, err: errIf(st == 0)}))
		}
	}
	e.checkFullAnswer(baseB)
	<-done
	if left := spoolFiles(filepath.Join(e.diskDir, "spool")); left != 0 {
		t.Errorf("%d spool files left on the full disk after refused uploads", left)
	}
	release()
	t.Logf("replica B's data disk full: %d uploads to it refused; %d operations on both replicas meanwhile; then the disk was freed", max(sz.killLoads, 8), sz.faultOps)
	e.recovered(sz, phase, "the full disk")
}

// checkFullAnswer sends one more upload to the full replica and checks the
// answer's body: 507 with the JSON code insufficient_storage.
func (e *env) checkFullAnswer(base string) {
	p := buildPkg(e.t, publicChannel, "soak-full-check", "1.0", "0", "noarch", 64<<10)
	a := e.uploadBody(base, p, nil)
	var v struct{ Code, Message string }
	if a.status != http.StatusInsufficientStorage || json.Unmarshal(a.body, &v) != nil || v.Code != "insufficient_storage" || v.Message == "" {
		e.t.Errorf("an upload to the replica whose disk is full: %d %v %s; want 507 with the JSON code insufficient_storage", a.status, a.err, a.body)
	}
}

// fillDisk makes replica B's data disk full and returns the function that
// frees it.
func (e *env) fillDisk(r *replica) func() {
	t := e.t
	if strings.HasPrefix(e.diskMode, "a ") { // the tmpfs
		filler := filepath.Join(e.diskDir, "filler")
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		chunk := make([]byte, 1<<20)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the data disk: %v", err)
				}
				break
			}
		}
		f.Close()
		return func() {
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.mu.RLock()
	pid := r.srv.PID()
	r.mu.RUnlock()
	if err := prlimitFsize(pid, 16<<10); err != nil {
		t.Fatalf("%v (neither a tmpfs nor a file size limit can make the disk full)", err)
	}
	return func() {
		if err := prlimitFsize(pid, -1); err != nil {
			t.Fatal(err)
		}
	}
}

func spoolFiles(dir string) int {
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "upload-") {
			n++
		}
	}
	return n
}
