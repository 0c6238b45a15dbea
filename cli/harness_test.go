package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/cli"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/credstore"
	"github.com/spf13/cobra"
)

// harness runs gatehouse commands in process, the way cmd/gatehouse's Main
// does, against a real server, with a temporary home, secrets directory
// and OS keyring.
type harness struct {
	t       *testing.T
	srv     *clienttest.Server
	home    string
	secrets string
	vars    map[string]string
	keyring *memKeyring
	// stdin answers the CLI's questions; "" means no one answers.
	stdin string
	// browser is the fake browser login opens; nil refuses to open one.
	browser func(ctx context.Context, url string) error
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, srv: clienttest.New(t), home: t.TempDir(), secrets: t.TempDir(), keyring: &memKeyring{items: map[string]string{}}}
	h.vars = map[string]string{"HOME": h.home, "DISPLAY": ":0"}
	return h
}

// host is the server as --at takes it, and as keys are stored: 127.0.0.1:PORT.
func (h *harness) host() string { return strings.TrimPrefix(h.srv.URL, "http://") }

func (h *harness) env(stdout, stderr *bytes.Buffer) *cli.Env {
	var stdin io.Reader
	if h.stdin != "" {
		stdin = strings.NewReader(h.stdin)
	}
	return &cli.Env{
		Stdout: stdout, Stderr: stderr, Stdin: stdin,
		Getenv:     func(k string) string { return h.vars[k] },
		SecretsDir: h.secrets, OSKeyring: h.keyring, Version: "test",
		OpenBrowser: func(ctx context.Context, u string) error {
			if h.browser == nil {
				return fmt.Errorf("no browser in tests")
			}
			return h.browser(ctx, u)
		},
		Hostname:     func() (string, error) { return "testhost", nil },
		Now:          h.srv.Clock.Now,
		GOOS:         "linux",
		IsTerminal:   func(io.Writer) bool { return false },
		LoginTimeout: 30 * time.Second,
	}
}

// run executes `gatehouse args...` and returns its output and exit status.
func (h *harness) run(args ...string) (stdout, stderr string, code int) {
	h.t.Helper()
	var out, errb bytes.Buffer
	root := &cobra.Command{Use: "gatehouse", SilenceUsage: true, SilenceErrors: true}
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	root.AddCommand(cli.Commands(h.env(&out, &errb))...)
	cli.Configure(root)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code = cli.Report(root.ExecuteContext(ctx), &errb)
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed and returns its standard output.
func (h *harness) ok(args ...string) string {
	h.t.Helper()
	out, errOut, code := h.run(args...)
	if code != 0 {
		h.t.Fatalf("gatehouse %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// creds is the credstore view of the harness's environment.
func (h *harness) creds() credstore.Env {
	return credstore.Env{Getenv: func(k string) string { return h.vars[k] }, HomeDir: h.home, SecretsDir: h.secrets, OSKeyring: h.keyring}
}

// store saves key for the harness's server in the keyring file.
func (h *harness) store(key, username string) {
	h.t.Helper()
	if err := credstore.Save(h.creds(), &credstore.Entry{Domain: h.host(), APIKey: key, Username: username}); err != nil {
		h.t.Fatal(err)
	}
}

// stored returns the key stored for domain, "" if none.
func (h *harness) stored(domain string) string {
	h.t.Helper()
	e, _, err := credstore.Lookup(h.creds(), domain)
	if err != nil {
		return ""
	}
	return e.APIKey
}

// user creates a user with a key and stores the key; it returns the key.
func (h *harness) login(user string, admin bool) string {
	h.t.Helper()
	h.srv.User(user, admin)
	scopes := []string{"user", "channels"}
	if admin {
		scopes = append(scopes, "admin")
	}
	key, _ := h.srv.Key(user, "cli-testhost", scopes, 30*24*time.Hour)
	h.store(key, user)
	return key
}

func (h *harness) path(rel string) string { return filepath.Join(h.home, filepath.FromSlash(rel)) }

func (h *harness) write(rel, content string) {
	h.t.Helper()
	p := h.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) read(rel string) string {
	h.t.Helper()
	b, err := os.ReadFile(h.path(rel))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

func (h *harness) exists(rel string) bool {
	_, err := os.Stat(h.path(rel))
	return err == nil
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// memKeyring is an OS keyring in memory.
type memKeyring struct {
	mu    sync.Mutex
	items map[string]string
}

func (k *memKeyring) Get(service, user string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.items[service+"\x00"+user]
	if !ok {
		return "", credstore.ErrNotFound
	}
	return v, nil
}

func (k *memKeyring) Set(service, user, password string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.items[service+"\x00"+user] = password
	return nil
}

func (k *memKeyring) Delete(service, user string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.items[service+"\x00"+user]; !ok {
		return credstore.ErrNotFound
	}
	delete(k.items, service+"\x00"+user)
	return nil
}
