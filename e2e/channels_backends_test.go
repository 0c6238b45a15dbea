package e2e

// One channel on every storage combination the server supports (SQLite or
// PostgreSQL, package files on disk or in S3 through MinIO) must serve the
// same bytes: clients and caches compare repodata by content, and a
// deployment must be free to move between backends.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"
	"github.com/klauspost/compress/zstd"
)

// postgresEnv names the PostgreSQL server the tests create databases on;
// scripts/test sets it, and the default is the local one it starts.
const postgresEnv = "GATEHOUSE_TEST_POSTGRES"

// freshPostgres creates an empty database for one test and drops it when
// the test ends (after the servers using it stopped: cleanups run last
// registered first). It returns the database's URL.
func freshPostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		needOrSkip(t, fmt.Errorf("no PostgreSQL at %s (set %s, or run scripts/test, which starts one): %w", redactURL(base), postgresEnv, err))
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("gatehouse_e2e_%d_%s", time.Now().UnixNano(), randomText(6))
	name = regexp.MustCompile(`[^a-z0-9_]`).ReplaceAllString(strings.ToLower(name), "x")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// minioProcess is a real MinIO server started for one test (as in the
// blobstore package's tests).
type minioProcess struct {
	endpoint, user, password string
	client                   *s3.Client
	buckets                  atomic.Int64
}

// minioBinary finds MinIO: $MINIO_BIN, then PATH, then ~/go/bin.
func minioBinary() (string, error) {
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

// startMinIO runs `minio server` on a free loopback port with fresh data
// and a random password, and stops it when the test ends.
func startMinIO(t *testing.T) *minioProcess {
	t.Helper()
	bin, err := minioBinary()
	needOrSkip(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	m := &minioProcess{endpoint: "http://" + addr, user: "gatehouse-e2e", password: "mS3-" + randomText(24)}
	var out syncBuffer
	cmd := exec.Command(bin, "server", "--address", addr, "--quiet", t.TempDir())
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.user, "MINIO_ROOT_PASSWORD="+m.password, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
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
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(m.endpoint + "/minio/health/live")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("minio exited before it was live (%v):\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio not live at %s after 60s:\n%s", m.endpoint, out.String())
		}
	}
	m.client = s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(m.endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(m.user, m.password, ""),
	})
	return m
}

// newBucket creates an empty bucket and returns the --blob URL for it.
func (m *minioProcess) newBucket(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("gatehouse-e2e-%d", m.buckets.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	return "s3://" + name + "?endpoint=" + m.endpoint + "&region=us-east-1&use_path_style=true"
}

// countObjects counts the objects under prefix of the bucket of a --blob URL.
func (m *minioProcess) countObjects(t *testing.T, blobURL, prefix string) int {
	t.Helper()
	u, err := url.Parse(blobURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	pages := s3.NewListObjectsV2Paginator(m.client, &s3.ListObjectsV2Input{Bucket: aws.String(u.Host), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("listing bucket %s: %v", u.Host, err)
		}
		n += len(page.Contents)
	}
	return n
}

// serverEnv gives a server MinIO's credentials the standard AWS way, and
// nothing from the machine's own AWS configuration.
func (m *minioProcess) serverEnv(t *testing.T) []string {
	none := filepath.Join(t.TempDir(), "none")
	return []string{"AWS_ACCESS_KEY_ID=" + m.user, "AWS_SECRET_ACCESS_KEY=" + m.password,
		"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_EC2_METADATA_DISABLED=true"}
}

// identitySet is the package set every backend receives, in one order:
// the real fixtures, libgcc-ng and generated packages in both subdirs.
func identitySet(t *testing.T) []pkgFile {
	pkgs := append(fixturePackages(t), libgccPackage(t))
	for i := range 16 {
		subdir := []string{"noarch", "linux-64"}[i%2]
		deps := []string{fmt.Sprintf("gh-data >=1.%d", i%3)}
		pkgs = append(pkgs, buildConda(t, fmt.Sprintf("same-%02d", i), fmt.Sprintf("%d.%d.0", i%4, i), fmt.Sprintf("h%07x_%d", i*7919, i%2), subdir, deps, nil))
	}
	return pkgs
}

// channelFiles fetches what a client reads of a channel, by name.
func channelFiles(t *testing.T, srv *Server, channel string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, f := range []string{"noarch/repodata.json", "linux-64/repodata.json", "channeldata.json"} {
		r := get(t, srv.URL+"/repo/"+channel+"/"+f, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", f, r.Status, r.Body)
		}
		out[f] = []byte(r.Body)
	}
	for _, sd := range []string{"noarch", "linux-64"} {
		r := get(t, srv.URL+"/repo/"+channel+"/"+sd+"/repodata.json.zst", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s/repodata.json.zst: %d", sd, r.Status)
		}
		plain, err := dec.DecodeAll([]byte(r.Body), nil)
		if err != nil {
			t.Fatalf("%s/repodata.json.zst does not decompress: %v", sd, err)
		}
		if !bytes.Equal(plain, out[sd+"/repodata.json"]) {
			t.Errorf("%s/repodata.json.zst holds other bytes than repodata.json (checklist G5)", sd)
		}
	}
	return out
}

// indexedTimestamp matches CEP-47's field with its value, as the server
// writes it (compact JSON, sorted keys, so a comma always follows).
var indexedTimestamp = regexp.MustCompile(`"indexed_timestamp":[0-9]+,`)

// Checklist G5, G3, A12: the same packages uploaded in the same order to
// SQLite+disk, PostgreSQL+disk, SQLite+MinIO and PostgreSQL+MinIO give the
// same repodata.json (and .zst, and channeldata.json) byte for byte, apart
// from indexed_timestamp, which CEP-47 has the server set from its own
// clock when it first indexes a package. Each server serves the same bytes
// again after a restart: the timestamp is stored, never recomputed.
func TestEveryBackendServesTheSameRepodata(t *testing.T) {
	t.Setenv(DatabaseEnv, "") // "SQLite" must mean SQLite even when the suite runs on PostgreSQL
	minio := startMinIO(t)
	pgDisk, pgS3 := freshPostgres(t), freshPostgres(t)
	pkgs := identitySet(t)
	const channel = "same-bytes"

	backends := []struct {
		name string
		opts Options
	}{
		{"SQLite and disk", Options{}},
		{"PostgreSQL and disk", Options{Database: pgDisk}},
		{"SQLite and MinIO", Options{Args: []string{"--blob", minio.newBucket(t)}, Env: minio.serverEnv(t)}},
		{"PostgreSQL and MinIO", Options{Database: pgS3, Args: []string{"--blob", minio.newBucket(t)}, Env: minio.serverEnv(t)}},
	}
	served := make([]map[string][]byte, len(backends))
	start := time.Now()
	for i, b := range backends {
		t.Run(b.name+" serves every package it lists", func(t *testing.T) {
			srv := Start(t, gatehouseBin, b.opts)
			srv.RecordSecret(minio.password)
			createChannel(t, srv, channel, "public")
			mustUpload(t, srv, channel, basic("admin", srv.AdminPassword), pkgs...)
			served[i] = channelFiles(t, srv, channel)
			for _, p := range pkgs {
				r := get(t, srv.URL+"/repo/"+channel+"/"+p.Subdir+"/"+p.Filename, nil)
				if r.Status != http.StatusOK || r.Body != string(p.Data) {
					t.Errorf("%s/%s: %d, %d bytes; want 200 and the %d bytes uploaded", p.Subdir, p.Filename, r.Status, len(r.Body), len(p.Data))
				}
			}
			srv.Stop()
			again := Start(t, gatehouseBin, Options{Data: srv.Data, Database: srv.Database, Args: b.opts.Args, Env: b.opts.Env})
			again.RecordSecret(minio.password)
			for f, want := range served[i] {
				if got := get(t, again.URL+"/repo/"+channel+"/"+f, nil); got.Body != string(want) {
					t.Errorf("%s changed across a restart:\nbefore: %s\nafter:  %s", f, want, got.Body)
				}
			}
		})
	}
	end := time.Now()
	if t.Failed() {
		return
	}

	for i := 1; i < len(backends); i++ {
		for f, want := range served[0] {
			got := served[i][f]
			if bytes.Equal(got, want) {
				continue
			}
			w, g := indexedTimestamp.ReplaceAll(want, nil), indexedTimestamp.ReplaceAll(got, nil)
			if !bytes.Equal(w, g) {
				t.Errorf("%s from %s differs from %s beyond indexed_timestamp:\n%s:\n%s\n%s:\n%s",
					f, backends[i].name, backends[0].name, backends[0].name, want, backends[i].name, got)
				continue
			}
			t.Logf("%s from %s and %s differ only in indexed_timestamp (the server's upload-time clock, CEP-47); equal without it",
				f, backends[0].name, backends[i].name)
		}
	}
	// The field the comparison removed is what it claims to be: one per
	// record, set during this test.
	stamps := 0
	for _, f := range []string{"noarch/repodata.json", "linux-64/repodata.json"} {
		for _, m := range indexedTimestamp.FindAll(served[0][f], -1) {
			stamps++
			var ms int64
			fmt.Sscanf(string(m), `"indexed_timestamp":%d,`, &ms)
			if at := time.UnixMilli(ms); at.Before(start.Add(-time.Second)) || at.After(end.Add(time.Second)) {
				t.Errorf("%s: indexed_timestamp %v is outside the test's run %v..%v", f, at, start, end)
			}
		}
	}
	if stamps != len(pkgs) {
		t.Errorf("found %d indexed_timestamp fields for %d packages", stamps, len(pkgs))
	}
}
