package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestParseExpiryAcceptsDaysWeeksAYearOrADate(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.FixedZone("X", -7*3600))
	tests := []struct {
		in   string
		want time.Time
	}{
		{"90d", now.Add(90 * 24 * time.Hour)},
		{"12w", now.Add(84 * 24 * time.Hour)},
		{"1y", now.Add(365*24*time.Hour - time.Minute)},
		{"365d", now.Add(365*24*time.Hour - time.Minute)},
		{"2027-01-31", time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
		{"2026-06-01T12:00:00Z", time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseExpiry(now, tt.in)
			if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Fatalf("parseExpiry(%q) = %v, %v; want %v in UTC", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "0d", "-3d", "366d", "2y", "53w", "3m", "2026-03-01", "2027-12-31", "soon", "d"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			if got, err := parseExpiry(now, bad); err == nil {
				t.Fatalf("parseExpiry(%q) = %v, want an error", bad, got)
			}
		})
	}
}

func TestParseScopes(t *testing.T) {
	if got, err := parseScopes(" user, channels,user "); err != nil || strings.Join(got, ",") != "user,channels" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", ",", "User", "cloud:read"} {
		if _, err := parseScopes(bad); err == nil {
			t.Errorf("parseScopes(%q) accepted", bad)
		}
	}
}

// conda's token directory is platformdirs.user_config_dir("binstar",
// "ContinuumIO") on each platform, or $BINSTAR_CONFIG_DIR/data.
func TestCondaTokenDirOnEachPlatform(t *testing.T) {
	tests := []struct {
		goos string
		vars map[string]string
		want string
	}{
		{"linux", nil, "/home/u/.config/binstar"},
		{"linux", map[string]string{"XDG_CONFIG_HOME": "/xdg"}, "/xdg/binstar"},
		{"freebsd", nil, "/home/u/.config/binstar"},
		{"darwin", nil, "/home/u/Library/Application Support/binstar"},
		{"windows", map[string]string{"LOCALAPPDATA": `C:\Users\u\AppData\Local`}, filepath.Join(`C:\Users\u\AppData\Local`, "ContinuumIO", "binstar")},
		{"linux", map[string]string{"BINSTAR_CONFIG_DIR": "/b"}, "/b/data"},
	}
	for _, tt := range tests {
		t.Run(tt.goos+" "+tt.want, func(t *testing.T) {
			env := &Env{HomeDir: "/home/u", GOOS: tt.goos, Getenv: func(k string) string { return tt.vars[k] }}
			got, err := env.condaTokenDir()
			if err != nil || got != filepath.FromSlash(tt.want) && got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// The token file's name is Python's quote_plus of the URL prefix.
func TestCondaTokenFileNameIsQuotePlusOfTheRepoURL(t *testing.T) {
	env := &Env{HomeDir: "/h", GOOS: "linux", Getenv: func(string) string { return "" }}
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":          "http%3A%2F%2F127.0.0.1%3A8080%2Frepo%2F.token",
		"https://packages.example.com/p": "https%3A%2F%2Fpackages.example.com%2Fp%2Frepo%2F.token",
		"http://[::1]:8080":              "http%3A%2F%2F%5B%3A%3A1%5D%3A8080%2Frepo%2F.token",
	} {
		u, err := ParseServer(in)
		if err != nil {
			t.Fatal(err)
		}
		p, err := env.condaTokenPath(&target{base: u})
		if err != nil || filepath.Base(p) != want {
			t.Errorf("%s: %q, %v; want %q", in, filepath.Base(p), err, want)
		}
	}
}

func TestRattlerLooksUpTheHostWithoutItsPort(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080": "127.0.0.1", "https://Packages.Example.com": "packages.example.com", "http://[::1]:8080": "[::1]",
	} {
		u, _ := ParseServer(in)
		if got := rattlerHost(u); got != want {
			t.Errorf("rattlerHost(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestAJSONCredentialsFileThatIsNotAnObjectIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"[1,2]", "not json", `{"a":`, "null", `"s"`} {
		path := filepath.Join(dir, "f.json")
		os.WriteFile(path, []byte(content), 0o600)
		f := &jsonCredFile{client: "x", path: path, host: "h", value: []byte(`{"BearerToken":"gk-x"}`), token: func(json.RawMessage) string { return "" }}
		if _, err := f.put("gk-x"); err == nil {
			t.Errorf("%q: no error", content)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("%q was changed to %q", content, b)
		}
	}
}

func TestWriteFileAtomicWritesThroughASymlinkWithMode0600(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "credentials.json")
	os.MkdirAll(filepath.Dir(real), 0o700)
	os.WriteFile(real, []byte("{}"), 0o644)
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if err := writeFileAtomic(link, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symlink was replaced by a file")
	}
	b, _ := os.ReadFile(real)
	fi, _ := os.Stat(real)
	if !bytes.Equal(b, []byte(`{"a":1}`)) || fi.Mode().Perm() != 0o600 {
		t.Fatalf("target = %q mode %v", b, fi.Mode().Perm())
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "dotfiles", ".*tmp*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
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
