package condaname

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/deptest"
)

// The naming rules are pure: nothing outside the standard library but the
// root package, for its errors (architecture.md).
func TestImportsOnlyTheStandardLibraryAndTheRoot(t *testing.T) {
	deptest.OnlyStdlib(t, "github.com/gatehouse-dev/gatehouse/condaname", "github.com/gatehouse-dev/gatehouse")
}
