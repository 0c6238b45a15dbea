package client_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
)

var ctx = context.Background()

// setup starts a server with an administrator "admin" and a user "alice",
// and returns clients holding an admin key and a user key.
func setup(t *testing.T) (s *clienttest.Server, admin, alice *client.Client) {
	t.Helper()
	s = clienttest.New(t)
	s.User("admin", true)
	s.User("alice", false)
	ak, _ := s.Key("admin", "admin-cli", []string{"user", "channels", "admin"}, 24*time.Hour)
	uk, _ := s.Key("alice", "alice-cli", []string{"user", "channels"}, 24*time.Hour)
	return s, newClient(t, s.URL, ak), newClient(t, s.URL, uk)
}

func newClient(t *testing.T, base, key string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(base, key, append([]client.Option{client.WithVersion("test")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAccountShowsTheUserTheKeyAndItsScopes(t *testing.T) {
	_, _, alice := setup(t)
	a, err := alice.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.User.Username != "alice" || a.AuthMethod != "key" || a.Key == nil || a.Key.Name != "alice-cli" {
		t.Fatalf("account = %+v", a)
	}
	if strings.Join(a.Key.Scopes, ",") != "user,channels" || a.Key.Status != "active" || a.Key.ExpiresAt.IsZero() {
		t.Fatalf("key = %+v", a.Key)
	}
}

func TestRefusalsComeBackAsTheServersSentence(t *testing.T) {
	s, _, alice := setup(t)
	const canary = "gk-CANARYCANARYCANARYCANARYCANARYCANARYCANARYCANARY"
	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
		reason string
	}{
		{"an unknown key is 401 with the INVALID reason and no echo of the key", func() error {
			_, err := newClient(t, s.URL, canary).Account(ctx)
			return err
		}, 401, "unauthorized", ""},
		{"a user asking for administration is 403", func() error {
			_, err := alice.NetworkRules(ctx)
			return err
		}, 403, "forbidden", ""},
		{"a channel that does not exist is 404", func() error {
			_, err := alice.Channel(ctx, "nope")
			return err
		}, 404, "not_found", ""},
		{"a bad channel name names the field", func() error {
			_, err := alice.CreateChannel(ctx, client.NewChannel{Name: "Bad Name"})
			return err
		}, 400, "invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %T %v, want *client.Error", err, err)
			}
			if e.Status != tt.status || e.Code != tt.code {
				t.Fatalf("got %d %q, want %d %q (%v)", e.Status, e.Code, tt.status, tt.code, e)
			}
			if e.Message == "" || err.Error() != e.Message || !strings.HasSuffix(e.Message, ".") {
				t.Fatalf("Error() = %q, want the server's sentence %q", err.Error(), e.Message)
			}
			if strings.Contains(err.Error(), "CANARY") { // checklist J1
				t.Fatalf("the error echoes the key: %q", err)
			}
			if tt.code == "invalid" && e.Field != "name" {
				t.Fatalf("field = %q, want name", e.Field)
			}
		})
	}
}

func TestKeysCanBeCreatedListedAndRevoked(t *testing.T) {
	s, _, alice := setup(t)
	created, err := alice.CreateKey(ctx, client.NewKey{Name: "ci", Scopes: []string{"channels"}, ExpiresAt: s.Clock.Now().Add(12 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Secret, "gk-") || created.Name != "ci" || created.ID == 0 {
		t.Fatalf("created = %+v", created)
	}
	keys, err := alice.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "ci" {
		t.Fatalf("keys = %+v", keys)
	}
	ci := newClient(t, s.URL, created.Secret)
	if _, err := ci.ListChannels(ctx); !client.IsStatus(err, http.StatusForbidden) {
		t.Fatalf("a channels-only key used the user API: %v", err)
	}

	t.Run("a key created again with the same name replaces the old one", func(t *testing.T) {
		again, err := alice.CreateKey(ctx, client.NewKey{Name: "ci", Scopes: []string{"channels"}, ExpiresAt: s.Clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if again.Replaced == nil || again.Replaced.ID != created.ID {
			t.Fatalf("replaced = %+v", again.Replaced)
		}
	})
	t.Run("a revoked key is refused with the revoked reason", func(t *testing.T) {
		if err := alice.RevokeKey(ctx, created.ID); err != nil {
			t.Fatal(err)
		}
		if err := alice.RevokeKey(ctx, created.ID); err != nil { // checklist A7: idempotent
			t.Fatalf("second revoke: %v", err)
		}
		_, err := ci.Account(ctx)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 401 || e.Reason != "API KEY REVOKED" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("an expiry past one year is refused naming expires_at", func(t *testing.T) {
		_, err := alice.CreateKey(ctx, client.NewKey{Name: "long", Scopes: []string{"user"}, ExpiresAt: s.Clock.Now().Add(400 * 24 * time.Hour)})
		var e *client.Error
		if !errors.As(err, &e) || e.Field != "expires_at" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("a key with no expiry is refused before anything is sent", func(t *testing.T) {
		if _, err := alice.CreateKey(ctx, client.NewKey{Name: "x", Scopes: []string{"user"}}); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestAnExpiredKeyIsRefusedWithTheExpiredReason(t *testing.T) {
	s, _, alice := setup(t)
	s.Clock.Advance(25 * time.Hour)
	_, err := alice.Account(ctx)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 401 || e.Reason != "API KEY EXPIRED" || !strings.Contains(e.Message, "expired on") {
		t.Fatalf("err = %#v", err)
	}
}

func TestChannelsCanBeCreatedListedShownAndShared(t *testing.T) {
	s, _, alice := setup(t)
	s.User("bob", false)
	ch, err := alice.CreateChannel(ctx, client.NewChannel{Name: "lab", Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name != "lab" || ch.Visibility != "private" || ch.Owner != "alice" || ch.URL != s.URL+"/repo/lab" || ch.Role != "admin" {
		t.Fatalf("channel = %+v", ch)
	}
	if err := alice.GrantChannel(ctx, "lab", "bob", "write"); err != nil {
		t.Fatal(err)
	}
	members, err := alice.ChannelMembers(ctx, "lab")
	if err != nil || len(members) != 1 || members[0].Username != "bob" || members[0].Role != "write" {
		t.Fatalf("members = %+v, %v", members, err)
	}
	got, err := alice.Channel(ctx, "lab")
	if err != nil || got.ID != ch.ID {
		t.Fatalf("get = %+v, %v", got, err)
	}
	list, err := alice.ListChannels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "lab") {
		t.Fatalf("list = %v", names)
	}
	if _, err := alice.SetChannelVisibility(ctx, "lab", "public"); err != nil {
		t.Fatal(err)
	}
	if err := alice.RevokeChannel(ctx, "lab", "bob"); err != nil {
		t.Fatal(err)
	}
}

func TestUploadStreamsThePackageAndReportsProgress(t *testing.T) {
	_, _, alice := setup(t)
	if _, err := alice.CreateChannel(ctx, client.NewChannel{Name: "lab"}); err != nil {
		t.Fatal(err)
	}
	path := clienttest.Fixture(t, "noarch/gh-data-1.0.0-0.conda")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var last, total int64
	upload := func(replace bool) (*client.Package, error) {
		last, total = 0, 0
		return alice.Upload(ctx, "lab", "/some/dir/gh-data-1.0.0-0.conda", bytes.NewReader(data), int64(len(data)),
			client.UploadOptions{Replace: replace, Progress: func(sent, t int64) { last, total = sent, t }})
	}
	pkg, err := upload(false)
	if err != nil {
		t.Fatal(err)
	}
	if pkg.Filename != "gh-data-1.0.0-0.conda" || pkg.Subdir != "noarch" || pkg.Size != int64(len(data)) || pkg.Channel != "lab" {
		t.Fatalf("package = %+v", pkg)
	}
	if last != int64(len(data)) || total != int64(len(data)) {
		t.Fatalf("progress ended at %d of %d, want %d", last, total, len(data))
	}

	t.Run("the same file again is a conflict", func(t *testing.T) {
		_, err := upload(false)
		if !client.IsStatus(err, http.StatusConflict) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("with replace it is accepted", func(t *testing.T) {
		if _, err := upload(true); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an upload of unknown size is sent chunked", func(t *testing.T) {
		_, err := alice.Upload(ctx, "lab", "gh-data-1.0.0-0.conda", bytes.NewReader(data), -1, client.UploadOptions{Replace: true})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the package is listed and can be deleted", func(t *testing.T) {
		pkgs, err := alice.ListPackages(ctx, "lab", "noarch")
		if err != nil || len(pkgs) != 1 || pkgs[0].SHA256 != pkg.SHA256 {
			t.Fatalf("packages = %+v, %v", pkgs, err)
		}
		if err := alice.DeletePackage(ctx, "lab", "noarch", pkg.Filename); err != nil {
			t.Fatal(err)
		}
		pkgs, _ = alice.ListPackages(ctx, "lab", "")
		if len(pkgs) != 0 {
			t.Fatalf("after delete: %+v", pkgs)
		}
	})
}

// checklist F13: a refused upload sends no body, thanks to 100-continue.
func TestARefusedUploadSendsNoBody(t *testing.T) {
	s, admin, _ := setup(t)
	s.User("bob", false)
	bk, _ := s.Key("bob", "bob", []string{"user", "channels"}, time.Hour)
	bob := newClient(t, s.URL, bk)
	if _, err := admin.CreateChannel(ctx, client.NewChannel{Name: "tools2", Visibility: "public"}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{0}, 8<<20)
	var sent atomic.Int64
	_, err := bob.Upload(ctx, "tools2", "x-1-0.conda", bytes.NewReader(big), int64(len(big)),
		client.UploadOptions{Progress: func(n, _ int64) { sent.Store(n) }})
	if !client.IsStatus(err, http.StatusForbidden) {
		t.Fatalf("err = %v", err)
	}
	if sent.Load() != 0 {
		t.Fatalf("%d bytes of a refused upload were sent", sent.Load())
	}
}

func TestAdministratorsManageNetworkRulesAndSeeClients(t *testing.T) {
	_, admin, _ := setup(t)
	rule, err := admin.AddNetworkRule(ctx, "10.0.0.0/8", "office")
	if err != nil {
		t.Fatal(err)
	}
	if rule.CIDR != "10.0.0.0/8" || rule.Note != "office" || rule.CreatedBy != "admin" {
		t.Fatalf("rule = %+v", rule)
	}
	rules, err := admin.NetworkRules(ctx)
	if err != nil || len(rules.Rules) != 1 || rules.ExemptChannels[0] != "gatehouse-tools" {
		t.Fatalf("rules = %+v, %v", rules, err)
	}
	if err := admin.RemoveNetworkRule(ctx, rule.ID); err != nil {
		t.Fatal(err)
	}
	if err := admin.RemoveNetworkRule(ctx, rule.ID); !client.IsStatus(err, 404) {
		t.Fatalf("removing twice: %v", err)
	}
	clients, err := admin.Clients(ctx, 10)
	if err != nil || clients == nil {
		t.Fatalf("clients = %v, %v", clients, err)
	}
}

func TestEveryRequestCarriesTheUserAgentAndTheKeyOnlyInTheHeader(t *testing.T) {
	var ua, auth, rawURL string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua, auth, rawURL = r.UserAgent(), r.Header.Get("Authorization"), r.URL.String()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"user":{"username":"x"}}`))
	}))
	defer hs.Close()
	c := newClient(t, hs.URL+"/", "gk-secret", client.WithVersion("1.2.3"))
	if _, err := c.Account(ctx); err != nil {
		t.Fatal(err)
	}
	if ua != "gatehouse-cli/1.2.3" || auth != "Bearer gk-secret" || rawURL != "/api/account" {
		t.Fatalf("ua=%q auth=%q url=%q", ua, auth, rawURL)
	}
}

func TestAServerThatCannotBeReachedOrHangsIsANetError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	hang := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hs.Close()
	defer close(hang)

	tests := []struct {
		name, base string
		want       string
	}{
		{"a closed port", closed, "Cannot reach"},
		{"a server that never answers", hs.URL, "time limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.base, "gk-CANARY", client.WithTimeout(200*time.Millisecond))
			_, err := c.Account(ctx)
			if !client.IsUnreachable(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), "CANARY") {
				t.Fatalf("error echoes the key: %v", err)
			}
		})
	}
}

func TestNewRefusesAddressesItCannotUseSafely(t *testing.T) {
	for _, base := range []string{"", "ftp://h", "h", "https://user:pw@h"} {
		if _, err := client.New(base, "k"); err == nil {
			t.Errorf("New(%q) accepted", base)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q) error echoes the password: %v", base, err)
		}
	}
}

func TestANonJSONRefusalBecomesItsStatus(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer hs.Close()
	_, err := newClient(t, hs.URL, "").Account(ctx)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 502 || err.Error() != "The server answered 502 Bad Gateway." {
		t.Fatalf("err = %v", err)
	}
}
