package credstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gokeyring "github.com/zalando/go-keyring"
)

func TestLookupPrecedence(t *testing.T) {
	// Each row sets some sources; the highest one must win:
	// env > Docker secret > config api_key > the preferred keyring.
	type sources struct{ env, secret, config, file, system string }
	tests := []struct {
		name    string
		set     sources
		storage string
		wantKey string
		wantSrc Source
	}{
		{"the environment variable beats everything", sources{"k-env", "k-secret", "k-config", "k-file", "k-system"}, StorageFile, "k-env", SourceEnv},
		{"the Docker secret beats the config and keyrings", sources{"", "k-secret", "k-config", "k-file", ""}, StorageFile, "k-secret", SourceSecret},
		{"the config api_key beats the keyring file", sources{"", "", "k-config", "k-file", ""}, StorageFile, "k-config", SourceConfig},
		{"the keyring file is used by default", sources{"", "", "", "k-file", "k-system"}, "", "k-file", SourceFile},
		{"the system keyring is used when preferred", sources{"", "", "", "k-file", "k-system"}, StorageSystem, "k-system", SourceSystem},
		{"a file entry is ignored when the system keyring is preferred", sources{"", "", "", "k-file", ""}, StorageSystem, "", ""},
		{"a system entry is ignored when the file is preferred", sources{"", "", "", "", "k-system"}, StorageFile, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(t)
			if tt.set.env != "" {
				te.vars[EnvAPIKey] = tt.set.env
			}
			if tt.set.secret != "" {
				writeFile(t, filepath.Join(te.SecretsDir, EnvAPIKey), []byte(tt.set.secret+"\n"), 0o400)
			}
			cfg := "[plugin.auth]\n"
			if tt.set.config != "" {
				cfg += `api_key = "` + tt.set.config + "\"\n"
			}
			if tt.storage != "" {
				cfg += `preferred_token_storage = "` + tt.storage + "\"\n"
			}
			writeFile(t, te.configPath(t), []byte(cfg), 0o600)
			if tt.set.file != "" {
				doc := &keyringDoc{}
				if err := doc.put("h.example", &Entry{APIKey: tt.set.file}); err != nil {
					t.Fatal(err)
				}
				writeFile(t, te.keyringPath(t), doc.encode(), 0o600)
			}
			if tt.set.system != "" {
				te.keyring.items[[2]string{ServiceName, "h.example"}] = encodeEntry(&Entry{APIKey: tt.set.system}, "h.example")
			}

			e, src, err := Lookup(te.Env, "https://h.example")
			if tt.wantKey == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("want ErrNotFound, got %+v, %q, %v", e, src, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.APIKey != tt.wantKey || src != tt.wantSrc {
				t.Fatalf("got %q from %q, want %q from %q", e.APIKey, src, tt.wantKey, tt.wantSrc)
			}
			if e.Domain != "h.example" {
				t.Errorf("entry domain = %q, want h.example", e.Domain)
			}
		})
	}
}

func TestLookupWithoutAKeySaysHowToLogIn(t *testing.T) {
	te := newTestEnv(t)
	_, _, err := Lookup(te.Env, "HTTPS://Packages.Example.com:8443/repo/main")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	const want = "No API key found for packages.example.com:8443. Run: gatehouse login --at packages.example.com:8443"
	if err.Error() != want {
		t.Fatalf("message = %q\nwant      %q", err.Error(), want)
	}
}

func TestLookupAcceptsLowerCaseVariablesAndTrimsThem(t *testing.T) {
	// pydantic-settings matches variable names without regard to case.
	te := newTestEnv(t)
	te.vars["anaconda_auth_api_key"] = "  k-lower \n"
	e, src, err := Lookup(te.Env, "h")
	if err != nil || e.APIKey != "k-lower" || src != SourceEnv {
		t.Fatalf("got %+v, %q, %v", e, src, err)
	}
}

func TestKeyringFileCopiedToAnotherHomeStillWorks(t *testing.T) {
	// The seed's scp step: log in on one machine, copy ~/.anaconda/keyring
	// to another user's home, and the key is found there.
	first := newTestEnv(t)
	if err := Save(first.Env, &Entry{Domain: "gh.example:8443", APIKey: "gk-copied", Username: "ada"}); err != nil {
		t.Fatal(err)
	}
	second := newTestEnv(t)
	writeFile(t, second.keyringPath(t), readFile(t, first.keyringPath(t)), 0o600)

	e, src, err := Lookup(second.Env, "https://gh.example:8443")
	if err != nil {
		t.Fatal(err)
	}
	if e.APIKey != "gk-copied" || e.Username != "ada" || src != SourceFile || e.Version != 2 {
		t.Fatalf("got %+v from %q", e, src)
	}
}

func TestKeyringPathOverride(t *testing.T) {
	te := newTestEnv(t)
	dir := t.TempDir()
	te.vars[EnvKeyringPath] = "$ALT/sub/keyring"
	te.vars["ALT"] = dir
	if err := Save(te.Env, &Entry{Domain: "h", APIKey: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "keyring")); err != nil {
		t.Fatalf("the override was not used: %v", err)
	}
	if _, err := os.Stat(filepath.Join(te.HomeDir, ".anaconda", "keyring")); !os.IsNotExist(err) {
		t.Fatalf("the default path was written too: %v", err)
	}
}

func TestDeleteReportsAMissingEntry(t *testing.T) {
	for _, storage := range []string{StorageFile, StorageSystem} {
		t.Run("with preferred_token_storage "+storage, func(t *testing.T) {
			te := newTestEnv(t)
			te.vars[EnvPreferredTokenStorage] = storage
			if err := Save(te.Env, &Entry{Domain: "h", APIKey: "k"}); err != nil {
				t.Fatal(err)
			}
			if err := Delete(te.Env, "https://h/"); err != nil {
				t.Fatal(err)
			}
			if err := Delete(te.Env, "h"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second delete: want ErrNotFound, got %v", err)
			}
			if _, _, err := Lookup(te.Env, "h"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("lookup after delete: want ErrNotFound, got %v", err)
			}
		})
	}
}

func TestSystemKeyringStoresTheSameValueAsTheFile(t *testing.T) {
	te := newTestEnv(t)
	te.vars[EnvPreferredTokenStorage] = StorageSystem
	e := &Entry{Domain: "localhost:8443", APIKey: "gk-NEWkey123", Username: "grace"}
	if err := Save(te.Env, e); err != nil {
		t.Fatal(err)
	}
	// The value is what anaconda-auth stores: the golden file's entry.
	doc, err := parseKeyringFile(golden(t, "fresh.json"))
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := doc.service()
	raw, _ := svc.get("localhost:8443")
	if got, want := `"`+te.keyring.items[[2]string{ServiceName, "localhost:8443"}]+`"`, string(raw); got != want {
		t.Fatalf("system keyring value %s, want %s", got, want)
	}
	if _, err := os.Stat(te.keyringPath(t)); !os.IsNotExist(err) {
		t.Fatalf("the keyring file was written although the system keyring is preferred: %v", err)
	}
}

func TestSystemKeyringUnavailableSaysWhatToSet(t *testing.T) {
	te := newTestEnv(t)
	te.vars[EnvPreferredTokenStorage] = StorageSystem
	te.keyring.err = errors.New("The name org.freedesktop.secrets was not provided by any .service files")

	for name, call := range map[string]func() error{
		"Lookup": func() error { _, _, err := Lookup(te.Env, "h"); return err },
		"Save":   func() error { return Save(te.Env, &Entry{Domain: "h", APIKey: "k"}) },
		"Delete": func() error { return Delete(te.Env, "h") },
	} {
		t.Run(name+" explains the missing keyring", func(t *testing.T) {
			err := call()
			if !errors.Is(err, ErrKeyringUnavailable) {
				t.Fatalf("want ErrKeyringUnavailable, got %v", err)
			}
			for _, want := range []string{`preferred_token_storage = "anaconda-keyring"`, "org.freedesktop.secrets", te.configPath(t)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message does not mention %q: %v", want, err)
				}
			}
		})
	}
}

// The default OSKeyring goes through go-keyring; its mock provider stands
// in for the OS here (MockInit swaps a package-level provider, so these
// tests do not run in parallel).
func TestDefaultOSKeyringThroughGoKeyringMock(t *testing.T) {
	gokeyring.MockInit()
	te := newTestEnv(t)
	te.OSKeyring = nil
	te.vars[EnvPreferredTokenStorage] = StorageSystem

	if _, _, err := Lookup(te.Env, "h.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty keyring: want ErrNotFound, got %v", err)
	}
	if err := Save(te.Env, &Entry{Domain: "h.example", APIKey: "gk-mock"}); err != nil {
		t.Fatal(err)
	}
	v, err := gokeyring.Get(ServiceName, "h.example")
	if err != nil {
		t.Fatal(err)
	}
	if e, err := decodeEntry(v); err != nil || e.APIKey != "gk-mock" || e.Version != 2 {
		t.Fatalf("stored %q: %+v, %v", v, e, err)
	}
	e, src, err := Lookup(te.Env, "https://h.example")
	if err != nil || e.APIKey != "gk-mock" || src != SourceSystem {
		t.Fatalf("got %+v, %q, %v", e, src, err)
	}
	if err := Delete(te.Env, "h.example"); err != nil {
		t.Fatal(err)
	}
	if err := Delete(te.Env, "h.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: want ErrNotFound, got %v", err)
	}

	gokeyring.MockInitWithError(errors.New("no dbus session bus"))
	t.Cleanup(gokeyring.MockInit)
	if _, _, err := Lookup(te.Env, "h.example"); !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("failing keyring: want ErrKeyringUnavailable, got %v", err)
	}
}

func TestAnEmptyDomainMeansTheConfiguredOne(t *testing.T) {
	te := newTestEnv(t)
	if _, _, err := Lookup(te.Env, ""); err == nil || !strings.Contains(err.Error(), "--at HOST") {
		t.Fatalf("with no domain anywhere: want a hint, got %v", err)
	}
	te.vars[EnvDomain] = "https://Conf.Example"
	if err := Save(te.Env, &Entry{APIKey: "gk-conf"}); err != nil {
		t.Fatal(err)
	}
	e, _, err := Lookup(te.Env, "conf.example")
	if err != nil || e.APIKey != "gk-conf" || e.Domain != "conf.example" {
		t.Fatalf("got %+v, %v", e, err)
	}
	if e, _, err := Lookup(te.Env, " "); err != nil || e.APIKey != "gk-conf" {
		t.Fatalf("got %+v, %v", e, err)
	}
	if err := Delete(te.Env, ""); err != nil {
		t.Fatal(err)
	}
}

func TestSaveRefusesAnUnknownVersion(t *testing.T) {
	te := newTestEnv(t)
	if err := Save(te.Env, &Entry{Domain: "h", APIKey: "k", Version: 3}); err == nil {
		t.Fatal("want an error")
	}
}
