package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The pages of issue 10 in Chromium, on a desktop and a 400 px wide
// phone: anaconda-auth's browser-login landing pages and the registration
// page that names the real steps. Each renders its text, loads no broken
// script, and needs no horizontal scrolling.
func TestRegistrationAndAnacondaLoginPagesInChromium(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	b := NewBrowser(t, 60*time.Second)
	pages := []struct{ path, sel, want string }{
		{"/app/local-login-success", "#login-result-title", "You are logged in"},
		{"/app/local-login-error", "#login-result-title", "Login not completed"},
		{"/register", "#login-cmd", "gatehouse login --at " + domainOf(t, srv)},
	}
	for _, width := range []int64{1280, 400} {
		for _, p := range pages {
			b.Do(t, "opening "+p.path, chromedp.EmulateViewport(width, 860), chromedp.Navigate(srv.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
			if got := Get(t, b, "reading "+p.path, chromedp.Text(chromedp.CSS(p.sel))); got != p.want {
				t.Errorf("%s at %d px: %q, want %q", p.path, width, got, p.want)
			}
			overflow := Get(t, b, "measuring "+p.path, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
			if overflow {
				t.Errorf("%s at %d px scrolls sideways", p.path, width)
			}
		}
	}
	// The registration page says login is all it takes.
	html := Get(t, b, "reading /register", chromedp.Text(chromedp.CSS("#register")))
	for _, s := range []string{"conda install --name base gatehouse --channel", "nothing else is needed"} {
		if !strings.Contains(html, s) {
			t.Errorf("/register does not say %q", s)
		}
	}
	b.AssertNoPageErrors(t)
}
