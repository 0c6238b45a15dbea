package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The exact bytes each client expects, as read in their source (see
// credfiles.go): rattler compact with sorted keys, mamba indented by four,
// conda the token alone without a newline.
func TestRegisterWritesTheFormatsTheClientsRead(t *testing.T) {
	h := newHarness(t)
	key := h.login("alice", false)
	port := h.host()[strings.LastIndex(h.host(), ":")+1:]
	out := h.ok("register", "--at", h.host())

	rattler := ".rattler/credentials.json"
	mamba := ".mamba/auth/authentication.json"
	conda := ".config/binstar/http%3A%2F%2F127.0.0.1%3A" + port + "%2Frepo%2F.token"
	want := map[string]string{
		rattler: `{"127.0.0.1":{"BearerToken":"` + key + `"}}` + "\n",
		mamba:   "{\n    \"127.0.0.1:" + port + "\": {\n        \"token\": \"" + key + "\",\n        \"type\": \"BearerToken\"\n    }\n}\n",
		conda:   key,
	}
	for rel, content := range want {
		if got := h.read(rel); got != content {
			t.Errorf("%s =\n%q\nwant\n%q", rel, got, content)
		}
		if fi, err := os.Stat(h.path(rel)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, %v; want 0600", rel, fi.Mode().Perm(), err)
		}
		if !strings.Contains(out, "~/"+rel+": added") {
			t.Errorf("the output does not name %s:\n%s", rel, out)
		}
	}
	if strings.Contains(out, key) {
		t.Error("register printed the key")
	}

	t.Run("a second run changes nothing and says so", func(t *testing.T) {
		out := h.ok("register", "--at", h.host())
		if out != "Nothing changed: conda, mamba and rattler/pixi were already set up for "+h.host()+".\n" {
			t.Fatalf("stdout %q", out)
		}
		for rel, content := range want {
			if h.read(rel) != content {
				t.Errorf("%s changed", rel)
			}
		}
	})
	t.Run("--remove takes it all out and a second --remove changes nothing", func(t *testing.T) {
		out := h.ok("register", "--remove", "--at", h.host())
		for rel := range want {
			if h.exists(rel) {
				t.Errorf("%s still exists", rel)
			}
			if !strings.Contains(out, "~/"+rel+": removed") {
				t.Errorf("the output does not name %s:\n%s", rel, out)
			}
		}
		if out := h.ok("register", "--remove", "--at", h.host()); !strings.HasPrefix(out, "Nothing changed") {
			t.Fatalf("stdout %q", out)
		}
	})
}

func TestRegisterKeepsEveryOtherEntryAndRemoveRestoresThem(t *testing.T) {
	h := newHarness(t)
	key := h.login("alice", false)
	rattler := ".rattler/credentials.json"
	mamba := ".mamba/auth/authentication.json"
	foreignToken := ".config/binstar/https%3A%2F%2Fapi.anaconda.org.token"
	before := map[string]string{
		rattler: `{
  "*.prefix.dev": {"BearerToken": "pfx"},
  "artifactory.example.com": {"BasicHTTP": {"username": "u", "password": "p"}},
  "s3://bucket": {"S3Credentials": {"access_key_id": "a", "secret_access_key": "s", "session_token": null}}
}`,
		mamba:        `{"conda.anaconda.org": {"type": "CondaToken", "token": "abc"}, "other:8443/ch": {"type": "BasicHTTPAuthentication", "user": "u", "password": "cA=="}}`,
		foreignToken: "anaconda-org-token",
	}
	for rel, content := range before {
		h.write(rel, content)
	}
	h.ok("register", "--at", h.host())
	for _, rel := range []string{rattler, mamba} {
		var m map[string]any
		if err := json.Unmarshal([]byte(h.read(rel)), &m); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		var orig map[string]any
		json.Unmarshal([]byte(before[rel]), &orig)
		for k, v := range orig {
			if !reflect.DeepEqual(m[k], v) {
				t.Errorf("%s: entry %q = %v, want %v", rel, k, m[k], v)
			}
		}
		if len(m) != len(orig)+1 {
			t.Errorf("%s has %d entries, want %d", rel, len(m), len(orig)+1)
		}
	}
	if !strings.Contains(h.read(rattler), key) || !strings.Contains(h.read(mamba), key) {
		t.Fatal("the key was not added")
	}

	h.ok("register", "--remove", "--at", h.host())
	for rel, content := range before {
		var got, orig any
		if err := json.Unmarshal([]byte(h.read(rel)), &got); err != nil && rel != foreignToken {
			t.Fatalf("%s: %v", rel, err)
		}
		json.Unmarshal([]byte(content), &orig)
		if rel == foreignToken {
			if h.read(rel) != content {
				t.Errorf("the foreign token file changed: %q", h.read(rel))
			}
			continue
		}
		if !reflect.DeepEqual(got, orig) {
			t.Errorf("%s after --remove =\n%s\nwant the original\n%s", rel, h.read(rel), content)
		}
	}
}

func TestRegisterLeavesAnotherCredentialForTheSameHostAlone(t *testing.T) {
	h := newHarness(t)
	h.login("alice", false)
	theirs := `{"127.0.0.1":{"BasicHTTP":{"username":"me","password":"mine"}}}`
	h.write(".rattler/credentials.json", theirs)
	out, errOut, code := h.run("register", "--at", h.host())
	if code != 0 || !strings.Contains(errOut, "Warning: ~/.rattler/credentials.json: it already holds other credentials for 127.0.0.1") {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if h.read(".rattler/credentials.json") != theirs {
		t.Fatal("the foreign credential was changed")
	}
	h.ok("register", "--remove", "--at", h.host())
	if h.read(".rattler/credentials.json") != theirs {
		t.Fatal("--remove touched the foreign credential")
	}
}

func TestRegisterFollowsTheClientsEnvironmentVariables(t *testing.T) {
	h := newHarness(t)
	key := h.login("alice", false)
	dir := t.TempDir()
	h.vars["RATTLER_AUTH_FILE"] = filepath.Join(dir, "rattler.json")
	h.vars["BINSTAR_CONFIG_DIR"] = filepath.Join(dir, "binstar")
	h.ok("register", "--at", h.host())
	if b, err := os.ReadFile(filepath.Join(dir, "rattler.json")); err != nil || !strings.Contains(string(b), key) {
		t.Fatalf("RATTLER_AUTH_FILE: %s, %v", b, err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "binstar", "data", "*.token"))
	if len(matches) != 1 {
		t.Fatalf("BINSTAR_CONFIG_DIR/data holds %v", matches)
	}
	if h.exists(".rattler") || h.exists(".config/binstar") {
		t.Fatal("the default locations were written too")
	}
	t.Run("XDG_CONFIG_HOME moves conda's token directory", func(t *testing.T) {
		delete(h.vars, "BINSTAR_CONFIG_DIR")
		h.vars["XDG_CONFIG_HOME"] = filepath.Join(dir, "xdg")
		h.ok("register", "--at", h.host())
		matches, _ := filepath.Glob(filepath.Join(dir, "xdg", "binstar", "*.token"))
		if len(matches) != 1 {
			t.Fatalf("XDG_CONFIG_HOME/binstar holds %v", matches)
		}
	})
}

func TestLogoutAlsoRemovesTheRegisteredKey(t *testing.T) {
	h := newHarness(t)
	h.login("alice", false)
	h.write(".rattler/credentials.json", `{"other.example.com":{"BearerToken":"x"}}`)
	h.ok("register", "--at", h.host())
	out := h.ok("logout", "--at", h.host())
	if !strings.Contains(out, "~/.mamba/auth/authentication.json: removed") {
		t.Fatalf("stdout %q", out)
	}
	if got := h.read(".rattler/credentials.json"); got != `{"other.example.com":{"BearerToken":"x"}}`+"\n" {
		t.Fatalf("rattler file = %q", got)
	}
}
