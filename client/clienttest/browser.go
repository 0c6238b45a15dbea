package clienttest

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// Browser is a stand-in for a person's browser: it keeps cookies, signs in
// through the login form, and approves or denies CLI logins on the
// server's pages, over real HTTP. It follows redirects, so approving a
// browser login delivers the code to the CLI's loopback listener.
type Browser struct {
	s  *Server
	hc *http.Client
}

// sameOrigin marks requests as a browser marks a form posted from the
// server's own page.
type sameOrigin struct {
	origin string
	rt     http.RoundTripper
}

func (t sameOrigin) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if r.Method == http.MethodPost {
		r.Header.Set("Origin", t.origin)
	}
	return t.rt.RoundTrip(r)
}

// SignIn returns a browser signed in as user (whose password is Password).
func (s *Server) SignIn(user string) (*Browser, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	b := &Browser{s: s, hc: &http.Client{Jar: jar, Transport: sameOrigin{s.URL, http.DefaultTransport}}}
	// The password step of the sign-in page, which asks for the email or
	// username first.
	if _, err := b.submit("/login?email="+url.QueryEscape(user), "/login", url.Values{"username": {user}, "password": {Password}}); err != nil {
		return nil, fmt.Errorf("signing in as %s: %w", user, err)
	}
	return b, nil
}

var (
	csrfField   = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// get fetches a page and returns its body.
func (b *Browser) get(u string) (string, error) {
	if strings.HasPrefix(u, "/") {
		u = b.s.URL + u
	}
	resp, err := b.hc.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return string(body), nil
}

// submit posts form to action with the CSRF token of the page at from.
func (b *Browser) submit(from, action string, form url.Values) (string, error) {
	page, err := b.get(from)
	if err != nil {
		return "", err
	}
	return b.post(page, action, form)
}

// post posts form to action with the CSRF token found in page.
func (b *Browser) post(page, action string, form url.Values) (string, error) {
	if m := csrfField.FindStringSubmatch(page); m != nil {
		form.Set("csrf_token", html.UnescapeString(m[1]))
	}
	resp, err := b.hc.PostForm(b.s.URL+action, form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("POST %s: status %d", action, resp.StatusCode)
	}
	return string(body), nil
}

// AnswerLogin opens the authorization URL a CLI printed, and approves (or
// denies) on the consent page. The redirect that follows goes to the CLI.
func (b *Browser) AnswerLogin(authURL string, approve bool) error {
	page, err := b.get(authURL)
	if err != nil {
		return err
	}
	form := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("code_challenge") == "" {
		return fmt.Errorf("the consent page has no login form:\n%s", page)
	}
	form.Set("decision", decision(approve))
	_, err = b.post(page, "/oauth/authorize", form)
	return err
}

// AnswerDevice enters a device flow's user code and approves (or denies).
func (b *Browser) AnswerDevice(userCode string, approve bool) error {
	page, err := b.get("/device?user_code=" + url.QueryEscape(userCode))
	if err != nil {
		return err
	}
	_, err = b.post(page, "/device", url.Values{"user_code": {userCode}, "decision": {decision(approve)}})
	return err
}

func decision(approve bool) string {
	if approve {
		return "approve"
	}
	return "deny"
}
