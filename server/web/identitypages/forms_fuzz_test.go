package identitypages

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/server/web"
)

// FuzzIdentityForms feeds arbitrary form bodies to the readers of the
// single sign-on, trusted publisher and key policy forms: they never
// panic, keep no row without a group, and either refuse with a field the
// page can show or hand the service one entry per row.
func FuzzIdentityForms(f *testing.F) {
	f.Add("role_group=eng&role_role=member&grant_group=eng&grant_channel=lab&grant_role=write")
	f.Add("role_group=eng&role_group=eng&role_role=admin")
	f.Add("grant_group=ops&grant_channel=&grant_role=read&grant_group=%20&max_key_lifetime_days=30&expiry_warning_days=x")
	f.Add("role_group=a&role_role=&role_role=admin&grant_group=a&grant_group=a&grant_channel=x&grant_channel=x")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		roles, grants := formRoleRows(form), formGrantRows(form)
		for _, r := range roles {
			if strings.TrimSpace(r.Group) == "" || r.Group != strings.TrimSpace(r.Group) {
				t.Fatalf("role row with group %q", r.Group)
			}
		}
		if m, err := groupRoles(roles); err == nil && len(m) != len(roles) {
			t.Fatalf("%d role rows became %d entries", len(roles), len(m))
		} else if err != nil && web.ErrorsAt(err, "group_roles")["group_roles"] == "" {
			t.Fatalf("refusal %v not at its field", err)
		}
		if m, err := groupChannels(grants); err == nil {
			n := 0
			for _, chans := range m {
				n += len(chans)
			}
			if n != len(grants) {
				t.Fatalf("%d grant rows became %d entries", len(grants), n)
			}
		} else if web.ErrorsAt(err, "group_channels")["group_channels"] == "" {
			t.Fatalf("refusal %v not at its field", err)
		}
		if u, err := policyUpdate(form.Get("max_key_lifetime_days"), form.Get("expiry_warning_days")); err == nil {
			if u.MaxKeyLifetimeDays == nil || u.ExpiryWarningDays == nil {
				t.Fatal("an accepted policy form without both values")
			}
		} else if e := web.ErrorsAt(err, "max_key_lifetime_days", "expiry_warning_days"); e[""] != "" {
			t.Fatalf("refusal %v not at a field", err)
		}
	})
}
