package conda

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"hash/maphash"
	"io"
	"net/url"
	"strings"
)

// About is what channeldata.json shows of a package's info/about.json. URLs
// are kept only when they are http or https, so a web page can link them.
type About struct {
	Summary     string
	Description string
	Home        string
	DevURL      string
	DocURL      string
	SourceURL   string
	License     string
}

// PostInstall says what a package does beyond copying files, as
// channeldata.json reports it (CEP-38), read from info/paths.json the way
// conda-index reads it.
type PostInstall struct {
	ActivateD    bool // etc/conda/activate.d scripts
	DeactivateD  bool // etc/conda/deactivate.d scripts
	PreLink      bool // */.<name>-pre-link.* script
	PostLink     bool // */.<name>-post-link.* script
	PreUnlink    bool // */.<name>-pre-unlink.* script
	TextPrefix   bool // text files with a prefix placeholder
	BinaryPrefix bool // binary files with a prefix placeholder
}

// The info/ files Inspect reads. Everything else in info/ is only checked.
const (
	indexPath      = "info/index.json"
	aboutPath      = "info/about.json"
	pathsPath      = "info/paths.json"
	runExportsPath = "info/run_exports.json"
)

// tarPart says which tarball of a package a scan reads.
type tarPart int

const (
	wholeTarBz2 tarPart = iota + 1 // a .tar.bz2: info/ and the payload in one tarball
	condaInfo                      // the info-<stem>.tar.zst of a .conda: info/ only
	condaPkg                       // the pkg-<stem>.tar.zst of a .conda: the payload, no info/
)

// scanner walks the tar entries of a package: it checks every entry
// (entries.go) and reads the info/ files Inspect uses. What it keeps per
// entry is a few hashes (nameSet), so its memory does not grow with the
// length of names.
type scanner struct {
	lim        Limits
	seeds      [2]maphash.Seed
	entries    int
	infoBytes  int64    // sizes of the info/ files seen so far, from their headers
	seen       *nameSet // info/ paths seen, lowercased
	index      *Index
	about      About
	post       PostInstall
	runExports []byte
}

func newScanner(lim Limits) *scanner {
	s := &scanner{lim: lim, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	s.resetInfo()
	return s
}

// resetInfo forgets what was read of info/, before it is read again.
func (s *scanner) resetInfo() {
	s.infoBytes, s.seen = 0, newNameSet(s.seeds)
	s.index, s.about, s.post, s.runExports = nil, About{}, PostInstall{}, nil
}

// scan reads one tarball from r to its very end. Every entry must pass the
// header and link rules; info/ entries are read or checked; payload
// entries are never read, only skipped (the tar reader still decompresses
// them, under the caller's budget). A .conda info tarball may hold only
// info/, its pkg tarball no info/ at all: cph extracts both into one
// directory, so an info/index.json in the payload would replace the one
// Inspect read (checklist F17).
func (s *scanner) scan(r io.Reader, part tarPart) error {
	tr := tar.NewReader(r)
	l := newLinks(s.seeds)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return drainZeros(r)
		}
		if err != nil {
			return err
		}
		if s.entries++; s.entries > s.lim.MaxEntries {
			return tooLargef("The package has more than %d archive entries (checklist F5).", s.lim.MaxEntries)
		}
		if err := s.checkHeader(hdr); err != nil {
			return err
		}
		if err := l.check(hdr); err != nil {
			return err
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		lower := strings.ToLower(name)
		isInfo := lower == "info" || strings.HasPrefix(lower, "info/")
		switch {
		case part == condaInfo && !isInfo:
			return invalidf("The info archive of this .conda holds %s, which is outside info/.", Quote(hdr.Name))
		case part == condaPkg && isInfo:
			return invalidf("The payload of this .conda holds %s; info/ belongs in the info archive, and conda would let this entry replace the package's metadata (checklist F17).", Quote(hdr.Name))
		case isInfo:
			if err := s.info(name, lower, hdr, tr); err != nil {
				return err
			}
		}
	}
}

// info checks one info/ entry and reads it if Inspect uses it.
func (s *scanner) info(name, lower string, hdr *tar.Header, r io.Reader) error {
	// Two entries for one path (or for paths that differ only in case,
	// which collide on macOS and Windows) would let us index one file
	// while conda installs the other.
	if s.seen.has(lower) {
		return invalidf("The package holds %s twice (or twice in different case); conda would keep the last one, so it is refused (checklist F7, F17).", Quote(hdr.Name))
	}
	s.seen.add(lower)
	use := false
	switch lower {
	case indexPath, aboutPath, pathsPath, runExportsPath:
		use = true
		if name != lower {
			return invalidf("The package holds %s, which differs from %s only in case.", Quote(hdr.Name), Quote(lower))
		}
		if hdr.Typeflag != tar.TypeReg {
			return invalidf("%s in the package is a %s, not a regular file; conda packages carry their metadata as regular files (checklist F7).", Quote(name), typeName(hdr.Typeflag))
		}
		if name != pathsPath && hdr.Size > s.lim.MaxIndexJSON {
			return tooLargef("%s is %d bytes; the limit is %d (checklist F2).", name, hdr.Size, s.lim.MaxIndexJSON)
		}
	}
	if hdr.Typeflag == tar.TypeReg {
		// The headers say how much info/ holds before any of it is read,
		// so a bomb there is refused at once (checklist F4).
		if s.infoBytes += hdr.Size; s.infoBytes > s.lim.MaxDecompressed {
			return errBudget
		}
	}
	if !use {
		return nil
	}
	return s.read(name, hdr, r)
}

// drainZeros reads what follows the end of a tarball: tar's padding to its
// record size, which must be zeros. Anything else would be a second
// archive, which some extractors read and others skip.
func drainZeros(r io.Reader) error {
	buf := make([]byte, 16<<10)
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return invalidf("The package has data after the end of its tar archive; some tools would read it as more files and others not, so it is refused (checklist F17).")
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// read handles one of the info/ files Inspect uses.
func (s *scanner) read(name string, hdr *tar.Header, r io.Reader) error {
	if name == pathsPath {
		// paths.json lists every file of the package and can be large, so
		// it is read as a stream, one entry at a time, no entry over
		// MaxIndexJSON.
		return s.readPaths(&progressReader{r: io.LimitReader(r, hdr.Size), max: s.lim.MaxIndexJSON})
	}
	data, err := io.ReadAll(io.LimitReader(r, hdr.Size))
	if err != nil {
		return err
	}
	switch name {
	case indexPath:
		ix, err := ParseIndexJSON(data)
		if err != nil {
			return err
		}
		s.index = ix
	case aboutPath:
		return s.readAbout(data)
	case runExportsPath:
		return s.readRunExports(data)
	}
	return nil
}

func (s *scanner) readAbout(data []byte) error {
	raw, err := decodeStrictObject(data, aboutPath)
	if err != nil {
		return err
	}
	// about.json fields are strings or lists of strings, depending on the
	// tool that wrote them; take the text, or the first element.
	text := func(key string) string {
		var str string
		if json.Unmarshal(raw[key], &str) == nil {
			return strings.TrimSpace(str)
		}
		var list []string
		if json.Unmarshal(raw[key], &list) == nil && len(list) > 0 {
			return strings.TrimSpace(list[0])
		}
		return ""
	}
	web := func(key string) string {
		u, err := url.Parse(text(key))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return ""
		}
		return u.String()
	}
	s.about = About{
		Summary:     text("summary"),
		Description: text("description"),
		Home:        web("home"),
		DevURL:      web("dev_url"),
		DocURL:      web("doc_url"),
		SourceURL:   web("source_url"),
		License:     text("license"),
	}
	return nil
}

// readRunExports keeps run_exports.json (CEP-12) if it is an object of
// lists of strings, as conda-build writes it.
func (s *scanner) readRunExports(data []byte) error {
	raw, err := decodeStrictObject(data, runExportsPath)
	if err != nil {
		return err
	}
	for k, v := range raw {
		var l []string
		if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &l) != nil {
			return invalidf("In %s, %s must be a list of strings.", runExportsPath, Quote(k))
		}
	}
	s.runExports, err = canonicalJSON(mustMarshal(raw))
	return err
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on values that came from JSON
	}
	return b
}

// progressReader fails once more than max bytes are read without a call
// to progress: it keeps a JSON decoder from buffering one huge value.
type progressReader struct {
	r    io.Reader
	n    int64
	max  int64
	over bool
}

func (p *progressReader) Read(b []byte) (int, error) {
	if p.n > p.max {
		p.over = true
		return 0, errors.New("an entry is too large")
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

func (p *progressReader) progress() { p.n = 0 }

// readPaths streams {"paths": [{"_path", "file_mode", "prefix_placeholder"}, ...]}
// and sets the PostInstall flags as conda-index does.
func (s *scanner) readPaths(r *progressReader) error {
	bad := func(why string) error {
		if r.over {
			return tooLargef("%s has an entry over %d bytes; the limit is MaxIndexJSON (checklist F2).", pathsPath, s.lim.MaxIndexJSON)
		}
		return invalidf("%s is not valid: %s; conda could not install this package.", pathsPath, why)
	}
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return bad("it is not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return bad(err.Error())
		}
		r.progress()
		if t != "paths" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return bad(err.Error())
			}
			r.progress()
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return bad("\"paths\" is not a list")
		}
		for dec.More() {
			var p struct {
				Path        *string `json:"_path"`
				FileMode    string  `json:"file_mode"`
				Placeholder string  `json:"prefix_placeholder"`
			}
			if err := dec.Decode(&p); err != nil {
				return bad(err.Error())
			}
			r.progress()
			if p.Path == nil {
				return bad("an entry has no \"_path\"")
			}
			s.post.note(*p.Path, p.FileMode, p.Placeholder)
		}
		if _, err := dec.Token(); err != nil {
			return bad(err.Error())
		}
	}
	if _, err := dec.Token(); err != nil {
		return bad(err.Error())
	}
	return nil
}

// note records what one paths.json entry says about installation.
func (p *PostInstall) note(file, mode, placeholder string) {
	if placeholder != "" {
		switch mode {
		case "binary":
			p.BinaryPrefix = true
		case "text":
			p.TextPrefix = true
		}
	}
	p.ActivateD = p.ActivateD || strings.HasPrefix(file, "etc/conda/activate.d")
	p.DeactivateD = p.DeactivateD || strings.HasPrefix(file, "etc/conda/deactivate.d")
	// conda-index matches fnmatch "*/.*-<kind>.*" against the path.
	p.PreLink = p.PreLink || linkScript(file, "pre-link")
	p.PostLink = p.PostLink || linkScript(file, "post-link")
	p.PreUnlink = p.PreUnlink || linkScript(file, "pre-unlink")
}

// linkScript reports whether file matches the fnmatch pattern
// "*/.*-<kind>.*", where '*' matches anything, '/' included.
func linkScript(file, kind string) bool {
	i := strings.LastIndex(file, "-"+kind+".")
	j := strings.Index(file, "/.")
	return i >= 0 && j >= 0 && j+2 <= i
}
