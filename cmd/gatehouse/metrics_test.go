package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestMetricsNeedAnAdministratorOrTheirOwnListener(t *testing.T) {
	// checklist J6: /metrics was open to anyone; now the public listener
	// asks for an administrator, and --metrics-listen serves them alone.
	listen, metrics := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	pr, pw := io.Pipe()
	go func() {
		env := map[string]string{"GATEHOUSE_INITIAL_ADMIN_PASSWORD": "a-long-enough-password", "GATEHOUSE_PUBLISH_CLI": "false"}
		done <- Main(ctx, []string{"server", "--listen", listen, "--metrics-listen", metrics, "--data", filepath.Join(t.TempDir(), "data")},
			io.Discard, pw, func(k string) string { return env[k] })
		pw.Close()
	}()
	go io.Copy(io.Discard, bufio.NewReader(pr))
	defer func() { cancel(); <-done }()
	get := func(url string) int {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			res, err := http.Get(url)
			if err == nil {
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK && !strings.Contains(string(body), "gatehouse_http_requests_total") && strings.HasSuffix(url, "/metrics") {
					t.Errorf("%s answered without the metrics", url)
				}
				return res.StatusCode
			}
		}
		t.Fatalf("%s never answered", url)
		return 0
	}
	if code := get("http://" + listen + "/metrics"); code != http.StatusUnauthorized {
		t.Errorf("/metrics on the public listener without a credential: %d, want 401", code)
	}
	if code := get("http://" + metrics + "/metrics"); code != http.StatusOK {
		t.Errorf("/metrics on --metrics-listen: %d, want 200", code)
	}
	if code := get("http://" + metrics + "/api/account"); code != http.StatusNotFound {
		t.Errorf("the metrics listener serves the API too: %d", code)
	}
}

func TestProfilesAreServedOnlyOnTheirLoopbackListener(t *testing.T) {
	// checklist J6 again: profiles show the process's memory, so they are
	// off by default, never on the main listener, and only on loopback.
	listen, prof := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		env := map[string]string{"GATEHOUSE_INITIAL_ADMIN_PASSWORD": "a-long-enough-password", "GATEHOUSE_PUBLISH_CLI": "false"}
		done <- Main(ctx, []string{"server", "--listen", listen, "--pprof-listen", prof, "--data", filepath.Join(t.TempDir(), "data")},
			io.Discard, io.Discard, func(k string) string { return env[k] })
	}()
	defer func() { cancel(); <-done }()
	get := func(url string) (int, string) {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			res, err := http.Get(url)
			if err == nil {
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				return res.StatusCode, string(body)
			}
		}
		t.Fatalf("%s never answered", url)
		return 0, ""
	}
	if code, body := get("http://" + prof + "/debug/pprof/heap?debug=1"); code != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Errorf("heap profile on --pprof-listen: %d %.80q", code, body)
	}
	if code, _ := get("http://" + listen + "/debug/pprof/heap"); code == http.StatusOK {
		t.Error("the main listener serves profiles")
	}

	var stderr strings.Builder
	env := map[string]string{"GATEHOUSE_INITIAL_ADMIN_PASSWORD": "a-long-enough-password"}
	code := Main(context.Background(), []string{"server", "--pprof-listen", "0.0.0.0:6060", "--data", t.TempDir()}, io.Discard, &stderr, func(k string) string { return env[k] })
	if code == 0 || !strings.Contains(stderr.String(), "--pprof-listen") || !strings.Contains(stderr.String(), "loopback") {
		t.Errorf("--pprof-listen on every interface: exit %d, %q; want a refusal naming the flag", code, stderr.String())
	}
}
