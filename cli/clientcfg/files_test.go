package clientcfg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

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
			env := Env{Home: func() (string, error) { return "/home/u", nil }, GOOS: tt.goos, Getenv: func(k string) string { return tt.vars[k] }}
			got, err := env.condaTokenDir()
			if err != nil || got != filepath.FromSlash(tt.want) && got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// The token file's name is Python's quote_plus of the URL prefix.
func TestCondaTokenFileNameIsQuotePlusOfTheRepoURL(t *testing.T) {
	env := Env{Home: func() (string, error) { return "/h", nil }, GOOS: "linux", Getenv: func(string) string { return "" }}
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":          "http%3A%2F%2F127.0.0.1%3A8080%2Frepo%2F.token",
		"https://packages.example.com/p": "https%3A%2F%2Fpackages.example.com%2Fp%2Frepo%2F.token",
		"http://[::1]:8080":              "http%3A%2F%2F%5B%3A%3A1%5D%3A8080%2Frepo%2F.token",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		p, err := env.condaTokenPath(Server{Base: u})
		if err != nil || filepath.Base(p) != want {
			t.Errorf("%s: %q, %v; want %q", in, filepath.Base(p), err, want)
		}
	}
}

func TestRattlerLooksUpTheHostWithoutItsPort(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080": "127.0.0.1", "https://Packages.Example.com": "packages.example.com", "http://[::1]:8080": "[::1]",
	} {
		u, _ := url.Parse(in)
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
	if err := WriteFileAtomic(link, []byte(`{"a":1}`)); err != nil {
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

// BenchmarkCredFilePut updates our entry in a credentials file holding
// 100 other hosts (read, merge, atomic write with fsync).
func BenchmarkCredFilePut(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "credentials.json")
	m := map[string]any{}
	for i := range 100 {
		m[fmt.Sprintf("host%d.example.com", i)] = map[string]string{"BearerToken": fmt.Sprintf("token-%d", i)}
	}
	data, _ := json.Marshal(m)
	os.WriteFile(path, data, 0o600)
	f := &jsonCredFile{client: "rattler", path: path, host: "h", token: func(raw json.RawMessage) string {
		var e map[string]string
		json.Unmarshal(raw, &e)
		return e["BearerToken"]
	}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("gk-%d", i)
		i++
		f.value, _ = json.Marshal(map[string]string{"BearerToken": key})
		if _, err := f.put(key); err != nil {
			b.Fatal(err)
		}
	}
}
