// Package e2e holds end-to-end tests: they build the real gatehouse
// binary, start it as a separate process on a free port, and drive it the
// way people and tools do (headless Chromium, plain HTTP, the CLI). This
// file is the harness they share.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // DumpSQLite reads the database file
)

// DatabaseEnv names the variable that runs the tests against PostgreSQL:
// GATEHOUSE_E2E_DATABASE=postgres://user:pw@host/db. The database is
// shared by every server the tests start, so tests use unique names.
const DatabaseEnv = "GATEHOUSE_E2E_DATABASE"

// AdminPassword is the password of the initial administrator "admin" of
// every server the harness starts (unless Options say otherwise). It is
// fixed, so a shared PostgreSQL database keeps working across runs, and
// random-looking, so the search for it in logs cannot hit by chance.
const AdminPassword = "e2e-Adm1n-Qx7vT9kL2mWpZr4"

// Build compiles the gatehouse command (pkg, such as "../cmd/gatehouse")
// into dir and returns the binary's path.
func Build(ctx context.Context, pkg, dir string) (string, error) {
	bin := filepath.Join(dir, "gatehouse")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out.String())
	}
	return bin, nil
}

// Options configure one server process.
type Options struct {
	// Data is the --data directory; empty means a fresh t.TempDir().
	Data string
	// AdminPassword sets GATEHOUSE_INITIAL_ADMIN_PASSWORD; empty means
	// the package's AdminPassword.
	AdminPassword string
	// Database is --database; empty means $GATEHOUSE_E2E_DATABASE, and
	// SQLite in Data when that is empty too.
	Database string
	// Args are extra flags for `gatehouse server`; Env extra variables.
	Args []string
	Env  []string
}

// Server is a running gatehouse server process.
type Server struct {
	// URL is where it listens, from its "listening" log line.
	URL string
	// Data is its data directory, and Database its --database ("" for
	// SQLite in Data).
	Data, Database string
	// AdminPassword is the initial administrator's password.
	AdminPassword string

	t       testing.TB
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan struct{}
	waitErr error

	mu      sync.Mutex
	stopped bool
	secrets []string
}

var listeningRE = regexp.MustCompile(`msg=listening url=(\S+)`)

// Start runs `bin server --listen 127.0.0.1:0` and returns once /readyz
// answers 200. The process is stopped in t.Cleanup, and then its logs and
// data files are searched for every secret recorded with RecordSecret
// (checklist J1, A4).
func Start(t testing.TB, bin string, o Options) *Server {
	t.Helper()
	if o.Data == "" {
		o.Data = t.TempDir()
	}
	if o.AdminPassword == "" {
		o.AdminPassword = AdminPassword
	}
	if o.Database == "" {
		o.Database = os.Getenv(DatabaseEnv)
	}
	args := []string{"server", "--listen", "127.0.0.1:0", "--data", o.Data}
	if o.Database != "" {
		args = append(args, "--database", o.Database)
	}
	// Publishing the server's own binary into the tools channel costs a
	// second or two of CPU per start; tests that want it ask for it.
	if !slices.ContainsFunc(o.Args, func(a string) bool { return strings.HasPrefix(a, "--publish-cli") }) {
		args = append(args, "--publish-cli=false")
	}
	args = append(args, o.Args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(hermeticEnv(), "GATEHOUSE_INITIAL_ADMIN_PASSWORD="+o.AdminPassword)
	cmd.Env = append(cmd.Env, o.Env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stdout = logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	s := &Server{Data: o.Data, Database: o.Database, AdminPassword: o.AdminPassword, t: t, cmd: cmd, logs: logs, exited: make(chan struct{})}

	urls := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logs.Write([]byte(line + "\n"))
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		io.Copy(logs, stderr) // a line over 1 MiB: keep the rest anyway
	}()
	go func() {
		<-copied // Wait closes the pipe: read it all first
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	s.RecordSecret(o.AdminPassword) // never logged, never stored in clear
	t.Cleanup(func() { s.Stop() })

	select {
	case s.URL = <-urls:
	case <-s.exited:
		t.Fatalf("gatehouse server exited before listening (%v); its log:\n%s", s.waitErr, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("gatehouse server did not log its listening URL in 30s; its log:\n%s", logs.String())
	}
	if err := s.waitReady(30 * time.Second); err != nil {
		t.Fatalf("%v; its log:\n%s", err, logs.String())
	}
	return s
}

// hermeticEnv is this process's environment without GATEHOUSE_ variables,
// so a developer's settings never leak into a test server.
func hermeticEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitReady polls /readyz until it answers 200.
func (s *Server) waitReady(limit time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		res, err := client.Get(s.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("gatehouse server exited while starting: %v", s.waitErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/readyz did not answer 200 within %v (last error: %v)", s.URL, limit, err)
		}
	}
}

// Stop sends SIGTERM, waits for a clean exit (SIGKILL after 15 s), and
// fails the test if the exit was not clean. Then it searches the logs and
// data files for recorded secrets. Calling it again does nothing.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.mu.Unlock()

	select {
	case <-s.exited:
		s.t.Errorf("gatehouse server had exited by itself (%v); its log:\n%s", s.waitErr, s.logs.String())
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
			if s.waitErr != nil {
				s.t.Errorf("gatehouse server did not exit cleanly on SIGTERM: %v; its log:\n%s", s.waitErr, s.logs.String())
			}
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.t.Errorf("gatehouse server ignored SIGTERM for 15s and was killed; its log:\n%s", s.logs.String())
		}
	}
	s.checkSecrets()
}

// Logs returns everything the process wrote so far.
func (s *Server) Logs() string { return s.logs.String() }

// RecordSecret remembers a key (or password) the server must never write
// to its logs or store in clear: checked when the server stops.
func (s *Server) RecordSecret(secret string) {
	s.mu.Lock()
	s.secrets = append(s.secrets, secret)
	s.mu.Unlock()
}

// Secrets returns the secrets recorded so far.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

// checkSecrets fails the test if the logs or any file under Data hold a
// recorded secret or any 8-character piece of one (checklist J1, A4).
func (s *Server) checkSecrets() {
	s.t.Helper()
	secrets := s.Secrets()
	if len(secrets) == 0 {
		return
	}
	f := NewSecretFinder(secrets)
	if hit := f.Find([]byte(s.Logs())); hit != "" {
		s.t.Errorf("the server's log holds a piece of a secret: %q", hit)
	}
	err := filepath.WalkDir(s.Data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if hit := f.Find(b); hit != "" {
			s.t.Errorf("%s holds a piece of a secret: %q", path, hit)
		}
		return nil
	})
	if err != nil {
		s.t.Errorf("searching the data directory: %v", err)
	}
}

// DBPath is the SQLite database file of a server that uses SQLite.
func (s *Server) DBPath() string { return filepath.Join(s.Data, "gatehouse.db") }

// SecretFinder finds any 8-byte window of a set of secrets in a text, in
// one pass however many secrets there are.
type SecretFinder struct{ windows map[string]bool }

// SecretWindow is the length of the pieces a SecretFinder looks for. Key
// hints show 7 leading and 4 trailing characters, so they never match.
const SecretWindow = 8

// NewSecretFinder indexes every window of every secret. A JWT-shaped key
// (claims "." gk-<key>) is indexed as its two parts: a window across the
// dot would be the hint's 7 characters after any byte that happens to be
// a '.', such as the last byte of the random hash stored just before the
// hint in the keys table (1 in 256 keys).
func NewSecretFinder(secrets []string) *SecretFinder {
	f := &SecretFinder{windows: map[string]bool{}}
	index := func(s string) {
		for i := 0; i+SecretWindow <= len(s); i++ {
			f.windows[s[i:i+SecretWindow]] = true
		}
	}
	for _, s := range secrets {
		if claims, key, ok := cutLast(s, ".gk-"); ok {
			index(claims)
			index("gk-" + key)
			continue
		}
		index(s)
	}
	return f
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// Find returns the first window found in b, or "".
func (f *SecretFinder) Find(b []byte) string {
	for i := 0; i+SecretWindow <= len(b); i++ {
		if f.windows[string(b[i:i+SecretWindow])] {
			return string(b[i : i+SecretWindow])
		}
	}
	return ""
}

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// DumpSQLite returns every row of every table of the SQLite database at
// path, as text, to compare a database before and after something.
func DumpSQLite(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		return "", fmt.Errorf("listing the tables of %s: %w", path, err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return "", err
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		fmt.Fprintf(&b, "== %s\n", table)
		rs, err := db.QueryContext(ctx, fmt.Sprintf("SELECT * FROM %q ORDER BY 1", table))
		if err != nil {
			return "", err
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				rs.Close()
				return "", err
			}
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					vals[i] = fmt.Sprintf("%x", bs)
				}
			}
			fmt.Fprintln(&b, vals...)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}
