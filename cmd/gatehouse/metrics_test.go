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
