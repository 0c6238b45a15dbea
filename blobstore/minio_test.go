package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	minioUser     = "gatehouse-test"
	minioPassword = "gatehouse-test-secret"
)

// minioServer is a real MinIO process started for one test.
type minioServer struct {
	endpoint string
	client   *s3.Client
	buckets  atomic.Int64
}

// minioBinary finds MinIO: $MINIO_BIN, then PATH, then ~/go/bin (where
// `go install github.com/minio/minio@latest` puts it).
func minioBinary() (string, error) {
	if p := os.Getenv("MINIO_BIN"); p != "" {
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

// startMinIO starts `minio server` on a free loopback port with a fresh
// data directory, waits until it is live, and stops it when t ends. Without
// a MinIO binary the test is skipped, unless CI is set: CI must run it.
func startMinIO(t *testing.T) *minioServer {
	t.Helper()
	bin, err := minioBinary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skip(err)
	}
	addr := freeAddr(t)
	var out syncBuffer
	cmd := exec.Command(bin, "server", "--address", addr, "--quiet", t.TempDir())
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+minioUser,
		"MINIO_ROOT_PASSWORD="+minioPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	endpoint := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("minio exited before it was live (%v):\n%s", err, out.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio not live at %s after 60s:\n%s", endpoint, out.String())
		}
	}

	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(minioUser, minioPassword, ""),
	})
	return &minioServer{endpoint: endpoint, client: client}
}

// newBucket creates an empty bucket and returns the s3:// URL of a store
// on it.
func (m *minioServer) newBucket(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("gatehouse-test-%d", m.buckets.Add(1))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := m.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	return m.url(name)
}

func (m *minioServer) url(bucket string) string {
	return "s3://" + bucket + "?endpoint=" + m.endpoint + "&region=us-east-1&use_path_style=true"
}

// useMinIOCredentials gives the store MinIO's credentials the standard way,
// through the AWS environment variables.
func useMinIOCredentials(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", minioUser)
	t.Setenv("AWS_SECRET_ACCESS_KEY", minioPassword)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// syncBuffer collects a child process's output for failure messages.
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
