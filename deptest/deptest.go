// Package deptest keeps pure packages pure: a test calls OnlyStdlib to
// fail when the package under test depends, directly or not, on anything
// outside the standard library but the packages it names (like
// tailscale's tstest/deptest).
package deptest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// OnlyStdlib fails t for every package outside the standard library that
// the package in the current directory (self) depends on, but allowed.
func OnlyStdlib(t *testing.T, self string, allowed ...string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to list imports: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	seen := false
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == self {
			seen = true
		} else if !slices.Contains(allowed, pkg) {
			t.Errorf("%s imports %s, outside the standard library", self, pkg)
		}
	}
	if !seen {
		t.Errorf("go list -deps did not list %s: the test is not looking at the package", self)
	}
}
