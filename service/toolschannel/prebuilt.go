package toolschannel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/condabuild"
)

// Platforms are the conda subdirs a release builds the CLI for
// (scripts/release), in the order they are published.
var Platforms = []string{"linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64"}

// PrebuiltName is the file name of the release's binary for subdir:
// gatehouse-<subdir>, with .exe on Windows.
func PrebuiltName(subdir string) string {
	if strings.HasPrefix(subdir, "win-") {
		return "gatehouse-" + subdir + ".exe"
	}
	return "gatehouse-" + subdir
}

// Prebuilt finds the release's binaries in dir: for each platform, the
// file PrebuiltName names, if present. A file whose headers say it is for
// another platform is an error, and is left out.
func Prebuilt(dir string) (map[string]string, error) {
	found := map[string]string{}
	var errs []error
	for _, subdir := range Platforms {
		path := filepath.Join(dir, PrebuiltName(subdir))
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got := condabuild.ExecutableSubdir(f)
		f.Close()
		if got != subdir {
			if got == "" {
				got = "not an executable of a known platform"
			}
			errs = append(errs, fmt.Errorf("%s is %s, not %s", path, got, subdir))
			continue
		}
		found[subdir] = path
	}
	if len(found) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s holds none of %s", dir, strings.Join(prebuiltNames(), ", ")))
	}
	return found, errors.Join(errs...)
}

func prebuiltNames() []string {
	var out []string
	for _, p := range Platforms {
		out = append(out, PrebuiltName(p))
	}
	return out
}

// PublishAll publishes the running binary for its own platform, then
// every binary of the release found in dir ("" for none) for the others:
// the running binary speaks for its own platform. Cross-compiling five
// targets takes minutes and a Go toolchain, so the server publishes what
// the release built (scripts/release) instead of building at start. It
// goes on after a failure and returns them all.
func (c *Publisher) PublishAll(ctx context.Context, self, dir, version string) error {
	var errs []error
	own, _, _ := CLITarget(runtime.GOOS, runtime.GOARCH)
	if self != "" {
		errs = append(errs, c.Publish(ctx, self, version))
	}
	if dir == "" {
		return errors.Join(errs...)
	}
	found, err := Prebuilt(dir)
	errs = append(errs, err)
	subdirs := make([]string, 0, len(found))
	for s := range found {
		subdirs = append(subdirs, s)
	}
	sort.Strings(subdirs)
	for _, subdir := range subdirs {
		if subdir == own && self != "" {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		errs = append(errs, c.PublishFor(ctx, found[subdir], version, subdir))
	}
	return errors.Join(errs...)
}
