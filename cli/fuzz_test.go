package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/credstore"
)

// FuzzParseServer: whatever a person types after --at either fails or
// gives an http(s) URL with a host, no user info, whose DomainKey works,
// and which parses back to itself.
func FuzzParseServer(f *testing.F) {
	for _, s := range []string{"packages.example.com", "h:8443", "127.0.0.1:8080", "[::1]:80", "::1", "localhost",
		"http://h/p/", "https://u:p@h", "ftp://x", "", "h:", "[::1", "xn--bcher-kva.example", "bücher.example", "h/../x", "http://h:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseServer(s)
		if err != nil {
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("ParseServer(%q) = %v", s, u)
		}
		if _, err := credstore.DomainKey(u.Scheme + "://" + u.Host); err != nil {
			t.Fatalf("ParseServer(%q) = %v, whose DomainKey fails: %v", s, u, err)
		}
		again, err := ParseServer(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("ParseServer(%q) = %v, which parses to %v, %v", s, u, again, err)
		}
	})
}

// FuzzParseExpiry: an accepted --expires is in the future and at most a
// year away.
func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"90d", "12w", "1y", "2027-01-31", "2026-06-01T12:00:00Z", "0d", "999999999999d", "-1w", "y", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseExpiry(now, s)
		if err != nil {
			return
		}
		if !got.After(now) || got.Sub(now) > maxKeyLifetime {
			t.Fatalf("parseExpiry(%q) = %v, not within a year of %v", s, got, now)
		}
	})
}

// FuzzCredFilePut: whatever a client's credentials file holds, register
// either refuses it untouched, leaves a foreign entry for the host alone,
// or writes a JSON object with every other entry kept and ours added; and
// --remove then takes out only ours.
func FuzzCredFilePut(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"h":{"BearerToken":"gk-old"}}`, `{"h":{"BasicHTTP":{"username":"u","password":"p"}}}`,
		`{"a":1,"b":[true,null],"c":{"d":"e"}}`, `[]`, `null`, `{"h":`, `{"h":{"type":"BearerToken","token":"gk-a"}}`, "{\"\\u0068\":{}}"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		if len(content) > 1<<16 {
			return
		}
		path := filepath.Join(dir, "credentials.json")
		os.WriteFile(path, []byte(content), 0o600)
		env := &Env{HomeDir: dir, Getenv: func(k string) string {
			if k == "RATTLER_AUTH_FILE" {
				return path
			}
			return ""
		}}
		u, _ := ParseServer("h")
		cf, err := env.rattlerFile(&target{base: u, domain: "h"}, "gk-new")
		if err != nil {
			t.Fatal(err)
		}
		var before map[string]json.RawMessage
		parseErr := json.Unmarshal([]byte(content), &before)
		c, err := cf.put("gk-new")
		after, _ := os.ReadFile(path)
		if err != nil || c.Action == "skipped" || c.Action == "unchanged" {
			if string(after) != content {
				t.Fatalf("put (%s, %v) changed %q to %q", c.Action, err, content, after)
			}
			return
		}
		if parseErr != nil && strings.TrimSpace(content) != "" {
			t.Fatalf("put accepted %q, which is not a JSON object", content)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(after, &m); err != nil {
			t.Fatalf("put wrote invalid JSON %q: %v", after, err)
		}
		for k, v := range before {
			if k != "h" && !jsonEqual(m[k], v) {
				t.Fatalf("entry %q changed from %s to %s", k, v, m[k])
			}
		}
		if !jsonEqual(m["h"], []byte(`{"BearerToken":"gk-new"}`)) {
			t.Fatalf("our entry is %s", m["h"])
		}
		if _, err := cf.remove("gk-new"); err != nil {
			t.Fatal(err)
		}
		var back map[string]json.RawMessage
		if b, err := os.ReadFile(path); err == nil {
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("remove wrote invalid JSON %q", b)
			}
		}
		if _, ok := back["h"]; ok {
			t.Fatal("remove left our entry")
		}
		for k, v := range before {
			if k != "h" && !jsonEqual(back[k], v) {
				t.Fatalf("after remove, entry %q is %s, was %s", k, back[k], v)
			}
		}
	})
}
