package e2e

// One channel on every storage combination the server supports (SQLite or
// PostgreSQL, package files on disk or in S3 through MinIO) must serve the
// same bytes: clients and caches compare repodata by content, and a
// deployment must be free to move between backends.

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/gatehouse-dev/gatehouse/blobstore/miniotest"
	"github.com/gatehouse-dev/gatehouse/sqlstore/pgtest"
)

// identitySet is the package set every backend receives, in one order:
// the real fixtures, libgcc-ng and generated packages in both subdirs.
func identitySet(t *testing.T) []PackageFile {
	pkgs := append(FixturePackages(t), LibgccPackage(t))
	for i := range 16 {
		subdir := []string{"noarch", "linux-64"}[i%2]
		deps := []string{fmt.Sprintf("gh-data >=1.%d", i%3)}
		pkgs = append(pkgs, BuildConda(t, fmt.Sprintf("same-%02d", i), fmt.Sprintf("%d.%d.0", i%4, i), fmt.Sprintf("h%07x_%d", i*7919, i%2), subdir, deps, nil))
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
	minio := miniotest.Start(t)
	pgDisk, pgS3 := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	pkgs := identitySet(t)
	const channel = "same-bytes"

	backends := []struct {
		name string
		opts Options
	}{
		{"SQLite and disk", Options{}},
		{"PostgreSQL and disk", Options{Database: pgDisk}},
		{"SQLite and MinIO", Options{Args: []string{"--blob", minio.NewBucket(t)}, Env: minio.Env(t)}},
		{"PostgreSQL and MinIO", Options{Database: pgS3, Args: []string{"--blob", minio.NewBucket(t)}, Env: minio.Env(t)}},
	}
	served := make([]map[string][]byte, len(backends))
	start := time.Now()
	for i, b := range backends {
		t.Run(b.name+" serves every package it lists", func(t *testing.T) {
			srv := Start(t, gatehouseBin, b.opts)
			srv.RecordSecret(minio.Password)
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
			again.RecordSecret(minio.Password)
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
