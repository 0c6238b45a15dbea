package server

import (
	"fmt"
	"net/http"
	"testing"
)

func TestAnonymousClientsCannotGrowTheCaches(t *testing.T) {
	// checklist I6: the attack pass grew the server by 170 MB with 60,000
	// requests for made-up subdirs of a public channel (the tools channel
	// included): each built and kept an index. Made-up subdirs, channels
	// and files now answer 404 and leave nothing behind.
	f := newChannelFixture(t)
	f.must(call{method: "PATCH", path: "/api/channels/lab", auth: bearer(f.key), body: map[string]any{"visibility": "public"}}, http.StatusOK)
	f.must(call{method: "GET", path: "/repo/lab/noarch/repodata.json"}, http.StatusOK)
	// One made-up subdir first: the channel's list of subdirs (one
	// entry per channel) is then known.
	f.must(call{method: "GET", path: "/repo/lab/zzz-first/repodata.json"}, http.StatusNotFound)
	svc := f.srv.Services()
	before := f.srv.index.Len()
	for i := range 2000 {
		for _, path := range []string{
			fmt.Sprintf("/repo/lab/zzz-%d/repodata.json", i),
			fmt.Sprintf("/repo/lab/zzz-%d/x-1-0.conda", i),
			fmt.Sprintf("/repo/nothing-%d/noarch/repodata.json", i),
		} {
			if a := f.do(call{method: "GET", path: path}); a.status != http.StatusNotFound && a.status != http.StatusForbidden {
				t.Fatalf("%s: %d", path, a.status)
			}
		}
	}
	if after := f.srv.index.Len(); after != before {
		t.Errorf("the index holds %d entries after 4,000 requests for made-up subdirs, it held %d", after, before)
	}
	for _, name := range []string{"nothing-0", "nothing-1999"} {
		if svc.CachedChannel(name) {
			t.Errorf("a channel that does not exist (%s) was cached", name)
		}
	}
}
