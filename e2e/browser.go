package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ErrNoChromium is returned by ChromiumPath when no browser is installed.
var ErrNoChromium = errors.New("no Chromium found: install it (apt-get install chromium) or set GATEHOUSE_E2E_CHROMIUM")

// ChromiumPath returns the browser the tests drive: $GATEHOUSE_E2E_CHROMIUM,
// else Debian's /usr/bin/chromium.
func ChromiumPath() (string, error) {
	for _, p := range []string{os.Getenv("GATEHOUSE_E2E_CHROMIUM"), "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Browser is one headless Chromium with a fresh profile and one tab.
type Browser struct {
	// Ctx runs chromedp actions in the tab; it ends at the test's timeout.
	Ctx context.Context
	tab context.Context // Ctx without the timeout, to report a failure after it

	mu     sync.Mutex
	errors []string // uncaught exceptions, console errors, CSP violations
}

// NewBrowser starts headless Chromium for t; it is closed in t.Cleanup.
// Every action must finish within timeout in all. Without Chromium the
// test is skipped, unless $CI is set: then it fails, so that CI never
// passes by skipping.
func NewBrowser(t testing.TB, timeout time.Duration) *Browser {
	t.Helper()
	path, err := ChromiumPath()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests must run in CI: %v", err)
		}
		t.Skipf("skipping the browser test: %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root in a container
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("lang", "en-US"),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	// The first Do starts the browser: it must not carry the timeout,
	// or the timeout would stop the browser rather than an action.
	if err := chromedp.Do(tabCtx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	ctx, cancelTimeout := context.WithTimeout(tabCtx, timeout)
	b := &Browser{Ctx: ctx, tab: tabCtx}
	err = chromedp.Listen(tabCtx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.addError("uncaught exception: " + msg)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				b.addError("console.error: " + strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			// Network errors are the tests' own doing (a 401 page after
			// a wrong password); anything else is the page's fault:
			// CSP violations arrive here as "security" errors.
			if e := ev.Entry; e.Level == cdplog.EntryLevelError && e.Source != cdplog.EntrySourceNetwork {
				b.addError(fmt.Sprintf("%s error: %s (%s)", e.Source, e.Text, e.URL))
			}
		}
	})
	if err != nil {
		t.Fatalf("listening to the browser: %v", err)
	}
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab() // closes the tab and the browser
		cancelAlloc()
	})
	return b
}

func (b *Browser) addError(s string) {
	b.mu.Lock()
	b.errors = append(b.errors, s)
	b.mu.Unlock()
}

// Errors returns the page errors seen so far.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// AssertNoPageErrors fails the test for any script error or CSP violation
// the pages have caused so far.
func (b *Browser) AssertNoPageErrors(t testing.TB) {
	t.Helper()
	for _, e := range b.Errors() {
		t.Errorf("page error: %s", e)
	}
}

// Do runs steps in order and fails the test, naming what it was doing and
// showing the page, if one fails.
func (b *Browser) Do(t testing.TB, doing string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.Ctx, steps...); err != nil {
		b.fail(t, doing, err)
	}
}

func (b *Browser) fail(t testing.TB, doing string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.tab, 5*time.Second)
	defer cancel()
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Fatalf("%s: %v\nat %s, page:\n%s\npage errors: %q", doing, err, loc, truncate(html, 6000), b.Errors())
}

// Get runs one action that returns a value, failing the test on error.
func Get[T any](t testing.TB, b *Browser, doing string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b.Ctx, a)
	if err != nil {
		b.fail(t, doing, err)
	}
	return v
}

// SignIn signs in through the login page at base (going to next after)
// and waits for the page behind it, which has the user menu.
func (b *Browser) SignIn(t testing.TB, base, next, username, password string) {
	t.Helper()
	u := base + "/login"
	if next != "" {
		u += "?next=" + next
	}
	b.Do(t, "opening the sign-in page", chromedp.Navigate(u))
	b.EnterPassword(t, username, password)
	b.Do(t, "signing in as "+username, chromedp.WaitVisible(chromedp.ID("user-menu")))
}

// EnterPassword goes through the sign-in page from its first step: the
// email or username, Continue, then the password (for an account that
// signs in with one), and submits.
func (b *Browser) EnterPassword(t testing.TB, username, password string) {
	t.Helper()
	b.Do(t, "entering "+username+" and a password on the sign-in page",
		chromedp.WaitVisible(chromedp.ID("identifier")),
		chromedp.SendKeys(chromedp.ID("identifier"), username),
		chromedp.Click(chromedp.ID("continue")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("sign-in")),
	)
}

// SignOut signs out through the user menu and waits for the login page.
func (b *Browser) SignOut(t testing.TB) {
	t.Helper()
	b.Do(t, "signing out",
		chromedp.Click(chromedp.CSS("#user-menu summary")),
		chromedp.WaitVisible(chromedp.ID("menu-sign-out")),
		chromedp.Click(chromedp.ID("menu-sign-out")),
		chromedp.WaitVisible(chromedp.ID("identify-form")),
	)
}

// HTML returns the current document's markup.
func (b *Browser) HTML(t testing.TB) string {
	t.Helper()
	return Get(t, b, "reading the page", chromedp.OuterHTML(chromedp.CSS("html")))
}

// Location returns the current URL.
func (b *Browser) Location(t testing.TB) string {
	t.Helper()
	return Get(t, b, "reading the location", chromedp.Location())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d more bytes)", len(s)-n)
}
