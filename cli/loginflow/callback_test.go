package loginflow

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Issue 11 item 24: the page the CLI's loopback listener shows after a
// browser login is styled like the server's pages, escapes what it shows,
// loads nothing and sends no Referer (the URL holds the code).
func TestCallbackPageLooksLikeTheServersPages(t *testing.T) {
	w := httptest.NewRecorder()
	page(w, http.StatusOK, "Logged in", "You can close this tab <and> return to the terminal.")
	body := w.Body.String()
	for _, want := range []string{`<header class="topbar">Gatehouse</header>`, `<section class="card" id="cli-result">`,
		`<h1 id="cli-page-title">Logged in</h1>`, "&lt;and&gt;", `name="viewport"`, "<title>Logged in · Gatehouse</title>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q loads more than the inline style", csp)
	}
	if w.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Error("the page may send a Referer")
	}
}
