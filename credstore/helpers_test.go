package credstore

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// testEnv is an Env over temporary directories and a map of variables.
type testEnv struct {
	Env
	vars     map[string]string
	warnings []string
	keyring  *fakeKeyring
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	te := &testEnv{vars: map[string]string{}, keyring: newFakeKeyring()}
	te.Env = Env{
		Getenv:     func(k string) string { return te.vars[k] },
		HomeDir:    t.TempDir(),
		SecretsDir: t.TempDir(),
		OSKeyring:  te.keyring,
		Warnf: func(format string, args ...any) {
			te.warnings = append(te.warnings, fmt.Sprintf(format, args...))
		},
	}
	return te
}

func (te *testEnv) keyringPath(t *testing.T) string {
	t.Helper()
	p, err := te.KeyringPath()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (te *testEnv) configPath(t *testing.T) string {
	t.Helper()
	p, err := te.ConfigPath()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeFile writes data at path with mode perm, creating directories.
func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile honours umask
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func golden(t *testing.T, name string) []byte {
	t.Helper()
	return readFile(t, filepath.Join("testdata", "golden", name))
}

// fakeKeyring is an in-memory OS keyring; err, when set, fails every call
// the way an unreachable Secret Service does.
type fakeKeyring struct {
	mu    sync.Mutex
	items map[[2]string]string
	err   error
}

func newFakeKeyring() *fakeKeyring { return &fakeKeyring{items: map[[2]string]string{}} }

func (f *fakeKeyring) Get(service, user string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	v, ok := f.items[[2]string{service, user}]
	if !ok {
		return "", fmt.Errorf("fake: %w", ErrNotFound)
	}
	return v, nil
}

func (f *fakeKeyring) Set(service, user, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.items[[2]string{service, user}] = password
	return nil
}

func (f *fakeKeyring) Delete(service, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	k := [2]string{service, user}
	if _, ok := f.items[k]; !ok {
		return fmt.Errorf("fake: %w", ErrNotFound)
	}
	delete(f.items, k)
	return nil
}

func readGolden(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", "golden", name))
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}
