package orgtoken

import (
	"os/exec"
	"strings"
	"testing"
)

// The key format is pure: no transport, no storage, nothing outside the
// standard library (architecture.md, like tailscale's tstest/deptest).
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to list imports: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	const self = "github.com/gatehouse-dev/gatehouse/orgtoken"
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != self {
			t.Errorf("orgtoken imports %s, outside the standard library", pkg)
		}
	}
}
