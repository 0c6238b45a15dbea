package server

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/condabuild"
)

// BenchmarkPackageDownloadTCP downloads a 1 MiB package uploaded through
// the API (spooled, then adopted as the blob) over loopback connections, so
// the file goes out with sendfile as in production; the recorder of
// BenchmarkChannelDownload never reaches sendfile. Besides ns/op it reports
// the process's CPU time per download (cpu-µs/op, user and system), which
// includes the client's half: reading the 1 MiB back dominates it, so the
// server's own share is better measured with bench/run.sh (perf) or the
// server process's CPU time under wrk.
func BenchmarkPackageDownloadTCP(b *testing.B) {
	f := newBenchFixture(b)
	key, _ := f.createKey("admin", "bench", []string{"user", "channels"}, 24*time.Hour)
	if a := f.do(call{method: "POST", path: "/api/channels", auth: bearer(key), body: map[string]any{"name": "lab", "visibility": "private"}}); a.status != 201 {
		b.Fatalf("channel: %d %s", a.status, a.body)
	}
	payload := make([]byte, 1<<20) // random: the package stays ≈ 1 MiB
	_, _ = rand.Read(payload)
	m := condabuild.Meta{Name: "big", Version: "1.0", Build: "0", Subdir: "noarch", License: "MIT",
		Timestamp: time.Date(2023, 11, 14, 0, 0, 0, 0, time.UTC)}
	var pkg bytes.Buffer
	if err := condabuild.Build(&pkg, m, []condabuild.File{condabuild.BytesFile("share/big/payload", payload, 0o644)}); err != nil {
		b.Fatal(err)
	}
	if a := f.upload(bearer(key), "lab", m.Filename(), pkg.Bytes(), ""); a.status != 201 {
		b.Fatalf("upload: %d %s", a.status, a.body)
	}
	ts := httptest.NewServer(f.srv)
	b.Cleanup(ts.Close)
	req, err := http.NewRequest("GET", ts.URL+"/repo/lab/noarch/"+m.Filename(), nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", bearer(key))
	client := ts.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 16
	get := func(buf []byte) {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || n != int64(pkg.Len()) {
			b.Fatalf("status %d, %d of %d bytes, %v", resp.StatusCode, n, pkg.Len(), err)
		}
	}
	get(make([]byte, 256<<10)) // the file is cached before the clock runs
	b.ReportAllocs()
	b.SetBytes(int64(pkg.Len()))
	// Downloads on several connections at once, as clients make them: the
	// cost of a file held in many small folios is mostly their reference
	// counts, shared by the concurrent sendfiles.
	b.SetParallelism(2)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 256<<10)
		for pb.Next() {
			get(buf)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the user and system time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
