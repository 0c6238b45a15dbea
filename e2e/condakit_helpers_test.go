package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The conda clients kit (../shared/clients beside the worktree): real,
// unmodified conda 26.7.1 with the anaconda-auth and anaconda-anon-usage
// plugins, and the anaconda CLI. GATEHOUSE_CLIENTS names a set-up kit;
// otherwise setup.sh installs it into ${TMPDIR:-/tmp}/gatehouse-clients
// (idempotent).

// condaKit returns the kit's directory, setting it up when needed.
func condaKit(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GATEHOUSE_CLIENTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "gatehouse-clients")
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "conda")); err == nil {
		return dir
	}
	setup, _ := filepath.Abs(filepath.Join("..", "..", "shared", "clients", "setup.sh"))
	if _, err := os.Stat(setup); err != nil {
		needOrSkip(t, fmt.Errorf("the conda clients kit is not set up in %s and %s is missing", dir, setup))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "bash", setup, dir).CombinedOutput(); err != nil {
		needOrSkip(t, fmt.Errorf("setting up the conda clients kit: %v\n%s", err, out))
	}
	return dir
}

// kitEnv is a clean environment for the kit's programs: this process's
// variables without anything that changes what conda, anaconda-auth or
// requests read (credentials, config paths, CA bundles), then HOME and
// the extra "NAME=value" pairs.
func kitEnv(home string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		up := strings.ToUpper(name)
		switch {
		case strings.HasPrefix(up, "ANACONDA_"), strings.HasPrefix(up, "CONDA"), strings.HasPrefix(name, "GATEHOUSE_"),
			strings.HasPrefix(name, "RATTLER_"), strings.HasPrefix(name, "MAMBA"),
			name == "HOME", name == "REQUESTS_CA_BUNDLE", name == "CURL_CA_BUNDLE", name == "SSL_CERT_FILE",
			name == "XDG_CONFIG_HOME", name == "BINSTAR_CONFIG_DIR", name == "DISPLAY", name == "BROWSER", name == "PYTHONPATH":
			continue
		}
		env = append(env, kv)
	}
	// BROWSER=true: webbrowser.open "opens" with /bin/true, so nothing
	// pops up and the test's Chromium answers instead. COLUMNS keeps
	// rich from wrapping the URLs it prints.
	env = append(env, "HOME="+home, "BROWSER=true", "COLUMNS=250", "NO_COLOR=1")
	return append(env, extra...)
}

// kitRun runs one of the kit's programs (conda, anaconda) to the end.
func kitRun(t *testing.T, kit string, env []string, limit time.Duration, prog string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(kit, "bin", prog), args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %s did not end within %v", prog, strings.Join(args, " "), limit)
	}
	return out.String(), err
}

// condaInstall creates a new environment at a fresh prefix holding spec
// from channelURL alone, with conda from the kit as a person would run it:
// HOME is the machine's, the package cache is fresh, and condarc (a path,
// or "" for none) is the only configuration.
func condaInstall(t *testing.T, kit string, env []string, condarc, channelURL, spec string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	if condarc == "" {
		condarc = filepath.Join(dir, "empty.condarc")
		if err := os.WriteFile(condarc, []byte("channels: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env = append(append([]string(nil), env...), "CONDARC="+condarc, "CONDA_PKGS_DIRS="+filepath.Join(dir, "pkgs"))
	return kitRun(t, kit, env, 3*time.Minute, "conda", "create", "--yes", "--quiet", "-p", filepath.Join(dir, "env"),
		"--override-channels", "-c", channelURL, spec)
}

// testCert makes a self-signed certificate for 127.0.0.1 and localhost
// and writes it (PEM) into dir: the file clients are told to trust.
func testCert(t *testing.T, dir string) (tls.Certificate, string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "gatehouse e2e"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "test-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, path
}
