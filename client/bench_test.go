package client_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

// BenchmarkAccount is one authenticated call to the real server over
// loopback HTTP: client encoding, transport, server, decoding.
func BenchmarkAccount(b *testing.B) {
	s := clienttest.New(b)
	s.User("alice", false)
	key, _ := s.Key("alice", "bench", []string{"user"}, time.Hour)
	c, err := client.New(s.URL, key)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Account(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpload uploads a real package (replacing it each time).
func BenchmarkUpload(b *testing.B) {
	s := clienttest.New(b)
	s.User("alice", false)
	key, _ := s.Key("alice", "bench", []string{"user", "channels"}, time.Hour)
	c, err := client.New(s.URL, key)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.CreateChannel(ctx, client.NewChannel{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(clienttest.Fixture(b, "noarch/gh-data-1.0.0-0.conda"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Upload(ctx, "bench", "gh-data-1.0.0-0.conda", bytes.NewReader(data), int64(len(data)), client.UploadOptions{Replace: true}); err != nil {
			b.Fatal(err)
		}
	}
}
