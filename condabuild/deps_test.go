package condabuild

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlyStdlibCompressAndConda keeps the package pure, like package
// conda: the standard library, klauspost/compress, our root and conda
// packages (and what conda imports); no HTTP, no database, no processes.
func TestImportsOnlyStdlibCompressAndConda(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH; run this test with go test")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var seen int
	for _, p := range strings.Fields(string(out)) {
		seen++
		switch {
		case p == "net/http" || p == "database/sql" || p == "os/exec":
			t.Errorf("package condabuild depends on %s; it must stay free of HTTP, databases and processes", p)
		case !strings.Contains(strings.SplitN(p, "/", 2)[0], "."):
			// the standard library
		case p == "github.com/gatehouse-dev/gatehouse", p == "github.com/gatehouse-dev/gatehouse/conda", p == "github.com/gatehouse-dev/gatehouse/conda/matchspec",
			p == "github.com/gatehouse-dev/gatehouse/condabuild", p == "github.com/klauspost/compress", strings.HasPrefix(p, "github.com/klauspost/compress/"),
			// what conda needs: CEP-16 shards, and the CEP-26 name rules
			p == "github.com/tinylib/msgp/msgp", p == "github.com/philhofer/fwd", p == "github.com/gatehouse-dev/gatehouse/condaname":
		default:
			t.Errorf("package condabuild depends on %s; it may import only the standard library, klauspost/compress, and the gatehouse and conda packages", p)
		}
	}
	if seen == 0 {
		t.Fatal("go list -deps listed nothing; the test is not looking at the package")
	}
}
