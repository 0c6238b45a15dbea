package server

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Every request leaves one access line, with any key in its path redacted
// (checklist J1, J2), and is counted by route pattern and status class.
func TestEveryRequestIsLoggedAndCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, func(c *Config) { c.Registry = reg })
	const key = "gk-SeCrEt0123456789abcdefABCDEF"
	for range 3 {
		f.do(call{method: "GET", path: "/repo/t/" + key + "/nosuch/noarch/repodata.json"})
	}
	if a := f.do(call{method: "GET", path: "/api/openapi.json"}); a.status != http.StatusOK {
		t.Fatalf("openapi.json: %d", a.status)
	}
	f.do(call{method: "GET", path: "/no/such/page"})

	logs := f.logs.String()
	if strings.Contains(logs, key) {
		t.Fatalf("the key reached the log:\n%s", logs)
	}
	line := regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=request method=GET path=(\S+) status=(\d+) bytes=(\d+) duration_ms=[0-9.]+ ip=192\.0\.2\.1$`)
	var paths []string
	for _, m := range line.FindAllStringSubmatch(logs, -1) {
		paths = append(paths, m[1]+" "+m[2])
		if m[3] == "0" && m[2] != "304" {
			t.Errorf("an answer with a body logged 0 bytes: %s", m[0])
		}
	}
	want := []string{"/repo/t/<redacted>/nosuch/noarch/repodata.json 403", "/repo/t/<redacted>/nosuch/noarch/repodata.json 403",
		"/repo/t/<redacted>/nosuch/noarch/repodata.json 403", "/api/openapi.json 200", "/no/such/page 404"}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("access lines:\n%s\nwant:\n%s\nlog:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"), logs)
	}

	counts := map[string]float64{}
	observed := map[string]uint64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "gatehouse_http_requests_total":
				counts[labels["route"]+" "+labels["code"]] += m.GetCounter().GetValue()
			case "gatehouse_http_request_duration_seconds":
				observed[labels["route"]] += m.GetHistogram().GetSampleCount()
			}
		}
	}
	var repoRoute string
	for k := range observed {
		if strings.Contains(k, "/repo/") {
			repoRoute = k
		}
	}
	if repoRoute == "" || counts[repoRoute+" 4xx"] != 3 || observed[repoRoute] != 3 || counts[repoRoute+" 2xx"] != 0 {
		t.Errorf("the channel route was counted %v, observed %v", counts, observed)
	}
	if counts["unmatched 4xx"]+counts["/ 4xx"] != 1 {
		t.Errorf("the unknown page was counted %v", counts)
	}
}
