package pgtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Cluster is a PostgreSQL server of the test's own, started with initdb
// and pg_ctl from Debian's /usr/lib/postgresql/<version>/bin (or PATH) in
// a temporary directory on a free loopback port, so that a test may stop,
// crash and restart it without touching the machine's shared server.
type Cluster struct {
	// URL reaches its "postgres" database as the superuser "postgres",
	// trusted on loopback.
	URL string

	bin, dir string
	port     int
	cred     *syscall.Credential // the postgres user's, when run as root
}

// binDir finds the directory holding initdb and pg_ctl.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("no PostgreSQL server binaries (pg_ctl) in /usr/lib/postgresql/*/bin or PATH: apt-get install postgresql")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// StartCluster creates and starts a private cluster, stopped when the test
// ends. Without PostgreSQL's binaries the test is skipped, unless CI is set.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skip(err)
	}
	// Not under t.TempDir: its parents are private to this user, and
	// PostgreSQL refuses to run as root, so it may run as another.
	dir, err := os.MkdirTemp("", "gatehouse-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &Cluster{bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs another user to run as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	c.run(t, "initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	t.Cleanup(func() { c.pgCtl("stop", "-m", "immediate") })
	c.Start(t)
	return c
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// run runs a PostgreSQL program as the cluster's user and fails the test
// on error.
func (c *Cluster) run(t testing.TB, prog string, args ...string) {
	t.Helper()
	if out, err := c.command(prog, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}

func (c *Cluster) command(prog string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

func (c *Cluster) pgCtl(args ...string) ([]byte, error) {
	args = append([]string{"-D", c.data(), "-w", "-t", "60"}, args...)
	return c.command("pg_ctl", args...).CombinedOutput()
}

// Start starts the (stopped) cluster and waits until it accepts
// connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", c.port, c.dir)
	if out, err := c.pgCtl("start", "-l", filepath.Join(c.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// Crash stops the cluster the way a crash would (immediate mode: no
// checkpoint, connections cut); Start recovers it from its WAL.
func (c *Cluster) Crash(t testing.TB) {
	t.Helper()
	if out, err := c.pgCtl("stop", "-m", "immediate"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// Restart crashes the cluster and starts it again; it returns how long
// it was down.
func (c *Cluster) Restart(t testing.TB) time.Duration {
	t.Helper()
	start := time.Now()
	c.Crash(t)
	c.Start(t)
	return time.Since(start)
}

// Log returns the server's log so far, for failure messages.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
	return string(bytes.TrimSpace(b))
}
