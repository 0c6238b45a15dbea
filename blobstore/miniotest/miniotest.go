// Package miniotest starts a real MinIO server for tests, the way
// net/http/httptest starts an HTTP server: the blob store's conformance
// suite and the end-to-end tests run against it.
package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Server is a MinIO process started for one test.
type Server struct {
	// Endpoint is its http:// URL; User and Password its root credentials.
	Endpoint, User, Password string
	// Client talks to it directly, for checks behind the store's back.
	Client  *s3.Client
	buckets atomic.Int64

	bin, addr, dir string
	mu             sync.Mutex
	proc           *exec.Cmd // nil while stopped
	exited         chan error
	out            syncBuffer
}

// Binary finds MinIO: $MINIO_BIN, then PATH, then ~/go/bin (where
// `go install github.com/minio/minio@latest` puts it).
func Binary() (string, error) {
	if p := os.Getenv("MINIO_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("MINIO_BIN: %w", err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, "go", "bin", "minio")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("minio not found in $MINIO_BIN, PATH or ~/go/bin; install it with `go install github.com/minio/minio@latest`")
}

// Start runs `minio server` on a free loopback port with a fresh data
// directory, waits until it is live, and stops it when t ends. Without a
// MinIO binary the test is skipped, unless CI is set: CI must run it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skip(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	secret := make([]byte, 12)
	rand.Read(secret)
	m := &Server{Endpoint: "http://" + addr, User: "gatehouse-test", Password: "mS3-" + hex.EncodeToString(secret),
		bin: bin, addr: addr, dir: t.TempDir()}
	t.Cleanup(func() { m.kill() })
	m.run(t)
	m.Client = s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(m.User, m.Password, ""),
	})
	return m
}

// run starts the MinIO process on m's address and data and waits until it
// is live.
func (m *Server) run(t testing.TB) {
	t.Helper()
	cmd := exec.Command(m.bin, "server", "--address", m.addr, "--quiet", m.dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.User, "MINIO_ROOT_PASSWORD="+m.Password, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
	cmd.Stdout, cmd.Stderr = &m.out, &m.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", m.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	m.mu.Lock()
	m.proc, m.exited = cmd, exited
	m.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(m.Endpoint + "/minio/health/live")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("minio exited before it was live (%v):\n%s", err, m.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio not live at %s after 60s:\n%s", m.Endpoint, m.out.String())
		}
	}
}

// Stop kills MinIO with SIGKILL, as an outage would, and waits until it is
// gone; its data stays for Restart.
func (m *Server) Stop(t testing.TB) {
	t.Helper()
	if !m.kill() {
		t.Fatal("miniotest: Stop of a MinIO that is not running")
	}
}

// Restart starts a stopped MinIO again on the same address and data.
func (m *Server) Restart(t testing.TB) {
	t.Helper()
	m.mu.Lock()
	running := m.proc != nil
	m.mu.Unlock()
	if running {
		t.Fatal("miniotest: Restart of a MinIO that is running")
	}
	m.run(t)
}

// kill stops the process if one runs, and reports whether one did.
func (m *Server) kill() bool {
	m.mu.Lock()
	cmd, exited := m.proc, m.exited
	m.proc = nil
	m.mu.Unlock()
	if cmd == nil {
		return false
	}
	_ = cmd.Process.Kill()
	<-exited
	return true
}

// NewBucket creates an empty bucket and returns the s3:// URL of a blob
// store on it.
func (m *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("gatehouse-test-%d", m.buckets.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	return m.URL(name)
}

// URL returns the s3:// URL of a blob store on bucket.
func (m *Server) URL(bucket string) string {
	return "s3://" + bucket + "?endpoint=" + m.Endpoint + "&region=us-east-1&use_path_style=true"
}

// Env is the environment that gives a process MinIO's credentials the
// standard AWS way, and nothing from the machine's own AWS configuration.
func (m *Server) Env(t testing.TB) []string {
	none := filepath.Join(t.TempDir(), "none")
	return []string{"AWS_ACCESS_KEY_ID=" + m.User, "AWS_SECRET_ACCESS_KEY=" + m.Password,
		"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_EC2_METADATA_DISABLED=true"}
}

// UseCredentials sets Env in this process for the rest of the test.
func (m *Server) UseCredentials(t testing.TB) {
	for _, kv := range m.Env(t) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// CountObjects counts the objects under prefix in the bucket of a blob URL.
func (m *Server) CountObjects(t testing.TB, blobURL, prefix string) int {
	t.Helper()
	u, err := url.Parse(blobURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	pages := s3.NewListObjectsV2Paginator(m.Client, &s3.ListObjectsV2Input{Bucket: aws.String(u.Host), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("listing bucket %s: %v", u.Host, err)
		}
		n += len(page.Contents)
	}
	return n
}

// syncBuffer collects the child's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
