package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Organization-wide registration with the real conda 26.7.1 and the
// anaconda-anon-usage plugin of the clients kit (../shared/clients): the
// plugin adds o/<org token> to conda's User-Agent, from
// ANACONDA_ANON_USAGE_ORG_TOKEN or from an org_token file.

// condaRun runs conda search on one channel in a home of its own, with a
// fresh package cache (so no repodata is reused across runs), and
// returns its output and exit error.
func condaRun(t *testing.T, conda, home string, env []string, channelURL, spec string) (string, error) {
	t.Helper()
	rc := filepath.Join(home, ".condarc")
	if err := os.WriteFile(rc, []byte("channels: []\nreport_errors: false\nnotify_outdated_conda: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, conda, "search", "--override-channels", "-c", channelURL, spec)
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "CONDARC=" + rc, "CONDA_PKGS_DIRS=" + t.TempDir(),
		"LANG=C.UTF-8", "NO_PROXY=127.0.0.1,localhost"}
	cmd.Env = append(base, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCondaWithAnonUsageRegistersWithAnOrganizationToken(t *testing.T) {
	conda := filepath.Join(condaKit(t), "bin", "conda")
	srv := Start(t, gatehouseBin, Options{})
	admin := basic("admin", srv.AdminPassword)
	createChannel(t, srv, "pub", "public")
	createChannel(t, srv, "lab", "private")
	pkg := BuildConda(t, "orgpkg", "1.0", "0", "noarch", nil, nil)
	mustUpload(t, srv, "pub", admin, pkg)
	mustUpload(t, srv, "lab", admin, pkg)
	for _, step := range []struct{ path, body string }{
		{"/api/admin/network-rules", `{"cidr":"127.0.0.0/8","note":"this machine"}`},
		{"/api/orgs", `{"name":"acme"}`},
	} {
		if r := call(t, "POST", srv.URL+step.path, step.body, admin); r.Status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", step.path, r.Status, r.Body)
		}
	}

	for _, how := range []string{"variable", "file"} {
		t.Run("with the token in an org_token "+how, func(t *testing.T) {
			r := call(t, "POST", srv.URL+"/api/orgs/acme/registration-tokens", `{"name":"laptops via `+how+`"}`, admin)
			if r.Status != http.StatusCreated {
				t.Fatalf("creating a token: %d %s", r.Status, r.Body)
			}
			var tok struct {
				Token string
				ID    int64
			}
			decode(t, r, &tok)
			srv.RecordSecret(tok.Token)
			home := t.TempDir()
			var env []string
			if how == "variable" {
				env = []string{"ANACONDA_ANON_USAGE_ORG_TOKEN=" + tok.Token}
			} else {
				if err := os.MkdirAll(filepath.Join(home, ".conda"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(home, ".conda", "org_token"), []byte(tok.Token+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// Without the token the gate refuses, with the reason conda shows.
			out, err := condaRun(t, conda, t.TempDir(), nil, srv.URL+"/repo/pub", "orgpkg")
			if err == nil || !strings.Contains(out, "REGISTRATION REQUIRED") {
				t.Fatalf("conda without the token: %v\n%s", err, out)
			}
			out, err = condaRun(t, conda, home, env, srv.URL+"/repo/pub", "orgpkg")
			if err != nil || !strings.Contains(out, "orgpkg") || !strings.Contains(out, "1.0") {
				t.Fatalf("conda with the token on the public channel: %v\n%s", err, out)
			}
			out, err = condaRun(t, conda, home, env, srv.URL+"/repo/lab", "orgpkg")
			if err == nil || strings.Contains(out, "REGISTRATION REQUIRED") {
				t.Fatalf("conda with the token on the private channel must be refused, and not as unregistered: %v\n%s", err, out)
			}
			// The plugin keeps its client token in ~/.conda/aau_token: the
			// organization sees that client.
			cid, err := os.ReadFile(filepath.Join(home, ".conda", "aau_token"))
			if err != nil {
				t.Fatalf("the plugin wrote no client token: %v", err)
			}
			want := `"client":"` + strings.TrimSpace(string(cid)) + `"`
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				r := call(t, "GET", srv.URL+"/api/orgs/acme/clients", "", admin)
				if strings.Contains(r.Body, want) && strings.Contains(r.Body, `"conda_version":"26.7.1"`) {
					if strings.Contains(r.Body, tok.Token) {
						t.Fatalf("the clients list holds the token: %s", r.Body)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("client %s never listed under acme: %s", want, r.Body)
				}
			}
			if r := call(t, "DELETE", srv.URL+fmt.Sprintf("/api/orgs/acme/registration-tokens/%d", tok.ID), "", admin); r.Status != http.StatusOK {
				t.Fatalf("revoking: %d %s", r.Status, r.Body)
			}
			out, err = condaRun(t, conda, home, env, srv.URL+"/repo/pub", "orgpkg")
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(out, "REGISTRATION REQUIRED") {
				t.Fatalf("conda with the revoked token: %v\n%s", err, out)
			}
		})
	}
}
