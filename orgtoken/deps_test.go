package orgtoken

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/deptest"
)

// The token format is pure: no transport, no storage, nothing outside the
// standard library but apikey, itself pure (architecture.md).
func TestImportsOnlyTheStandardLibraryAndAPIKey(t *testing.T) {
	deptest.OnlyStdlib(t, "github.com/gatehouse-dev/gatehouse/orgtoken", "github.com/gatehouse-dev/gatehouse/apikey")
}
