package gate_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPureDependencies keeps gate pure (architecture.md): the decision must
// not depend on transport or storage, so the package may import only the
// standard library's address and text helpers and the root package.
func TestPureDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not in PATH")
	}
	const self = "github.com/gatehouse-dev/gatehouse/gate"
	const root = "github.com/gatehouse-dev/gatehouse"

	t.Run("direct imports are on the allow-list", func(t *testing.T) {
		allowed := map[string]bool{
			root: true, "net/netip": true, "strings": true, "slices": true,
			"cmp": true, "encoding/binary": true,
		}
		for _, imp := range goList(t, goBin, "{{join .Imports \"\\n\"}}", self) {
			if !allowed[imp] {
				t.Errorf("gate imports %s; only %v are allowed", imp, allowed)
			}
		}
	})
	t.Run("no dependency outside the standard library but the root package", func(t *testing.T) {
		for _, dep := range goList(t, goBin, "{{if not .Standard}}{{.ImportPath}}{{end}}", "-deps", self) {
			if dep != self && dep != root {
				t.Errorf("gate depends on %s", dep)
			}
		}
	})
	t.Run("no transport or storage package is reachable", func(t *testing.T) {
		forbidden := []string{"net", "net/http", "database/sql", "os/exec", "crypto/tls"}
		deps := map[string]bool{}
		for _, d := range goList(t, goBin, "{{.ImportPath}}", "-deps", self) {
			deps[d] = true
		}
		for _, f := range forbidden {
			if deps[f] {
				t.Errorf("gate depends on %s", f)
			}
		}
	})
}

func goList(t *testing.T, goBin, format string, args ...string) []string {
	t.Helper()
	cmd := exec.Command(goBin, append([]string{"list", "-f", format}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	var lines []string
	for l := range strings.SplitSeq(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
