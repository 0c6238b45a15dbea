package repofmt

import (
	"bytes"
	"encoding/json"
	"github.com/gatehouse-dev/gatehouse/conda"
	"io"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/condaname"
)

// ChannelPackage is one package file of a channel, as channeldata.json
// needs it: what Inspect returned, less the file itself.
type ChannelPackage struct {
	Index       conda.Index
	About       conda.About
	PostInstall conda.PostInstall
	RunExports  json.RawMessage // canonical run_exports.json, or nil
}

// ChannelPackageOf returns the ChannelPackage of an inspected package.
func ChannelPackageOf(p *conda.Package) ChannelPackage {
	return ChannelPackage{Index: p.Index, About: p.About, PostInstall: p.PostInstall, RunExports: p.RunExports}
}

// channelDataPackage is one entry of channeldata.json's "packages", with
// fields in alphabetical order so the output keys are sorted. The booleans,
// run_exports, subdirs, timestamp and version are always present: CEP-38
// requires them and rattler refuses a file without the booleans.
type channelDataPackage struct {
	ActivateD    bool                       `json:"activate.d"`
	BinaryPrefix bool                       `json:"binary_prefix"`
	DeactivateD  bool                       `json:"deactivate.d"`
	Description  string                     `json:"description,omitempty"`
	DevURL       string                     `json:"dev_url,omitempty"`
	DocURL       string                     `json:"doc_url,omitempty"`
	Home         string                     `json:"home,omitempty"`
	License      string                     `json:"license,omitempty"`
	PostLink     bool                       `json:"post_link"`
	PreLink      bool                       `json:"pre_link"`
	PreUnlink    bool                       `json:"pre_unlink"`
	RunExports   map[string]json.RawMessage `json:"run_exports"`
	SourceURL    string                     `json:"source_url,omitempty"`
	Subdirs      []string                   `json:"subdirs"`
	Summary      string                     `json:"summary,omitempty"`
	TextPrefix   bool                       `json:"text_prefix"`
	Timestamp    int64                      `json:"timestamp"`
	Version      string                     `json:"version"`
}

type channelData struct {
	ChannelDataVersion int                            `json:"channeldata_version"`
	Packages           map[string]*channelDataPackage `json:"packages"`
	Subdirs            []string                       `json:"subdirs"`
}

// WriteChannelData writes a channel's channeldata.json (CEP-38, version 1)
// from every package file of the channel, in any order. subdirs lists the
// channel's subdirs; it must include every package's subdir and is written
// sorted, with "noarch" added, since a channel always has it.
//
// Per package name: version is the newest version in conda's order (ties
// broken by build number, then timestamp, then build string), and the
// newest artifact supplies license, summary, description and URLs;
// subdirs lists where the name appears; timestamp is the newest timestamp of
// all artifacts in seconds; the booleans are true when any artifact has
// that feature; run_exports maps each version to the run_exports of its
// newest artifact that has any. The same packages give the same bytes,
// whatever their order.
func WriteChannelData(w io.Writer, subdirs []string, pkgs []ChannelPackage) error {
	known := map[string]bool{"noarch": true}
	for _, s := range subdirs {
		if !condaname.ValidSubdir(s) {
			return gatehouse.FieldErrorf("subdir", "The subdir %s is not valid.", conda.Quote(s))
		}
		known[s] = true
	}
	// Newest first, with a total order so the input order never matters.
	order := make([]*ChannelPackage, len(pkgs))
	for i := range pkgs {
		order[i] = &pkgs[i]
		if !known[pkgs[i].Index.Subdir] {
			return gatehouse.FieldErrorf("subdir", "Package %s is in subdir %s, which is not in the channel's subdirs.", conda.Quote(pkgs[i].Index.Stem()), conda.Quote(pkgs[i].Index.Subdir))
		}
		if err := conda.CheckName(pkgs[i].Index.Name); err != nil {
			return err
		}
	}
	slices.SortFunc(order, func(a, b *ChannelPackage) int { return -compareArtifacts(a, b) })

	out := channelData{ChannelDataVersion: 1, Packages: map[string]*channelDataPackage{}}
	for _, p := range order {
		ix := &p.Index
		e := out.Packages[ix.Name]
		if e == nil {
			e = &channelDataPackage{
				Description: p.About.Description,
				DevURL:      p.About.DevURL,
				DocURL:      p.About.DocURL,
				Home:        p.About.Home,
				License:     firstNonEmpty(ix.License, p.About.License),
				RunExports:  map[string]json.RawMessage{},
				SourceURL:   p.About.SourceURL,
				Subdirs:     []string{},
				Summary:     p.About.Summary,
				Version:     ix.Version,
			}
			out.Packages[ix.Name] = e
		}
		pi := p.PostInstall
		e.ActivateD = e.ActivateD || pi.ActivateD
		e.BinaryPrefix = e.BinaryPrefix || pi.BinaryPrefix
		e.DeactivateD = e.DeactivateD || pi.DeactivateD
		e.PostLink = e.PostLink || pi.PostLink
		e.PreLink = e.PreLink || pi.PreLink
		e.PreUnlink = e.PreUnlink || pi.PreUnlink
		e.TextPrefix = e.TextPrefix || pi.TextPrefix
		if !slices.Contains(e.Subdirs, ix.Subdir) {
			e.Subdirs = append(e.Subdirs, ix.Subdir)
		}
		e.Timestamp = max(e.Timestamp, ix.Timestamp/1000)
		if _, ok := e.RunExports[ix.Version]; !ok && len(p.RunExports) > 2 && json.Valid(p.RunExports) {
			e.RunExports[ix.Version] = p.RunExports
		}
	}
	for _, e := range out.Packages {
		slices.Sort(e.Subdirs)
	}
	for s := range known {
		out.Subdirs = append(out.Subdirs, s)
	}
	slices.Sort(out.Subdirs)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return err
}

// BuildChannelData returns the bytes WriteChannelData writes.
func BuildChannelData(subdirs []string, pkgs []ChannelPackage) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteChannelData(&buf, subdirs, pkgs); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// compareArtifacts orders artifacts oldest to newest: by version in conda's
// order, then build number, timestamp, build string and subdir.
func compareArtifacts(a, b *ChannelPackage) int {
	x, y := &a.Index, &b.Index
	if c := conda.CompareVersions(x.Version, y.Version); c != 0 {
		return c
	}
	if c := cmpInt(x.BuildNumber, y.BuildNumber); c != 0 {
		return c
	}
	if c := cmpInt(x.Timestamp, y.Timestamp); c != 0 {
		return c
	}
	if c := strings.Compare(x.Build, y.Build); c != 0 {
		return c
	}
	if c := strings.Compare(x.Subdir, y.Subdir); c != 0 {
		return c
	}
	// Same artifact in both formats, or a version that compares equal but
	// is spelled differently ("1.0" and "1.0.0"): fall back to the text,
	// then to what the output shows, so ties never depend on input order.
	if c := strings.Compare(x.Version, y.Version); c != 0 {
		return c
	}
	if c := strings.Compare(x.License, y.License); c != 0 {
		return c
	}
	if c := strings.Compare(aboutKey(a.About), aboutKey(b.About)); c != 0 {
		return c
	}
	return bytes.Compare(a.RunExports, b.RunExports)
}

func aboutKey(a conda.About) string {
	return strings.Join([]string{a.Summary, a.Description, a.Home, a.DevURL, a.DocURL, a.SourceURL, a.License}, "\x00")
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Meta is what a server keeps of an inspected package for channeldata.json
// besides its repodata record: encode it once at upload with EncodeMeta,
// read it back with DecodeMeta when channeldata.json is built.
type Meta struct {
	About       conda.About       `json:"about"`
	PostInstall conda.PostInstall `json:"post_install"`
	RunExports  json.RawMessage   `json:"run_exports,omitempty"`
}

// EncodeMeta returns p's Meta as JSON.
func EncodeMeta(p *conda.Package) ([]byte, error) {
	m := Meta{About: p.About, PostInstall: p.PostInstall}
	if len(p.RunExports) > 0 {
		m.RunExports = p.RunExports
	}
	return json.Marshal(m)
}

// DecodeMeta reads what EncodeMeta wrote into cp's About, PostInstall and
// RunExports; empty data leaves them as they are.
func DecodeMeta(data []byte, cp *ChannelPackage) error {
	if len(data) == 0 {
		return nil
	}
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	cp.About, cp.PostInstall, cp.RunExports = m.About, m.PostInstall, m.RunExports
	return nil
}
