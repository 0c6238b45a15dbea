package credstore

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadConfigDefaults(t *testing.T) {
	te := newTestEnv(t)
	cfg, err := LoadConfig(te.Env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PreferredTokenStorage != StorageFile || cfg.Domain != "" || cfg.APIKey != "" || cfg.SSLVerify != nil {
		t.Fatalf("defaults: %+v", cfg)
	}
	if cfg.Path != filepath.Join(te.HomeDir, ".anaconda", "config.toml") {
		t.Fatalf("path = %q", cfg.Path)
	}
}

func TestLoadConfigLayers(t *testing.T) {
	const file = `# written by anaconda-auth users
default_site = "x"
[plugin.auth]
domain = "file.example"
api_key = "k-file"
preferred_token_storage = "system"
ssl_verify = false
client_id = "ignored"
[plugin.other]
domain = "not ours"
`
	tests := []struct {
		name    string
		vars    map[string]string
		secrets map[string]string
		check   func(t *testing.T, c *Config)
	}{
		{"the file alone", nil, nil, func(t *testing.T, c *Config) {
			if c.Domain != "file.example" || c.APIKey != "k-file" || c.PreferredTokenStorage != StorageSystem || c.SSLVerify == nil || *c.SSLVerify {
				t.Fatalf("%+v", c)
			}
		}},
		{"environment variables win over the file", map[string]string{
			EnvDomain: "env.example", EnvAPIKey: "k-env", EnvPreferredTokenStorage: "anaconda-keyring", EnvSSLVerify: "yes",
		}, nil, func(t *testing.T, c *Config) {
			if c.Domain != "env.example" || c.APIKey != "k-env" || c.PreferredTokenStorage != StorageFile || !*c.SSLVerify {
				t.Fatalf("%+v", c)
			}
		}},
		{"Docker secrets win over the file", nil, map[string]string{
			EnvDomain: "secret.example\n", "anaconda_auth_api_key": "k-secret\n",
		}, func(t *testing.T, c *Config) {
			if c.Domain != "secret.example" || c.APIKey != "k-secret" || c.PreferredTokenStorage != StorageSystem {
				t.Fatalf("%+v", c)
			}
		}},
		{"environment variables win over Docker secrets", map[string]string{EnvDomain: "env.example"},
			map[string]string{EnvDomain: "secret.example"}, func(t *testing.T, c *Config) {
				if c.Domain != "env.example" {
					t.Fatalf("%+v", c)
				}
			}},
		{"an empty variable counts as unset", map[string]string{EnvDomain: "  "}, nil, func(t *testing.T, c *Config) {
			if c.Domain != "file.example" {
				t.Fatalf("%+v", c)
			}
		}},
		{"ssl_verify truststore counts as verifying", map[string]string{EnvSSLVerify: "truststore"}, nil, func(t *testing.T, c *Config) {
			if c.SSLVerify == nil || !*c.SSLVerify {
				t.Fatalf("%+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(t)
			writeFile(t, te.configPath(t), []byte(file), 0o600)
			for k, v := range tt.vars {
				te.vars[k] = v
			}
			for k, v := range tt.secrets {
				writeFile(t, filepath.Join(te.SecretsDir, k), []byte(v), 0o400)
			}
			cfg, err := LoadConfig(te.Env)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestLoadConfigErrorsNameTheirSource(t *testing.T) {
	tests := []struct {
		name, file string
		vars       map[string]string
		want       []string
	}{
		{"invalid TOML names the file and line", "[plugin.auth]\ndomain = \"x\nnext = 1\n", nil, []string{"config.toml line 2"}},
		{"a duplicate key is invalid TOML", "[plugin.auth]\ndomain = \"a\"\ndomain = \"b\"\n", nil, []string{"config.toml line 3"}},
		{"an unknown storage in the file", "[plugin.auth]\npreferred_token_storage = \"disk\"\n", nil, []string{"[plugin.auth] preferred_token_storage", `"disk"`}},
		{"an unknown storage in the environment", "", map[string]string{EnvPreferredTokenStorage: "disk"}, []string{"environment variable " + EnvPreferredTokenStorage}},
		{"a bad ssl_verify in the environment", "", map[string]string{EnvSSLVerify: "maybe"}, []string{EnvSSLVerify, "maybe"}},
		{"a domain that is not a string", "[plugin.auth]\ndomain = 5\n", nil, []string{"domain must be a string"}},
		{"plugin that is not a table", "plugin = 1\n", nil, []string{`"plugin" is not a table`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(t)
			writeFile(t, te.configPath(t), []byte(tt.file), 0o600)
			for k, v := range tt.vars {
				te.vars[k] = v
			}
			_, err := LoadConfig(te.Env)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestConfigPathOverrideExpandsHome(t *testing.T) {
	te := newTestEnv(t)
	te.vars[EnvConfigTOML] = "~/elsewhere/anaconda.toml"
	writeFile(t, filepath.Join(te.HomeDir, "elsewhere", "anaconda.toml"), []byte("[plugin.auth]\ndomain = \"o.example\"\n"), 0o600)
	cfg, err := LoadConfig(te.Env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Domain != "o.example" || cfg.Path != filepath.Join(te.HomeDir, "elsewhere", "anaconda.toml") {
		t.Fatalf("%+v", cfg)
	}
}

func TestSetConfigValueKeepsTheRestOfTheFile(t *testing.T) {
	tests := []struct {
		name, before, key, value, after string
	}{
		{"a new file gets a table",
			"", "domain", "https://Gate.Example:8443/repo",
			"[plugin.auth]\ndomain = \"https://gate.example:8443\"\n"},
		{"a file without the table gets it appended after a blank line",
			"# mine\n[plugin.cloud]\ndomain = \"x\" # keep\n", "preferred_token_storage", "system",
			"# mine\n[plugin.cloud]\ndomain = \"x\" # keep\n\n[plugin.auth]\npreferred_token_storage = \"system\"\n"},
		{"a file without a final newline",
			"a = 1", "ssl_verify", "false",
			"a = 1\n\n[plugin.auth]\nssl_verify = false\n"},
		{"an existing value is replaced in place with its comment kept",
			"top = 1\n[plugin.auth]\ndomain   =   'old.example'   # the server\napi_key = \"k\"\n\n[other]\nx = 2\n", "domain", "new.example",
			"top = 1\n[plugin.auth]\ndomain   =   \"new.example\"   # the server\napi_key = \"k\"\n\n[other]\nx = 2\n"},
		{"a new key goes after the table's last key, before blank lines and the next table",
			"[plugin.auth] # auth\ndomain = \"d\"\n\n# comment about other\n[other]\nx = 2\n", "api_key", "gk-1",
			"[plugin.auth] # auth\ndomain = \"d\"\napi_key = \"gk-1\"\n\n# comment about other\n[other]\nx = 2\n"},
		{"an empty table gets the key right under its header",
			"[ plugin . \"auth\" ]\n[next]\n", "ssl_verify", "truststore",
			"[ plugin . \"auth\" ]\nssl_verify = \"truststore\"\n[next]\n"},
		{"a multi-line value is replaced whole",
			"[plugin.auth]\napi_key = \"\"\"\nold\n\"\"\" # c\n", "api_key", "new",
			"[plugin.auth]\napi_key = \"new\" # c\n"},
		{"CRLF line endings are kept",
			"[plugin.auth]\r\ndomain = \"d\"\r\n", "api_key", "k",
			"[plugin.auth]\r\ndomain = \"d\"\r\napi_key = \"k\"\r\n"},
		{"a header on the last line without a newline",
			"[plugin.auth]", "domain", "d.example",
			"[plugin.auth]\ndomain = \"d.example\"\n"},
		{"sub-tables of plugin.auth are left alone",
			"[plugin.auth.sites]\nx = 1\n", "domain", "d",
			"[plugin.auth.sites]\nx = 1\n\n[plugin.auth]\ndomain = \"d\"\n"},
		{"strings are escaped",
			"", "api_key", `a"b\c`,
			"[plugin.auth]\napi_key = \"a\\\"b\\\\c\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(t)
			path := te.configPath(t)
			if tt.before != "" {
				writeFile(t, path, []byte(tt.before), 0o644)
			}
			if err := SetConfigValue(te.Env, tt.key, tt.value); err != nil {
				t.Fatal(err)
			}
			if got := string(readFile(t, path)); got != tt.after {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.after)
			}
			if _, err := LoadConfig(te.Env); err != nil {
				t.Fatalf("the result does not load: %v", err)
			}
		})
	}
}

func TestSetConfigValueRefusals(t *testing.T) {
	tests := []struct {
		name, before, key, value, want string
	}{
		{"an unknown key", "", "colour", "blue", "unknown setting"},
		{"an empty value", "", "domain", " ", "empty"},
		{"an unknown storage", "", "preferred_token_storage", "disk", "must be"},
		{"a bad ssl_verify", "", "ssl_verify", "maybe", "must be"},
		{"a bad domain", "", "domain", "ftp://x", "only http"},
		{"a control character in a key", "", "api_key", "a\x01b", "control character"},
		{"invalid TOML is not rewritten", "[plugin.auth\n", "domain", "d", "line 1"},
		{"plugin.auth written with dotted keys", "plugin.auth.domain = \"d\"\n", "api_key", "k", "by hand"},
		{"plugin.auth as an inline table", "[plugin]\nauth = { domain = \"d\" }\n", "api_key", "k", "by hand"},
		{"plugin as an array of tables", "[[plugin]]\nx = 1\n", "api_key", "k", "is not a table"},
		{"plugin that is not a table", "plugin = 3\n", "api_key", "k", "not a table"},
		{"a key that is a table in plugin.auth", "[plugin.auth]\ndomain.x = 1\n", "domain", "d", "by hand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := newTestEnv(t)
			path := te.configPath(t)
			if tt.before != "" {
				writeFile(t, path, []byte(tt.before), 0o600)
			}
			err := SetConfigValue(te.Env, tt.key, tt.value)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error mentioning %q, got %v", tt.want, err)
			}
			if tt.before != "" {
				if got := string(readFile(t, path)); got != tt.before {
					t.Fatalf("the file was changed to %q", got)
				}
			}
		})
	}
}

func TestSetConfigValueModes(t *testing.T) {
	t.Run("a new file is private", func(t *testing.T) {
		te := newTestEnv(t)
		if err := SetConfigValue(te.Env, "domain", "d"); err != nil {
			t.Fatal(err)
		}
		assertMode(t, te.configPath(t), 0o600)
		assertMode(t, filepath.Dir(te.configPath(t)), 0o700)
	})
	t.Run("an existing file keeps its mode", func(t *testing.T) {
		te := newTestEnv(t)
		writeFile(t, te.configPath(t), []byte("x = 1\n"), 0o644)
		if err := SetConfigValue(te.Env, "domain", "d"); err != nil {
			t.Fatal(err)
		}
		assertMode(t, te.configPath(t), 0o644)
	})
	t.Run("writing an API key makes a readable file private and warns", func(t *testing.T) {
		te := newTestEnv(t)
		writeFile(t, te.configPath(t), []byte("x = 1\n"), 0o644)
		if err := SetConfigValue(te.Env, "api_key", "k"); err != nil {
			t.Fatal(err)
		}
		assertMode(t, te.configPath(t), 0o600)
		if len(te.warnings) != 1 || !strings.Contains(te.warnings[0], "private") {
			t.Fatalf("warnings: %q", te.warnings)
		}
	})
	t.Run("a symlinked config file is edited where it lives", func(t *testing.T) {
		te := newTestEnv(t)
		real := filepath.Join(t.TempDir(), "dotfiles", "config.toml")
		writeFile(t, real, []byte("# dotfile\n"), 0o600)
		if err := os.MkdirAll(filepath.Dir(te.configPath(t)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(real, te.configPath(t)); err != nil {
			t.Fatal(err)
		}
		if err := SetConfigValue(te.Env, "domain", "d"); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(te.configPath(t)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("the link was replaced: %v", err)
		}
		if got := string(readFile(t, real)); got != "# dotfile\n\n[plugin.auth]\ndomain = \"d\"\n" {
			t.Fatalf("target = %q", got)
		}
	})
}

func FuzzEditAuthKey(f *testing.F) {
	for _, s := range []string{
		"",
		"[plugin.auth]\ndomain = \"d\"\n",
		"# c\n[plugin.cloud]\ndomain = \"x\" # keep\n",
		"[plugin.auth] # auth\ndomain = \"d\"\n\n[other]\nx = 2\n",
		"[plugin.auth]\napi_key = \"\"\"\nold\n\"\"\" # c\n",
		"[plugin.auth]\r\ndomain = 'd'\r\n",
		"plugin.auth.domain = \"d\"\n",
		"[plugin]\nauth = { domain = \"d\" }\n",
		"[[plugin]]\n",
		"[plugin.auth.sites]\nx = [1, [2], {a = 3}]\n",
		"a = 1979-05-27T07:32:00Z\nb = inf\n[\"plugin\".'auth']\n",
	} {
		f.Add([]byte(s), "api_key")
	}
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		if key != "domain" && key != "api_key" && key != "ssl_verify" {
			key = "api_key"
		}
		literal, want, err := configLiteral(key, "true")
		if err != nil {
			t.Fatal(err)
		}
		before, err := decodeTOML("f", data)
		if err != nil {
			return // SetConfigValue refuses invalid files before editing
		}
		edited, err := editAuthKey(data, key, literal)
		if err != nil {
			return
		}
		after, err := decodeTOML("f", edited)
		if err != nil {
			return // SetConfigValue checks this and refuses
		}
		if setAuthValue("f", before, key, want) != nil {
			return
		}
		if !reflect.DeepEqual(before, after) {
			return // SetConfigValue refuses an edit that changed more
		}
		// A successful edit leaves the key where a second edit finds it
		// and replaces it with the same bytes.
		again, err := editAuthKey(edited, key, literal)
		if err != nil || !bytes.Equal(again, edited) {
			t.Fatalf("setting the same value twice changed the file:\n%q\n%q (%v)", edited, again, err)
		}
	})
}
