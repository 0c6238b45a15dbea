//go:build unix

package credstore

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	crashHelperEnv = "GATEHOUSE_CREDSTORE_CRASH_HELPER"
	crashHomeEnv   = "GATEHOUSE_CREDSTORE_CRASH_HOME"
)

// TestCrashHelperProcess is not a test: TestSaveSurvivesSIGKILL runs the
// test binary again with crashHelperEnv set, and this saves in a loop,
// printing each finished save, until it is killed.
func TestCrashHelperProcess(t *testing.T) {
	if os.Getenv(crashHelperEnv) != "1" {
		t.Skip("helper process for TestSaveSurvivesSIGKILL")
	}
	env := Env{HomeDir: os.Getenv(crashHomeEnv), SecretsDir: os.Getenv(crashHomeEnv), Getenv: func(string) string { return "" }}
	for i := 0; ; i++ {
		if err := Save(env, &Entry{Domain: "crash.example", APIKey: "gk-" + strconv.Itoa(i)}); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Println("saved", i)
	}
}

// checklist D6: kill a process in the middle of saving, many times at
// different points; the file is always the old version or the new one,
// whole, with every other entry intact.
func TestSaveSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	te := newTestEnv(t)
	path := te.keyringPath(t)

	// A large foreign entry makes each write long enough that a kill often
	// lands inside it: a non-atomic writer would leave a truncated file.
	big := strings.Repeat("x", 512<<10)
	initial := `{"other service": {"someone": "` + big + `"}, "Anaconda Cloud": {"keep.example": "eyJhcGlfa2V5Ijoia2VlcCJ9"}, "zz last": {"u": "p"}}`
	writeFile(t, path, []byte(initial), 0o600)

	for round := range 30 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$")
		cmd.Env = append(os.Environ(), crashHelperEnv+"=1", crashHomeEnv+"="+te.HomeDir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Read two acknowledged saves to learn how long one takes, then
		// kill at a random instant within the next one. The pause is not
		// a wait for anything: it spreads the kills over the whole save
		// (read, encode, write, fsync, rename).
		lines := bufio.NewScanner(stdout)
		seen := -1
		var first, second time.Time
		for seen < 1 && lines.Scan() {
			if _, err := fmt.Sscanf(lines.Text(), "saved %d", &seen); err != nil {
				t.Fatalf("helper said %q (stderr %s)", lines.Text(), stderr.String())
			}
			if seen == 0 {
				first = time.Now()
			} else {
				second = time.Now()
			}
		}
		if seen < 1 {
			t.Fatalf("round %d: helper stopped early (stderr %s)", round, stderr.String())
		}
		if cycle := second.Sub(first); cycle > 0 {
			time.Sleep(rand.N(cycle))
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		acknowledged := seen

		data := readFile(t, path)
		doc, err := parseKeyringFile(data)
		if err != nil {
			t.Fatalf("round %d: the file is not whole after a kill: %v (%d bytes)", round, err, len(data))
		}
		for _, svc := range []string{"other service", "zz last"} {
			raw, ok := doc.top.get(svc)
			if !ok || !strings.Contains(initial, string(raw)) {
				t.Fatalf("round %d: foreign service %q was changed", round, svc)
			}
		}
		for domain, wantMin := range map[string]int{"keep.example": -1, "crash.example": acknowledged} {
			e, err := doc.lookup(domain)
			if err != nil || e == nil {
				t.Fatalf("round %d: entry %s: %+v, %v", round, domain, e, err)
			}
			if domain == "keep.example" {
				if e.APIKey != "keep" {
					t.Fatalf("round %d: foreign entry changed to %q", round, e.APIKey)
				}
				continue
			}
			// The helper restarts at 0 each round: the stored save is the
			// last one we read or one it made after that.
			n, err := strconv.Atoi(strings.TrimPrefix(e.APIKey, "gk-"))
			if err != nil || n < wantMin {
				t.Fatalf("round %d: stored %q, want gk-%d or a later save", round, e.APIKey, wantMin)
			}
		}
		assertMode(t, path, 0o600)
	}

	// The lock died with the killed processes: saving still works.
	if err := Save(te.Env, &Entry{Domain: "after.example", APIKey: "gk-after"}); err != nil {
		t.Fatal(err)
	}
	if e, _, err := Lookup(te.Env, "after.example"); err != nil || e.APIKey != "gk-after" {
		t.Fatalf("after the kills: %+v, %v", e, err)
	}
}
