package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/cli"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/spf13/cobra"
)

// approveIn returns a fake browser that signs in as user and answers the
// login page.
func (h *harness) approveIn(user string, approve bool) func(context.Context, string) error {
	return func(_ context.Context, u string) error {
		b, err := h.srv.SignIn(user)
		if err != nil {
			return err
		}
		return b.AnswerLogin(u, approve)
	}
}

func TestLoginInTheBrowserStoresAKeyNamedForThisMachine(t *testing.T) {
	h := newHarness(t)
	h.srv.User("alice", false)
	h.browser = h.approveIn("alice", true)
	out, errOut, code := h.run("login", "--at", h.host())
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	wantExpiry := h.srv.Clock.Now().Add(gatehouse.Days(gatehouse.DefaultKeyDays)).Add(-time.Minute).UTC().Format(time.DateOnly)
	token := "~/.config/binstar/" + url.QueryEscape(h.srv.URL+"/repo/") + ".token"
	want := `Logged in to ` + h.host() + ` as alice. Key "cli-testhost" (user, channels) expires ` + wantExpiry + "; stored in the keyring file " + h.path(".anaconda/keyring") + ".\n" +
		h.host() + " is now the default server (domain in ~/.anaconda/config.toml): later commands need no --at.\n" +
		"rattler, pixi: added the key for " + h.host() + " (~/.rattler/credentials.json)\n" +
		"mamba: added the key for " + h.host() + " (~/.mamba/auth/authentication.json)\n" +
		"conda: added the key for " + h.host() + " (" + token + ")\n"
	if out != want {
		t.Fatalf("stdout\n%q\nwant\n%q", out, want)
	}
	// Every client file holds the key: login did what register does.
	clientFiles := func(t *testing.T, want string) {
		t.Helper()
		tokenFile := ".config/binstar/" + url.QueryEscape(h.srv.URL+"/repo/") + ".token"
		if want == "" {
			for _, f := range []string{".rattler/credentials.json", ".mamba/auth/authentication.json", tokenFile} {
				if h.exists(f) {
					t.Fatalf("%s left after logout: %q", f, h.read(f))
				}
			}
			return
		}
		rattler := h.read(".rattler/credentials.json")
		mamba := h.read(".mamba/auth/authentication.json")
		conda := h.read(tokenFile)
		if !strings.Contains(rattler, want) || !strings.Contains(mamba, want) || conda != want {
			t.Fatalf("client files do not hold the stored key:\nrattler %s\nmamba %s\nconda %s", rattler, mamba, conda)
		}
	}
	if !strings.Contains(errOut, h.srv.URL+"/oauth/authorize?") || !strings.Contains(errOut, "code_challenge_method=S256") {
		t.Fatalf("the authorization URL was not printed for when the browser cannot open:\n%s", errOut)
	}
	key := h.stored(h.host())
	if !strings.HasPrefix(key, "gk-") || strings.Contains(out+errOut, key) {
		t.Fatalf("stored key %q (it must not be printed)", key)
	}
	clientFiles(t, key)
	// The server is remembered: no --at from here on.
	who := decode[struct {
		User client.User `json:"user"`
		Key  client.Key  `json:"key"`
	}](t, h.ok("whoami", "--json"))
	if who.User.Username != "alice" || who.Key.Name != "cli-testhost" || strings.Join(who.Key.Scopes, ",") != "user,channels" {
		t.Fatalf("whoami = %+v", who)
	}

	t.Run("logging in again with a working key does nothing", func(t *testing.T) {
		h.browser = func(context.Context, string) error { t.Error("the browser was opened"); return nil }
		out := h.ok("login", "--at", h.host())
		if !strings.HasPrefix(out, "Already logged in to "+h.host()+" as alice") || h.stored(h.host()) != key {
			t.Fatalf("stdout %q", out)
		}
	})
	t.Run("--force replaces the key and the server revokes the old one", func(t *testing.T) {
		h.browser = h.approveIn("alice", true)
		h.ok("login", "--force", "--at", h.host(), "--expires", "90d")
		newKey := h.stored(h.host())
		if newKey == key || newKey == "" {
			t.Fatal("the key was not replaced")
		}
		old, _ := client.New(h.srv.URL, key)
		if _, err := old.Account(ctx); !client.IsStatus(err, 401) {
			t.Fatalf("the old key still works: %v", err)
		}
		keys := decode[[]client.Key](t, h.ok("keys", "list", "--json"))
		if len(keys) != 1 || keys[0].ExpiresAt.Sub(h.srv.Clock.Now()).Round(time.Hour) != 90*24*time.Hour {
			t.Fatalf("active keys = %+v", keys)
		}
		// No client keeps the revoked key.
		clientFiles(t, newKey)
		if got := strings.TrimSpace(h.ok("auth", "api-key")); got != newKey {
			t.Fatalf("auth api-key without --at printed %q", got)
		}
		key = newKey
	})
	t.Run("logout without --at revokes the key and empties every client file", func(t *testing.T) {
		h.ok("logout")
		clientFiles(t, "")
		_, errOut, code := h.run("auth", "api-key")
		if code != 2 || !strings.Contains(errOut, "No API key found for "+h.host()) {
			t.Fatalf("auth api-key after logout: exit %d, stderr %q", code, errOut)
		}
	})
}

func TestLoginDeniedInTheBrowserFails(t *testing.T) {
	h := newHarness(t)
	h.srv.User("alice", false)
	h.browser = h.approveIn("alice", false)
	_, errOut, code := h.run("login", "--at", h.host())
	if code != 1 || !strings.HasSuffix(errOut, "Login was denied in the browser.\n") || h.stored(h.host()) != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// started is a command running in the background.
type started struct {
	stderr *syncBuf
	done   chan struct{}
	out    string
	code   int
}

// start runs a command in the background, so a test can act on what it
// prints while it waits (a device login).
func (h *harness) start(args ...string) *started {
	s := &started{stderr: &syncBuf{}, done: make(chan struct{})}
	var out bytes.Buffer
	root := &cobra.Command{Use: "gatehouse", SilenceUsage: true, SilenceErrors: true}
	root.SetArgs(args)
	env := h.env(&out, nil)
	env.Stderr = s.stderr
	root.AddCommand(cli.Commands(env)...)
	go func() {
		defer close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.code = cli.Report(root.ExecuteContext(ctx), s.stderr)
		s.out = out.String()
	}()
	return s
}

var userCodeRE = regexp.MustCompile(`enter the code:\s+([A-Z]{4}-[A-Z]{4})`)

// userCode polls the command's output for the device flow's code.
func (s *started) userCode(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := userCodeRE.FindStringSubmatch(s.stderr.String()); m != nil {
			return m[1]
		}
		select {
		case <-s.done:
			t.Fatalf("the command ended before showing a code: %s", s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no code shown in 20 s:\n%s", s.stderr.String())
	return ""
}

func (s *started) wait(t *testing.T) (string, string, int) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(45 * time.Second):
		t.Fatalf("the command did not finish:\n%s", s.stderr.String())
	}
	return s.out, s.stderr.String(), s.code
}

// The device flow polls every 5 seconds (the server's interval), so these
// tests run in parallel.
func TestDeviceLogin(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(h *harness)
		args    []string
		answer  func(t *testing.T, h *harness, code string)
		code    int
		stdout  string
		stderr  []string
		stored  bool
		browser bool
	}{
		{
			name: "with --device the code approved in a browser logs in",
			args: []string{"--device"},
			answer: func(t *testing.T, h *harness, code string) {
				b, err := h.srv.SignIn("alice")
				if err == nil {
					err = b.AnswerDevice(code, true)
				}
				if err != nil {
					t.Error(err)
				}
			},
			stdout: "Logged in to ", stored: true,
			stderr: []string{"open this page in a browser on any device:", "/device\n", "?user_code="},
		},
		{
			name:  "without a display it uses a code, and a denial fails",
			setup: func(h *harness) { delete(h.vars, "DISPLAY") },
			answer: func(t *testing.T, h *harness, code string) {
				b, err := h.srv.SignIn("alice")
				if err == nil {
					err = b.AnswerDevice(code, false)
				}
				if err != nil {
					t.Error(err)
				}
			},
			code: 1, stderr: []string{"No browser can be opened here (no graphical display", "Login was denied in the browser.\n"},
		},
		{
			name:  "over SSH it uses a code",
			setup: func(h *harness) { h.vars["SSH_CONNECTION"] = "192.0.2.1 5555 192.0.2.2 22" },
			answer: func(t *testing.T, h *harness, code string) {
				b, err := h.srv.SignIn("alice")
				if err == nil {
					err = b.AnswerDevice(code, true)
				}
				if err != nil {
					t.Error(err)
				}
			},
			stdout: "Logged in to ", stored: true,
			stderr: []string{"No browser can be opened here (this is an SSH session); log in with a code instead."},
		},
		{
			name: "when the browser cannot be opened it falls back to a code",
			setup: func(h *harness) {
				h.browser = func(context.Context, string) error { return errors.New("xdg-open: exit status 3") }
			},
			answer: func(t *testing.T, h *harness, code string) {
				b, err := h.srv.SignIn("alice")
				if err == nil {
					err = b.AnswerDevice(code, true)
				}
				if err != nil {
					t.Error(err)
				}
			},
			stdout: "Logged in to ", stored: true,
			stderr: []string{"could not open a browser (xdg-open: exit status 3); log in with a code instead."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.srv.User("alice", false)
			if tt.setup != nil {
				tt.setup(h)
			}
			s := h.start(append([]string{"login", "--at", h.host()}, tt.args...)...)
			tt.answer(t, h, s.userCode(t))
			out, errOut, code := s.wait(t)
			if code != tt.code || !strings.HasPrefix(out, tt.stdout) {
				t.Fatalf("exit %d, stdout %q\nstderr:\n%s", code, out, errOut)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if got := h.stored(h.host()) != ""; got != tt.stored {
				t.Errorf("key stored: %v, want %v", got, tt.stored)
			}
		})
	}
}

// syncBuf is a buffer written by a command and read by the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeOAuth is an authorization server that answers every device-flow
// poll with one error, or lets the code expire: the outcomes a real server
// only reaches after ten minutes.
func fakeOAuth(t *testing.T, expiresIn int, pollError string) string {
	t.Helper()
	var base string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"authorization_endpoint":"%[1]s/oauth/authorize","token_endpoint":"%[1]s/oauth/token","device_authorization_endpoint":"%[1]s/oauth/device/code"}`, base)
		case "/oauth/device/code":
			if r.PostFormValue("client_id") != "gatehouse-cli" || r.PostFormValue("client_name") != "testhost" || r.PostFormValue("scope") != "user channels" {
				w.WriteHeader(400)
				fmt.Fprint(w, `{"error":"invalid_request","error_description":"unexpected parameters"}`)
				return
			}
			fmt.Fprintf(w, `{"device_code":"dc","user_code":"BCDF-GHJK","verification_uri":"%[1]s/device","verification_uri_complete":"%[1]s/device?user_code=BCDF-GHJK","expires_in":%[2]d,"interval":1}`, base, expiresIn)
		case "/oauth/token":
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":%q,"error_description":"said the server"}`, pollError)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(hs.Close)
	base = hs.URL
	return strings.TrimPrefix(hs.URL, "http://")
}

func TestDeviceLoginOutcomesBecomeOneSentence(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		pollError string
		want      string
	}{
		{"the server says the code expired", 600, "expired_token", "The code expired before it was approved. Run gatehouse login again.\n"},
		{"the code's lifetime runs out while waiting", 1, "authorization_pending", "The code expired before it was approved. Run gatehouse login again.\n"},
		{"the server says the login was denied", 600, "access_denied", "Login was denied in the browser.\n"},
		{"any other refusal is the server's sentence", 600, "invalid_grant", "The server refused the login while waiting for approval: said the server\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			at := fakeOAuth(t, tt.expiresIn, tt.pollError)
			_, errOut, code := h.run("login", "--device", "--at", at)
			if code != 1 || !strings.HasSuffix(errOut, tt.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant it to end with %q", code, errOut, tt.want)
			}
		})
	}
}
