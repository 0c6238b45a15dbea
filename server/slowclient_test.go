package server

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSlowHeadersAndStalledBodiesAreCutOff(t *testing.T) {
	// checklist I3: every listener has header and body deadlines.
	srv := HTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), slog.New(slog.DiscardHandler))
	if srv.ReadHeaderTimeout <= 0 || srv.ReadHeaderTimeout > 30*time.Second {
		t.Errorf("ReadHeaderTimeout = %v", srv.ReadHeaderTimeout)
	}
	if srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("IdleTimeout %v, MaxHeaderBytes %d", srv.IdleTimeout, srv.MaxHeaderBytes)
	}

	// A real listener with a short header timeout.
	f := newFixture(t)
	hs := HTTPServer(f.srv, slog.New(slog.DiscardHandler))
	hs.ReadHeaderTimeout = time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Half a header, then nothing: the server must hang up.
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err == nil && !strings.Contains(line, "408") {
		t.Errorf("a slow header got %q, want the connection closed or 408", line)
	}
}

func TestADripFedUploadIsStopped(t *testing.T) {
	// checklist I3: one byte every 20 s kept an upload's spool file and
	// connection open indefinitely, since each byte reset the idle
	// deadline. Past its grace, an upload must average the minimum rate.
	f := newFixture(t, func(c *Config) { c.UploadMinRate, c.UploadGrace = 1024, 300*time.Millisecond })
	key, _ := f.createKey("admin", "ci", []string{"user", "channels"}, time.Hour)
	f.must(call{method: "POST", path: "/api/channels", auth: bearer(key), body: map[string]any{"name": "lab", "visibility": "public"}}, http.StatusCreated)
	hs := HTTPServer(f.srv, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x-1.0-0.conda\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	io.WriteString(conn, "POST /api/channels/lab/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+key+
		"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"+head)
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		answered <- line
	}()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line := <-answered:
			if !strings.Contains(line, "400") {
				t.Errorf("the drip-fed upload was answered %q, want 400", line)
			}
			entries, _ := os.ReadDir(f.srv.cfg.TempDir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "upload-") {
					t.Errorf("spool file %s left behind", e.Name())
				}
			}
			return
		case <-deadline:
			t.Fatal("a drip-fed upload was still going after 20 s")
		case <-time.After(50 * time.Millisecond):
			conn.Write([]byte{'x'}) // 20 bytes a second
		}
	}
}
