package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkChannelDownload measures the authenticated download path: key
// check (cached), gate, channel and role lookups (cached), then the file
// from the disk blob store.
func BenchmarkChannelDownload(b *testing.B) {
	f := newBenchFixture(b)
	key, _ := f.createKey("admin", "bench", []string{"user", "channels"}, 24*time.Hour)
	if a := f.do(call{method: "POST", path: "/api/channels", auth: bearer(key), body: map[string]any{"name": "lab", "visibility": "private"}}); a.status != 201 {
		b.Fatalf("channel: %d %s", a.status, a.body)
	}
	name, data := makeConda(b, "bench", "1.0", "0", "noarch", nil)
	if a := f.upload(bearer(key), "lab", name, data, ""); a.status != 201 {
		b.Fatalf("upload: %d %s", a.status, a.body)
	}
	for _, c := range []struct{ name, path string }{
		{"package", "/repo/lab/noarch/" + name},
		{"repodata", "/repo/lab/noarch/repodata.json"},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", c.path, nil)
			r.Header.Set("Authorization", bearer(key))
			r.RemoteAddr = "192.0.2.1:1234"
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				f.srv.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
