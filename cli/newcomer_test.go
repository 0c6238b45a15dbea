package cli_test

// Issue 11: what a first-time user of the CLI tripped over, each against a
// real server.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credstore"
)

func TestAdministratorsLogInWithTheAdministrationScope(t *testing.T) {
	h := newHarness(t)
	h.srv.User("root", true)
	h.browser = h.approveIn("root", true)
	at := []string{"--at", h.host()}

	out := h.ok(append([]string{"login"}, at...)...)
	if !strings.Contains(out, "gatehouse login --admin --force --at "+h.host()) {
		t.Fatalf("an administrator's login does not say how to get the Administration scope:\n%s", out)
	}
	_, errOut, code := h.run(append([]string{"admin", "network", "list"}, at...)...)
	if code == 0 || !strings.Contains(errOut, "Administration scope") || !strings.Contains(errOut, "gatehouse login --admin --force --at "+h.host()) {
		t.Fatalf("admin without the scope: exit %d, stderr:\n%s", code, errOut)
	}

	// The README's way: log in with --admin, then the admin commands work.
	out, errOut, code = h.run(append([]string{"login", "--admin"}, at...)...)
	if code != 0 || !strings.Contains(out, "(user, channels, admin)") || !strings.Contains(errOut, "no Administration scope") {
		t.Fatalf("login --admin: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	h.ok("admin", "network", "add", "10.9.0.0/16", "--note", "lab")
	if out := h.ok("admin", "network", "list"); !strings.Contains(out, "10.9.0.0/16") {
		t.Fatalf("network list:\n%s", out)
	}
	if out := h.ok(append([]string{"login", "--admin"}, at...)...); !strings.Contains(out, "Already logged in") {
		t.Fatalf("a second login --admin with a working admin key logged in again:\n%s", out)
	}

	t.Run("a person who is not an administrator is told --admin is not for them", func(t *testing.T) {
		h := newHarness(t)
		h.srv.User("alice", false)
		h.browser = h.approveIn("alice", true)
		out, errOut, code := h.run("login", "--admin", "--at", h.host())
		if code == 0 || !strings.Contains(errOut, "Only administrators can log in with --admin") {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
		if h.stored(h.host()) != "" {
			t.Fatal("a key was stored")
		}
	})
}

func TestChannelCreateIsPrivateUnlessPublic(t *testing.T) {
	h := newHarness(t)
	h.login("alice", false)
	at := []string{"--at", h.host()}
	ch := decode[client.Channel](t, h.ok(append([]string{"channel", "create", "quiet", "--json"}, at...)...))
	if ch.Visibility != "private" {
		t.Fatalf("a channel created with no flag is %s", ch.Visibility)
	}
	ch = decode[client.Channel](t, h.ok(append([]string{"channel", "create", "open", "--public", "--json"}, at...)...))
	if ch.Visibility != "public" {
		t.Fatalf("--public made a %s channel", ch.Visibility)
	}
	_, errOut, code := h.run(append([]string{"channel", "create", "both", "--public", "--private"}, at...)...)
	if code == 0 || !strings.Contains(errOut, "--public") {
		t.Fatalf("--public with --private: exit %d, %s", code, errOut)
	}
}

func TestLoginAcceptsTheChannelURLTheChannelPageShows(t *testing.T) {
	h := newHarness(t)
	h.srv.User("alice", false)
	h.browser = h.approveIn("alice", true)
	out, errOut, code := h.run("login", "--at", h.host()+"/repo/lab")
	if code != 0 || !strings.Contains(out, "Logged in to "+h.host()+" as alice") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if h.stored(h.host()) == "" {
		t.Fatal("the key was not stored for the channel URL's server")
	}
	if out := h.ok("whoami", "--at", h.srv.URL+"/repo/lab/linux-64/repodata.json"); !strings.Contains(out, "as alice") {
		t.Fatalf("whoami with a channel URL:\n%s", out)
	}
}

func TestLoginSaysWhatIsWrongWithTheAddress(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<h1>Not Found</h1>")
	}))
	defer other.Close()
	oidc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"issuer":"x","authorization_endpoint":"http://x/protocol/openid-connect/auth","token_endpoint":"http://x/protocol/openid-connect/token"}`)
	}))
	defer oidc.Close()
	h := newHarness(t)
	h.srv.User("alice", false)
	h.browser = h.approveIn("alice", true)
	cases := []struct {
		name, at string
		want     []string
	}{
		{"another web server is not a Gatehouse server", other.URL,
			[]string{"is not a Gatehouse server", "404 Not Found", "Check the address"}},
		{"another OpenID provider is not a Gatehouse server either", oidc.URL,
			[]string{"is not a Gatehouse server", "another kind of OpenID provider"}},
		{"a closed port: nothing is listening", closedAddr(t),
			[]string{"Nothing is listening at"}},
		{"https against a plain-HTTP server suggests http://", "https://" + h.host(),
			[]string{"answers plain HTTP, not HTTPS: use --at http://" + h.host()}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := h.run("login", "--at", c.at)
			if code != 1 {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(errOut, "Account Settings") || strings.Contains(errOut, "tls:") && !strings.Contains(errOut, "plain HTTP") {
				t.Errorf("stderr:\n%s", errOut)
			}
		})
	}
}

func TestAuthAPIKeyChecksTheKeyWithTheServer(t *testing.T) {
	h := newHarness(t)
	key := h.login("alice", false)
	at := []string{"--at", h.host()}
	if out := h.ok(append([]string{"auth", "api-key"}, at...)...); out != key+"\n" {
		t.Fatalf("a working key: stdout %q", out)
	}
	h.ok(append([]string{"keys", "revoke", "cli-testhost", "--yes"}, at...)...)
	out, errOut, code := h.run(append([]string{"auth", "api-key"}, at...)...)
	if code != 2 || out != "" || !strings.Contains(errOut, "refused by the server, so it was not printed") || !strings.Contains(errOut, "gatehouse login --at "+h.host()) {
		t.Fatalf("a revoked key: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	t.Run("offline, the key is printed with a warning", func(t *testing.T) {
		offline := closedAddr(t)
		if err := credstore.Save(h.creds(), &credstore.Entry{Domain: offline, APIKey: key}); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := h.run("auth", "api-key", "--at", offline)
		if code != 0 || out != key+"\n" || !strings.Contains(errOut, "Warning: Cannot reach "+offline) || !strings.Contains(errOut, "not checked") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
}

func TestKeysRevokeAsksBeforeRevokingTheCLIsOwnKey(t *testing.T) {
	h := newHarness(t)
	h.login("alice", false)
	at := []string{"--at", h.host()}
	h.ok(append([]string{"keys", "create", "--name", "ci", "--expires", "7d"}, at...)...)

	// With no one to answer, it refuses and says how.
	out, errOut, code := h.run(append([]string{"keys", "revoke", "cli-testhost"}, at...)...)
	if code != 1 || !strings.Contains(errOut, "the key this CLI uses") || !strings.Contains(errOut, "--yes") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out := h.ok(append([]string{"whoami"}, at...)...); !strings.Contains(out, "as alice") {
		t.Fatal("the key was revoked without --yes")
	}
	// Other keys go without a question.
	if out := h.ok(append([]string{"keys", "revoke", "ci"}, at...)...); out != "Revoked key ci.\n" {
		t.Fatalf("stdout %q", out)
	}
	// Answering no keeps it; yes revokes it, with a warning.
	h.stdin = "n\n"
	if _, errOut, code := h.run(append([]string{"keys", "revoke", "cli-testhost"}, at...)...); code != 1 || !strings.Contains(errOut, "Revoke it? [y/N]") {
		t.Fatalf("answered no: exit %d, stderr %q", code, errOut)
	}
	h.stdin = "y\n"
	out, errOut, code = h.run(append([]string{"keys", "revoke", "cli-testhost"}, at...)...)
	if code != 0 || out != "Revoked key cli-testhost.\n" || !strings.Contains(errOut, "log in again: gatehouse login --at "+h.host()) {
		t.Fatalf("answered yes: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
