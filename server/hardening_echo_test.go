package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/apikey"
)

func TestErrorsNeverEchoWhatThePathHeld(t *testing.T) {
	// checklist J2, J6: a key typed where a channel, subdir or file name
	// goes is not repeated back (conda prints refusals into CI logs), and
	// no answer names what was asked for.
	f := newChannelFixture(t)
	key, _ := f.createKey("admin", "ci", []string{"user", "channels"}, time.Hour)
	stray, _ := apikey.Generate()
	for _, c := range []call{
		{method: "GET", path: "/repo/lab/noarch/" + stray + ".conda", auth: bearer(key)},
		{method: "GET", path: "/repo/t/" + key + "/lab/linux-64/" + stray + "-1-0.conda"},
		{method: "GET", path: "/repo/lab/zz-" + strings.ToLower(stray[3:12]) + "/repodata.json", auth: bearer(key)},
		{method: "GET", path: "/repo/" + strings.ToLower(stray) + "/noarch/repodata.json"},
		{method: "GET", path: "/repo/" + strings.ToLower(stray) + "/noarch/repodata.json", auth: bearer(key)},
		{method: "GET", path: "/api/channels/" + strings.ToLower(stray), auth: bearer(key)},
		{method: "GET", path: "/api/orgs/" + strings.ToLower(stray) + "/members", auth: bearer(key)},
	} {
		a := f.do(c)
		if a.status < 400 {
			t.Errorf("%s: %d", c.path, a.status)
		}
		body := strings.ToLower(string(a.body))
		for _, secret := range []string{strings.ToLower(stray), strings.ToLower(stray[3:12]), strings.ToLower(key)} {
			if strings.Contains(body, secret) {
				t.Errorf("%s: the answer echoes the path: %s", c.path, a.body)
			}
		}
	}
	if a := f.do(call{method: "GET", path: "/api/channels/no-such", auth: bearer(key)}); a.status != http.StatusNotFound || strings.Contains(string(a.body), "no-such") {
		t.Errorf("a missing channel: %d %s", a.status, a.body)
	}
}
