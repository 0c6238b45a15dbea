package conda

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlyStdlibCompressAndRoot keeps the package pure, as
// architecture.md asks: no HTTP, no database, nothing but the standard
// library, klauspost/compress, tinylib/msgp, the root package (for error
// codes) and condaname (the subdir names). It asks the go tool for every
// package the conda package pulls in.
func TestImportsOnlyStdlibCompressAndRoot(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH; run this test with go test")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	allowed := func(p string) bool {
		return p == "github.com/gatehouse-dev/gatehouse" ||
			p == "github.com/gatehouse-dev/gatehouse/conda" ||
			// The version and match spec grammars, pure themselves (their
			// own imports are listed here too).
			p == "github.com/gatehouse-dev/gatehouse/conda/matchspec" ||
			// The CEP-26 name rules, pure too (root package only).
			p == "github.com/gatehouse-dev/gatehouse/condaname" ||
			p == "github.com/klauspost/compress" || strings.HasPrefix(p, "github.com/klauspost/compress/") ||
			// msgpack for CEP-16 shards, and its one dependency (buffered I/O).
			p == "github.com/tinylib/msgp/msgp" || p == "github.com/philhofer/fwd"
	}
	var seen int
	for _, p := range strings.Fields(string(out)) {
		seen++
		if !allowed(p) {
			t.Errorf("package conda depends on %s; it may import only the standard library, github.com/klauspost/compress, tinylib/msgp, the root gatehouse package and condaname", p)
		}
	}
	if seen == 0 {
		t.Fatal("go list -deps listed nothing; the test is not looking at the package")
	}
	// The forbidden kinds, by name, in case a standard package sneaks them in.
	std, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, std)
	}
	for _, p := range strings.Fields(string(std)) {
		if p == "net/http" || p == "database/sql" || strings.HasPrefix(p, "os/exec") {
			t.Errorf("package conda depends on %s; it must stay free of HTTP, databases and processes", p)
		}
	}
}
