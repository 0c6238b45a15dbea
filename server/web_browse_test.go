package server

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// browserUpload posts the channel page's upload form the way a browser
// does: the CSRF token first, then the file, as multipart.
func (b *webBrowser) browserUpload(channel, csrf, filename string, data []byte, replace bool) *webResp {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		mw.WriteField("csrf_token", csrf)
	}
	fw, _ := mw.CreateFormFile("file", filename)
	fw.Write(data)
	if replace {
		mw.WriteField("replace", "true")
	}
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/channels/"+channel+"/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, vs := range b.headers {
		req.Header[k] = vs
	}
	for name, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: v})
	}
	rec := httptest.NewRecorder()
	b.env.srv.ServeHTTP(rec, req)
	return &webResp{Response: rec.Result(), Body: rec.Body.String()}
}

// Issue 11 item 20: browsing a channel's packages, downloading them with
// the browser's session, uploading from the page; "Your channels" keeps
// other people's channels apart.
func TestPackageBrowsingAndWebUpload(t *testing.T) {
	e, olivia := newChannelEnv(t)
	olivia.post("/channels/lab", "/channels/lab/members", url.Values{"username": {"carol"}, "role": {"read"}})
	for _, p := range [][4]string{{"numpy", "1.0", "0", "linux-64"}, {"numpy", "2.0", "0", "linux-64"}, {"numpy", "2.0", "0", "osx-arm64"},
		{"numpy-base", "2.0", "0", "noarch"}, {"scipy", "1.0", "0", "linux-64"}} {
		f, d := makeConda(t, p[0], p[1], p[2], p[3], nil)
		e.uploadAs("olivia", "lab", f, d)
	}
	carol := e.browser()
	carol.signIn("carol", webTestPassword)

	t.Run("the channel page counts packages and files and searches by name", func(t *testing.T) {
		page := carol.get("/channels/lab").Body
		assertContains(t, "the page", page, `id="packages-count"`, "3 packages; 5 files in the channel", `id="package-search"`,
			`href="/channels/lab/packages/numpy"`, `href="/channels/lab/packages/scipy"`)
		found := carol.get("/channels/lab?q=NUMPY").Body
		assertContains(t, "a search", found, "2 packages match", `data-name="numpy"`, `data-name="numpy-base"`, `value="NUMPY"`)
		if strings.Contains(found, `data-name="scipy"`) {
			t.Error("the search for numpy lists scipy")
		}
		mac := carol.get("/channels/lab?subdir=osx-arm64").Body
		assertContains(t, "the platform filter", mac, "1 package on osx-arm64", `data-name="numpy"`)
		assertContains(t, "no match", carol.get("/channels/lab?q=zzz").Body, `id="packages-none-match"`)
	})
	t.Run("a reader sees no upload form; a writer does", func(t *testing.T) {
		if strings.Contains(carol.get("/channels/lab").Body, `id="upload-form"`) {
			t.Error("a reader is offered the upload form")
		}
		assertContains(t, "the owner's page", olivia.get("/channels/lab").Body, `id="upload-form"`, `enctype="multipart/form-data"`)
	})
	t.Run("the package page lists the files, newest first, with download links", func(t *testing.T) {
		r := carol.get("/channels/lab/packages/numpy")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		assertContains(t, "numpy's page", r.Body, `id="package-title">numpy<`, "3 files", `href="/channels/lab/files/linux-64/numpy-1.0-0.conda"`,
			`href="/channels/lab/files/osx-arm64/numpy-2.0-0.conda"`)
		if strings.Contains(r.Body, "delete-open-") {
			t.Error("a reader is offered deletion")
		}
		if r := carol.get("/channels/lab/packages/nump"); r.StatusCode != http.StatusNotFound {
			t.Errorf("a name that is not there: status %d", r.StatusCode)
		}
	})
	t.Run("a download sends the very bytes conda gets", func(t *testing.T) {
		_, want := makeConda(t, "scipy", "1.0", "0", "linux-64", nil)
		r := carol.get("/channels/lab/files/linux-64/scipy-1.0-0.conda")
		if r.StatusCode != http.StatusOK || r.Body != string(want) {
			t.Fatalf("status %d, %d bytes, want %d", r.StatusCode, len(r.Body), len(want))
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "scipy-1.0-0.conda") {
			t.Errorf("Content-Disposition %q", cd)
		}
		if r := carol.get("/channels/lab/files/linux-64/missing-1.0-0.conda"); r.StatusCode != http.StatusNotFound {
			t.Errorf("a missing file: status %d", r.StatusCode)
		}
	})
	t.Run("those who cannot read a private channel get not found, and signed-out browsers sign in first", func(t *testing.T) { // checklist J6
		bob := e.browser()
		bob.signIn("bob", webTestPassword)
		for _, p := range []string{"/channels/lab/packages/numpy", "/channels/lab/files/linux-64/scipy-1.0-0.conda"} {
			if r := bob.get(p); r.StatusCode != http.StatusNotFound || strings.Contains(r.Body, "scipy-1.0") {
				t.Errorf("%s for a non-member: status %d", p, r.StatusCode)
			}
			if r := e.browser().get(p); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login?next=") {
				t.Errorf("%s signed out: status %d to %q", p, r.StatusCode, r.Header.Get("Location"))
			}
		}
	})
	t.Run("a writer uploads from the page, through the API's checks", func(t *testing.T) {
		csrf := olivia.csrf("/channels/lab")
		f, d := makeConda(t, "pandas", "2.2", "0", "noarch", nil)
		r := olivia.browserUpload("lab", csrf, f, d, false)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/channels/lab/packages/pandas?uploaded=noarch%2F"+f {
			t.Fatalf("status %d to %q: %s", r.StatusCode, r.Header.Get("Location"), r.Body)
		}
		assertContains(t, "the package page", olivia.get(r.Header.Get("Location")).Body, "noarch/"+f+" was uploaded to lab")
		rd := e.apiDo(http.MethodGet, "/repo/lab/noarch/repodata.json", "olivia", nil)
		assertContains(t, "repodata", rd.Body, f)

		_, other := makeConda(t, "pandas", "2.2", "0", "noarch", []string{"numpy"})
		r = olivia.browserUpload("lab", csrf, f, other, false)
		if r.StatusCode != http.StatusConflict {
			t.Errorf("the same name with other content: status %d", r.StatusCode)
		}
		assertContains(t, "the refusal", r.Body, `id="page-error"`, `id="upload-form"`)
		r = olivia.browserUpload("lab", csrf, "junk.conda", []byte("not a package"), false) // checklist F6
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("junk: status %d", r.StatusCode)
		}
		if r := olivia.browserUpload("lab", csrf, f, other, true); r.StatusCode != http.StatusSeeOther {
			t.Errorf("replacing on purpose: status %d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("uploads without the CSRF token, cross-site, or by a reader are refused and store nothing", func(t *testing.T) { // checklist E4, F13
		f, d := makeConda(t, "evil", "1.0", "0", "noarch", nil)
		if r := olivia.browserUpload("lab", "", f, d, false); r.StatusCode != http.StatusForbidden {
			t.Errorf("without a token: status %d", r.StatusCode)
		}
		if r := olivia.browserUpload("lab", "wrong", f, d, false); r.StatusCode != http.StatusForbidden {
			t.Errorf("with a wrong token: status %d", r.StatusCode)
		}
		cross := e.browser()
		cross.cookies = olivia.cookies
		cross.headers.Set("Sec-Fetch-Site", "cross-site")
		if r := cross.browserUpload("lab", olivia.csrf("/channels/lab"), f, d, false); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site: status %d", r.StatusCode)
		}
		if r := carol.browserUpload("lab", carol.csrf("/channels/lab"), f, d, false); r.StatusCode != http.StatusForbidden {
			t.Errorf("a reader: status %d", r.StatusCode)
		}
		if r := e.browser().browserUpload("lab", "x", f, d, false); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("signed out: status %d", r.StatusCode)
		}
		if rd := e.apiDo(http.MethodGet, "/repo/lab/noarch/repodata.json", "olivia", nil); strings.Contains(rd.Body, "evil") {
			t.Error("a refused upload reached repodata")
		}
	})
	t.Run("Your channels holds the user's own and their organizations'; the rest is shared", func(t *testing.T) {
		page := carol.get("/channels").Body
		own, shared, _ := strings.Cut(page, `id="shared-channels"`)
		if strings.Contains(own, `data-channel="lab"`) || !strings.Contains(shared, `data-channel="lab"`) {
			t.Error("olivia's lab is not under Shared with you for carol")
		}
		own, shared, _ = strings.Cut(olivia.get("/channels").Body, `id="shared-channels"`)
		if !strings.Contains(own, `data-channel="lab"`) || strings.Contains(shared, `data-channel="lab"`) {
			t.Error("olivia's own lab is not under Your channels")
		}
	})
}

// Issue 11 item 21: a browser opening a channel URL gets the channel page
// (through sign-in), conda gets JSON, and no shown URL encodes <key>.
func TestBrowsersOpeningChannelURLsGetThePage(t *testing.T) {
	e, olivia := newChannelEnv(t)
	get := func(path, accept, ua string, b *webBrowser) *webResp {
		t.Helper()
		if b == nil {
			b = e.browser()
		}
		b.headers.Set("Accept", accept)
		b.headers.Set("User-Agent", ua)
		defer b.headers.Del("Accept")
		defer b.headers.Del("User-Agent")
		return b.get(path)
	}
	const html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
	for _, tc := range []struct{ path, want string }{
		{"/repo/lab", "/channels/lab"}, {"/repo/lab/", "/channels/lab"}, {"/repo/lab/index.html", "/channels/lab"},
		{"/repo/lab/linux-64/", "/channels/lab?subdir=linux-64"}, {"/repo/lab/noarch", "/channels/lab?subdir=noarch"},
		{"/repo/pub/", "/channels/pub"},
	} {
		r := get(tc.path, html, chrome, nil)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != tc.want {
			t.Errorf("a browser opening %s: status %d to %q, want %s", tc.path, r.StatusCode, r.Header.Get("Location"), tc.want)
		}
	}
	t.Run("the signed-in owner lands on the channel page; others get a not-found page, not JSON", func(t *testing.T) {
		r := get("/repo/lab/", html, chrome, olivia)
		if r := olivia.get(r.Header.Get("Location")); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="channel-title">lab<`) {
			t.Errorf("the owner: status %d", r.StatusCode)
		}
		carol := e.browser()
		carol.signIn("carol", webTestPassword)
		r = carol.get("/channels/lab")
		if r.StatusCode != http.StatusNotFound || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("a non-member: status %d, %s", r.StatusCode, r.Header.Get("Content-Type"))
		}
	})
	t.Run("conda clients, keys and file URLs still get JSON", func(t *testing.T) {
		for _, tc := range []struct{ path, accept, ua string }{
			{"/repo/lab/", "*/*", "conda/24.1.0 requests/2.31.0 CPython/3.12.1 Linux/6.1"},
			{"/repo/lab/", html, "conda/24.1.0 requests/2.31.0"},
			{"/repo/lab/linux-64/", html, "pixi/0.40.0"},
			{"/repo/lab/linux-64/", html, "rattler/0.1"},
			{"/repo/lab/linux-64/repodata.json", html, chrome},
			{"/repo/lab/", "application/json", chrome},
		} {
			r := get(tc.path, tc.accept, tc.ua, nil)
			if r.StatusCode == http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s %q %q: status %d %s", tc.path, tc.accept, tc.ua, r.StatusCode, r.Header.Get("Content-Type"))
			}
			if strings.Contains(r.Body, "%3C") || strings.Contains(r.Body, "%3E") {
				t.Errorf("%s: the answer URL-encodes a placeholder: %s", tc.path, r.Body)
			}
		}
		r := get("/repo/lab/linux-64/repodata.json", "*/*", "conda/24.1.0", nil)
		var refusal struct{ Message string }
		if err := json.Unmarshal([]byte(r.Body), &refusal); err != nil {
			t.Fatal(err)
		}
		assertContains(t, "the refusal", refusal.Message, "/repo/t/<key>/<channel>")
	})
}
