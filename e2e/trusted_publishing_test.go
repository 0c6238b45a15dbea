package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/service/idp/idptest"
)

// A CI job publishes with the real gatehouse binary and no stored key:
// shaped like a GitHub Actions job (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN)
// and like a GitLab CI job (GATEHOUSE_ID_TOKEN), against a channel that
// trusts that CI identity.
func TestCIUploadWithTrustedPublishing(t *testing.T) {
	srv := Start(t, gatehouseBin, Options{})
	idp := idptest.Start(t)
	admin := basic("admin", srv.AdminPassword)
	ch := uniqueName("ci")
	if r := call(t, "POST", srv.URL+"/api/channels", `{"name":"`+ch+`","visibility":"private"}`, admin); r.Status != http.StatusCreated {
		t.Fatalf("channel: %d %s", r.Status, r.Body)
	}
	for _, body := range []string{
		`{"issuer":"` + idp.URL + `","claims":{"repository":"acme/lab","workflow_ref":"acme/lab/.github/workflows/release.yml@refs/heads/main"}}`,
		`{"issuer":"` + idp.URL + `","audience":"gatehouse-ci","claims":{"project_path":"acme/lab","ref":"main"}}`,
	} {
		if r := call(t, "POST", srv.URL+"/api/channels/"+ch+"/trusted-publishers", body, admin); r.Status != http.StatusCreated {
			t.Fatalf("publisher: %d %s", r.Status, r.Body)
		}
	}
	pkgs := FixturePackages(t)
	dir := t.TempDir()
	var files []string
	for _, p := range pkgs[:2] {
		path := filepath.Join(dir, p.Filename)
		if err := os.WriteFile(path, p.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}

	t.Run("a GitHub Actions job uploads with an exchanged key", func(t *testing.T) {
		m := newCLIMachine(t)
		reqURL, reqToken := idp.ActionsEnv()
		idp.SetCIClaims(idptest.GitHubClaims("acme/lab", "refs/heads/main", "release"))
		m.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL="+reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+reqToken)
		r := m.Run("upload", files[0], "--channel", ch, "--at", srv.URL)
		if r.Code != 0 || !strings.Contains(r.Stderr, "Trusted publishing: exchanged the ID token from GitHub Actions") {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", r.Code, r.Stdout, r.Stderr)
		}
	})
	t.Run("a GitLab CI job uploads with the token in GATEHOUSE_ID_TOKEN", func(t *testing.T) {
		m := newCLIMachine(t)
		m.Setenv("GATEHOUSE_ID_TOKEN=" + idp.IssueToken("gatehouse-ci", idptest.GitLabClaims("acme/lab", "main"), 5*time.Minute))
		if r := m.Run("upload", files[1], "--channel", ch, "--at", srv.URL); r.Code != 0 {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", r.Code, r.Stdout, r.Stderr)
		}
	})
	t.Run("a job of another project is refused and nothing is minted", func(t *testing.T) {
		m := newCLIMachine(t)
		m.Setenv("GATEHOUSE_ID_TOKEN=" + idp.IssueToken("gatehouse-ci", idptest.GitLabClaims("evil/fork", "main"), 5*time.Minute))
		r := m.Run("upload", files[0], "--channel", ch, "--at", srv.URL, "--replace")
		if r.Code != 2 || !strings.Contains(r.Stderr, "project_path") {
			t.Fatalf("exit %d\nstderr %s", r.Code, r.Stderr)
		}
	})
	r := call(t, "GET", srv.URL+"/api/channels/"+ch+"/packages", "", admin)
	if !strings.Contains(r.Body, pkgs[0].Filename) || !strings.Contains(r.Body, pkgs[1].Filename) {
		t.Errorf("the channel holds: %s", r.Body)
	}
}
