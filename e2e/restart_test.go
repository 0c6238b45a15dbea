package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const createdAdminLog = "created the initial administrator"

// checklist H5: starting the binary again on the same --data changes
// nothing: migrations run again without effect, the administrator is not
// created again (nor its password reset from the environment), and keys
// and users made before still work.
func TestRestartOnTheSameDataChangesNothing(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	first := Start(t, gatehouseBin, Options{Data: data})
	shared := first.Database != ""
	if !shared && !strings.Contains(first.Logs(), createdAdminLog) {
		t.Fatalf("the first start on an empty --data did not create the administrator; its log:\n%s", first.Logs())
	}
	admin := basic("admin", first.AdminPassword)
	user := uniqueName("kim")
	if r := call(t, "POST", first.URL+"/api/admin/users", fmt.Sprintf(`{"username":%q,"password":"kim's long password"}`, user), admin); r.Status != http.StatusCreated {
		t.Fatalf("creating a user: %d %s", r.Status, r.Body)
	}
	expires := time.Now().UTC().AddDate(0, 0, 10).Format(time.RFC3339)
	r := call(t, "POST", first.URL+"/api/keys", fmt.Sprintf(`{"name":"before-restart","scopes":["user"],"expires_at":%q}`, expires), admin)
	if r.Status != http.StatusCreated {
		t.Fatalf("creating a key: %d %s", r.Status, r.Body)
	}
	var k struct{ Key string }
	decode(t, r, &k)
	first.RecordSecret(k.Key)
	first.Stop()

	var before string
	if !shared {
		var err error
		if before, err = DumpSQLite(ctx, first.DBPath()); err != nil {
			t.Fatal(err)
		}
	}
	// A different password in the environment must not touch the
	// existing administrator.
	second := Start(t, gatehouseBin, Options{Data: data, AdminPassword: "another-Pw-9fKq2LmZx"})
	second.RecordSecret(k.Key)
	if strings.Contains(second.Logs(), createdAdminLog) {
		t.Errorf("the second start created the administrator again; its log:\n%s", second.Logs())
	}
	if !shared {
		after, err := DumpSQLite(ctx, second.DBPath())
		if err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Errorf("starting again changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	}
	t.Run("what the first run made still works", func(t *testing.T) {
		if r := call(t, "GET", second.URL+"/api/account", "", bearer(k.Key)); r.Status != http.StatusOK {
			t.Errorf("the key: %d %s", r.Status, r.Body)
		}
		if r := call(t, "GET", second.URL+"/api/account", "", basic(user, "kim's long password")); r.Status != http.StatusOK {
			t.Errorf("the user: %d %s", r.Status, r.Body)
		}
		if r := call(t, "GET", second.URL+"/api/account", "", admin); r.Status != http.StatusOK {
			t.Errorf("the administrator's first password: %d %s", r.Status, r.Body)
		}
		if r := call(t, "GET", second.URL+"/api/account", "", basic("admin", second.AdminPassword)); r.Status != http.StatusUnauthorized {
			t.Errorf("the password of the second start's environment: %d, want 401", r.Status)
		}
	})
}
