package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/credstore"
)

func TestParseServerAssumesHTTPSExceptOnLoopback(t *testing.T) {
	tests := []struct{ in, want string }{
		{"packages.example.com", "https://packages.example.com"},
		{"Packages.Example.com:8443", "https://Packages.Example.com:8443"},
		{"127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"127.1.2.3", "http://127.1.2.3"},
		{"localhost", "http://localhost"},
		{"localhost:8080", "http://localhost:8080"},
		{"[::1]:8080", "http://[::1]:8080"},
		{"::1", "http://[::1]"},
		{"10.0.0.5:8080", "https://10.0.0.5:8080"},
		{"http://packages.example.com/prefix/", "http://packages.example.com/prefix"},
		{"https://h:8443/x?y=1#z", "https://h:8443/x"},
		{"  h.example  ", "https://h.example"},
		// A channel URL, as the channel page shows it, names its server.
		{"127.0.0.1:8080/repo/lab", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/repo/lab/linux-64/repodata.json", "http://127.0.0.1:8080"},
		{"https://packages.example.com/repo/lab", "https://packages.example.com"},
		{"packages.example.com/prefix/repo/lab/", "https://packages.example.com/prefix"},
		{"https://h/repo", "https://h"},
		{"https://h/t/gk-secret/repo/lab", "https://h"},
		{"https://h/repo/t/gk-secret/lab", "https://h"},
		{"https://h/channels/lab", "https://h"},
		{"https://h/repository", "https://h/repository"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ParseServer(tt.in)
			if err != nil || u.String() != tt.want {
				t.Fatalf("ParseServer(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "ftp://h", "https://user:pw@h", "h:99999", "h:", "http://", "a b", "https://[::1"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			if u, err := ParseServer(bad); err == nil {
				t.Fatalf("ParseServer(%q) = %v, want an error", bad, u)
			} else if strings.Contains(err.Error(), "pw") {
				t.Fatalf("the error echoes the password: %v", err)
			}
		})
	}
}

func TestSourceTextNamesWhereAKeyCameFrom(t *testing.T) {
	env := &Env{HomeDir: "/h", Getenv: func(string) string { return "" }}
	for src, want := range map[credstore.Source]string{
		credstore.SourceEnv:    "the environment variable ANACONDA_AUTH_API_KEY",
		credstore.SourceSecret: "the Docker secret /run/secrets/ANACONDA_AUTH_API_KEY",
		credstore.SourceConfig: "api_key in /h/.anaconda/config.toml",
		credstore.SourceFile:   "the keyring file /h/.anaconda/keyring",
		credstore.SourceSystem: "the system keyring",
	} {
		if got := env.sourceText(src); got != filepath.FromSlash(want) && got != want {
			t.Errorf("%s: %q, want %q", src, got, want)
		}
	}
}
