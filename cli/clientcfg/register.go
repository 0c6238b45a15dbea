package clientcfg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Change is one thing Register or Unregister did, or found done.
type Change struct {
	Client string `json:"client"`
	Path   string `json:"path"`
	// Action is added, updated, removed, unchanged or skipped.
	Action string `json:"action"`
	Detail string `json:"detail"`
}

// Register writes key into every client's file for t: rattler/pixi's
// and mamba's credentials files and conda's token file. An entry for t
// that gatehouse did not write is left alone and reported as skipped.
func Register(env Env, t Server, key string) ([]Change, error) {
	return env.eachClientFile(t, key, (*jsonCredFile).put, env.putCondaToken)
}

// Unregister removes our entries for t: those holding key, or any
// gatehouse key when key is "".
func Unregister(env Env, t Server, key string) ([]Change, error) {
	return env.eachClientFile(t, key, (*jsonCredFile).remove, env.removeCondaToken)
}

// eachClientFile applies one edit to the rattler and mamba credential
// files and one to conda's token file, and reports every change and error.
func (env Env) eachClientFile(t Server, key string, edit func(*jsonCredFile, string) (Change, error),
	conda func(Server, string) (Change, error)) ([]Change, error) {
	var changes []Change
	var errs []error
	for _, mk := range []func(Server, string) (*jsonCredFile, error){env.rattlerFile, env.mambaFile} {
		f, err := mk(t, key)
		if err == nil {
			var c Change
			c, err = edit(f, key)
			changes = append(changes, c)
		}
		errs = append(errs, err)
	}
	c, err := conda(t, key)
	changes = append(changes, c)
	errs = append(errs, err)
	return changes, errors.Join(errs...)
}

// ours reports whether a token was written by gatehouse: a gatehouse key,
// and the very key when want is set.
func ours(token, want string) bool {
	if want != "" {
		return token == want
	}
	return strings.HasPrefix(token, keyPrefix)
}

// put adds or updates the entry for the host.
func (f *jsonCredFile) put(key string) (Change, error) {
	c := Change{Client: f.client, Path: f.path, Detail: fmt.Sprintf("the key for %s", f.host)}
	m, err := readJSONObject(f.path)
	if err != nil {
		return c, err
	}
	old, exists := m[f.host]
	switch tok := f.token(old); {
	case !exists:
		c.Action = "added"
	case tok == key && jsonEqual(old, f.value):
		c.Action = "unchanged"
		return c, nil
	case ours(tok, ""):
		c.Action = "updated"
	default:
		c.Action = "skipped"
		c.Detail = fmt.Sprintf("it already holds other credentials for %s, which gatehouse did not write; left unchanged (remove that entry to let gatehouse manage it)", f.host)
		return c, nil
	}
	m[f.host] = f.value
	data, err := encodeJSONObject(m, f.indent)
	if err != nil {
		return c, err
	}
	return c, WriteFileAtomic(f.path, data)
}

// remove deletes the host's entry if it is ours. A file left empty is
// deleted, unless it is a symlink (then it is emptied).
func (f *jsonCredFile) remove(key string) (Change, error) {
	c := Change{Client: f.client, Path: f.path, Detail: fmt.Sprintf("the key for %s", f.host), Action: "unchanged"}
	m, err := readJSONObject(f.path)
	if err != nil {
		return c, err
	}
	old, exists := m[f.host]
	if !exists || !ours(f.token(old), key) {
		return c, nil
	}
	delete(m, f.host)
	c.Action = "removed"
	if len(m) == 0 {
		if fi, err := os.Lstat(f.path); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			return c, removeFile(f.path)
		}
	}
	data, err := encodeJSONObject(m, f.indent)
	if err != nil {
		return c, err
	}
	return c, WriteFileAtomic(f.path, data)
}

// putCondaToken writes conda's token file for t.
func (env Env) putCondaToken(t Server, key string) (Change, error) {
	c := Change{Client: "conda", Detail: "the token for " + CondaPrefix(t.Base)}
	path, err := env.condaTokenPath(t)
	if err != nil {
		return c, err
	}
	c.Path = path
	old, err := readSmall(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.Action = "added"
	case err != nil:
		return c, err
	case string(old) == key:
		c.Action = "unchanged"
		return c, nil
	case ours(string(bytes.TrimSpace(old)), ""):
		c.Action = "updated"
	default:
		c.Action = "skipped"
		c.Detail = "it holds a token gatehouse did not write; left unchanged (delete the file to let gatehouse manage it)"
		return c, nil
	}
	// conda reads the file whole and does not strip it: no newline.
	return c, WriteFileAtomic(path, []byte(key))
}

// removeCondaToken deletes conda's token file for t if it is ours.
func (env Env) removeCondaToken(t Server, key string) (Change, error) {
	c := Change{Client: "conda", Detail: "the token for " + CondaPrefix(t.Base), Action: "unchanged"}
	path, err := env.condaTokenPath(t)
	if err != nil {
		return c, err
	}
	c.Path = path
	old, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if !ours(string(bytes.TrimSpace(old)), key) {
		return c, nil
	}
	c.Action = "removed"
	return c, removeFile(path)
}

// jsonEqual compares two JSON values ignoring formatting.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
