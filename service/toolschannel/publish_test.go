package toolschannel

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condabuild"
	"github.com/gatehouse-dev/gatehouse/condaname"
	"github.com/gatehouse-dev/gatehouse/spool"
)

func TestSpoolBuildLeavesNothingBehindOnFailure(t *testing.T) {
	// checklist F1, F14: a failed build leaves no spool file and says why.
	c := New(Config{MaxUploadSize: 2000, Spool: spool.Dir(t.TempDir())})
	meta := condabuild.Meta{Name: "gatehouse", Version: "1.0", Build: "h0_0", Subdir: "linux-64", Timestamp: time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)}
	boom := errors.New("disk on fire")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	small := func(open func() (io.ReadCloser, error)) []condabuild.File {
		return []condabuild.File{{Path: "bin/gatehouse", Mode: 0o755, Size: 5, Open: open}}
	}
	big := make([]byte, 1<<20)
	rand.Read(big) // incompressible, so the package is over the limit
	tests := []struct {
		name  string
		files []condabuild.File
		want  func(error) bool
	}{
		{"an unreadable binary", small(func() (io.ReadCloser, error) { return nil, boom }),
			func(err error) bool { return errors.Is(err, boom) }},
		{"a canceled read", small(func() (io.ReadCloser, error) {
			return io.NopCloser(ctxReader{canceled, strings.NewReader("hello")}), nil
		}), func(err error) bool { return errors.Is(err, context.Canceled) }},
		{"a package over the upload limit", []condabuild.File{{Path: "bin/gatehouse", Size: int64(len(big)), Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(big)), nil
		}}}, func(err error) bool { return gatehouse.ErrorCode(err) == gatehouse.ETOOLARGE }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" fails cleanly", func(t *testing.T) {
			u, err := c.spoolBuild(meta, tt.files)
			if err == nil {
				spool.Remove(u)
				t.Fatal("spoolBuild succeeded")
			}
			if !tt.want(err) {
				t.Errorf("spoolBuild = %v; not the cause", err)
			}
			if entries, _ := os.ReadDir(string(c.cfg.Spool)); len(entries) != 0 {
				t.Errorf("the spool directory keeps %d files", len(entries))
			}
		})
	}
}

func TestCLICondaVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"dev", "0.0.0.dev0"},
		{"", "0.0.0.dev0"},
		{"(devel)", "0.0.0.dev0"},
		{"1.2.3", "1.2.3"},
		{"v1.2.3", "1.2.3"},
		{" v0.9.0 ", "0.9.0"},
		{"1.2.3-rc.1", "1.2.3_rc.1"},
		{"v1.2.3-4-gAbC1234", "1.2.3_4_gabc1234"},
		{"1.2.3+dirty", "1.2.3+dirty"},
		{"vnext", "vnext"},
	}
	for _, tt := range tests {
		t.Run(tt.in+" becomes "+tt.want, func(t *testing.T) {
			got, err := cliCondaVersion(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("cliCondaVersion(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"1.0 beta", "1/2", "1..2", "v1.2.3!", strings.Repeat("1", 100)} {
		t.Run(bad+" is refused", func(t *testing.T) {
			if got, err := cliCondaVersion(bad); err == nil {
				t.Fatalf("cliCondaVersion(%q) = %q; want an error", bad, got)
			}
		})
	}
}

func TestCLITargetCoversTheReleasePlatforms(t *testing.T) {
	tests := []struct{ goos, goarch, subdir, path string }{
		{"linux", "amd64", "linux-64", "bin/gatehouse"},
		{"linux", "arm64", "linux-aarch64", "bin/gatehouse"},
		{"darwin", "amd64", "osx-64", "bin/gatehouse"},
		{"darwin", "arm64", "osx-arm64", "bin/gatehouse"},
		{"windows", "amd64", "win-64", "Library/bin/gatehouse.exe"},
	}
	for _, tt := range tests {
		t.Run(tt.goos+"/"+tt.goarch+" goes to "+tt.subdir, func(t *testing.T) {
			subdir, path, ok := CLITarget(tt.goos, tt.goarch)
			if !ok || subdir != tt.subdir || path != tt.path || !condaname.ValidSubdir(subdir) {
				t.Fatalf("cliTarget = %q, %q, %v; want %q, %q", subdir, path, ok, tt.subdir, tt.path)
			}
		})
	}
	if _, _, ok := CLITarget("plan9", "386"); ok {
		t.Error("plan9/386 has a subdir")
	}
}
