package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/cli"
	"github.com/gatehouse-dev/gatehouse/client/clienttest"
	"github.com/gatehouse-dev/gatehouse/credstore"
	"github.com/spf13/cobra"
)

// A server with a certificate no one trusts: refused, unless ssl_verify is
// false in the anaconda-auth configuration, which is then said out loud.
func TestSSLVerifyFalseTurnsOffCertificateChecksWithAWarning(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"user":{"username":"alice"},"scopes":["user"],"key":{"name":"k","scopes":["user"],"expires_at":"2030-01-01T00:00:00Z"}}`)
	}))
	defer ts.Close()
	h := newHarness(t)
	if err := credstore.Save(h.creds(), &credstore.Entry{Domain: strings.TrimPrefix(ts.URL, "https://"), APIKey: "gk-x"}); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := h.run("whoami", "--at", ts.URL)
	if code != 1 || !strings.Contains(errOut, "Cannot reach") || !strings.Contains(errOut, "certificate") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	h.vars[credstore.EnvSSLVerify] = "false"
	out, errOut, code := h.run("whoami", "--at", ts.URL)
	if code != 0 || !strings.Contains(out, "as alice") || !strings.Contains(errOut, "Warning: ssl_verify is false") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestUploadDrawsAProgressBarOnATerminal(t *testing.T) {
	h := newHarness(t)
	h.login("alice", false)
	h.ok("channel", "create", "lab", "--at", h.host())
	var out, errb bytes.Buffer
	env := h.env(&out, &errb)
	env.IsTerminal = func(w io.Writer) bool { return w == &errb }
	root := &cobra.Command{Use: "gatehouse", SilenceUsage: true, SilenceErrors: true}
	root.SetArgs([]string{"upload", clienttest.Fixture(t, "noarch/gh-data-1.0.0-0.conda"), "--channel", "lab", "--at", h.host()})
	root.AddCommand(cli.Commands(env)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if code := cli.Report(root.ExecuteContext(ctx), &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "\rgh-data-1.0.0-0.conda") || !strings.Contains(errb.String(), "100%") {
		t.Fatalf("no progress bar on stderr: %q", errb.String())
	}
	if !strings.HasPrefix(out.String(), "Uploaded noarch/gh-data-1.0.0-0.conda") {
		t.Fatalf("stdout %q", out.String())
	}
}
