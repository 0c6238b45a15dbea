package usercode

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/deptest"
)

// User codes are pure: no transport, no storage, nothing outside the
// standard library (architecture.md).
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	deptest.OnlyStdlib(t, "github.com/gatehouse-dev/gatehouse/usercode")
}
