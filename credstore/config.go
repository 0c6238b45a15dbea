package credstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Environment variables and file names shared with anaconda-auth.
const (
	EnvAPIKey                = "ANACONDA_AUTH_API_KEY"
	EnvDomain                = "ANACONDA_AUTH_DOMAIN"
	EnvPreferredTokenStorage = "ANACONDA_AUTH_PREFERRED_TOKEN_STORAGE"
	EnvSSLVerify             = "ANACONDA_AUTH_SSL_VERIFY"
	EnvKeyringPath           = "ANACONDA_AUTH_KEYRING_PATH"
	EnvConfigTOML            = "ANACONDA_CONFIG_TOML"

	// StorageFile keeps entries in the keyring file (~/.anaconda/keyring);
	// StorageSystem in the OS keyring (Keychain, Secret Service, wincred).
	StorageFile   = "anaconda-keyring"
	StorageSystem = "system"

	defaultSecretsDir = "/run/secrets"
	maxConfigSize     = 1 << 20
	maxSecretSize     = 64 << 10
)

// Env is everything this package reads from the outside world, so tests
// inject it and nothing is global. The zero value uses the process's
// environment, home directory, /run/secrets and the OS keyring.
type Env struct {
	// Getenv reads an environment variable; nil means os.Getenv.
	Getenv func(string) string
	// HomeDir replaces the user's home directory; "" means os.UserHomeDir.
	HomeDir string
	// SecretsDir is where Docker secrets are mounted; "" means /run/secrets.
	SecretsDir string
	// OSKeyring is the system keyring; nil means github.com/zalando/go-keyring.
	OSKeyring Keyring
	// Warnf, when set, receives warnings a person should see (a keyring
	// file that was readable by others and has been tightened).
	Warnf func(format string, args ...any)
}

// getenv returns a variable's value, trimmed, treating empty as unset. Like
// pydantic-settings (case-insensitive by default), the lower-case spelling
// is accepted too.
func (e Env) getenv(name string) string {
	get := e.Getenv
	if get == nil {
		get = os.Getenv
	}
	if v := strings.TrimSpace(get(name)); v != "" {
		return v
	}
	return strings.TrimSpace(get(strings.ToLower(name)))
}

func (e Env) home() (string, error) {
	if e.HomeDir != "" {
		return e.HomeDir, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your home directory (set HOME): %w", err)
	}
	return h, nil
}

func (e Env) warnf(format string, args ...any) {
	if e.Warnf != nil {
		e.Warnf(format, args...)
	}
}

// expandPath expands a leading ~ and $VARS the way anaconda-auth does
// (os.path.expanduser, then os.path.expandvars).
func (e Env) expandPath(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, "~"+string(filepath.Separator)) {
		home, err := e.home()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, p[1:])
	}
	get := e.Getenv
	if get == nil {
		get = os.Getenv
	}
	return os.Expand(p, func(name string) string {
		if v := get(name); v != "" {
			return v
		}
		return "$" + name // expandvars leaves unknown variables as written
	}), nil
}

// pathFrom returns the override in envName, or def under the home directory.
func (e Env) pathFrom(envName string, def ...string) (string, error) {
	if v := e.getenv(envName); v != "" {
		return e.expandPath(v)
	}
	home, err := e.home()
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{home}, def...)...), nil
}

// ConfigPath is ~/.anaconda/config.toml, or $ANACONDA_CONFIG_TOML.
func (e Env) ConfigPath() (string, error) {
	return e.pathFrom(EnvConfigTOML, ".anaconda", "config.toml")
}

// KeyringPath is ~/.anaconda/keyring, or $ANACONDA_AUTH_KEYRING_PATH.
func (e Env) KeyringPath() (string, error) {
	return e.pathFrom(EnvKeyringPath, ".anaconda", "keyring")
}

// secret reads the Docker secret named name (then its lower-case spelling,
// as anaconda-auth's helpers do), trimmed. A missing secrets directory or
// file is not an error.
func (e Env) secret(name string) (string, error) {
	dir := e.SecretsDir
	if dir == "" {
		dir = defaultSecretsDir
	}
	for _, n := range []string{name, strings.ToLower(name)} {
		path := filepath.Join(dir, n)
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if errors.Is(err, fs.ErrPermission) {
			// A secrets directory we may not enter is not ours to read.
			e.warnf("skipping the Docker secret %s: %v", path, err)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("cannot read the Docker secret %s: %w", path, err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("cannot read the Docker secret %s: %w", path, err)
		}
		data, err := readLimited(f, maxSecretSize)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("cannot read the Docker secret %s: %w", path, err)
		}
		if v := strings.TrimSpace(string(data)); v != "" {
			return v, nil
		}
	}
	return "", nil
}

// readLimited reads all of r, failing past limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// Config is the [plugin.auth] table of ~/.anaconda/config.toml with the
// environment applied, as anaconda-auth's AnacondaAuthConfig sees it.
type Config struct {
	// Domain is the default server, as written (pass it through DomainKey).
	Domain string
	// APIKey is a key set in the environment, a Docker secret or the file.
	APIKey string
	// PreferredTokenStorage is StorageFile (the default) or StorageSystem.
	PreferredTokenStorage string
	// SSLVerify is nil when unset; "truststore" counts as true.
	SSLVerify *bool
	// Path is the config file the values came from (it may not exist).
	Path string
}

// LoadConfig reads the configuration. For each setting the environment
// variable wins, then the Docker secret of the same name, then the file.
func LoadConfig(env Env) (*Config, error) {
	cfg, _, err := loadConfig(env)
	return cfg, err
}

// loadConfig also reports where the API key came from, for Lookup.
func loadConfig(env Env) (*Config, Source, error) {
	path, err := env.ConfigPath()
	if err != nil {
		return nil, "", err
	}
	cfg := &Config{Path: path, PreferredTokenStorage: StorageFile}
	file, err := readConfigTable(path)
	if err != nil {
		return nil, "", err
	}

	var keySource Source
	type setting struct {
		envName, key string
		apply        func(v string, from string) error
	}
	settings := []setting{
		{EnvDomain, "domain", func(v, _ string) error { cfg.Domain = v; return nil }},
		{EnvAPIKey, "api_key", func(v, _ string) error { cfg.APIKey = v; return nil }},
		{EnvPreferredTokenStorage, "preferred_token_storage", func(v, from string) error {
			if v != StorageFile && v != StorageSystem {
				return fmt.Errorf("%s: preferred_token_storage is %q; use %q (the file ~/.anaconda/keyring) or %q (the OS keyring)", from, v, StorageFile, StorageSystem)
			}
			cfg.PreferredTokenStorage = v
			return nil
		}},
		{EnvSSLVerify, "ssl_verify", func(v, from string) error {
			b, ok := parseBool(v)
			if !ok {
				return fmt.Errorf("%s: ssl_verify is %q; use true, false or \"truststore\"", from, v)
			}
			cfg.SSLVerify = &b
			return nil
		}},
	}
	for _, s := range settings {
		var v, from string
		var src Source
		if v = env.getenv(s.envName); v != "" {
			from, src = "environment variable "+s.envName, SourceEnv
		} else if v, err = env.secret(s.envName); err != nil {
			return nil, "", err
		} else if v != "" {
			from, src = "Docker secret "+s.envName, SourceSecret
		} else if fv, ok := file[s.key]; ok {
			if v, err = configString(fv); err != nil {
				return nil, "", fmt.Errorf("%s: [plugin.auth] %s %w", path, s.key, err)
			}
			from, src = path+" [plugin.auth] "+s.key, SourceConfig
		}
		if v == "" {
			continue
		}
		if err := s.apply(v, from); err != nil {
			return nil, "", err
		}
		if s.key == "api_key" {
			keySource = src
		}
	}
	return cfg, keySource, nil
}

// readConfigTable returns the [plugin.auth] table of the file at path, or
// nil when the file or the table does not exist.
func readConfigTable(path string) (map[string]any, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer f.Close()
	data, err := readLimited(f, maxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	doc, err := decodeTOML(path, data)
	if err != nil {
		return nil, err
	}
	return authTable(path, doc)
}

func decodeTOML(path string, data []byte) (map[string]any, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var derr *toml.DecodeError
		if errors.As(err, &derr) {
			row, col := derr.Position()
			return nil, fmt.Errorf("%s line %d, column %d: %s; fix the file or move it aside", path, row, col, derr.Error())
		}
		return nil, fmt.Errorf("%s: %w; fix the file or move it aside", path, err)
	}
	return doc, nil
}

// authTable finds plugin.auth in a decoded document.
func authTable(path string, doc map[string]any) (map[string]any, error) {
	plugin, ok := doc["plugin"]
	if !ok {
		return nil, nil
	}
	pt, ok := plugin.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: \"plugin\" is not a table, so [plugin.auth] cannot be read; fix the file", path)
	}
	auth, ok := pt["auth"]
	if !ok {
		return nil, nil
	}
	at, ok := auth.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: plugin.auth is not a table; fix the file", path)
	}
	return at, nil
}

// configString turns a TOML value into the string form the settings take.
func configString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	}
	return "", fmt.Errorf("must be a string, not %T", v)
}

// parseBool accepts what pydantic accepts for a bool, plus "truststore"
// (anaconda-auth: verify with the OS trust store), which counts as true.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "t", "yes", "y", "on", "truststore":
		return true, true
	case "0", "false", "f", "no", "n", "off":
		return false, true
	}
	return false, false
}
