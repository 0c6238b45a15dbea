package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 11 items 10 and 30 in Chromium, desktop and 400 px: /register
// names the install command for each platform the tools channel serves,
// each with a copy button that copies exactly the command.
func TestRegisterPageNamesTheCommandForEveryPlatform(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	b := NewBrowser(t, 60*time.Second)
	want := "conda install --name base gatehouse --channel " + srv.URL + "/repo/gatehouse-tools --override-channels"
	for _, width := range []int64{1280, 400} {
		b.Do(t, "opening /register", chromedp.EmulateViewport(width, 860), chromedp.Navigate(srv.URL+"/register"), chromedp.WaitVisible(chromedp.ID("platforms")))
		for _, subdir := range []string{"linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64"} {
			sel := "#install-" + subdir
			if got := Get(t, b, "reading "+sel, chromedp.Text(chromedp.CSS(sel))); got != want {
				t.Errorf("%s at %d px: %q, want %q", sel, width, got, want)
			}
			if n := Get(t, b, "counting copy buttons", chromedp.Evaluate[int](`document.querySelectorAll('[data-copy="install-`+subdir+`"]').length`)); n != 1 {
				t.Errorf("%s has %d copy buttons", sel, n)
			}
		}
		if label := Get(t, b, "reading the Windows row", chromedp.Text(chromedp.ID("platform-win-64"))); !strings.Contains(label, "Anaconda Prompt") {
			t.Errorf("the Windows row says %q", label)
		}
		// Every command on the page has a copy button.
		missing := Get(t, b, "finding commands without a copy button", chromedp.Evaluate[[]string](
			`[...document.querySelectorAll('#register .command code')].filter(c => !document.querySelector('[data-copy="'+c.id+'"]')).map(c => c.id || c.textContent)`))
		if len(missing) != 0 {
			t.Errorf("commands without a copy button: %v", missing)
		}
		if Get(t, b, "measuring", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
			t.Errorf("/register at %d px scrolls sideways", width)
		}
	}
	// The copy button copies the command (or selects it where the
	// clipboard is refused).
	b.Do(t, "copying the macOS command", chromedp.Click(chromedp.CSS(`[data-copy="install-osx-arm64"]`)))
	time.Sleep(300 * time.Millisecond) // the click handler awaits the clipboard
	state := Get(t, b, "reading the button and the selection", chromedp.Evaluate[[]string](
		`[document.querySelector('[data-copy="install-osx-arm64"]').textContent, window.getSelection().toString()]`))
	switch {
	case len(state) != 2:
		t.Fatalf("state %v", state)
	case state[0] == "Copied":
	case strings.HasPrefix(state[0], "Selected") && strings.TrimSpace(state[1]) == want:
	default:
		t.Errorf("after the click the button says %q and the selection is %q", state[0], state[1])
	}
	b.AssertNoPageErrors(t)
}
