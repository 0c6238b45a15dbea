package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/signup"
)

func signupForm(user, email, pw string) url.Values {
	return url.Values{"username": {user}, "email": {email}, "password": {pw}, "password2": {pw}}
}

// Issue 11 item 25: self-service sign-up, off by default, open, or with
// an administrator's approval; email domains; whom to ask.
func TestSignupModes(t *testing.T) {
	const pw = "a long enough password"
	t.Run("off: the sign-in page says whom to ask and /signup creates nothing", func(t *testing.T) {
		e := newWebEnvConfig(t, "http://gatehouse.test", func(c *Config) { c.SignupContact = "it-help@example.com" })
		b := e.browser()
		assertContains(t, "the sign-in page", b.get("/login").Body, `id="signup-off"`, "ask it-help@example.com")
		assertContains(t, "/signup", b.get("/signup").Body, `id="signup-off"`)
		form := signupForm("newbie", "n@example.com", pw)
		form.Set("csrf_token", b.cookies["gatehouse_csrf"])
		if r := b.do(http.MethodPost, "/signup", form); r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, "it-help@example.com") {
			t.Errorf("status %d", r.StatusCode)
		}
		if _, err := e.store.UserByName(context.Background(), "newbie"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Errorf("an account was created: %v", err)
		}
	})
	t.Run("open: an account in an allowed domain signs in at once; the password is argon2id; audited", func(t *testing.T) {
		e := newWebEnvConfig(t, "http://gatehouse.test", func(c *Config) {
			c.Signup, c.SignupDomains = signup.Open, []string{"example.com"}
		})
		b := e.browser()
		assertContains(t, "the sign-in page", b.get("/login").Body, `id="signup-link"`, `href="/signup"`)
		r := b.post("/signup", "/signup", signupForm("newbie", "n@other.org", pw))
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, "example.com") {
			t.Errorf("another domain: status %d", r.StatusCode)
		}
		r = b.post("/signup", "/signup", url.Values{"username": {"newbie"}, "email": {"n@example.com"}, "password": {pw}, "password2": {pw + "x"}})
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("different passwords: status %d", r.StatusCode)
		}
		r = b.post("/signup", "/signup", signupForm("Newbie", "n@Example.com", pw))
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, `id="signup-done"`, "newbie")
		u, err := e.store.UserByName(context.Background(), "newbie")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || u.IsAdmin { // checklist E8
			t.Errorf("hash %.10q, admin %v", u.PasswordHash, u.IsAdmin)
		}
		e.browser().signIn("newbie", pw)
		if r := b.post("/signup", "/signup", signupForm("newbie", "x@example.com", pw)); r.StatusCode != http.StatusBadRequest {
			t.Errorf("a taken name: status %d", r.StatusCode)
		}
		if !strings.Contains(e.dump(), "user.signup") {
			t.Error("no user.signup audit event")
		}
	})
	t.Run("the form needs its CSRF token and refuses cross-site posts", func(t *testing.T) { // checklist E4
		e := newWebEnvConfig(t, "http://gatehouse.test", func(c *Config) { c.Signup = signup.Open })
		b := e.browser()
		if r := b.do(http.MethodPost, "/signup", signupForm("newbie", "n@example.com", pw)); r.StatusCode != http.StatusForbidden {
			t.Errorf("without a token: status %d", r.StatusCode)
		}
		b.headers.Set("Sec-Fetch-Site", "cross-site")
		if r := b.post("/signup", "/signup", signupForm("newbie", "n@example.com", pw)); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site: status %d", r.StatusCode)
		}
	})
	t.Run("sign-ups from one address are rate-limited", func(t *testing.T) { // checklist E7, E10
		e := newWebEnvConfig(t, "http://gatehouse.test", func(c *Config) { c.Signup = signup.Open })
		b := e.browser()
		var last *webResp
		for i := range 7 {
			last = b.post("/signup", "/signup", signupForm("bad name "+string(rune('a'+i)), "n@example.com", pw))
		}
		if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
			t.Errorf("the 7th sign-up: status %d, Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
		}
	})
	t.Run("approval: the request waits, an administrator approves or denies it", func(t *testing.T) {
		e := newWebEnvConfig(t, "http://gatehouse.test", func(c *Config) { c.Signup = signup.Approval })
		e.addUser("root", true)
		e.addUser("olivia", false)
		b := e.browser()
		r := b.post("/signup", "/signup", signupForm("newbie", "n@example.com", pw))
		if r.StatusCode != http.StatusCreated || !strings.Contains(r.Body, "sent to the administrators") {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		b.post("/signup", "/signup", signupForm("spammer", "s@example.com", pw))
		if r := b.post("/signup", "/signup", signupForm("newbie", "other@example.com", pw)); r.StatusCode != http.StatusBadRequest {
			t.Errorf("a second request for a waiting name: status %d", r.StatusCode)
		}
		r = b.post("/login?email=newbie", "/login", url.Values{"username": {"newbie"}, "password": {pw}})
		if r.StatusCode == http.StatusSeeOther {
			t.Error("signed in before approval")
		}
		olivia := e.browser()
		olivia.signIn("olivia", webTestPassword)
		if r := olivia.get("/admin/signups"); r.StatusCode != http.StatusForbidden {
			t.Errorf("a non-administrator's /admin/signups: status %d", r.StatusCode)
		}
		root := e.browser()
		root.signIn("root", webTestPassword)
		page := root.get("/admin/signups").Body
		assertContains(t, "/admin/signups", page, `data-username="newbie"`, `data-username="spammer"`, "n@example.com")
		assertContains(t, "/admin/users", root.get("/admin/users").Body, `href="/admin/signups"`)
		reqs, err := e.store.SignupRequests(context.Background(), signup.Pending, 0)
		if err != nil || len(reqs) != 2 {
			t.Fatalf("%d pending, %v", len(reqs), err)
		}
		ids := map[string]string{}
		for _, q := range reqs {
			ids[q.Username] = strconv.FormatInt(q.ID, 10)
		}
		if r := olivia.post("/settings/keys", "/admin/signups/"+ids["newbie"]+"/approve", url.Values{}); r.StatusCode != http.StatusForbidden {
			t.Errorf("a non-administrator approving: status %d", r.StatusCode)
		}
		r = root.post("/admin/signups", "/admin/signups/"+ids["newbie"]+"/approve", url.Values{})
		assertContains(t, "approving", r.Body, "newbie now has an account")
		r = root.post("/admin/signups", "/admin/signups/"+ids["spammer"]+"/deny", url.Values{})
		assertContains(t, "denying", r.Body, "spammer&#39;s request was denied")
		if r := root.post("/admin/signups", "/admin/signups/"+ids["spammer"]+"/approve", url.Values{}); r.StatusCode != http.StatusConflict {
			t.Errorf("approving a denied request: status %d", r.StatusCode)
		}
		e.browser().signIn("newbie", pw)
		if _, err := e.store.UserByName(context.Background(), "spammer"); gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			t.Error("a denied request has an account")
		}
		dump := e.dump()
		for _, a := range []string{"signup.request", "signup.approve", "signup.deny"} {
			if !strings.Contains(dump, a) {
				t.Errorf("no %s audit event", a)
			}
		}
		if strings.Contains(dump, pw) {
			t.Error("the database holds the password")
		}
	})
	t.Run("the sign-in page reached from a CLI login says why", func(t *testing.T) {
		e := newWebEnv(t, "http://gatehouse.test")
		b := e.browser()
		assertContains(t, "from a browser login", b.get("/login?next="+url.QueryEscape("/oauth/authorize?client_id=gatehouse-cli&state=x")).Body,
			`id="cli-login-reason"`, "gatehouse login")
		assertContains(t, "from a device login", b.get("/login?next=%2Fdevice").Body, `id="cli-login-reason"`, "--device")
		if strings.Contains(b.get("/login?next=%2Fchannels").Body, `id="cli-login-reason"`) {
			t.Error("an ordinary sign-in mentions the CLI")
		}
	})
}
