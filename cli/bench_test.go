package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParseServer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseServer("packages.example.com:8443"); err != nil {
			b.Fatal(err)
		}
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
