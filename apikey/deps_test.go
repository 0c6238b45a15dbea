package apikey

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/deptest"
)

// The key format is pure: no transport, no storage, nothing outside the
// standard library (architecture.md, like tailscale's tstest/deptest).
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	deptest.OnlyStdlib(t, "github.com/gatehouse-dev/gatehouse/apikey")
}
