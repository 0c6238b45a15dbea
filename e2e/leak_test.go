package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checklist J1, A4: 100 keys are created and used every way a client can
// send one (Bearer, token, Basic, /t/<key>/ paths, query strings), some
// revoked and used again, some mistyped; then the server's whole log, the
// error bodies, /metrics and every file under --data must hold no piece
// of any of them. (Every other test's server is searched the same way
// when it stops, for the keys that test recorded.)
func TestNoKeyInLogsOrDatabase(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{Args: []string{"--log-level", "debug"}})
	admin := basic("admin", srv.AdminPassword)
	noLeak := func(where, text string) {
		t.Helper()
		if hit := NewSecretFinder(srv.Secrets()).Find([]byte(text)); hit != "" {
			t.Errorf("%s holds a piece of a key: %q", where, hit)
		}
	}

	type created struct {
		Key  string `json:"key"`
		ID   int64  `json:"id"`
		Hint string `json:"hint"`
	}
	// A refused creation must not echo anything either.
	r := call(t, "POST", srv.URL+"/api/keys", `{"name":"x","scopes":["user"],"expires_at":"2099-01-01T00:00:00Z"}`, admin)
	if r.Status != http.StatusBadRequest {
		t.Errorf("an expiry past a year: %d %s", r.Status, r.Body)
	}
	expires := time.Now().UTC().AddDate(0, 1, 0).Format(time.RFC3339)
	var keys []created
	for i := range 100 {
		body := fmt.Sprintf(`{"name":"canary-%d","scopes":["user","channels"],"expires_at":%q}`, i, expires)
		r := call(t, "POST", srv.URL+"/api/keys", body, admin)
		if r.Status != http.StatusCreated {
			t.Fatalf("creating key %d: %d %s", i, r.Status, r.Body)
		}
		var k created
		decode(t, r, &k)
		srv.RecordSecret(k.Key)
		keys = append(keys, k)
	}

	for i, k := range keys {
		uses := []struct {
			how  string
			path string
			auth func(*http.Request)
		}{
			{"Bearer", "/api/account", bearer(k.Key)},
			{"token", "/api/account", func(r *http.Request) { r.Header.Set("Authorization", "token "+k.Key) }},
			{"Basic", "/api/keys", basic("admin", k.Key)},
			{"a query string", "/api/account?api_key=" + k.Key + "&token=" + k.Key, nil},
			{"a /t/ path", "/t/" + k.Key + "/repo/main/noarch/repodata.json", nil},
			{"a /t/ path after the alias", "/repo/t/" + k.Key + "/main/noarch/repodata.json", nil},
			{"a path of its own", "/" + k.Key, nil},
		}
		for _, u := range uses {
			r := call(t, "GET", srv.URL+u.path, "", u.auth)
			if u.auth != nil && r.Status != http.StatusOK {
				t.Errorf("key %d by %s: %d %s", i, u.how, r.Status, r.Body)
			}
			noLeak("the answer to a use by "+u.how, r.Body+fmt.Sprint(r.Header))
		}
		if i%10 != 0 {
			continue
		}
		// Every tenth key is revoked and used again, and mistyped: few
		// enough failures to stay under the per-address limit.
		if r := call(t, "DELETE", fmt.Sprintf("%s/api/keys/%d", srv.URL, k.ID), "", admin); r.Status != http.StatusNoContent {
			t.Fatalf("revoking key %d: %d", i, r.Status)
		}
		r := call(t, "GET", srv.URL+"/api/account", "", bearer(k.Key))
		if r.Status != http.StatusUnauthorized {
			t.Errorf("revoked key %d: %d", i, r.Status)
		}
		noLeak("a revoked key's refusal", r.Body)
		// A mistyped key is refused on its checksum, and never echoed.
		typo := k.Key[:len(k.Key)-1] + string(rune('A'+(k.Key[len(k.Key)-1]+1)%26))
		r = call(t, "GET", srv.URL+"/api/account", "", bearer(typo))
		if r.Status != http.StatusUnauthorized {
			t.Errorf("a mistyped key: %d", r.Status)
		}
		noLeak("a mistyped key's refusal", r.Body)
	}
	if anon := call(t, "GET", srv.URL+"/metrics", "", nil); anon.Status != http.StatusUnauthorized {
		t.Errorf("/metrics without a credential: %d, want 401 (checklist J6)", anon.Status)
	}
	metrics := call(t, "GET", srv.URL+"/metrics", "", admin)
	if metrics.Status != http.StatusOK {
		t.Fatalf("/metrics as the administrator: %d", metrics.Status)
	}
	noLeak("/metrics", metrics.Body)

	srv.Stop() // and the harness searches the log and every file under --data
	logs := srv.Logs()
	if n := strings.Count(logs, "msg=request"); n < 700 {
		t.Fatalf("the log holds %d request lines, want one per request: is it captured?", n)
	}
	if srv.Database != "" {
		t.Logf("the database is %s: only the log and --data were searched", redactURL(srv.Database))
		return
	}
	// The search must have seen the keys' rows: their hints are there.
	var all []byte
	err := filepath.WalkDir(srv.Data, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, err := os.ReadFile(path)
			all = append(all, b...)
			return err
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[:5] {
		if !strings.Contains(string(all), k.Hint) {
			t.Errorf("the data files lack the hint %q: is the database where the test looks?", k.Hint)
		}
	}
	dump, err := DumpSQLite(context.Background(), srv.DBPath())
	if err != nil {
		t.Fatal(err)
	}
	noLeak("the database's rows", dump)
}

// redactURL hides the password of a database URL in test output.
func redactURL(s string) string {
	if i := strings.Index(s, "@"); i > 0 {
		if j := strings.Index(s, "://"); j > 0 && j < i {
			return s[:j+3] + "…" + s[i:]
		}
	}
	return s
}
