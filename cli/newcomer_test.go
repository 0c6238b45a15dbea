package cli_test

// Issue 11: what a first-time user of the CLI tripped over, each against a
// real server.

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/client"
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
