package clientcfg

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
		env := Env{Home: func() (string, error) { return dir, nil }, Getenv: func(k string) string {
			if k == "RATTLER_AUTH_FILE" {
				return path
			}
			return ""
		}}
		u, _ := url.Parse("https://h")
		cf, err := env.rattlerFile(Server{Base: u, Domain: "h"}, "gk-new")
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
