package server

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
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
