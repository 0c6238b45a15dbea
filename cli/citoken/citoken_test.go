package citoken_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/cli/citoken"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestFindReadsTheTokenFromTheEnvironmentFirst(t *testing.T) {
	tok, from, err := citoken.Find(context.Background(), env(map[string]string{citoken.EnvIDToken: " tok \n"}), "h")
	if err != nil || tok != "tok" || !strings.Contains(from, citoken.EnvIDToken) {
		t.Fatalf("Find = %q, %q, %v", tok, from, err)
	}
}

func TestFindIsEmptyOutsideACIJob(t *testing.T) {
	if tok, from, err := citoken.Find(context.Background(), env(nil), "h"); tok != "" || from != "" || err != nil {
		t.Fatalf("Find = %q, %q, %v; want nothing", tok, from, err)
	}
}

func TestFindAsksGitHubActionsForTheServersAudience(t *testing.T) {
	var gotAudience, gotAuth string
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAudience, gotAuth = r.URL.Query().Get("audience"), r.Header.Get("Authorization")
		if gotAuth != "Bearer req-token" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Write([]byte(`{"value":"id-token"}`))
	}))
	defer gh.Close()
	vars := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": gh.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-token"}

	tok, from, err := citoken.Find(context.Background(), env(vars), "packages.example.com")
	if err != nil || tok != "id-token" || from != "GitHub Actions" || gotAudience != "packages.example.com" {
		t.Fatalf("Find = %q, %q, %v; audience %q", tok, from, err, gotAudience)
	}
	vars[citoken.EnvAudience] = "custom"
	if _, _, err := citoken.Find(context.Background(), env(vars), "packages.example.com"); err != nil || gotAudience != "custom" {
		t.Fatalf("with %s: audience %q, %v", citoken.EnvAudience, gotAudience, err)
	}
	vars["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "wrong"
	if _, _, err := citoken.Find(context.Background(), env(vars), "h"); err == nil || !strings.Contains(err.Error(), "id-token: write") {
		t.Fatalf("a refusal: %v", err)
	}
}
