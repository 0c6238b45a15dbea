package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkRestrictedKeyRepodata is BenchmarkChannelDownload's repodata
// path with keys limited to channels: the restriction must keep the key
// check cheap, and a refusal cheaper still (clients fetch hundreds of
// shards in parallel).
func BenchmarkRestrictedKeyRepodata(b *testing.B) {
	f := newBenchFixture(b)
	admin := basic("admin", testPassword)
	for _, c := range []string{"lab", "other"} {
		if a := f.do(call{method: "POST", path: "/api/channels", auth: admin, body: map[string]any{"name": c, "visibility": "private"}}); a.status != 201 {
			b.Fatalf("channel: %d %s", a.status, a.body)
		}
	}
	a := f.do(call{method: "POST", path: "/api/keys", auth: admin, body: map[string]any{"name": "ci", "scopes": []string{"channels"},
		"expires_at": f.expiry(24 * time.Hour), "channels": []string{"lab"}, "channel_access": "read"}})
	if a.status != 201 {
		b.Fatalf("key: %d %s", a.status, a.body)
	}
	key := a.json(b)["key"].(string)
	for _, c := range []struct {
		name, path string
		status     int
	}{
		{"allowed", "/repo/lab/noarch/repodata.json", http.StatusOK},
		{"refused", "/repo/other/noarch/repodata.json", http.StatusForbidden},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", c.path, nil)
			r.Header.Set("Authorization", bearer(key))
			r.RemoteAddr = "192.0.2.1:1234"
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				f.srv.ServeHTTP(w, r)
				if w.Code != c.status {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
