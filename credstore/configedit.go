package credstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2/unstable"
)

// SetConfigValue sets key under [plugin.auth] in the config file and
// leaves every other byte of the file as it was: other tables, comments,
// blank lines and the order of keys. Known keys are domain (stored as
// DomainKey gives it, behind the scheme when value has one; anaconda-auth
// accepts both), api_key,
// preferred_token_storage and ssl_verify. The file is replaced atomically;
// a new file is created with mode 0600 in a 0700 directory.
func SetConfigValue(env Env, key, value string) error {
	literal, want, err := configLiteral(key, value)
	if err != nil {
		return err
	}
	path, err := env.ConfigPath()
	if err != nil {
		return err
	}
	// Edit the real file behind a symlink (dotfile managers link config
	// files); renaming over the link would replace it with a copy.
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved
	}
	if err := mkdirPrivate(path); err != nil {
		return err
	}
	unlock, err := lockDir(dirOf(path))
	if err != nil {
		return err
	}
	defer unlock()

	perm := fs.FileMode(0o600)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data = nil
	case err != nil:
		return fmt.Errorf("cannot read %s: %w", path, err)
	default:
		if len(data) > maxConfigSize {
			return fmt.Errorf("%s is larger than %d bytes; edit it by hand", path, maxConfigSize)
		}
		if fi, err := os.Stat(path); err == nil {
			perm = fi.Mode().Perm()
		}
	}
	if key == "api_key" && perm&0o077 != 0 {
		env.warnf("%s holds an API key now, so it was made private (mode %04o → 0600)", path, perm)
		perm = 0o600
	}

	before, err := decodeTOML(path, data)
	if err != nil {
		return err
	}
	if err := setAuthValue(path, before, key, want); err != nil {
		return err
	}
	edited, err := editAuthKey(data, key, literal)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// The edit must change exactly one value: check by decoding both.
	after, err := decodeTOML(path, edited)
	if err != nil {
		return fmt.Errorf("%s: the edited file would not be valid TOML (%v); set %s = %s under [plugin.auth] by hand", path, err, key, literal)
	}
	if !reflect.DeepEqual(before, after) {
		return fmt.Errorf("%s: could not set %s safely in this file's layout; set %s = %s under [plugin.auth] by hand", path, key, key, literal)
	}
	return writeFileAtomic(path, edited, perm)
}

// configLiteral validates value for key and returns it as a TOML literal
// and as the value decoding that literal gives.
func configLiteral(key, value string) (string, any, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return "", nil, fmt.Errorf("the value for %s is empty", key)
	}
	switch key {
	case "domain":
		host, err := DomainKey(value)
		if err != nil {
			return "", nil, err
		}
		// An explicit scheme is kept (anaconda-auth reads the network
		// location of a URL, so it understands both forms): a server
		// that is https on a loopback address, or plain http, must be
		// remembered as such.
		if scheme, _, ok := strings.Cut(value, "://"); ok {
			host = strings.ToLower(scheme) + "://" + host
		}
		return tomlString(host), host, nil
	case "api_key":
		for _, r := range value {
			if r < ' ' || r == 0x7f {
				return "", nil, errors.New("the API key contains a control character")
			}
		}
		return tomlString(value), value, nil
	case "preferred_token_storage":
		if value != StorageFile && value != StorageSystem {
			return "", nil, fmt.Errorf("preferred_token_storage must be %q or %q, not %q", StorageFile, StorageSystem, value)
		}
		return tomlString(value), value, nil
	case "ssl_verify":
		if strings.EqualFold(value, "truststore") {
			return `"truststore"`, "truststore", nil
		}
		b, ok := parseBool(value)
		if !ok {
			return "", nil, fmt.Errorf("ssl_verify must be true, false or truststore, not %q", value)
		}
		if b {
			return "true", true, nil
		}
		return "false", false, nil
	}
	return "", nil, fmt.Errorf("unknown setting %q: use domain, api_key, preferred_token_storage or ssl_verify", key)
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		case r == utf8.RuneError:
			b.WriteString(`\uFFFD`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// setAuthValue applies key = want to a decoded document, creating the
// plugin and auth tables as needed.
func setAuthValue(path string, doc map[string]any, key string, want any) error {
	plugin, ok := doc["plugin"].(map[string]any)
	if !ok {
		if _, exists := doc["plugin"]; exists {
			return fmt.Errorf("%s: \"plugin\" is not a table; fix the file", path)
		}
		plugin = map[string]any{}
		doc["plugin"] = plugin
	}
	auth, ok := plugin["auth"].(map[string]any)
	if !ok {
		if _, exists := plugin["auth"]; exists {
			return fmt.Errorf("%s: plugin.auth is not a table; fix the file", path)
		}
		auth = map[string]any{}
		plugin["auth"] = auth
	}
	auth[key] = want
	return nil
}

var authPath = []string{"plugin", "auth"}

// editAuthKey returns data with key = literal set in the [plugin.auth]
// table: the value replaced in place when the key is there, a line added
// after the table's last key when the table is there, and a new table
// appended otherwise. It refuses layouts it cannot edit by line (plugin.auth
// built from dotted keys or inline tables) rather than rewrite the file.
func editAuthKey(data []byte, key, literal string) ([]byte, error) {
	var p unstable.Parser
	p.Reset(data)

	var table []string
	inAuth, sawHeader := false, false
	insertAt := -1
	valueStart, valueEnd := -1, -1

	for p.NextExpression() {
		expr := p.Expression()
		switch expr.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyParts(expr)
			last := lastKeyEnd(&p, expr)
			if expr.Kind == unstable.ArrayTable && hasPrefix(authPath, table) {
				return nil, errors.New("plugin or plugin.auth is an array of tables ([[...]]); fix the file")
			}
			inAuth = expr.Kind == unstable.Table && equal(table, authPath)
			if inAuth {
				sawHeader = true
				insertAt = lineEnd(data, last)
			}
		case unstable.KeyValue:
			k := keyParts(expr)
			full := append(append([]string(nil), table...), k...)
			if inAuth {
				end := int(expr.Raw.Offset + expr.Raw.Length)
				insertAt = lineEnd(data, end)
				if len(k) == 1 && k[0] == key {
					start := skipToValue(data, lastKeyEnd(&p, expr))
					if start < 0 {
						return nil, fmt.Errorf("cannot find the value of %s", key)
					}
					valueStart, valueEnd = start, end
				}
			} else if len(table) < len(authPath) && (hasPrefix(full, authPath) || hasPrefix(authPath, full)) {
				// Only a key written in [plugin] or at the top can reach
				// into plugin.auth; keys in [plugin.auth.x] tables are fine.
				return nil, fmt.Errorf("plugin.auth is written with dotted keys or an inline table; set %s = %s there by hand", key, literal)
			}
		}
	}
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("not valid TOML: %w", err)
	}

	nl := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		nl = "\r\n"
	}
	var out bytes.Buffer
	switch {
	case valueStart >= 0:
		out.Write(data[:valueStart])
		out.WriteString(literal)
		out.Write(data[valueEnd:])
	case sawHeader:
		out.Write(data[:insertAt])
		if insertAt > 0 && data[insertAt-1] != '\n' {
			out.WriteString(nl)
		}
		out.WriteString(key + " = " + literal + nl)
		out.Write(data[insertAt:])
	default:
		out.Write(data)
		if len(data) > 0 {
			if data[len(data)-1] != '\n' {
				out.WriteString(nl)
			}
			out.WriteString(nl)
		}
		out.WriteString("[plugin.auth]" + nl + key + " = " + literal + nl)
	}
	return out.Bytes(), nil
}

func keyParts(n *unstable.Node) []string {
	var parts []string
	it := n.Key()
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// lastKeyEnd is the offset just past the last part of n's key.
func lastKeyEnd(p *unstable.Parser, n *unstable.Node) int {
	end := 0
	it := n.Key()
	for it.Next() {
		r := it.Node().Raw
		end = int(r.Offset + r.Length)
	}
	return end
}

// skipToValue moves from the end of a key past "=" and blanks to the value.
func skipToValue(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	if i >= len(data) || data[i] != '=' {
		return -1
	}
	i++
	for i < len(data) && (data[i] == ' ' || data[i] == '\t') {
		i++
	}
	return i
}

// lineEnd is the offset just past the newline that ends the line holding
// offset i, or len(data) on the last line.
func lineEnd(data []byte, i int) int {
	if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(data)
}

func hasPrefix(s, prefix []string) bool {
	return len(s) >= len(prefix) && equal(s[:len(prefix)], prefix)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
