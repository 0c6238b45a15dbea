package cli_test

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/conda"
)

// hostSubdir is this machine's conda subdir, for a real executable to
// publish (a small one: /bin/true).
func hostSubdir(t *testing.T) (string, string) {
	t.Helper()
	subdirs := map[string]string{"linux/amd64": "linux-64", "linux/arm64": "linux-aarch64"}
	subdir, ok := subdirs[runtime.GOOS+"/"+runtime.GOARCH]
	if !ok {
		t.Skip("needs a Linux executable of this machine's platform")
	}
	bin, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true executable:", err)
	}
	return subdir, bin
}

func TestPublishCLIPackagesTheBinaryForItsPlatformInTheToolsChannel(t *testing.T) {
	subdir, bin := hostSubdir(t)
	h := newHarness(t)
	h.login("root", true)
	at := []string{"--at", h.host()}
	h.ok(append([]string{"channel", "create", "gatehouse-tools", "--public"}, at...)...)

	pkg := decode[client.Package](t, h.ok(append([]string{"admin", "publish-cli", "--platform", subdir, bin, "--version", "v1.4.0-rc.1", "--json"}, at...)...))
	if pkg.Subdir != subdir || pkg.Name != "gatehouse" || pkg.Version != "1.4.0_rc.1" || !strings.HasPrefix(pkg.Build, "h") || !strings.HasSuffix(pkg.Build, "_0") {
		t.Fatalf("package = %+v", pkg)
	}
	// The channel serves it, and it is a valid conda package.
	resp, err := http.Get(h.srv.URL + "/repo/gatehouse-tools/" + subdir + "/" + pkg.Filename)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	info, err := conda.Inspect(bytes.NewReader(data), int64(len(data)), pkg.Filename, conda.Limits{})
	if err != nil || info.Index.Name != "gatehouse" || info.Index.Subdir != subdir {
		t.Fatalf("inspect: %+v, %v", info, err)
	}

	t.Run("the same binary again changes nothing", func(t *testing.T) {
		out := h.ok(append([]string{"admin", "publish-cli", "--platform", subdir, bin, "--version", "1.4.0_rc.1"}, at...)...)
		if out != subdir+"/"+pkg.Filename+" is already in gatehouse-tools: nothing to do.\n" {
			t.Fatalf("stdout %q", out)
		}
	})
	t.Run("a binary for another platform is refused", func(t *testing.T) {
		_, errOut, code := h.run(append([]string{"admin", "publish-cli", "--platform", "osx-arm64", bin, "--version", "1.0"}, at...)...)
		if code != 1 || !strings.Contains(errOut, "is "+subdir+", not osx-arm64") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("a file that is no executable is refused", func(t *testing.T) {
		notBin := h.path("notes.txt")
		h.write("notes.txt", "hello")
		_, errOut, code := h.run(append([]string{"admin", "publish-cli", "--platform", subdir, notBin, "--version", "1.0"}, at...)...)
		if code != 1 || !strings.Contains(errOut, "not a gatehouse executable of any platform") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("a version that cannot be a conda version is refused", func(t *testing.T) {
		_, errOut, code := h.run(append([]string{"admin", "publish-cli", "--platform", subdir, bin}, at...)...)
		if code != 1 || !strings.Contains(errOut, `this gatehouse's version "test" cannot be a conda version: pass --version`) {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("a user who cannot write to the tools channel is refused", func(t *testing.T) {
		h2 := newHarness(t)
		h2.login("root", true)
		h2.ok("channel", "create", "gatehouse-tools", "--public", "--at", h2.host())
		h2.srv.User("alice", false)
		key, _ := h2.srv.Key("alice", "cli", []string{"user", "channels"}, 3600e9)
		h2.store(key, "alice")
		_, errOut, code := h2.run("admin", "publish-cli", "--platform", subdir, bin, "--version", "1.0", "--at", h2.host())
		if code != 1 || !strings.Contains(errOut, "write access") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
}
