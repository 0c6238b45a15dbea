package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/service/idp/idptest"
)

// gatehouse upload in a CI job: with no key stored, it exchanges the job's
// ID token (GitHub Actions' request URL, or GATEHOUSE_ID_TOKEN) for an
// upload key, by itself.
func TestUploadExchangesTheCIJobsIDToken(t *testing.T) {
	h := newHarness(t)
	admin := clienttest.BasicAuth("admin", clienttest.Password)
	h.srv.User("admin", true)
	idp := idptest.Start(t)
	if code, body := h.srv.Do("POST", "/api/channels", admin, map[string]any{"name": "lab", "visibility": "private"}, nil); code != 201 {
		t.Fatalf("channel: %d %s", code, body)
	}
	for _, pub := range []map[string]any{
		{"issuer": idp.URL, "claims": map[string]string{"repository": "acme/lab", "ref": "refs/heads/main"}},
		{"issuer": idp.URL, "audience": "gatehouse-gitlab", "claims": map[string]string{"project_path": "acme/lab"}},
	} {
		if code, body := h.srv.Do("POST", "/api/channels/lab/trusted-publishers", admin, pub, nil); code != 201 {
			t.Fatalf("publisher: %d %s", code, body)
		}
	}
	pkg := clienttest.Fixture(t, "noarch/gh-data-1.0.0-0.conda")
	other := clienttest.Fixture(t, "linux-64/gh-app-0.3.0-h1a2b3c4_1.tar.bz2")

	t.Run("in GitHub Actions it asks for a token with the server's host as audience and uploads", func(t *testing.T) {
		reqURL, reqToken := idp.ActionsEnv()
		idp.SetCIClaims(idptest.GitHubClaims("acme/lab", "refs/heads/main", "release"))
		h.vars["ACTIONS_ID_TOKEN_REQUEST_URL"], h.vars["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = reqURL, reqToken
		defer delete(h.vars, "ACTIONS_ID_TOKEN_REQUEST_URL")
		out, errOut, code := h.run("upload", pkg, "--channel", "lab", "--at", h.host())
		if code != 0 || !strings.Contains(out, "Uploaded noarch/gh-data-1.0.0-0.conda to lab") || !strings.Contains(errOut, "Trusted publishing: exchanged the ID token from GitHub Actions") {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
		if h.stored(h.host()) != "" {
			t.Error("the exchanged key was stored")
		}
	})
	t.Run("from another repository the exchange is refused with the claims named, and nothing is uploaded", func(t *testing.T) {
		reqURL, reqToken := idp.ActionsEnv()
		idp.SetCIClaims(idptest.GitHubClaims("evil/fork", "refs/heads/main", "release"))
		h.vars["ACTIONS_ID_TOKEN_REQUEST_URL"], h.vars["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = reqURL, reqToken
		defer delete(h.vars, "ACTIONS_ID_TOKEN_REQUEST_URL")
		_, errOut, code := h.run("upload", other, "--channel", "lab", "--at", h.host())
		if code != 2 || !strings.Contains(errOut, "claims repository do not match") {
			t.Fatalf("exit %d, stderr %s", code, errOut)
		}
	})
	t.Run("with GitLab's token in GATEHOUSE_ID_TOKEN it uploads", func(t *testing.T) {
		h.vars["GATEHOUSE_ID_TOKEN"] = idp.IssueToken("gatehouse-gitlab", idptest.GitLabClaims("acme/lab", "main"), 5*time.Minute)
		defer delete(h.vars, "GATEHOUSE_ID_TOKEN")
		if out, errOut, code := h.run("upload", other, "--channel", "lab", "--at", h.host()); code != 0 {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
	})
	t.Run("without a CI token and without a key it says how to log in", func(t *testing.T) {
		if _, errOut, code := h.run("upload", pkg, "--channel", "lab", "--at", h.host()); code != 2 || !strings.Contains(errOut, "gatehouse login") {
			t.Fatalf("exit %d, stderr %s", code, errOut)
		}
	})
}

func TestKeysCreateWithChannelRestrictionsAndExpiryWarnings(t *testing.T) {
	h := newHarness(t)
	h.login("alice", false)
	at := []string{"--at", h.host()}
	h.ok(append([]string{"channel", "create", "lab"}, at...)...)
	key := strings.TrimSpace(h.ok(append([]string{"keys", "create", "--name", "docker", "--scopes", "channels", "--channels", "lab",
		"--channel-access", "read", "--expires", "3d"}, at...)...))
	if !strings.HasPrefix(key, "gk-") {
		t.Fatalf("keys create printed %q", key)
	}
	out := h.ok(append([]string{"keys", "list"}, at...)...)
	if !strings.Contains(out, "lab (read)") || !strings.Contains(out, "expires soon") {
		t.Errorf("keys list:\n%s", out)
	}
	h.vars["ANACONDA_AUTH_API_KEY"] = key
	defer delete(h.vars, "ANACONDA_AUTH_API_KEY")
	_, errOut, _ := h.run(append([]string{"channel", "list"}, at...)...)
	if !strings.Contains(errOut, "Warning: the API key for "+h.host()+" expires on") {
		t.Errorf("no expiry warning on stderr: %q", errOut)
	}
	if _, errOut, code := h.run(append([]string{"keys", "create", "--name", "x", "--channel-access", "admin"}, at...)...); code != 1 || !strings.Contains(errOut, "read or write") {
		t.Errorf("exit %d, %s", code, errOut)
	}
}
