package server

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/condabuild"
)

// makeConda builds a small valid .conda package, for tests that need many
// distinct packages (the cph-made fixtures are in conda/testdata/pkgs).
func makeConda(t testing.TB, name, version, build, subdir string, depends []string) (filename string, data []byte) {
	t.Helper()
	m := condabuild.Meta{Name: name, Version: version, Build: build, Subdir: subdir, Depends: depends,
		License: "MIT", Timestamp: time.Date(2023, 11, 14, 0, 0, 0, 0, time.UTC)}
	var buf bytes.Buffer
	files := []condabuild.File{condabuild.BytesFile("share/"+name+"/README", []byte("payload of "+m.Stem()+"\n"), 0o644)}
	if err := condabuild.Build(&buf, m, files); err != nil {
		t.Fatalf("building %s: %v", m.Filename(), err)
	}
	return m.Filename(), buf.Bytes()
}
