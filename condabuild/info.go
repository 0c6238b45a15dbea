package condabuild

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// The info/ files are JSON with sorted keys and two-space indents, as
// conda-build writes them (json.dump(..., indent=2, sort_keys=True)); the
// struct fields below are in sorted key order for that reason.

type indexDoc struct {
	Build       string   `json:"build"`
	BuildNumber int      `json:"build_number"`
	Depends     []string `json:"depends"`
	License     string   `json:"license,omitempty"`
	Name        string   `json:"name"`
	Noarch      string   `json:"noarch,omitempty"`
	Subdir      string   `json:"subdir"`
	Timestamp   int64    `json:"timestamp"`
	Version     string   `json:"version"`
}

// indexJSON returns info/index.json for m.
func indexJSON(m Meta) ([]byte, error) {
	doc := indexDoc{
		Build: m.Build, BuildNumber: m.BuildNumber, Depends: m.Depends, License: m.License,
		Name: m.Name, Subdir: m.Subdir, Timestamp: m.Timestamp.UnixMilli(), Version: m.Version,
	}
	if doc.Depends == nil {
		doc.Depends = []string{}
	}
	if m.Subdir == "noarch" {
		// A package in noarch without a noarch kind would be read as a
		// platform package that happens to sit there; generic is what a
		// set of plain files is.
		doc.Noarch = "generic"
	}
	return encodeJSON(doc)
}

type pathEntry struct {
	Path        string `json:"_path"`
	PathType    string `json:"path_type"`
	SHA256      string `json:"sha256"`
	SizeInBytes int64  `json:"size_in_bytes"`
}

// pathsJSON returns info/paths.json: every file with its sha256 and size,
// all hardlinks (copied or linked into the environment as they are, with
// no prefix to replace).
func pathsJSON(files []File, sums [][32]byte) ([]byte, error) {
	doc := struct {
		Paths        []pathEntry `json:"paths"`
		PathsVersion int         `json:"paths_version"`
	}{Paths: make([]pathEntry, len(files)), PathsVersion: 1}
	for i, f := range files {
		doc.Paths[i] = pathEntry{Path: f.Path, PathType: "hardlink", SHA256: hex.EncodeToString(sums[i][:]), SizeInBytes: f.Size}
	}
	return encodeJSON(doc)
}

// aboutJSON returns info/about.json with the fields m sets.
func aboutJSON(m Meta) ([]byte, error) {
	return encodeJSON(struct {
		Description string `json:"description,omitempty"`
		Home        string `json:"home,omitempty"`
		License     string `json:"license,omitempty"`
		Summary     string `json:"summary,omitempty"`
	}{m.Description, m.Home, m.License, m.Summary})
}

// filesList returns info/files: one path per line.
func filesList(files []File) []byte {
	var b strings.Builder
	for _, f := range files {
		b.WriteString(f.Path)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// encodeJSON indents like Python's json.dump(indent=2) and leaves '<', '>'
// and '&' as they are: dependency specs are full of them.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
