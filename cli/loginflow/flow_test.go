package loginflow

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The browser must get the whole page even when the answer ends the
// login at once (a denial): the CLI's listener stops only after the page
// has gone out. Closing it first left Chromium on its own error page in
// CI, under load.
func TestTheBrowserGetsTheWholePageWhenTheAnswerEndsTheLogin(t *testing.T) {
	for i := 0; i < 200; i++ {
		got := make(chan string, 1)
		f := &Flow{
			Config:     &oauth2.Config{ClientID: "gatehouse-cli", Endpoint: oauth2.Endpoint{AuthURL: "http://127.0.0.1:1/oauth/authorize"}},
			ClientName: "test",
			Domain:     "example.test",
			Stderr:     io.Discard,
			OpenBrowser: func(ctx context.Context, authURL string) error {
				u, err := url.Parse(authURL)
				if err != nil {
					return err
				}
				q := u.Query()
				go func() {
					res, err := http.Get(q.Get("redirect_uri") + "?" + url.Values{"state": {q.Get("state")}, "error": {"access_denied"}}.Encode())
					if err != nil {
						got <- "error: " + err.Error()
						return
					}
					defer res.Body.Close()
					body, err := io.ReadAll(res.Body)
					if err != nil {
						got <- "error reading the page: " + err.Error()
						return
					}
					got <- string(body)
				}()
				return nil
			},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := f.Browser(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "denied") {
			t.Fatalf("round %d: the login ended with %v, want the denial", i, err)
		}
		if page := <-got; !strings.Contains(page, `id="cli-page-title">Login denied</h1>`) || !strings.HasSuffix(page, "</html>") {
			t.Fatalf("round %d: the browser got %q", i, page)
		}
	}
}
