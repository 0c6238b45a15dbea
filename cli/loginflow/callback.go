package loginflow

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/secret"
)

// callbackResult is what the loopback redirect brought back.
type callbackResult struct {
	code string
	err  error
}

// callbackHandler answers the browser's redirect. A request whose state
// is not ours (another site's page, a stale tab) is refused and the wait
// goes on; the first real answer is delivered.
func callbackHandler(state string, results chan<- callbackResult) http.Handler {
	deliver := func(w http.ResponseWriter, r callbackResult) {
		// The page goes out first: the wait may end, and the listener
		// stop, as soon as the answer is delivered.
		_ = http.NewResponseController(w).Flush()
		select {
		case results <- r:
		default:
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if !secret.Equal(q.Get("state"), state) {
			page(w, http.StatusBadRequest, "This link does not belong to the login in progress", "Go back to the terminal and follow the link it printed.")
			return
		}
		switch e := q.Get("error"); {
		case e == "access_denied":
			page(w, http.StatusOK, "Login denied", "You can close this tab.")
			deliver(w, callbackResult{err: failf("Login was denied in the browser.")})
		case e != "":
			desc := q.Get("error_description")
			if desc == "" {
				desc = e
			}
			page(w, http.StatusOK, "Login failed", "The server said: "+desc)
			deliver(w, callbackResult{err: failf("The login failed: %s", desc)})
		case q.Get("code") == "":
			page(w, http.StatusBadRequest, "No login code", "Go back to the terminal and try again.")
		default:
			page(w, http.StatusOK, "Logged in", "You can close this tab and return to the terminal.")
			deliver(w, callbackResult{code: q.Get("code")})
		}
	})
}

// page writes a small HTML page. The URL it answers holds the code, so the
// page sends no Referer and loads nothing.
func page(w http.ResponseWriter, status int, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	body := fmt.Sprintf(callbackPage, html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
	// A known length lets a flush send the whole answer: no closing chunk
	// is left for the handler's return.
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// callbackPage looks like the server's pages (its top bar, a centred
// card), with its style inline: the CLI's listener serves nothing else.
const callbackPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>%s · Gatehouse</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#f6f7f9}
.topbar{padding:.6rem 1.5rem;background:#13261b;color:#fff;font-weight:700;letter-spacing:.02em}
main{padding:0 1rem}
.card{background:#fff;border:1px solid #dfe3ea;border-radius:10px;padding:1.25rem 1.5rem;max-width:26rem;margin:3rem auto}
h1{font-size:1.6rem;margin:0 0 .5rem}
p{margin:.4rem 0;overflow-wrap:anywhere}
.muted{color:#5d6677;font-size:.85rem}
</style></head>
<body><header class="topbar">Gatehouse</header>
<main><section class="card" id="cli-result"><h1 id="cli-page-title">%s</h1><p id="cli-page-text">%s</p>
<p class="muted">This page was shown by the gatehouse command on this computer.</p></section></main>
</body></html>`
