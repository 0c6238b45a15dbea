package gatehouse_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The import rules of architecture.md, checked against what the packages
// really import (non-test files), the way tailscale's deptest does: a
// rule broken anywhere fails here, not in a review.

const module = "github.com/gatehouse-dev/gatehouse"

type listed struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) map[string]listed {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]listed{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listed
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func ours(imports []string) []string {
	var out []string
	for _, i := range imports {
		if i == module || strings.HasPrefix(i, module+"/") {
			out = append(out, strings.TrimPrefix(strings.TrimPrefix(i, module), "/"))
		}
	}
	return out
}

func TestTheRootPackageImportsNothingOfOurs(t *testing.T) {
	root := listPackages(t)[module]
	if got := ours(root.Imports); len(got) > 0 {
		t.Errorf("the root package imports %v; it holds the domain and imports nothing of ours", got)
	}
}

func TestPurePackagesStayPure(t *testing.T) {
	// Pure: they may import the root package (for its errors) and each
	// other as listed, and never transport or storage.
	pure := map[string][]string{
		"apikey":          {},
		"password":        {},
		"secret":          {},
		"conda":           {"", "conda/matchspec", "condaname"},
		"conda/matchspec": {},
		"conda/repofmt":   {"", "conda", "condaname"},
		"condaname":       {""},
		"gate":            {""},
		"keyrule":         {"", "condaname"},
		"logsink":         {},
		"cache":           {},
		"ratelimit":       {"cache"},
		"spool":           {""},
		"usercode":        {},
	}
	forbidden := []string{"net/http", "database/sql", "os/exec"}
	pkgs := listPackages(t)
	for name, allowed := range pure {
		p, ok := pkgs[module+"/"+name]
		if !ok {
			t.Errorf("package %s is gone: update this test", name)
			continue
		}
		for _, imp := range ours(p.Imports) {
			if !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %q of ours; a pure package may import only %q", name, imp, allowed)
			}
		}
		for _, imp := range p.Imports {
			if slices.Contains(forbidden, imp) {
				t.Errorf("%s imports %s; a pure package does no I/O of that kind", name, imp)
			}
		}
	}
}

func TestTheHTTPPackagesNeverImportTheStores(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./server/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 6 {
		t.Fatalf("only %d server packages listed", len(lines))
	}
	for _, line := range lines {
		pkg, deps, _ := strings.Cut(line, " ")
		for _, d := range strings.Fields(deps) {
			if d == module+"/sqlstore" || strings.HasPrefix(d, "github.com/jackc/pgx") || d == "modernc.org/sqlite" {
				t.Errorf("%s depends on %s: the HTTP packages get services and interfaces, never a store", pkg, d)
			}
		}
	}
}

func TestTheBinaryNeverLinksTheTestProvider(t *testing.T) {
	// The OpenID provider the tests run (service/idp/idptest, on zitadel's
	// op and its OpenTelemetry) stays out of the one binary people
	// download; the binary speaks OIDC through coreos/go-oidc only. So do
	// the e2e harness and the helpers its tests and the soak share.
	out, err := exec.Command("go", "list", "-deps", "./cmd/gatehouse").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/zitadel/") || strings.HasPrefix(dep, "go.opentelemetry.io/") || dep == module+"/service/idp/idptest" ||
			dep == module+"/e2e" || strings.HasPrefix(dep, module+"/e2e/") {
			t.Errorf("the gatehouse binary depends on %s", dep)
		}
	}
}
