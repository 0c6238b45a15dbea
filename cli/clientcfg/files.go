// Package clientcfg writes and removes a Gatehouse key in the credential
// files of the conda clients on this machine (conda, mamba, rattler/pixi),
// for gatehouse login, register and logout. It edits only entries it
// wrote, keeps every other entry, and writes files atomically, mode 0600.
package clientcfg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The credential files of the conda clients, as their source reads them:
//
//   - rattler and pixi (rattler_networking, authentication_storage): the
//     file $RATTLER_AUTH_FILE, else ~/.rattler/credentials.json, a JSON
//     object keyed by host name without port (url.host_str()), each value
//     a serde-tagged enum: {"BearerToken": "<key>"}. rattler writes it
//     compact with sorted keys (a BTreeMap).
//   - mamba and micromamba (libmamba Context::load_authentication_info,
//     micromamba login.cpp): ~/.mamba/auth/authentication.json, a JSON
//     object keyed by host[:port] without scheme, each value
//     {"type": "BearerToken", "token": "<key>"}; written with dump(4).
//   - conda (conda/gateways/anaconda_client.py, read_binstar_tokens): one
//     file per URL prefix in platformdirs.user_config_dir("binstar",
//     "ContinuumIO") or $BINSTAR_CONFIG_DIR/data, named
//     quote_plus(<prefix>) + ".token" and holding the token alone (read
//     whole, not stripped). With add_anaconda_token (default true), conda
//     inserts /t/<token>/ into every URL that starts with the prefix.

// keyPrefix starts every Gatehouse key; an entry holding one is ours.
const keyPrefix = "gk-"

// Env is what the files depend on: the environment, the home directory
// and the platform. Zero fields mean the real thing.
type Env struct {
	// Getenv reads an environment variable; nil means os.Getenv.
	Getenv func(string) string
	// Home returns the home directory the clients use.
	Home func() (string, error)
	// GOOS replaces runtime.GOOS.
	GOOS string
}

func (e Env) getenv(name string) string {
	if e.Getenv == nil {
		return os.Getenv(name)
	}
	return e.Getenv(name)
}

func (e Env) home() (string, error) {
	if e.Home == nil {
		return os.UserHomeDir()
	}
	return e.Home()
}

func (e Env) goos() string {
	if e.GOOS != "" {
		return e.GOOS
	}
	return runtime.GOOS
}

// Server is the Gatehouse server a key belongs to.
type Server struct {
	// Base is scheme://host[:port][/prefix].
	Base *url.URL
	// Domain is the host[:port] mamba keys its entries by
	// (credstore.DomainKey).
	Domain string
}

// maxCredFile bounds a credentials file read into memory.
const maxCredFile = 4 << 20

// jsonCredFile is a credentials file that is one JSON object keyed by host.
type jsonCredFile struct {
	client string // who reads it, for people
	path   string
	host   string // the entry's key
	value  []byte // the entry we write, compact JSON
	indent string // "" for compact output
	// token extracts the key from an entry, "" if the entry holds no
	// token in a form we know.
	token func(raw json.RawMessage) string
}

// rattlerFile is rattler's and pixi's credentials file.
func (env Env) rattlerFile(t Server, key string) (*jsonCredFile, error) {
	path := env.getenv("RATTLER_AUTH_FILE")
	if path == "" {
		home, err := env.home()
		if err != nil {
			return nil, err
		}
		path = filepath.Join(home, ".rattler", "credentials.json")
	}
	v, _ := json.Marshal(map[string]string{"BearerToken": key})
	return &jsonCredFile{client: "rattler, pixi", path: path, host: rattlerHost(t.Base), value: v,
		token: func(raw json.RawMessage) string {
			var e map[string]json.RawMessage
			if json.Unmarshal(raw, &e) != nil {
				return ""
			}
			for _, kind := range []string{"BearerToken", "CondaToken"} {
				var s string
				if json.Unmarshal(e[kind], &s) == nil && s != "" {
					return s
				}
			}
			return ""
		}}, nil
}

// rattlerHost is what rattler looks credentials up by: url.host_str(),
// the host without port (IPv6 in brackets).
func rattlerHost(u *url.URL) string {
	h := strings.ToLower(u.Hostname())
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// mambaFile is mamba's credentials file.
func (env Env) mambaFile(t Server, key string) (*jsonCredFile, error) {
	home, err := env.home()
	if err != nil {
		return nil, err
	}
	v, _ := json.Marshal(map[string]string{"type": "BearerToken", "token": key})
	return &jsonCredFile{client: "mamba", path: filepath.Join(home, ".mamba", "auth", "authentication.json"),
		host: t.Domain, value: v, indent: "    ",
		token: func(raw json.RawMessage) string {
			var e struct {
				Type  string `json:"type"`
				Token string `json:"token"`
			}
			if json.Unmarshal(raw, &e) != nil || (e.Type != "BearerToken" && e.Type != "CondaToken") {
				return ""
			}
			return e.Token
		}}, nil
}

// condaTokenDir is where conda reads anaconda-client tokens:
// platformdirs.user_config_dir("binstar", "ContinuumIO"), or
// $BINSTAR_CONFIG_DIR/data.
func (env Env) condaTokenDir() (string, error) {
	if d := env.getenv("BINSTAR_CONFIG_DIR"); d != "" {
		return filepath.Join(d, "data"), nil
	}
	home, err := env.home()
	if err != nil {
		return "", err
	}
	switch env.goos() {
	case "windows":
		local := env.getenv("LOCALAPPDATA")
		if local == "" {
			local = filepath.Join(home, "AppData", "Local")
		}
		return filepath.Join(local, "ContinuumIO", "binstar"), nil
	case "darwin":
		return filepath.Join(home, "Library", "Application Support", "binstar"), nil
	}
	if x := strings.TrimSpace(env.getenv("XDG_CONFIG_HOME")); x != "" {
		return filepath.Join(x, "binstar"), nil
	}
	return filepath.Join(home, ".config", "binstar"), nil
}

// CondaPrefix is the URL prefix conda's token applies to: the server's
// channel root, /repo/.
func CondaPrefix(base *url.URL) string {
	return base.String() + "/repo/"
}

// condaTokenPath is the token file for t: Python's quote_plus of the
// prefix (url.QueryEscape escapes the same set) plus ".token".
func (env Env) condaTokenPath(t Server) (string, error) {
	dir, err := env.condaTokenDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, url.QueryEscape(CondaPrefix(t.Base))+".token"), nil
}

// readJSONObject reads a credentials file: a missing or empty file is an
// empty object; anything but an object is an error, and the file is left
// alone.
func readJSONObject(path string) (map[string]json.RawMessage, error) {
	data, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%s is not a JSON object (%v); it was left untouched: fix it or move it aside", path, err)
	}
	return m, nil
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCredFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if len(data) > maxCredFile {
		return nil, fmt.Errorf("%s is larger than %d bytes; it was left untouched", path, maxCredFile)
	}
	return data, nil
}

// encodeJSONObject writes m with sorted keys, as the clients do.
func encodeJSONObject(m map[string]json.RawMessage, indent string) ([]byte, error) {
	var b []byte
	var err error
	if indent == "" {
		b, err = json.Marshal(m)
	} else {
		b, err = json.MarshalIndent(m, "", indent)
	}
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeFileAtomic replaces path with data, mode 0600, through a temporary
// file renamed into place: a crash leaves the old file or the new one,
// never half of one. A symlinked file (dotfile managers) is written
// through the link.
func WriteFileAtomic(path string, data []byte) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	ok = true
	return nil
}

// removeFile deletes path (through a symlink, the link itself: it was
// the file we wrote that the link named).
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
