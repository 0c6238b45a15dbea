package orgreg

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/orgtoken"
	"github.com/spf13/cobra"
)

func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	d := Deps{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out,
		Connect: func(string) (*client.Client, error) { return nil, errors.New("no server in this test") },
		Server:  func(string) (*url.URL, error) { return url.Parse("https://conda.example.com") },
		AddAt:   func(cmd *cobra.Command, at *string) { cmd.Flags().StringVar(at, "at", "", "") },
		RunE:    func(f func(*cobra.Command, []string) error) func(*cobra.Command, []string) error { return f },
	}
	cmd := Command(d)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage = true
	err := cmd.Execute()
	return out.String(), err
}

func TestConfigWritesTheOrgTokenFileAndACondarcThatKeepsAnonUsageOn(t *testing.T) {
	tok, _ := orgtoken.Generate()
	dir := t.TempDir()
	if _, err := run(t, tok+"\n", "config", "--token-file", "-", "--out", dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "org_token"))
	if string(b) != tok+"\n" {
		t.Fatalf("org_token holds %q", b)
	}
	rc, _ := os.ReadFile(filepath.Join(dir, ".condarc"))
	for _, want := range []string{"channel_alias: https://conda.example.com/repo\n", "anaconda_anon_usage: true\n"} {
		if !strings.Contains(string(rc), want) {
			t.Fatalf(".condarc lacks %q:\n%s", want, rc)
		}
	}
}

func TestInstallWritesTheSystemFileOrSaysWhyNot(t *testing.T) {
	tok, _ := orgtoken.Generate()
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte(tok), 0o600)
	t.Run("a writable path gets the token, readable by everyone", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "etc", "conda", "org_token")
		if _, err := run(t, "", "install", "--token-file", tokFile, "--path", path); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Fatalf("installed file: %v %v", fi, err)
		}
	})
	t.Run("without permission the error says what to do and nothing is written", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root may write anywhere")
		}
		ro := t.TempDir()
		os.Chmod(ro, 0o555)
		t.Cleanup(func() { os.Chmod(ro, 0o755) })
		_, err := run(t, "", "install", "--token-file", tokFile, "--path", filepath.Join(ro, "org_token"))
		if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "--path") {
			t.Fatalf("err = %v", err)
		}
		if entries, _ := os.ReadDir(ro); len(entries) != 0 {
			t.Fatalf("left %d files behind", len(entries))
		}
	})
	t.Run("a token with a typo is refused before anything is written", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad")
		last := "x"
		if strings.HasSuffix(tok, last) {
			last = "y"
		}
		os.WriteFile(bad, []byte(tok[:orgtoken.Len-1]+last), 0o600)
		path := filepath.Join(t.TempDir(), "org_token")
		if _, err := run(t, "", "install", "--token-file", bad, "--path", path); err == nil {
			t.Fatal("a bad token was installed")
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("a file was written")
		}
	})
}
