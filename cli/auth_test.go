package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credstore"
)

func TestAuthAPIKeyPrintsExactlyTheKeyAndANewline(t *testing.T) {
	h := newHarness(t)
	key := h.login("alice", false)
	out, errOut, code := h.run("auth", "api-key", "--at", h.host())
	if code != 0 || out != key+"\n" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exactly the key", code, out, errOut)
	}
	t.Run("the configured domain is the default server", func(t *testing.T) {
		h.vars[credstore.EnvDomain] = h.host()
		defer delete(h.vars, credstore.EnvDomain)
		if out := h.ok("auth", "api-key"); out != key+"\n" {
			t.Fatalf("stdout %q", out)
		}
	})
	t.Run("a URL for --at finds the same key", func(t *testing.T) {
		if out := h.ok("auth", "api-key", "--at", h.srv.URL+"/some/path"); out != key+"\n" {
			t.Fatalf("stdout %q", out)
		}
	})
}

func TestWithNoKeyTheCommandsSayHowToLogInAndExit2(t *testing.T) {
	h := newHarness(t)
	want := "No API key found for " + h.host() + ". Run: gatehouse login --at " + h.host() + "\n"
	for _, args := range [][]string{
		{"auth", "api-key", "--at", h.host()},
		{"whoami", "--at", h.host()},
		{"auth", "whoami", "--at", h.host()},
		{"keys", "list", "--at", h.host()},
		{"channel", "list", "--at", h.host()},
	} {
		t.Run(strings.Join(args[:len(args)-2], " "), func(t *testing.T) {
			out, errOut, code := h.run(args...)
			if code != 2 || out != "" || errOut != want {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errOut, want)
			}
		})
	}
	t.Run("without --at or a configured domain it says how to name the server", func(t *testing.T) {
		_, errOut, code := h.run("auth", "api-key")
		if code != 1 || !strings.Contains(errOut, "No server given: use --at HOST") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

// The lookup order is anaconda-auth's: environment variable, Docker secret,
// config file, keyring.
func TestKeysAreFoundInTheEnvironmentThenSecretsThenTheKeyring(t *testing.T) {
	h := newHarness(t)
	fileKey := h.login("alice", false)
	h.srv.User("bob", false)
	h.srv.User("carol", false)
	secretKey, _ := h.srv.Key("bob", "secret", []string{"user", "channels"}, time.Hour)
	envKey, _ := h.srv.Key("carol", "env", []string{"user", "channels"}, time.Hour)

	check := func(t *testing.T, wantKey, wantUser, wantSource string) {
		t.Helper()
		if out := h.ok("auth", "api-key", "--at", h.host()); out != wantKey+"\n" {
			t.Fatalf("api-key printed %q, want %q", out, wantKey)
		}
		var who struct {
			User   client.User `json:"user"`
			Source string      `json:"source"`
		}
		if err := json.Unmarshal([]byte(h.ok("whoami", "--at", h.host(), "--json")), &who); err != nil {
			t.Fatal(err)
		}
		if who.User.Username != wantUser || who.Source != wantSource {
			t.Fatalf("whoami: user %q from %q, want %q from %q", who.User.Username, who.Source, wantUser, wantSource)
		}
	}
	t.Run("the keyring file alone", func(t *testing.T) { check(t, fileKey, "alice", "anaconda-keyring") })
	if err := os.WriteFile(filepath.Join(h.secrets, credstore.EnvAPIKey), []byte(secretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("a Docker secret wins over the keyring", func(t *testing.T) { check(t, secretKey, "bob", "secret") })
	h.vars[credstore.EnvAPIKey] = envKey
	t.Run("the environment variable wins over both", func(t *testing.T) { check(t, envKey, "carol", "env") })
}

func TestWhoamiShowsTheUserTheKeyAndWhereItCameFrom(t *testing.T) {
	h := newHarness(t)
	h.login("alice", false)
	out := h.ok("whoami", "--at", h.host())
	for _, want := range []string{
		"Logged in to " + h.host() + " as alice.",
		"Key:       cli-testhost (gk-",
		"Scopes:    user, channels",
		"Expires:   " + h.srv.Clock.Now().Add(30*24*time.Hour).UTC().Format(time.DateOnly) + " (in 30 days)",
		"Key from:  the keyring file " + filepath.Join(h.home, ".anaconda", "keyring"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("whoami output lacks %q:\n%s", want, out)
		}
	}
}

func TestWhoamiOnAnExpiredOrRevokedKeyGivesTheServersSentenceAndExits2(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		h := newHarness(t)
		h.login("alice", false)
		h.srv.Clock.Advance(31 * 24 * time.Hour)
		out, errOut, code := h.run("whoami", "--at", h.host())
		if code != 2 || out != "" || !strings.Contains(errOut, "expired on") || !strings.Contains(errOut, "Run: gatehouse login --at "+h.host()) {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		h := newHarness(t)
		key := h.login("alice", false)
		c, _ := client.New(h.srv.URL, key)
		a, err := c.Account(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.RevokeKey(ctx, a.Key.ID); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := h.run("whoami", "--at", h.host())
		if code != 2 || !strings.Contains(errOut, "was revoked on") || strings.Contains(errOut, key) {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("a refused key from the environment says to fix the variable", func(t *testing.T) {
		h := newHarness(t)
		h.vars[credstore.EnvAPIKey] = "gk-notarealkeynotarealkeynotarealkeynotarealkey00"
		_, errOut, code := h.run("whoami", "--at", h.host())
		if code != 2 || !strings.Contains(errOut, "The key comes from ANACONDA_AUTH_API_KEY") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

// checklist D7: the server revokes first, then the key is erased here.
func TestLogoutRevokesOnTheServerThenRemovesTheKeyLocally(t *testing.T) {
	h := newHarness(t)
	key := h.login("alice", false)
	out := h.ok("logout", "--at", h.host())
	if !strings.Contains(out, `key "cli-testhost" revoked on the server`) {
		t.Fatalf("stdout %q", out)
	}
	if h.stored(h.host()) != "" {
		t.Fatal("the key is still stored")
	}
	c, _ := client.New(h.srv.URL, key)
	if _, err := c.Account(ctx); !client.IsStatus(err, 401) {
		t.Fatalf("the key still works on the server: %v", err)
	}
	t.Run("logging out again says there is nothing to do", func(t *testing.T) {
		_, errOut, code := h.run("logout", "--at", h.host())
		if code != 0 || !strings.Contains(errOut, "Not logged in to "+h.host()) {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestLogoutFromAnUnreachableServerRemovesTheKeyAndWarns(t *testing.T) {
	h := newHarness(t)
	offline := closedAddr(t)
	if err := credstore.Save(h.creds(), &credstore.Entry{Domain: offline, APIKey: "gk-offlinekeyofflinekeyofflinekeyofflinekey0000"}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := h.run("logout", "--at", offline)
	if code != 0 || h.stored(offline) != "" {
		t.Fatalf("exit %d, key still stored: %q", code, h.stored(offline))
	}
	if !strings.Contains(errOut, "Warning: Cannot reach "+offline) || !strings.Contains(errOut, "NOT revoked on the server") || !strings.Contains(out, "removed from") {
		t.Fatalf("stdout %q\nstderr %q", out, errOut)
	}
	if strings.Contains(errOut+out, "gk-offline") {
		t.Fatal("the key was printed")
	}
}

func TestLogoutCannotRemoveAKeyFromTheEnvironmentAndSaysSo(t *testing.T) {
	h := newHarness(t)
	h.srv.User("alice", false)
	key, _ := h.srv.Key("alice", "env", []string{"user"}, time.Hour)
	h.vars[credstore.EnvAPIKey] = key
	_, errOut, code := h.run("logout", "--at", h.host())
	if code != 1 || !strings.Contains(errOut, "comes from the environment variable ANACONDA_AUTH_API_KEY, which gatehouse cannot remove") ||
		!strings.Contains(errOut, "unset ANACONDA_AUTH_API_KEY") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	c, _ := client.New(h.srv.URL, key)
	if _, err := c.Account(ctx); err != nil {
		t.Fatalf("the environment's key was revoked: %v", err)
	}
}
