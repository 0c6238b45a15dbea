package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestServerRefusesBadConfigurationNamingEveryProblem(t *testing.T) {
	// checklist C6: an invalid CIDR stops the server, naming the setting.
	code, _, stderr := run(t, map[string]string{"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.1/8"},
		"server", "--require-registration", "10.0.0.0/33", "--listen", "nohost", "--log-format", "xml", "--data", t.TempDir())
	if code == 0 {
		t.Fatal("the server started with a bad configuration")
	}
	for _, want := range []string{"--require-registration (GATEHOUSE_REQUIRE_REGISTRATION)", "--trusted-proxies (GATEHOUSE_TRUSTED_PROXIES)", "10.0.0.0/8", "--listen", "--log-format"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the error does not mention %q:\n%s", want, stderr)
		}
	}
}

func TestServerRefusesABadUpstreamAllowList(t *testing.T) {
	// checklist C6: the upstream allow-list (SSRF, issue 9) is checked
	// like the other networks, every bad entry named.
	code, _, stderr := run(t, nil, "server", "--upstream-allow", "127.0.0.1/8,fd00::/129,localhost", "--data", t.TempDir())
	if code == 0 {
		t.Fatal("the server started with a bad --upstream-allow")
	}
	for _, want := range []string{"--upstream-allow (GATEHOUSE_UPSTREAM_ALLOW)", "127.0.0.0/8"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the error does not mention %q:\n%s", want, stderr)
		}
	}
	for _, bad := range []string{"fd00::/129", "localhost"} {
		code, _, stderr := run(t, nil, "server", "--upstream-allow", bad, "--data", t.TempDir())
		if code == 0 || !strings.Contains(stderr, bad) {
			t.Errorf("--upstream-allow %s: exit %d, %s", bad, code, stderr)
		}
	}
}

func TestPrintConfigRedactsSecrets(t *testing.T) {
	// checklist H6
	env := map[string]string{
		"GATEHOUSE_INITIAL_ADMIN_PASSWORD": "hunter2hunter2",
		"GATEHOUSE_DATABASE":               "postgres://gh:s3cretpass@db.example:5432/gh",
	}
	code, stdout, stderr := run(t, env, "server", "--print-config")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "hunter2") || strings.Contains(stdout, "s3cretpass") {
		t.Errorf("secrets printed:\n%s", stdout)
	}
	if !strings.Contains(stdout, "db.example") {
		t.Errorf("the database host is missing:\n%s", stdout)
	}
}
