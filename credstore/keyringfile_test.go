package credstore

import (
	"bytes"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The golden files in testdata/golden were written by mkgolden.py the way
// anaconda-auth writes the keyring file (pydantic + json.dump).

func TestGoldenFileReadsAsAnacondaAuthWroteIt(t *testing.T) {
	te := newTestEnv(t)
	writeFile(t, te.keyringPath(t), golden(t, "before.json"), 0o600)

	tests := []struct {
		name, domain string
		want         Entry
	}{
		{"a version 1 entry with repo tokens", "old.example.com", Entry{
			Domain: "old.example.com", APIKey: "gk-legacyKEY", Username: "ada", Version: 1,
			RepoTokens: []RepoToken{{Token: "rt-1", OrgName: "acme"}, {Token: "rt-2"}},
		}},
		{"a version 2 entry with non-ASCII and HTML characters", "packages.example.com", Entry{
			Domain: "packages.example.com", APIKey: "gk-v2KEY</>&", Username: "Zoë", Version: 2,
			RepoTokens: []RepoToken{},
		}},
		{"an entry without a version field reads as version 1", "https://Bare.Example.com/repo", Entry{
			Domain: "bare.example.com", APIKey: "gk-bare", Version: 1, RepoTokens: []RepoToken{},
			versionAbsent: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, src, err := Lookup(te.Env, tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			if src != SourceFile {
				t.Errorf("source = %q, want %q", src, SourceFile)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("entry = %+v\nwant    %+v", *got, tt.want)
			}
		})
	}
}

func TestGoldenFileWritesByteForByteAsAnacondaAuth(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, env Env)
		want   string
	}{
		{"saving entries read unchanged rewrites the same bytes", func(t *testing.T, env Env) {
			for _, d := range []string{"old.example.com", "packages.example.com", "bare.example.com"} {
				e, _, err := Lookup(env, d)
				if err != nil {
					t.Fatal(err)
				}
				if err := Save(env, e); err != nil {
					t.Fatal(err)
				}
			}
		}, "before.json"},
		{"a new entry is appended as version 2 and others stay untouched", func(t *testing.T, env Env) {
			err := Save(env, &Entry{Domain: "http://LocalHost:8443/repo", APIKey: "gk-NEWkey123", Username: "grace"})
			if err != nil {
				t.Fatal(err)
			}
		}, "after_save.json"},
		{"rotating a version 1 key keeps version 1 and its place", func(t *testing.T, env Env) {
			e, _, err := Lookup(env, "old.example.com")
			if err != nil {
				t.Fatal(err)
			}
			e.APIKey = "gk-rotated"
			if err := Save(env, e); err != nil {
				t.Fatal(err)
			}
		}, "after_update.json"},
		{"deleting removes only that domain", func(t *testing.T, env Env) {
			if err := Delete(env, "packages.example.com"); err != nil {
				t.Fatal(err)
			}
		}, "after_delete.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(t)
			path := te.keyringPath(t)
			writeFile(t, path, golden(t, "before.json"), 0o600)
			tt.change(t, te.Env)
			got, want := readFile(t, path), golden(t, tt.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("file differs from %s\n got: %s\nwant: %s", tt.want, got, want)
			}
		})
	}
}

func TestNewKeyringFileMatchesGoldenAndIsPrivate(t *testing.T) {
	te := newTestEnv(t)
	if err := Save(te.Env, &Entry{Domain: "localhost:8443", APIKey: "gk-NEWkey123", Username: "grace"}); err != nil {
		t.Fatal(err)
	}
	path := te.keyringPath(t)
	if got, want := readFile(t, path), golden(t, "fresh.json"); !bytes.Equal(got, want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	assertMode(t, path, 0o600)
	assertMode(t, dirOf(path), 0o700)
}

func TestForeignEntriesSurviveEveryChange(t *testing.T) {
	// Values we do not own are kept as the exact bytes read, even when a
	// client other than anaconda-auth formatted them differently.
	const foreign = `{"rattler": {"x": {"nested":  [1, 2.50, "\u00e9"]}}, "Anaconda Cloud": {"keep.example": "not base64 at all", "n": null}, "z": "s"}`
	te := newTestEnv(t)
	path := te.keyringPath(t)
	writeFile(t, path, []byte(foreign), 0o600)

	if err := Save(te.Env, &Entry{Domain: "new.example", APIKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if err := Delete(te.Env, "new.example"); err != nil {
		t.Fatal(err)
	}
	want := `{"rattler": {"x": {"nested":  [1, 2.50, "\u00e9"]}}, "Anaconda Cloud": {"keep.example": "not base64 at all", "n": null}, "z": "s"}`
	if got := string(readFile(t, path)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, _, err := Lookup(te.Env, "keep.example"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("a corrupt entry must be reported, not skipped: %v", err)
	}
}

func TestKeyringFileVariants(t *testing.T) {
	entry := func(json string) string {
		return `{"Anaconda Cloud": {"h.example": "` + base64.StdEncoding.EncodeToString([]byte(json)) + `"}}`
	}
	tests := []struct {
		name      string
		file      string
		wantKey   string
		wantErr   string
		wantNoKey bool
	}{
		{"an empty file (as anaconda-auth leaves it) holds no keys", "", "", "", true},
		{"a file of whitespace holds no keys", " \n", "", "", true},
		{"an empty object holds no keys", "{}", "", "", true},
		{"another service only holds no keys", `{"x": {"h.example": "v"}}`, "", "", true},
		{"a null service holds no keys", `{"Anaconda Cloud": null}`, "", "", true},
		{"an entry without api_key is no key", entry(`{"domain":"h.example","repo_tokens":[]}`), "", "", true},
		{"a null api_key is no key", entry(`{"domain":"h.example","api_key":null}`), "", "", true},
		{"a minimal entry is read", entry(`{"api_key":"k"}`), "k", "", false},
		{"unpadded base64 is read", `{"Anaconda Cloud": {"h.example": "eyJhcGlfa2V5IjoiayJ9"}}`, "k", "", false},
		{"a key stored with upper case and default port is found", `{"Anaconda Cloud": {"H.Example:443": "eyJhcGlfa2V5IjoiayJ9"}}`, "k", "", false},
		{"a version 3 entry is refused", entry(`{"api_key":"k","version":3}`), "", "upgrade gatehouse", false},
		{"an api_key that is a number is refused", entry(`{"api_key":5}`), "", "not a string", false},
		{"repo_tokens that is not a list is refused", entry(`{"api_key":"k","repo_tokens":{}}`), "", "not a list", false},
		{"a repo token without token is refused", entry(`{"api_key":"k","repo_tokens":[{"org_name":"o"}]}`), "", "has no token", false},
		{"a value that is not base64 is refused", `{"Anaconda Cloud": {"h.example": "%%%"}}`, "", "not base64", false},
		{"a value that is not a string is refused", `{"Anaconda Cloud": {"h.example": 7}}`, "", "not a string", false},
		{"a service that is not an object is refused", `{"Anaconda Cloud": []}`, "", "not a JSON object", false},
		{"a top level that is not an object is refused", `[]`, "", "not valid JSON", false},
		{"invalid JSON is refused and named", `{"Anaconda Cloud": `, "", "not valid JSON", false},
		{"trailing data is refused", `{} {}`, "", "not valid JSON", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(t)
			path := te.keyringPath(t)
			writeFile(t, path, []byte(tt.file), 0o600)
			e, _, err := Lookup(te.Env, "h.example")
			switch {
			case tt.wantNoKey:
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("want ErrNotFound, got %v, %+v", err, e)
				}
			case tt.wantErr != "":
				if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want an error mentioning %q, got %v", tt.wantErr, err)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("the error does not name the file: %v", err)
				}
				if got := string(readFile(t, path)); got != tt.file {
					t.Errorf("the file was changed to %q", got)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if e.APIKey != tt.wantKey {
					t.Fatalf("api key = %q, want %q", e.APIKey, tt.wantKey)
				}
			}
		})
	}
}

func TestSaveRefusesToOverwriteACorruptFile(t *testing.T) {
	te := newTestEnv(t)
	path := te.keyringPath(t)
	writeFile(t, path, []byte(`{"Anaconda Cloud": {`), 0o600)
	err := Save(te.Env, &Entry{Domain: "h.example", APIKey: "k"})
	if err == nil || !strings.Contains(err.Error(), "left untouched") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if got := string(readFile(t, path)); got != `{"Anaconda Cloud": {` {
		t.Fatalf("file changed: %q", got)
	}
}

func TestEntryEncodingMatchesPydantic(t *testing.T) {
	// Expected JSON as pydantic's model_dump_json(exclude_none=True) writes
	// it (checked against pydantic 2.13): compact, UTF-8 kept, lower-case
	// \u escapes for control characters only.
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{"empty optional fields are left out", Entry{APIKey: "k"},
			`{"domain":"d","api_key":"k","repo_tokens":[],"version":2}`},
		{"control characters and quotes are escaped", Entry{APIKey: "a\"b\\c\n\x01\x1f\x7f\u2028é</>", Version: 1},
			`{"domain":"d","api_key":"a\"b\\c\n\u0001\u001f` + "\x7f\u2028é</>" + `","repo_tokens":[],"version":1}`},
		{"repo tokens keep their order and drop an empty org", Entry{Username: "u", RepoTokens: []RepoToken{{Token: "a", OrgName: "o"}, {Token: "b"}}},
			`{"domain":"d","username":"u","repo_tokens":[{"token":"a","org_name":"o"},{"token":"b"}],"version":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := base64.StdEncoding.DecodeString(encodeEntry(&tt.e, "d"))
			if err != nil {
				t.Fatal(err)
			}
			if string(raw) != tt.want {
				t.Fatalf("got  %s\nwant %s", raw, tt.want)
			}
		})
	}
}

func TestUnknownEntryFieldsSurviveARoundTrip(t *testing.T) {
	in := `{"domain":"d","api_key":"k","repo_tokens":[],"version":2,"future":{"a": 1}}`
	e, err := decodeEntry(base64.StdEncoding.EncodeToString([]byte(in)))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(encodeEntry(e, "d"))
	if want := `{"domain":"d","api_key":"k","repo_tokens":[],"version":2,"future":{"a":1}}`; string(raw) != want {
		t.Fatalf("got  %s\nwant %s", raw, want)
	}
}

func TestPythonStringEscaping(t *testing.T) {
	// json.dumps("p\x7fé😀\t\"") in Python 3.
	got := string(appendPythonString(nil, "p\x7fé😀\t\"\\\x00"))
	want := `"p\u007f\u00e9\ud83d\ude00\t\"\\\u0000"`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func FuzzReadKeyringFile(f *testing.F) {
	for _, name := range []string{"before.json", "after_save.json", "fresh.json"} {
		data, err := readGolden(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "old.example.com")
	}
	f.Add([]byte(""), "h")
	f.Add([]byte(`{"Anaconda Cloud": {"h": "eyJhcGlfa2V5IjoiayJ9"}}`), "h")
	f.Add([]byte(`{"Anaconda Cloud": {"H:443": "eyJhcGlfa2V5IjoiayJ9", "h": null}}`), "h")
	f.Add([]byte(`{"a": 1, "a": {"b": [1, {"c": null}]}, "Anaconda Cloud": []}`), "h")
	f.Add([]byte(`{"Anaconda Cloud": {"h": "e30="}}`), "h")
	f.Add([]byte("{\"\xff\": \"\xfe\"}"), "h")
	f.Fuzz(func(t *testing.T, data []byte, domain string) {
		doc, err := parseKeyringFile(data)
		if err != nil {
			return
		}
		host, err := DomainKey(domain)
		if err != nil {
			host = "h"
		}
		_, _ = doc.lookup(host)
		if svc, err := doc.service(); err == nil {
			for _, m := range svc {
				_, _ = doc.lookup(m.key)
			}
		}
		// Whatever parses must survive our write and read back the same.
		encoded := doc.encode()
		again, err := parseKeyringFile(encoded)
		if err != nil {
			t.Fatalf("re-encoded file does not parse: %v\n%s", err, encoded)
		}
		if !bytes.Equal(again.encode(), encoded) {
			t.Fatalf("encoding is not stable")
		}
		if err := doc.put(host, &Entry{APIKey: "gk-fuzz"}); err == nil {
			e, err := doc.lookup(host)
			if err != nil || e == nil || e.APIKey != "gk-fuzz" {
				t.Fatalf("put then lookup: %+v, %v", e, err)
			}
		}
	})
}
