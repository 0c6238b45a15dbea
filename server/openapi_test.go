package server

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/apikey"
	"github.com/gatehouse-dev/gatehouse/server/api"
	"github.com/gatehouse-dev/gatehouse/server/authn"
	"github.com/gatehouse-dev/gatehouse/service/idp/idptest"
	"github.com/gatehouse-dev/gatehouse/upstream/upstreamtest"
	"github.com/getkin/kin-openapi/openapi3"
)

// The OpenAPI document served at /api/openapi.json is checked against the
// server that serves it, so the two cannot drift apart: the document is
// valid OpenAPI 3.1 (kin-openapi loads and validates it, and checks
// answers with JSON Schema 2020-12 as 3.1 requires); it lists exactly the
// /api routes the server registers, each with the scope of the route
// table and the credentials the API takes; and every answer of a
// realistic session through the real server, errors included, matches
// the response the document gives for its status, down to a field the
// document does not declare.

// openAPIDocument fetches the document as a client does, without a
// credential, and loads and validates it.
func openAPIDocument(t *testing.T, f *fixture) *openapi3.T {
	t.Helper()
	a := f.do(call{method: "GET", path: api.OpenAPIPath})
	if a.status != http.StatusOK {
		t.Fatalf("GET %s without a credential: %d %s", api.OpenAPIPath, a.status, a.body)
	}
	for h, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=300"} {
		if got := a.header.Get(h); got != want {
			t.Errorf("GET %s: %s is %q, want %q", api.OpenAPIPath, h, got, want)
		}
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(a.body)
	if err != nil {
		t.Fatalf("loading the OpenAPI document: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("the document is OpenAPI %q, want 3.1.0", doc.OpenAPI)
	}
	// Formats too: a format kin-openapi does not know is a typo here.
	if err := doc.Validate(loader.Context, openapi3.EnableSchemaFormatValidation(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("the OpenAPI document is not valid:\n%v", err)
	}
	return doc
}

// documentedOperations returns the document's operations by "METHOD
// /path", the form of the server's route patterns.
func documentedOperations(doc *openapi3.T) map[string]*openapi3.Operation {
	ops := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops[method+" "+path] = op
		}
	}
	return ops
}

func TestTheOpenAPIDocumentIsValidOpenAPI31(t *testing.T) {
	f := newFixture(t)
	doc := openAPIDocument(t, f)
	for _, name := range []string{"KeyView", "CreatedKey", "Channel", "Package", "User", "Org", "Membership",
		"NetworkRule", "Client", "AuditEvent", "Error", "ServerKeyPolicy", "OrgKeyPolicy", "SSOConfig", "SSODomain",
		"TrustedPublisher", "ExchangedKey"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("the document has no component schema %s", name)
		}
	}
}

func TestTheOpenAPIDocumentListsEveryAPIRouteWithItsScope(t *testing.T) {
	f := newFixture(t)
	documented := documentedOperations(openAPIDocument(t, f))

	served := map[string]bool{}
	for _, pattern := range f.srv.Routes() {
		method, path, hasMethod := strings.Cut(pattern, " ")
		if !hasMethod {
			method, path = "", pattern
		}
		switch {
		case !strings.HasPrefix(path, "/api/"):
		case pattern == "/api/":
			// The JSON 404 of every unknown /api path, not an operation.
		case method == "":
			t.Errorf("route %q serves every method: give it one, so the document can describe it", pattern)
		default:
			served[pattern] = true
		}
	}
	if len(served) < 30 {
		t.Fatalf("found only %d /api routes: %v", len(served), slices.Sorted(maps.Keys(served)))
	}
	for _, p := range slices.Sorted(maps.Keys(served)) {
		if documented[p] == nil {
			t.Errorf("%s is served but the OpenAPI document does not describe it", p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(documented)) {
		if !served[p] {
			t.Errorf("the OpenAPI document describes %s, which the server does not serve", p)
		}
	}

	// The scope comes from the route table; the extra routes and the
	// document itself need none up front.
	table := api.RouteScopes()
	for p := range table {
		if !served[p] {
			t.Errorf("route table entry %s is not served", p)
		}
	}
	// Every operation says which credentials it takes: a session needs
	// its CSRF token on methods that change state.
	safe := [][]string{{"bearerAuth"}, {"basicAuth"}, {"sessionCookie"}}
	unsafe := [][]string{{"bearerAuth"}, {"basicAuth"}, {"csrfToken", "sessionCookie"}}
	for _, p := range slices.Sorted(maps.Keys(documented)) {
		op := documented[p]
		want := "none"
		if s := table[p]; s != 0 {
			want = s.String()
		}
		if got := op.Extensions["x-gatehouse-scope"]; got != want {
			t.Errorf("%s: x-gatehouse-scope is %v, the route table says %q", p, got, want)
		}
		method, _, _ := strings.Cut(p, " ")
		wantSecurity := unsafe
		switch {
		case p == "GET "+api.OpenAPIPath:
			wantSecurity = [][]string{}
		case p == "POST /api/trusted-publishing/token":
			// The CI job's ID token, in the body, is the credential: the
			// route reads no other.
			wantSecurity = [][]string{}
		case authn.SafeMethod(method):
			wantSecurity = safe
		}
		if op.Security == nil {
			t.Errorf("%s: no security: say which credentials it takes", p)
		} else if got := securityNames(*op.Security); !slices.EqualFunc(got, wantSecurity, slices.Equal) {
			t.Errorf("%s: security %v, want %v", p, got, wantSecurity)
		}
	}
}

// securityNames returns the scheme names of each alternative, sorted.
func securityNames(reqs openapi3.SecurityRequirements) [][]string {
	out := [][]string{}
	for _, r := range reqs {
		out = append(out, slices.Sorted(maps.Keys(r)))
	}
	return out
}

func TestAPIAnswersMatchTheOpenAPIDocument(t *testing.T) {
	e := newIDPEnv(t) // single sign-on and trusted publishing talk to a provider
	f := e.fixture
	c := newContract(t, f, openAPIDocument(t, f))
	root := basic("admin", testPassword)
	expiry := f.expiry(30 * 24 * time.Hour)
	idOf := func(a answer) string {
		var v struct{ ID int64 }
		json.Unmarshal(a.body, &v)
		return strconv.FormatInt(v.ID, 10)
	}

	// The document itself, as a client fetches it.
	c.do(exchange{method: "GET", path: api.OpenAPIPath, want: 200})

	// Keys: created with the password, then used.
	c.do(exchange{method: "POST", path: "/api/keys", auth: root, want: 201,
		json: map[string]any{"name": "ci", "scopes": []string{"user"}, "expires_at": expiry}})
	c.do(exchange{method: "POST", path: "/api/keys", auth: root, want: 201, // replaces the first
		json: map[string]any{"name": "ci", "scopes": []string{"user", "channels"}, "expires_at": expiry}})
	var created struct{ Key string }
	json.Unmarshal(c.do(exchange{method: "POST", path: "/api/keys", auth: root, want: 201,
		json: map[string]any{"name": "ops", "scopes": []string{"user", "channels", "admin"}, "expires_at": expiry}}).body, &created)
	key := bearer(created.Key)
	c.do(exchange{method: "GET", path: "/api/account", auth: key, want: 200})
	c.do(exchange{method: "GET", path: "/api/account", auth: root, want: 200})
	c.do(exchange{method: "GET", path: "/api/keys", auth: key, want: 200})
	// The CLI's key creation, with no body and with anaconda-auth's.
	c.do(exchange{method: "POST", path: "/api/auth/api-keys", auth: key, want: 201,
		header: http.Header{"X-Client-Hostname": {"laptop"}}})
	cliKey := c.do(exchange{method: "POST", path: "/api/iam/api-keys", auth: key, want: 201,
		header: http.Header{"X-Client-Hostname": {"laptop"}},
		json:   map[string]any{"scopes": []string{"cloud:read", "repo:read"}, "tags": []string{}, "expires_at": nil}})

	// Users and organizations.
	c.do(exchange{method: "POST", path: "/api/admin/users", auth: key, want: 201,
		json: map[string]any{"username": "alice", "password": testPassword, "email": "alice@example.com"}})
	c.do(exchange{method: "GET", path: "/api/admin/users", auth: key, want: 200})
	c.do(exchange{method: "PATCH", path: "/api/admin/users/alice", auth: key, want: 200,
		json: map[string]any{"disabled": false, "is_admin": nil}})
	c.do(exchange{method: "POST", path: "/api/orgs", auth: key, want: 201, json: map[string]any{"name": "lab-team"}})
	c.do(exchange{method: "PUT", path: "/api/orgs/lab-team/members/alice", auth: key, want: 204, json: map[string]any{"role": "member"}})
	c.do(exchange{method: "GET", path: "/api/orgs", auth: key, want: 200})
	c.do(exchange{method: "GET", path: "/api/orgs/lab-team/members", auth: key, want: 200})
	// Key policies: the server's, and lab-team's stricter one, which
	// bounds its members' keys too.
	c.do(exchange{method: "GET", path: "/api/admin/policy", auth: key, want: 200})
	c.do(exchange{method: "PATCH", path: "/api/admin/policy", auth: key, want: 200,
		json: map[string]any{"expiry_warning_days": 21, "max_key_lifetime_days": nil}})
	c.do(exchange{method: "PATCH", path: "/api/orgs/lab-team/policy", auth: key, want: 200, json: map[string]any{"max_key_lifetime_days": 180}})
	c.do(exchange{method: "GET", path: "/api/orgs/lab-team/policy", auth: key, want: 200})
	c.do(exchange{method: "POST", path: "/api/account/password", auth: basic("alice", testPassword), want: 204,
		json: map[string]any{"current_password": testPassword, "new_password": "a new and longer password"}})

	// Channels and packages.
	c.do(exchange{method: "POST", path: "/api/channels", auth: key, want: 201,
		json: map[string]any{"name": "lab", "visibility": "private", "owner": "lab-team"}})
	c.do(exchange{method: "POST", path: "/api/channels", auth: key, want: 201, json: map[string]any{"name": "pub", "visibility": "public"}})
	c.do(exchange{method: "PATCH", path: "/api/channels/pub", auth: key, want: 200, json: map[string]any{"visibility": "private"}})
	c.do(exchange{method: "PUT", path: "/api/channels/lab/members/alice", auth: key, want: 204, json: map[string]any{"role": "write"}})
	c.do(exchange{method: "GET", path: "/api/channels", auth: key, want: 200})
	c.do(exchange{method: "GET", path: "/api/channels/lab", auth: key, want: 200})
	c.do(exchange{method: "GET", path: "/api/channels/lab/members", auth: key, want: 200})
	filename, data := makeConda(t, "tiny", "1.0", "0", "noarch", nil)
	body, ct := multipartBody(t, filename, data)
	c.do(exchange{method: "POST", path: "/api/channels/lab/packages", auth: key, raw: body, contentType: ct, want: 201})
	c.do(exchange{method: "POST", path: "/api/channels/lab/packages", auth: key, raw: body, contentType: ct, want: 409})
	c.do(exchange{method: "POST", path: "/api/channels/lab/packages?replace=true", auth: key, raw: body, contentType: ct, want: 201})
	body, ct = multipartBody(t, filename, data, "replace", "true")
	c.do(exchange{method: "POST", path: "/api/channels/lab/packages", auth: key, raw: body, contentType: ct, want: 201})
	c.do(exchange{method: "GET", path: "/api/channels/lab/packages", auth: key, want: 200})
	c.do(exchange{method: "GET", path: "/api/channels/lab/packages?subdir=noarch", auth: key, want: 200})
	c.do(exchange{method: "DELETE", path: "/api/channels/lab/packages/noarch/" + filename, auth: key, want: 204})
	c.do(exchange{method: "DELETE", path: "/api/channels/lab/members/alice", auth: key, want: 204})
	// A mirror of an upstream, and its sync.
	up := upstreamtest.Start(upstreamtest.Forge(20, 1))
	defer up.Close()
	c.do(exchange{method: "POST", path: "/api/channels", auth: key, want: 201, json: map[string]any{"name": "forge-mirror",
		"upstream": map[string]any{"url": up.URL, "mode": "mirror", "filters": map[string]any{"exclude": []string{"python*"}, "min_age_days": 0}}}})
	c.do(exchange{method: "POST", path: "/api/channels/forge-mirror/sync", auth: key, want: 202})
	c.do(exchange{method: "GET", path: "/api/channels/forge-mirror", auth: key, want: 200})
	c.do(exchange{method: "DELETE", path: "/api/orgs/lab-team/members/alice", auth: key, want: 204})

	// A service key of lab-team for its channel, used, listed, revoked.
	orgKey := c.do(exchange{method: "POST", path: "/api/orgs/lab-team/keys", auth: key, want: 201,
		json: map[string]any{"name": "ci", "scopes": []string{"channels"}, "expires_at": expiry, "channels": []string{"lab"}}})
	var service struct{ Key string }
	json.Unmarshal(orgKey.body, &service)
	c.do(exchange{method: "GET", path: "/api/channels/lab/packages", auth: bearer(service.Key), want: 200})
	c.do(exchange{method: "GET", path: "/api/orgs/lab-team/keys", auth: key, want: 200})
	c.do(exchange{method: "DELETE", path: "/api/orgs/lab-team/keys/" + idOf(orgKey), auth: key, want: 204})
	// An organization registration token, listed with its clients, revoked.
	regToken := c.do(exchange{method: "POST", path: "/api/orgs/lab-team/registration-tokens", auth: key, want: 201,
		json: map[string]any{"name": "laptops"}})
	c.do(exchange{method: "GET", path: "/api/orgs/lab-team/registration-tokens", auth: key, want: 200})
	c.do(exchange{method: "GET", path: "/api/orgs/lab-team/clients?user=alice", auth: key, want: 200})
	c.do(exchange{method: "DELETE", path: "/api/orgs/lab-team/registration-tokens/" + idOf(regToken), auth: key, want: 200})
	// A personal key limited to lab, read-only, expiring within the
	// warning window: its answers and the key list flag it.
	var reader struct{ Key string }
	json.Unmarshal(c.do(exchange{method: "POST", path: "/api/keys", auth: key, want: 201,
		json: map[string]any{"name": "lab-reader", "scopes": []string{"user", "channels"}, "expires_at": f.expiry(7 * 24 * time.Hour),
			"channels": []string{"lab"}, "channel_access": "read"}}).body, &reader)
	if a := c.do(exchange{method: "GET", path: "/api/account", auth: bearer(reader.Key), want: 200}); a.header.Get(api.KeyExpiresHeader) == "" ||
		!bytes.Contains(a.body, []byte(`"expiring_soon":true`)) {
		t.Errorf("a key expiring within the warning window is not flagged: %v %s", a.header, a.body)
	}
	c.do(exchange{method: "GET", path: "/api/channels/lab/packages", auth: bearer(reader.Key), want: 200})
	c.do(exchange{method: "GET", path: "/api/keys", auth: key, want: 200})

	// Single sign-on for lab-team, and an administrator confirming the
	// domain it claims.
	c.do(exchange{method: "PUT", path: "/api/orgs/lab-team/sso", auth: key, want: 200, json: map[string]any{
		"issuer": e.idp.URL, "client_id": "gatehouse", "client_secret": "client-s3cret", "domains": []string{"lab.example", "lab-typo.example"}, "required": false,
		"group_roles": map[string]string{"eng": "member"}, "group_channels": map[string]any{"eng": map[string]string{"lab": "write"}}}})
	c.do(exchange{method: "GET", path: "/api/admin/sso-domains", auth: key, want: 200})
	c.do(exchange{method: "POST", path: "/api/admin/sso-domains/lab.example/confirm", auth: key, want: 204, json: map[string]any{"org": "lab-team"}})
	c.do(exchange{method: "POST", path: "/api/admin/sso-domains/lab-typo.example/reject", auth: key, want: 204, json: map[string]any{"org": "lab-team"}})
	c.do(exchange{method: "GET", path: "/api/admin/sso-domains", auth: key, want: 200})
	c.do(exchange{method: "GET", path: "/api/orgs/lab-team/sso", auth: key, want: 200})

	// Trusted publishing: lab trusts a GitHub Actions workflow, whose job
	// exchanges its ID token (once) for a key and uploads with it.
	publisher := c.do(exchange{method: "POST", path: "/api/channels/lab/trusted-publishers", auth: key, want: 201,
		json: map[string]any{"issuer": e.idp.URL, "claims": map[string]string{"repository": "lab-team/tiny", "environment": "release"}}})
	c.do(exchange{method: "GET", path: "/api/channels/lab/trusted-publishers", auth: key, want: 200})
	idToken := e.idp.IssueToken("gatehouse.test", idptest.GitHubClaims("lab-team/tiny", "refs/heads/main", "release"), 5*time.Minute)
	var exchanged struct{ Key string }
	json.Unmarshal(c.do(exchange{method: "POST", path: "/api/trusted-publishing/token", want: 201,
		json: map[string]any{"token": idToken, "channel": "lab"}}).body, &exchanged)
	c.do(exchange{method: "POST", path: "/api/channels/lab/packages", auth: bearer(exchanged.Key), raw: body, contentType: ct, want: 201})
	c.do(exchange{method: "POST", path: "/api/trusted-publishing/token", want: 401, json: map[string]any{"token": idToken, "channel": "lab"}})
	c.do(exchange{method: "DELETE", path: "/api/channels/lab/trusted-publishers/" + idOf(publisher), auth: key, want: 204})

	// The registration gate and the clients it saw.
	rule := c.do(exchange{method: "POST", path: "/api/admin/network-rules", auth: key, want: 201,
		json: map[string]any{"cidr": "10.0.0.0/8", "note": "the lab"}})
	c.do(exchange{method: "GET", path: "/api/admin/network-rules", auth: key, want: 200})
	c.do(exchange{method: "DELETE", path: "/api/admin/network-rules/" + idOf(rule), auth: key, want: 204})
	if a := f.do(call{method: "GET", path: "/repo/lab/noarch/repodata.json", auth: key,
		header: http.Header{"User-Agent": {"conda/24.1.0"}}}); a.status != http.StatusOK {
		t.Fatalf("repodata with the key: %d %s", a.status, a.body)
	}
	// The recorder's own writer may hold the new client while FlushClients
	// finds nothing to write: poll until it is listed.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		f.srv.Services().FlushClients()
		a := f.do(call{method: "GET", path: "/api/admin/clients", auth: key})
		if bytes.Contains(a.body, []byte("conda/24.1.0")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client that fetched repodata is never listed: %s", a.body)
		}
	}
	c.do(exchange{method: "GET", path: "/api/admin/clients?limit=10", auth: key, want: 200})
	c.do(exchange{method: "GET", path: "/api/admin/audit", auth: key, want: 200})
	c.do(exchange{method: "GET", path: "/api/admin/audit?action=key.create&limit=5", auth: key, want: 200})

	// A browser session: GETs need the cookie, changes its CSRF token too.
	token, _, err := f.srv.Services().Auth.StartSession(context.Background(),
		&gatehouse.Principal{User: f.admin, Method: gatehouse.AuthPassword}, "test")
	if err != nil {
		t.Fatal(err)
	}
	session := http.Header{"Cookie": {"gatehouse_session=" + token}}
	c.do(exchange{method: "GET", path: "/api/channels", header: session, want: 200})
	c.do(exchange{method: "POST", path: "/api/orgs", header: http.Header{"Cookie": session["Cookie"], "X-Csrf-Token": {authn.CSRFToken(token)}},
		json: map[string]any{"name": "web-team"}, want: 201})
	c.do(exchange{method: "POST", path: "/api/orgs", header: session, json: map[string]any{"name": "no-csrf"}, want: 403, refused: true})

	// Revoking a key; the key then fails.
	c.do(exchange{method: "DELETE", path: "/api/keys/" + idOf(cliKey), auth: key, want: 204})
	var cli struct {
		APIKey string `json:"api_key"`
	}
	json.Unmarshal(cliKey.body, &cli)

	// Errors.
	c.do(exchange{method: "GET", path: "/api/account", want: 401, refused: true})
	c.do(exchange{method: "GET", path: "/api/account", auth: bearer(cli.APIKey), want: 401})
	c.do(exchange{method: "GET", path: "/api/channels/nope", auth: key, want: 404})
	c.do(exchange{method: "DELETE", path: "/api/keys/999999", auth: key, want: 404})
	c.do(exchange{method: "POST", path: "/api/orgs", auth: key, json: map[string]any{"name": "lab-team"}, want: 409})
	c.do(exchange{method: "GET", path: "/api/admin/users", auth: basic("alice", "a new and longer password"), want: 403})
	notUTC := c.do(exchange{method: "POST", path: "/api/keys", auth: key, want: 400, refused: true,
		json: map[string]any{"name": "x", "scopes": []string{"user"}, "expires_at": "2027-01-31T00:00:00+01:00"}})
	if got := notUTC.json(t)["field"]; got != "expires_at" {
		t.Errorf("a time not in UTC: field %v, want expires_at", got)
	}
	c.do(exchange{method: "POST", path: "/api/keys", auth: key, want: 400, refused: true,
		json: map[string]any{"name": "x", "scopes": []string{"user"}, "expires_at": expiry, "comment": "misspelt"}})
	c.do(exchange{method: "POST", path: "/api/orgs", auth: key, want: 413, refused: true,
		json: map[string]any{"name": strings.Repeat("a", 70<<10)}})
	c.do(exchange{method: "GET", path: "/api/admin/audit?limit=0", auth: key, want: 400, refused: true})
	// Bad keys from one address until it is throttled.
	for range 100 {
		k, _ := apikey.Generate()
		if a := f.do(call{method: "GET", path: "/api/account", auth: bearer(k), remote: "203.0.113.9:1"}); a.status != http.StatusUnauthorized {
			break
		}
	}
	c.do(exchange{method: "GET", path: "/api/account", auth: key, remote: "203.0.113.9:1", want: 429})

	// Every operation of the document answered with success at least
	// once above, so each success schema met a real answer.
	for _, op := range slices.Sorted(maps.Keys(documentedOperations(c.doc))) {
		if !c.answered[op] {
			t.Errorf("%s never answered with success in this test (statuses %v): add it, so its schema meets a real answer", op, c.statuses[op])
		}
	}
}
