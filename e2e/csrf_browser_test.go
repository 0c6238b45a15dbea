package e2e

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// checklist E4, in a real browser: a signed-in person visits another site
// whose page posts a form to Gatehouse (create a key, revoke one). The
// browser sends it; Gatehouse must refuse it and change nothing.
func TestBrowserCrossSiteFormsAreRefused(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	admin := basic("admin", srv.AdminPassword)
	expires := time.Now().UTC().AddDate(0, 0, 10).Format(time.RFC3339)
	r := call(t, "POST", srv.URL+"/api/keys", fmt.Sprintf(`{"name":"victim","scopes":["user"],"expires_at":%q}`, expires), admin)
	if r.Status != http.StatusCreated {
		t.Fatalf("creating the victim's key: %d %s", r.Status, r.Body)
	}
	var victim struct {
		Key string
		ID  int64
	}
	decode(t, r, &victim)
	srv.RecordSecret(victim.Key)

	// The other site: "localhost" is another site than "127.0.0.1".
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>prize</title>
<form id="create" method="post" action="%[1]s/settings/keys"><input name="name" value="planted"><input name="scope" value="user">
<input name="expiration" value="365"><input name="csrf_token" value="guess"><button id="create-go">Claim</button></form>
<form id="revoke" method="post" action="%[1]s/settings/keys/%[2]d/revoke"><button id="revoke-go">Claim</button></form>`,
			html.EscapeString(srv.URL), victim.ID)
	}))
	t.Cleanup(evil.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(evil.URL, "http://"))
	evilURL := "http://localhost:" + port

	b := NewBrowser(t, 60*time.Second)
	b.SignIn(t, srv.URL, "", "admin", srv.AdminPassword)
	for _, button := range []string{"create-go", "revoke-go"} {
		b.Do(t, "submitting the other site's form "+button,
			chromedp.Navigate(evilURL+"/"),
			chromedp.WaitVisible(chromedp.ID(button)),
			chromedp.Click(chromedp.ID(button)),
			chromedp.WaitVisible(chromedp.ID("page-error")),
		)
		msg := Get(t, b, "reading the refusal", chromedp.Text(chromedp.ID("page-error")))
		// The cross-origin check answers first (Sec-Fetch-Site); the lax
		// cookie would not have been sent anyway.
		if !strings.Contains(msg, "Cross-site requests are refused") {
			t.Errorf("%s: the answer says %q", button, msg)
		}
	}
	var keys struct {
		Keys []struct {
			Name   string
			Status string
		}
	}
	decode(t, call(t, "GET", srv.URL+"/api/keys", "", admin), &keys)
	if len(keys.Keys) != 1 || keys.Keys[0].Name != "victim" || keys.Keys[0].Status != "active" {
		t.Errorf("after the other site's forms, the keys are %+v", keys.Keys)
	}
	// The person is still signed in and their own forms work.
	b.Do(t, "using Gatehouse itself afterwards",
		chromedp.Navigate(srv.URL+"/settings/keys"),
		chromedp.WaitVisible(chromedp.ID("revoke-open-"+fmt.Sprint(victim.ID))),
	)
}
