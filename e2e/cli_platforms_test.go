package e2e

// Issue 11 item 10: the tools channel offers the CLI for every platform a
// release builds. The server cannot cross-compile at start (no Go
// toolchain where it runs, and minutes per target), so it publishes the
// binaries scripts/release wrote, from --cli-binaries, beside its own.

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Headers of the platforms' executables: what the server checks before
// publishing a file as the binary of a platform.
func elfHeader(machine uint16) []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(b[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(b[18:], machine)
	binary.LittleEndian.PutUint32(b[20:], 1)
	binary.LittleEndian.PutUint16(b[52:], 64)
	binary.LittleEndian.PutUint16(b[54:], 56)
	binary.LittleEndian.PutUint16(b[58:], 64)
	return b
}

func machoHeader(cpu uint32) []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint32(b[0:], 0xfeedfacf)
	binary.LittleEndian.PutUint32(b[4:], cpu)
	binary.LittleEndian.PutUint32(b[12:], 2)
	return b
}

func peHeader(machine uint16) []byte {
	b := make([]byte, 512)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x44:], machine)
	return b
}

func TestServerPublishesTheCLIForEveryReleasePlatformAtStart(t *testing.T) {
	own := cliSubdir(t)
	dir := t.TempDir()
	files := map[string][]byte{
		"gatehouse-linux-64":      elfHeader(62),
		"gatehouse-linux-aarch64": elfHeader(183),
		"gatehouse-osx-64":        machoHeader(0x01000007),
		"gatehouse-osx-arm64":     machoHeader(0x0100000c),
		"gatehouse-win-64.exe":    peHeader(0x8664),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), append(data, []byte(name)...), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tools, args := toolsChannel()
	start := time.Now()
	srv := Start(t, gatehouseBin, Options{Args: append(append([]string{"--publish-cli=true"}, args...), "--cli-binaries", dir)})
	for _, subdir := range []string{"linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64"} {
		fn, rec := waitForPublishedCLI(t, srv, tools, subdir)
		if rec.Subdir != subdir || !strings.HasPrefix(fn, "gatehouse-") {
			t.Errorf("%s: %s %+v", subdir, fn, rec)
		}
		if subdir == own && rec.Size < 1<<20 {
			// The running binary speaks for its own platform, not the
			// release directory's file.
			t.Errorf("%s holds a %d-byte package: the directory's file, not the running binary", subdir, rec.Size)
		}
	}
	t.Logf("all five platforms published %s after start", time.Since(start).Round(100*time.Millisecond))

	t.Run("a file for the wrong platform is refused and named in the log", func(t *testing.T) {
		bad := t.TempDir()
		os.WriteFile(filepath.Join(bad, "gatehouse-osx-arm64"), peHeader(0x8664), 0o755)
		srv := Start(t, gatehouseBin, Options{Args: append(append([]string{"--publish-cli=true"}, args...), "--cli-binaries", bad)})
		waitForPublishedCLI(t, srv, tools, own)
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(srv.Logs(), "is win-64, not osx-arm64") {
			if time.Now().After(deadline) {
				t.Fatalf("the log does not name the mismatched file:\n%s", srv.Logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if r := get(t, srv.URL+"/repo/"+tools+"/osx-arm64/repodata.json", nil); strings.Contains(r.Body, "gatehouse-") {
			t.Fatalf("the mismatched file was published: %s", r.Body)
		}
	})
	t.Run("a --cli-binaries that is not a directory stops the server at start", func(t *testing.T) {
		out, code := runServerExpectingFailure(t, "--cli-binaries", filepath.Join(dir, "nope"))
		if code == 0 || !strings.Contains(out, "--cli-binaries") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}

// runServerExpectingFailure runs `gatehouse server` with args and returns
// its output and exit status; it must stop by itself within a minute.
func runServerExpectingFailure(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gatehouseBin, append([]string{"server", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, args...)...)
	cmd.Env = hermeticEnv()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("running the server: %v", err)
	}
	return string(out), 0
}
