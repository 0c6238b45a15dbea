package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/server/web"
)

// apiDo calls the JSON API as user (HTTP Basic with webTestPassword).
func (e *webEnv) apiDo(method, path, user string, body any) *webResp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(user, webTestPassword)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Result().Body)
	return &webResp{Response: rec.Result(), Body: string(raw)}
}

// uploadAs puts a package into a channel through the API.
func (e *webEnv) uploadAs(user, channel, filename string, data []byte) {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", filename)
	fw.Write(data)
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/api/channels/"+channel+"/packages", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth(user, webTestPassword)
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		e.t.Fatalf("uploading %s to %s: %d %s", filename, channel, rec.Code, rec.Body)
	}
}

// channel returns the channel as the API shows it to user, and the status.
func (e *webEnv) channelAs(user, name string) (map[string]any, int) {
	e.t.Helper()
	r := e.apiDo(http.MethodGet, "/api/channels/"+name, user, nil)
	var m map[string]any
	json.Unmarshal([]byte(r.Body), &m)
	return m, r.StatusCode
}

// newChannelEnv is a server with users olivia (owner of org "team", which
// bob is a member of), bob, carol and the administrator root; olivia has
// a private channel "lab" and a public channel "pub".
func newChannelEnv(t *testing.T) (*webEnv, *webBrowser) {
	t.Helper()
	e := newWebEnv(t, "https://packages.example.com")
	e.addUser("root", true)
	e.addUser("olivia", false)
	e.addUser("bob", false)
	e.addUser("carol", false)
	olivia := e.browser()
	olivia.signIn("olivia", webTestPassword)
	olivia.post("/orgs", "/orgs", url.Values{"name": {"team"}})
	olivia.post("/orgs/team", "/orgs/team/members", url.Values{"username": {"bob"}, "role": {"member"}})
	for _, c := range []url.Values{
		{"name": {"lab"}, "visibility": {"private"}, "owner": {"olivia"}},
		{"name": {"pub"}, "visibility": {"public"}, "owner": {"olivia"}},
	} {
		if r := olivia.post("/channels", "/channels", c); r.StatusCode != http.StatusOK {
			t.Fatalf("creating %v: %d\n%s", c, r.StatusCode, r.Body)
		}
	}
	return e, olivia
}

func TestChannelsListAndCreatePage(t *testing.T) {
	e, olivia := newChannelEnv(t)
	bob := e.browser()
	bob.signIn("bob", webTestPassword)

	t.Run("the list shows the owner's channels with visibility and role", func(t *testing.T) {
		r := olivia.get("/channels")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		assertContains(t, "olivia's /channels", r.Body, `id="channel-lab"`, `href="/channels/lab"`, `id="channel-pub"`,
			`badge-private" data-visibility>private`, `badge-public" data-visibility>public`, `data-role>admin`, `id="create-channel-form"`)
	})
	t.Run("others see public channels only, without a role", func(t *testing.T) {
		r := bob.get("/channels")
		assertContains(t, "bob's /channels", r.Body, `id="channel-pub"`)
		if strings.Contains(r.Body, `channel-lab`) || strings.Contains(r.Body, `/channels/lab"`) {
			t.Error("bob's list names the private channel lab")
		}
	})
	t.Run("the owner choices are the user and the organizations they administer", func(t *testing.T) {
		assertContains(t, "olivia's form", olivia.get("/channels").Body, `<option value="olivia" selected>olivia (you)</option>`, `<option value="team">team</option>`)
		if strings.Contains(bob.get("/channels").Body, `<option value="team"`) {
			t.Error("a plain member of team is offered team as owner")
		}
	})
	t.Run("creating an organization's channel shows its page, and the API sees it", func(t *testing.T) {
		r := olivia.post("/channels", "/channels", url.Values{"name": {"team-data"}, "visibility": {"private"}, "owner": {"team"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "Channel team-data created", `data-replace-url="/channels/team-data"`,
			"https://packages.example.com/repo/team-data", "(organization)")
		ch, status := e.channelAs("olivia", "team-data")
		if status != http.StatusOK || ch["owner"] != "team" || ch["visibility"] != "private" {
			t.Errorf("the API shows %d %v", status, ch)
		}
		// bob is a member of team: he reads its channels.
		if ch, status := e.channelAs("bob", "team-data"); status != http.StatusOK || ch["role"] != "read" {
			t.Errorf("bob through the API: %d %v", status, ch)
		}
	})

	before := e.dump()
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		msg    string
	}{
		{"an uppercase name", url.Values{"name": {"Lab"}, "visibility": {"public"}}, http.StatusBadRequest, "conda's rule"},
		{"a name with a slash", url.Values{"name": {"a/b"}, "visibility": {"public"}}, http.StatusBadRequest, "lowercase letters, digits"},
		{"a name starting with a dot", url.Values{"name": {".hidden"}, "visibility": {"public"}}, http.StatusBadRequest, "not starting with"},
		{"the reserved name t", url.Values{"name": {"t"}, "visibility": {"public"}}, http.StatusBadRequest, "reserved"},
		{"a platform name", url.Values{"name": {"linux-64"}, "visibility": {"public"}}, http.StatusBadRequest, "platform name"},
		{"a 129-character name", url.Values{"name": {strings.Repeat("a", 129)}, "visibility": {"public"}}, http.StatusBadRequest, "1 to 128"},
		{"a taken name", url.Values{"name": {"lab"}, "visibility": {"public"}}, http.StatusConflict, ""},
		{"no visibility", url.Values{"name": {"fresh"}}, http.StatusBadRequest, "public or private"},
		{"an unknown visibility", url.Values{"name": {"fresh"}, "visibility": {"internal"}}, http.StatusBadRequest, "Visibility must be"},
		{"an unknown owner", url.Values{"name": {"fresh"}, "visibility": {"public"}, "owner": {"nobody"}}, http.StatusBadRequest, "No organization"},
	} {
		t.Run(tc.name+" is refused on the form with conda's rule, value kept", func(t *testing.T) {
			r := olivia.post("/channels", "/channels", tc.form)
			if r.StatusCode != tc.status {
				t.Errorf("status %d, want %d", r.StatusCode, tc.status)
			}
			assertContains(t, "the answer", r.Body, `id="create-channel-error"`, tc.msg, `id="channels-table"`)
			if n := tc.form.Get("name"); len(n) < 100 && !strings.Contains(r.Body, `value="`+n+`"`) && !strings.Contains(r.Body, "value=\""+strings.ReplaceAll(n, "/", "&#x2f;")+"\"") {
				t.Errorf("the form lost the name %q", n)
			}
		})
	}
	t.Run("a member cannot create channels for the organization", func(t *testing.T) {
		r := bob.post("/channels", "/channels", url.Values{"name": {"sneaky"}, "visibility": {"public"}, "owner": {"team"}})
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("status %d", r.StatusCode)
		}
		assertContains(t, "the answer", r.Body, "Only owners and admins")
	})
	if after := e.dump(); after != before {
		t.Errorf("refused creations changed the database:\n%s", diffLines(before, after))
	}
}

func TestChannelPageGrantsAndVisibility(t *testing.T) {
	e, olivia := newChannelEnv(t)
	bob, carol, root := e.browser(), e.browser(), e.browser()
	bob.signIn("bob", webTestPassword)
	carol.signIn("carol", webTestPassword)
	root.signIn("root", webTestPassword)

	t.Run("the owner's page has the conda URL, commands and admin sections", func(t *testing.T) {
		r := olivia.get("/channels/lab")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		assertContains(t, "olivia's /channels/lab", r.Body,
			`<code id="conda-url">https://packages.example.com/repo/lab</code>`, `data-copy="conda-url"`,
			"conda install -c https://packages.example.com/repo/lab PACKAGE",
			"gatehouse login --at packages.example.com", "gatehouse register",
			"https://packages.example.com/repo/t/&lt;your-key&gt;/lab",
			`id="visibility-open"`, `id="grant-form"`, `id="members-empty"`, `id="packages-empty"`)
	})
	t.Run("strangers get not found for a private channel, pages and forms alike", func(t *testing.T) {
		before := e.dump()
		for _, path := range []string{"/channels/lab", "/channels/nope"} {
			if r := carol.get(path); r.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d", path, r.StatusCode)
			}
		}
		for path, form := range map[string]url.Values{
			"/channels/lab/visibility":                         {"visibility": {"public"}},
			"/channels/lab/members":                            {"username": {"carol"}, "role": {"admin"}},
			"/channels/lab/members/olivia/remove":              {},
			"/channels/lab/packages/noarch/x-1-0.conda/delete": {},
		} {
			r := carol.post("/channels", path, form)
			if r.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s: %d", path, r.StatusCode)
			}
			if strings.Contains(r.Body, "olivia") {
				t.Errorf("POST %s: the refusal shows the channel", path)
			}
		}
		if e.dump() != before {
			t.Error("refused requests changed the database")
		}
	})
	t.Run("a public channel is shown read-only to anyone signed in", func(t *testing.T) {
		r := carol.get("/channels/pub")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.StatusCode)
		}
		assertContains(t, "carol's /channels/pub", r.Body, "conda install -c https://packages.example.com/repo/pub PACKAGE", "none (public access)")
		for _, admin := range []string{`id="grant-form"`, `id="visibility-open"`, `action="/channels/pub/visibility"`, "gatehouse login --at"} {
			if strings.Contains(r.Body, admin) {
				t.Errorf("carol's page holds %s", admin)
			}
		}
	})
	t.Run("granting through the page gives access the API sees", func(t *testing.T) {
		r := olivia.post("/channels/lab", "/channels/lab/members", url.Values{"username": {" Carol "}, "role": {"read"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "carol now has read access to lab", `id="member-carol"`, `<option value="read" selected>read</option>`)
		if ch, status := e.channelAs("carol", "lab"); status != http.StatusOK || ch["role"] != "read" {
			t.Errorf("carol through the API: %d %v", status, ch)
		}
		var members struct {
			Members []gatehouse.ChannelGrant `json:"members"`
		}
		json.Unmarshal([]byte(e.apiDo(http.MethodGet, "/api/channels/lab/members", "olivia", nil).Body), &members)
		if len(members.Members) != 1 || members.Members[0].Username != "carol" {
			t.Errorf("the API's members: %+v", members.Members)
		}
		assertContains(t, "carol's view", carol.get("/channels/lab").Body, `id="channel-role">read`)
	})
	t.Run("a reader sees no write or admin controls and is refused them", func(t *testing.T) {
		page := carol.get("/channels/lab").Body
		for _, admin := range []string{`id="grant-form"`, `id="visibility-open"`, `id="members-table"`} {
			if strings.Contains(page, admin) {
				t.Errorf("a reader's page holds %s", admin)
			}
		}
		before := e.dump()
		r := carol.post("/channels/lab", "/channels/lab/visibility", url.Values{"visibility": {"public"}})
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("a reader changing visibility: %d", r.StatusCode)
		}
		assertContains(t, "the refusal", r.Body, `id="page-error"`, "You need admin access")
		r = carol.post("/channels/lab", "/channels/lab/members", url.Values{"username": {"carol"}, "role": {"admin"}})
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("a reader making themself admin: %d", r.StatusCode)
		}
		if e.dump() != before {
			t.Error("refused requests changed the database")
		}
	})
	t.Run("the row's role select changes the role", func(t *testing.T) {
		r := olivia.post("/channels/lab", "/channels/lab/members/carol", url.Values{"role": {"write"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		if ch, _ := e.channelAs("carol", "lab"); ch["role"] != "write" {
			t.Errorf("carol's role through the API: %v", ch["role"])
		}
	})
	t.Run("bad grants are refused on the page and change nothing", func(t *testing.T) {
		before := e.dump()
		for _, tc := range []struct {
			form   url.Values
			status int
			msg    string
		}{
			{url.Values{"username": {"nobody"}, "role": {"read"}}, http.StatusNotFound, ""},
			{url.Values{"username": {"bob"}, "role": {"owner"}}, http.StatusBadRequest, "Role must be"},
			{url.Values{"username": {""}, "role": {"read"}}, http.StatusBadRequest, "Type the username"},
		} {
			r := olivia.post("/channels/lab", "/channels/lab/members", tc.form)
			if r.StatusCode != tc.status {
				t.Errorf("%v: status %d, want %d", tc.form, r.StatusCode, tc.status)
			}
			// Issue 11 item 23: the refusal sits right above the form.
			assertContains(t, "the answer", r.Body, `id="grant-error">`+tc.msg, `id="grant-form"`, `value="`+tc.form.Get("username")+`"`)
			if strings.Contains(r.Body, `id="page-error"`) {
				t.Errorf("%v: the refusal is also at the head of the page", tc.form)
			}
		}
		if e.dump() != before {
			t.Error("refused grants changed the database")
		}
	})
	t.Run("the visibility switch goes through a confirmation and the API sees it", func(t *testing.T) {
		assertContains(t, "?visibility", olivia.get("/channels/lab?visibility").Body, `aria-labelledby="visibility-title" open data-show`,
			`<input type="hidden" name="visibility" value="public">`)
		r := olivia.post("/channels/lab", "/channels/lab/visibility", url.Values{"visibility": {"public"}})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "lab is now public", `id="channel-visibility">public`)
		if ch, _ := e.channelAs("olivia", "lab"); ch["visibility"] != "public" {
			t.Errorf("the API shows %v", ch["visibility"])
		}
		if r := olivia.post("/channels/lab", "/channels/lab/visibility", url.Values{"visibility": {"secret"}}); r.StatusCode != http.StatusBadRequest {
			t.Errorf("an unknown visibility: %d", r.StatusCode)
		}
		olivia.post("/channels/lab", "/channels/lab/visibility", url.Values{"visibility": {"private"}})
		if ch, _ := e.channelAs("olivia", "lab"); ch["visibility"] != "private" {
			t.Errorf("the API shows %v", ch["visibility"])
		}
	})
	t.Run("removing a grant goes through a confirmation and closes the channel", func(t *testing.T) {
		page := olivia.get("/channels/lab").Body
		assertContains(t, "the page", page, `data-open="remove-dialog-carol"`, `action="/channels/lab/members/carol/remove"`,
			"Remove <strong>carol</strong>'s access to <strong>lab</strong>?")
		assertContains(t, "?remove=carol", olivia.get("/channels/lab?remove=carol").Body, `aria-labelledby="remove-title-carol" open data-show`)
		r := olivia.post("/channels/lab", "/channels/lab/members/carol/remove", url.Values{})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "carol&#39;s access to lab was removed", `id="members-empty"`)
		if _, status := e.channelAs("carol", "lab"); status != http.StatusNotFound {
			t.Errorf("carol through the API: %d", status)
		}
		if r := carol.get("/channels/lab"); r.StatusCode != http.StatusNotFound {
			t.Errorf("carol's page: %d", r.StatusCode)
		}
		if r := olivia.post("/channels/lab", "/channels/lab/members/carol/remove", url.Values{}); r.StatusCode != http.StatusNotFound {
			t.Errorf("removing again: %d", r.StatusCode)
		}
	})
	t.Run("a channel admin who removes their own access to a private channel lands on the list", func(t *testing.T) {
		olivia.post("/channels/lab", "/channels/lab/members", url.Values{"username": {"carol"}, "role": {"admin"}})
		r := carol.post("/channels/lab", "/channels/lab/members/carol/remove", url.Values{})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, `data-replace-url="/channels"`, "carol&#39;s access to lab was removed")
		if strings.Contains(r.Body, `id="channel-lab"`) {
			t.Error("the list still shows lab to carol")
		}
	})
	t.Run("an organization's channel names the organization's roles", func(t *testing.T) {
		olivia.post("/channels", "/channels", url.Values{"name": {"team-data"}, "visibility": {"private"}, "owner": {"team"}})
		assertContains(t, "olivia's view", olivia.get("/channels/team-data").Body, "The owners and admins of the organization <strong>team</strong>")
		page := bob.get("/channels/team-data")
		if page.StatusCode != http.StatusOK || strings.Contains(page.Body, `id="grant-form"`) {
			t.Errorf("bob, a member of team: %d, admin form shown: %v", page.StatusCode, strings.Contains(page.Body, `id="grant-form"`))
		}
	})
	t.Run("an administrator administers every channel", func(t *testing.T) {
		assertContains(t, "root's view", root.get("/channels/lab").Body, `id="grant-form"`, `id="visibility-open"`)
		assertContains(t, "root's list", root.get("/channels").Body, `id="channel-lab"`)
	})
	t.Run("signed out, the pages send to sign in", func(t *testing.T) {
		for _, p := range []string{"/channels", "/channels/lab"} {
			r := e.browser().get(p)
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?next="+url.QueryEscape(p) {
				t.Errorf("GET %s: %d %q", p, r.StatusCode, r.Header.Get("Location"))
			}
		}
	})
}

// checklist G4: deleting a package in the page takes it out of repodata
// and its file away; readers are not offered, and are refused, deletion.
func TestDeletingAPackageInThePage(t *testing.T) {
	e, olivia := newChannelEnv(t)
	olivia.post("/channels/lab", "/channels/lab/members", url.Values{"username": {"carol"}, "role": {"read"}})
	olivia.post("/channels/lab", "/channels/lab/members", url.Values{"username": {"bob"}, "role": {"write"}})
	keep, keepData := makeConda(t, "keepme", "1.0", "0", "noarch", nil)
	gone, goneData := makeConda(t, "goner", "2.1", "py_0", "noarch", nil)
	linux, linuxData := makeConda(t, "native", "0.3", "h1", "linux-64", nil)
	for f, d := range map[string][]byte{keep: keepData, gone: goneData, linux: linuxData} {
		e.uploadAs("olivia", "lab", f, d)
	}
	repodata := func() string {
		t.Helper()
		r := e.apiDo(http.MethodGet, "/repo/lab/noarch/repodata.json", "olivia", nil)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("repodata: %d %s", r.StatusCode, r.Body)
		}
		return r.Body
	}
	if rd := repodata(); !strings.Contains(rd, gone) || !strings.Contains(rd, keep) {
		t.Fatalf("repodata before lacks the packages:\n%s", rd)
	}
	pkgs, err := e.store.ListPackages(context.Background(), mustChannel(t, e, "lab").ID, "noarch")
	if err != nil {
		t.Fatal(err)
	}
	var goneID int64
	for _, p := range pkgs {
		if p.Filename == gone {
			goneID = p.ID
		}
	}
	id := strconv.FormatInt(goneID, 10)

	page := olivia.get("/channels/lab").Body
	t.Run("the channel page lists package names that open their pages", func(t *testing.T) {
		assertContains(t, "the page", page, "3 packages; 3 files in the channel", `href="/channels/lab/packages/goner"`,
			`<tr data-name="native">`, "conda install -c https://packages.example.com/repo/lab goner")
	})
	gonePage := olivia.get("/channels/lab/packages/goner").Body
	t.Run("the package page lists its files with size, short sha256 and a download link", func(t *testing.T) {
		assertContains(t, "the package page", gonePage, `data-filename="`+gone+`"`, `<td class="strong">2.1</td>`, "<code>py_0</code>",
			`href="/channels/lab/files/noarch/`+gone+`"`, "conda install -c https://packages.example.com/repo/lab goner")
		for _, p := range pkgs {
			if p.Filename == gone {
				assertContains(t, "the package page", gonePage, `title="`+p.SHA256+`">`+p.SHA256[:12]+"</code>", web.ByteSize(p.Size))
			}
		}
	})
	t.Run("readers see no delete buttons and are refused", func(t *testing.T) {
		carol := e.browser()
		carol.signIn("carol", webTestPassword)
		if strings.Contains(carol.get("/channels/lab/packages/goner").Body, "delete-open-") {
			t.Error("a reader is offered deletion")
		}
		r := carol.post("/channels/lab", "/channels/lab/packages/noarch/"+gone+"/delete", url.Values{})
		if r.StatusCode != http.StatusForbidden || !strings.Contains(repodata(), gone) {
			t.Errorf("a reader deleting: %d", r.StatusCode)
		}
	})
	t.Run("deleting goes through a confirmation and removes it from repodata", func(t *testing.T) {
		assertContains(t, "the package page", gonePage, `data-open="delete-dialog-`+id+`"`, `action="/channels/lab/packages/noarch/`+gone+`/delete"`)
		assertContains(t, "?delete=", olivia.get("/channels/lab/packages/goner?delete="+id).Body, `aria-labelledby="delete-title-`+id+`" open data-show`)
		bob := e.browser()
		bob.signIn("bob", webTestPassword)
		assertContains(t, "a writer's page", bob.get("/channels/lab/packages/goner").Body, `id="delete-open-`+id+`"`)
		r := bob.post("/channels/lab", "/channels/lab/packages/noarch/"+gone+"/delete", url.Values{})
		if r.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", r.StatusCode, r.Body)
		}
		assertContains(t, "the answer", r.Body, "noarch/"+gone+" was deleted", "2 packages; 2 files")
		if strings.Contains(r.Body, `data-name="goner"`) {
			t.Error("the answer still lists the package")
		}
		rd := repodata()
		if strings.Contains(rd, gone) || !strings.Contains(rd, keep) {
			t.Errorf("repodata after deletion:\n%s", rd)
		}
		if r := e.apiDo(http.MethodGet, "/repo/lab/noarch/"+gone, "olivia", nil); r.StatusCode != http.StatusNotFound || !strings.Contains(r.Body, "has no package") {
			t.Errorf("the file after deletion: %d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("deleting it again says not found", func(t *testing.T) {
		r := olivia.post("/channels/lab", "/channels/lab/packages/noarch/"+gone+"/delete", url.Values{})
		if r.StatusCode != http.StatusNotFound {
			t.Errorf("status %d", r.StatusCode)
		}
		assertContains(t, "the answer", r.Body, `id="page-error"`, `id="packages-table"`)
	})
}

func mustChannel(t *testing.T, e *webEnv, name string) *gatehouse.Channel {
	t.Helper()
	ch, err := e.store.ChannelByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// checklist A3, J1: no channel page (nor the pages that list who uses
// channels) holds a key, even right after the key was used on the
// channel, and the /repo/ redirect to the page carries no /t/<key>/.
func TestChannelPagesNeverShowAKey(t *testing.T) {
	e, olivia := newChannelEnv(t)
	f, data := makeConda(t, "tool", "1.0", "0", "noarch", nil)
	e.uploadAs("olivia", "lab", f, data)
	key, _ := olivia.createKeyInPage(keyForm2("laptop", "30", "", "channels"))

	conda := e.browser()
	conda.headers.Set("User-Agent", "conda/24.1.0 requests/2.31.0 CPython/3.12.1 Linux/6.1")
	if r := conda.get("/repo/t/" + key + "/lab/noarch/repodata.json"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, f) {
		t.Fatalf("conda with the key in the URL: %d %s", r.StatusCode, r.Body)
	}
	for _, path := range []string{"/repo/t/" + key + "/lab/", "/t/" + key + "/repo/lab/"} {
		r := conda.get(path)
		if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || loc != "/channels/lab" {
			t.Errorf("GET %s: %d to %q, want 303 to /channels/lab", strings.ReplaceAll(path, key, "KEY"), r.StatusCode, loc)
		}
		assertNoSecret(t, "the redirect", r.Body+r.Header.Get("Location"), key)
	}
	for {
		cs, err := e.store.ListClients(context.Background(), gatehouse.ClientFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) > 0 {
			break
		}
		runtime.Gosched()
	}
	root := e.browser()
	root.signIn("root", webTestPassword)
	pages := map[string]*webResp{
		"olivia's /channels":                olivia.get("/channels"),
		"olivia's /channels/lab":            olivia.get("/channels/lab"),
		"olivia's /channels/lab?delete=1":   olivia.get("/channels/lab?delete=1"),
		"olivia's grant answer":             olivia.post("/channels/lab", "/channels/lab/members", url.Values{"username": {"bob"}, "role": {"read"}}),
		"root's /channels/lab":              root.get("/channels/lab"),
		"root's /admin/clients":             root.get("/admin/clients"),
		"root's /admin/networks":            root.get("/admin/networks"),
		"olivia's visibility change answer": olivia.post("/channels/lab", "/channels/lab/visibility", url.Values{"visibility": {"public"}}),
	}
	for where, r := range pages {
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", where, r.StatusCode)
		}
		assertNoSecret(t, where, r.Body, key)
		if m := keyLike.FindString(r.Body); m != "" {
			t.Errorf("%s holds something shaped like a key: %q", where, m)
		}
	}
	assertContains(t, "the clients page", pages["root's /admin/clients"].Body, "olivia", "laptop", "conda/24.1.0")
	assertContains(t, "the private channel page", pages["olivia's /channels/lab"].Body, "/repo/t/&lt;your-key&gt;/lab")
}

// Only administrators may create proxy and mirror channels (the service
// refuses anyone else), so only they are offered those
// fields; others are told whom to ask.
func TestTheUpstreamFieldsAreOfferedToAdministratorsOnly(t *testing.T) {
	e, olivia := newChannelEnv(t)
	root := e.browser()
	root.signIn("root", webTestPassword)
	if body := olivia.get("/channels").Body; strings.Contains(body, `id="kind-proxy"`) || !strings.Contains(body, `id="upstream-admins-only"`) {
		t.Error("a user who is no administrator is offered proxy and mirror channels, or is not told whom to ask")
	}
	if body := root.get("/channels").Body; !strings.Contains(body, `id="kind-proxy"`) || strings.Contains(body, `id="upstream-admins-only"`) {
		t.Error("the administrator is not offered proxy and mirror channels")
	}
}
