package keyrule

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/deptest"
)

// The key rules are pure: nothing outside the standard library but the
// root package and condaname (architecture.md).
func TestImportsOnlyTheStandardLibraryTheRootAndCondaname(t *testing.T) {
	deptest.OnlyStdlib(t, "github.com/gatehouse-dev/gatehouse/keyrule",
		"github.com/gatehouse-dev/gatehouse", "github.com/gatehouse-dev/gatehouse/condaname")
}
