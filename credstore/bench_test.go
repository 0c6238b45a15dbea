package credstore

import (
	"fmt"
	"testing"
)

func BenchmarkDomainKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DomainKey("https://Packages.Example.com:8443/repo/main"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchKeyring is a keyring file with n entries besides the golden ones.
func benchKeyring(b *testing.B, n int) []byte {
	data, err := readGolden("before.json")
	if err != nil {
		b.Fatal(err)
	}
	doc, err := parseKeyringFile(data)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := doc.put(fmt.Sprintf("host%d.example:8443", i), &Entry{APIKey: "gk-0123456789abcdefghijklmnopqrstuvwxyzABCDEF", Username: "user"}); err != nil {
			b.Fatal(err)
		}
	}
	return doc.encode()
}

func BenchmarkParseKeyringFileAndLookup(b *testing.B) {
	data := benchKeyring(b, 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		doc, err := parseKeyringFile(data)
		if err != nil {
			b.Fatal(err)
		}
		if e, err := doc.lookup("host19.example:8443"); err != nil || e == nil {
			b.Fatal(e, err)
		}
	}
}

func BenchmarkEncodeEntry(b *testing.B) {
	e := &Entry{APIKey: "gk-0123456789abcdefghijklmnopqrstuvwxyzABCDEF", Username: "ada", RepoTokens: []RepoToken{{Token: "t", OrgName: "o"}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeEntry(e, "packages.example.com")
	}
}

// BenchmarkLookupFromFile is what every CLI command pays to find its key:
// read the config and the keyring file, parse, decode one entry.
func BenchmarkLookupFromFile(b *testing.B) {
	te := &testEnv{vars: map[string]string{}}
	te.Env = Env{Getenv: func(string) string { return "" }, HomeDir: b.TempDir(), SecretsDir: b.TempDir()}
	path, err := te.KeyringPath()
	if err != nil {
		b.Fatal(err)
	}
	if err := writeFileAtomic(path, benchKeyring(b, 20), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Lookup(te.Env, "host19.example:8443"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSaveToFile includes two fsyncs (file and directory) per save.
func BenchmarkSaveToFile(b *testing.B) {
	env := Env{Getenv: func(string) string { return "" }, HomeDir: b.TempDir(), SecretsDir: b.TempDir()}
	e := &Entry{Domain: "packages.example.com", APIKey: "gk-0123456789abcdefghijklmnopqrstuvwxyzABCDEF"}
	b.ReportAllocs()
	for b.Loop() {
		if err := Save(env, e); err != nil {
			b.Fatal(err)
		}
	}
}
