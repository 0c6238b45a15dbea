package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Issue 11 items 18 and 22: package uploads and uses of a revoked key are
// audited with the address they came from, and the refusal of a revoked
// or expired key links the keys page and names the full login command.
func TestAuditedUploadsAndRevokedUsesCarryTheirAddress(t *testing.T) {
	f := newChannelFixture(t)
	data := readFixture(t, "noarch", "gh-data-1.0.0-0.conda")
	if a := f.upload(bearer(f.key), "lab", "gh-data-1.0.0-0.conda", data, ""); a.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", a.status, a.body)
	}
	key, id := f.createKey("admin", "old-ci", []string{"user", "channels"}, 30*24*time.Hour)
	if a := f.do(call{method: "DELETE", path: "/api/keys/" + strconv.FormatInt(id, 10), auth: bearer(f.key)}); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	a := f.do(call{method: "GET", path: "/api/account", auth: bearer(key)})
	if a.status != http.StatusUnauthorized {
		t.Fatalf("the revoked key: %d", a.status)
	}
	// checklist B3: the refusal says revoked, and what to do.
	for _, want := range []string{"was revoked on", "/settings/keys", "gatehouse login --at "} {
		if !strings.Contains(string(a.body), want) {
			t.Errorf("the refusal %s lacks %q", a.body, want)
		}
	}
	for _, action := range []string{gatehouse.AuditPackageUpload, gatehouse.AuditKeyUseRevoked} {
		evs, err := f.store.ListAudit(context.Background(), gatehouse.AuditFilter{Action: action})
		if err != nil || len(evs) == 0 {
			t.Fatalf("%s: %v, %d events", action, err, len(evs))
		}
		if evs[0].IP == "" {
			t.Errorf("%s was audited without an address: %+v", action, evs[0])
		}
	}
}
