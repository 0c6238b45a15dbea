package cli_test

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/condabuild"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

func decode[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output is not the JSON expected: %v\n%s", err, out)
	}
	return v
}

func TestKeysCommandsCreateListAndRevoke(t *testing.T) {
	h := newHarness(t)
	h.login("alice", false)
	at := []string{"--at", h.host()}

	out, errOut, code := h.run(append([]string{"keys", "create", "--name", "ci", "--scopes", "channels", "--expires", "7d"}, at...)...)
	secret := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(secret, "gk-") || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, `Created key "ci"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q: want the key alone on stdout", code, out, errOut)
	}
	keys := decode[[]client.Key](t, h.ok(append([]string{"keys", "list", "--json"}, at...)...))
	if len(keys) != 2 || keys[0].Name != "ci" || strings.Join(keys[0].Scopes, ",") != "channels" {
		t.Fatalf("keys = %+v", keys)
	}
	if strings.Contains(h.ok(append([]string{"keys", "list"}, at...)...), secret) { // checklist A3
		t.Fatal("keys list shows a key")
	}
	created := decode[client.CreatedKey](t, h.ok(append([]string{"keys", "create", "--name", "ci2", "--expires", "2d", "--json"}, at...)...))
	if created.Secret == "" || created.ID == 0 {
		t.Fatalf("created = %+v", created)
	}
	t.Run("revoke takes an ID or a name", func(t *testing.T) {
		h.ok(append([]string{"keys", "revoke", "ci"}, at...)...)
		h.ok(append([]string{"keys", "revoke", itoa(created.ID)}, at...)...)
		keys := decode[[]client.Key](t, h.ok(append([]string{"keys", "list", "--json"}, at...)...))
		if len(keys) != 1 || keys[0].Name != "cli-testhost" {
			t.Fatalf("active keys = %+v", keys)
		}
		all := decode[[]client.Key](t, h.ok(append([]string{"keys", "list", "--all", "--json"}, at...)...))
		if len(all) != 3 {
			t.Fatalf("all keys = %+v", all)
		}
	})
	t.Run("revoking an unknown name fails with a sentence", func(t *testing.T) {
		_, errOut, code := h.run(append([]string{"keys", "revoke", "nope"}, at...)...)
		if code != 1 || !strings.Contains(errOut, `You have no active key named "nope"`) {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("an expiry beyond a year is refused before any request", func(t *testing.T) {
		_, errOut, code := h.run(append([]string{"keys", "create", "--name", "x", "--expires", "400d"}, at...)...)
		if code != 1 || !strings.Contains(errOut, "at most one year") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestChannelCommands(t *testing.T) {
	h := newHarness(t)
	h.login("alice", false)
	h.srv.User("bob", false)
	at := []string{"--at", h.host()}

	ch := decode[client.Channel](t, h.ok(append([]string{"channel", "create", "lab", "--private", "--json"}, at...)...))
	if ch.Name != "lab" || ch.Visibility != "private" || ch.URL != h.srv.URL+"/repo/lab" {
		t.Fatalf("channel = %+v", ch)
	}
	if out := h.ok(append([]string{"channel", "grant", "lab", "bob", "--role", "write"}, at...)...); out != "bob now has write access to lab.\n" {
		t.Fatalf("grant: %q", out)
	}
	list := decode[[]client.Channel](t, h.ok(append([]string{"channel", "list", "--json"}, at...)...))
	found := false
	for _, c := range list {
		found = found || c.Name == "lab"
	}
	if !found {
		t.Fatalf("list = %+v", list)
	}
	table := h.ok(append([]string{"channel", "list"}, at...)...)
	if !strings.HasPrefix(table, "NAME") || !strings.Contains(table, "lab") || !strings.Contains(table, "private") {
		t.Fatalf("table:\n%s", table)
	}
	show := decode[struct {
		Name    string                 `json:"name"`
		Members []client.ChannelMember `json:"members"`
	}](t, h.ok(append([]string{"channel", "show", "lab", "--json"}, at...)...))
	if show.Name != "lab" || len(show.Members) != 1 || show.Members[0].Username != "bob" {
		t.Fatalf("show = %+v", show)
	}
	t.Run("a refusal is the server's sentence with exit 1", func(t *testing.T) {
		_, errOut, code := h.run(append([]string{"channel", "create", "Bad Name"}, at...)...)
		if code != 1 || !strings.HasPrefix(errOut, "Channel names are") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

type uploadResult struct {
	File    string          `json:"file"`
	OK      bool            `json:"ok"`
	Package *client.Package `json:"package"`
	Status  int             `json:"status"`
	Error   string          `json:"error"`
}

func TestUploadReportsEveryFileAndGoesOnAfterAFailure(t *testing.T) {
	h := newHarness(t)
	h.login("alice", false)
	at := []string{"--at", h.host()}
	h.ok(append([]string{"channel", "create", "lab"}, at...)...)
	a := clienttest.Fixture(t, "noarch/gh-data-1.0.0-0.conda")
	b := clienttest.Fixture(t, "linux-64/gh-app-0.3.0-h1a2b3c4_1.tar.bz2")
	missing := filepath.Join(t.TempDir(), "nope-1.0-0.conda")

	out, errOut, code := h.run(append([]string{"upload", a, missing, b, "--channel", "lab", "--json"}, at...)...)
	if code != 1 || !strings.Contains(errOut, "1 of 3 files failed.") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	results := decode[[]uploadResult](t, out)
	if len(results) != 3 || !results[0].OK || results[1].OK || !results[2].OK {
		t.Fatalf("results = %+v", results)
	}
	if results[1].Error != missing+" does not exist." || results[2].Package.Subdir != "linux-64" {
		t.Fatalf("results = %+v", results)
	}

	t.Run("the identical file again exits 0 with a sentence, so a CI rerun passes", func(t *testing.T) {
		out, errOut, code := h.run(append([]string{"upload", a, "--channel", "lab"}, at...)...)
		if code != 0 || out != "noarch/gh-data-1.0.0-0.conda is already in lab with the same content. Nothing to do.\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		results := decode[[]uploadResult](t, h.ok(append([]string{"upload", a, "--channel", "lab", "--json"}, at...)...))
		if len(results) != 1 || !results[0].OK || results[0].Package == nil || results[0].Package.Filename != "gh-data-1.0.0-0.conda" {
			t.Fatalf("results = %+v", results)
		}
	})
	t.Run("a different file of the same name still fails, and --replace overwrites", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "gh-data-1.0.0-0.conda")
		f, err := os.Create(other)
		if err != nil {
			t.Fatal(err)
		}
		body := "other content\n"
		meta := condabuild.Meta{Name: "gh-data", Version: "1.0.0", Build: "0", Subdir: "noarch", Timestamp: time.Unix(1700000000, 0)}
		if err := condabuild.Build(f, meta, []condabuild.File{{Path: "share/gh-data.txt", Mode: 0o644, Size: int64(len(body)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }}}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		_, errOut, code := h.run(append([]string{"upload", other, "--channel", "lab"}, at...)...)
		if code != 1 || !strings.Contains(errOut, "Failed "+other+": noarch/gh-data-1.0.0-0.conda is already in this channel with different content") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		out := h.ok(append([]string{"upload", other, "--channel", "lab", "--replace"}, at...)...)
		if !strings.HasPrefix(out, "Uploaded noarch/gh-data-1.0.0-0.conda to lab") {
			t.Fatalf("stdout %q", out)
		}
	})
	t.Run("without --channel it says so", func(t *testing.T) {
		_, errOut, code := h.run(append([]string{"upload", a}, at...)...)
		if code != 1 || !strings.Contains(errOut, "--channel NAME") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

func TestAdminCommandsManageNetworksAndListClients(t *testing.T) {
	h := newHarness(t)
	h.login("root", true)
	at := []string{"--at", h.host()}
	rule := decode[client.NetworkRule](t, h.ok(append([]string{"admin", "network", "add", "10.0.0.0/8", "--note", "office", "--json"}, at...)...))
	if rule.CIDR != "10.0.0.0/8" || rule.Note != "office" {
		t.Fatalf("rule = %+v", rule)
	}
	rules := decode[client.NetworkRules](t, h.ok(append([]string{"admin", "network", "list", "--json"}, at...)...))
	if len(rules.Rules) != 1 || rules.Rules[0].ID != rule.ID {
		t.Fatalf("rules = %+v", rules)
	}
	if out := h.ok(append([]string{"admin", "network", "list"}, at...)...); !strings.Contains(out, "10.0.0.0/8") || !strings.Contains(out, "Always open: gatehouse-tools") {
		t.Fatalf("table:\n%s", out)
	}
	h.ok(append([]string{"admin", "network", "remove", "10.0.0.0/8"}, at...)...)
	rules = decode[client.NetworkRules](t, h.ok(append([]string{"admin", "network", "list", "--json"}, at...)...))
	if len(rules.Rules) != 0 {
		t.Fatalf("after remove: %+v", rules)
	}
	clients := decode[[]client.RegisteredClient](t, h.ok(append([]string{"admin", "clients", "--json"}, at...)...))
	if clients == nil {
		t.Fatal("clients is null, want a list")
	}
	t.Run("a user who is not an administrator is refused", func(t *testing.T) {
		h2 := newHarness(t)
		h2.login("alice", false)
		_, errOut, code := h2.run("admin", "network", "list", "--at", h2.host())
		if code != 1 || errOut == "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
