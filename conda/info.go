package conda

import (
	"archive/tar"
	"encoding/json"
	"io"
	"net/url"
	"path"
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

// infoScan walks the tar entries of a package's info/ section.
type infoScan struct {
	lim        Limits
	entries    int
	seen       map[string]struct{} // info/ paths seen, lowercased
	index      *Index
	about      About
	post       PostInstall
	runExports []byte
}

// scan reads tar entries from r. For a .conda info tarball (infoOnly) every
// entry must be under info/ and the whole tarball is read; for a .tar.bz2 it
// stops at the first entry outside info/ once index.json has been read,
// since conda-build, rattler-build and cph write info/ first.
func (s *infoScan) scan(r io.Reader, infoOnly bool) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if s.entries++; s.entries > s.lim.MaxEntries {
			return tooLargef("The package has more than %d archive entries before the end of its info/ section (checklist F5).", s.lim.MaxEntries)
		}
		if err := s.checkHeader(hdr); err != nil {
			return err
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		lower := strings.ToLower(name)
		if lower != "info" && !strings.HasPrefix(lower, "info/") {
			if infoOnly {
				return invalidf("The info archive of this .conda holds %s, which is outside info/.", quote(hdr.Name))
			}
			if s.index != nil {
				return nil
			}
			continue
		}
		// Two entries for one path (or for paths that differ only in case,
		// which collide on macOS and Windows) would let us index one file
		// while conda installs the other.
		if _, dup := s.seen[lower]; dup {
			return invalidf("The package holds %s twice (or twice in different case); conda would keep the last one, so it is refused (checklist F7).", quote(hdr.Name))
		}
		s.seen[lower] = struct{}{}
		switch lower {
		case indexPath, aboutPath, pathsPath, runExportsPath:
		default:
			continue
		}
		if name != lower {
			return invalidf("The package holds %s, which differs from %s only in case.", quote(hdr.Name), quote(lower))
		}
		if hdr.Typeflag != tar.TypeReg {
			return invalidf("%s in the package is a %s, not a regular file; conda packages carry their metadata as regular files (checklist F7).", quote(name), typeName(hdr.Typeflag))
		}
		if err := s.read(name, hdr, tr); err != nil {
			return err
		}
	}
}

// checkHeader refuses entries whose header is oversized, whose path could
// point outside the install prefix, or whose type has no place in a conda
// package.
func (s *infoScan) checkHeader(hdr *tar.Header) error {
	n := len(hdr.Name) + len(hdr.Linkname) + len(hdr.Uname) + len(hdr.Gname)
	for k, v := range hdr.PAXRecords {
		n += len(k) + len(v)
	}
	if n > s.lim.MaxHeaderBytes {
		return tooLargef("An archive entry has a header of %d bytes; the limit is %d (checklist F5).", n, s.lim.MaxHeaderBytes)
	}
	if err := checkEntryPath(hdr.Name); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeXGlobalHeader:
	case tar.TypeLink:
		// A hardlink names another entry of the archive; it must be as
		// safe a path as any entry's.
		if err := checkEntryPath(hdr.Linkname); err != nil {
			return err
		}
	default:
		return invalidf("The archive entry %s is a %s; conda packages hold only files, directories and links.", quote(hdr.Name), typeName(hdr.Typeflag))
	}
	return nil
}

// checkEntryPath refuses a path that is empty, absolute (also in Windows
// form), holds a backslash or NUL, or is not in canonical form: no "." or
// ".." components and no empty ones (checklist F7). A directory's one
// trailing slash is allowed.
func checkEntryPath(p string) error {
	name := strings.TrimSuffix(p, "/")
	switch {
	case name == "":
		return invalidf("The archive has an entry with an empty path.")
	case strings.ContainsAny(name, "\\\x00"):
		return invalidf("The archive entry %s holds a backslash or NUL; it could escape the install prefix on Windows (checklist F7).", quote(p))
	case name[0] == '/' || len(name) >= 2 && name[1] == ':':
		return invalidf("The archive entry %s has an absolute path; conda packages hold only relative paths (checklist F7).", quote(p))
	case path.Clean(name) != name || name == "..":
		return invalidf("The archive entry %s has \"..\", \".\" or empty path components; conda packages hold only plain relative paths (checklist F7).", quote(p))
	}
	if strings.HasPrefix(name, "../") {
		return invalidf("The archive entry %s points outside the package (checklist F7).", quote(p))
	}
	return nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeDir:
		return "directory"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "named pipe"
	}
	return "special entry (type " + quote(string([]byte{t})) + ")"
}

// read handles one of the info/ files Inspect uses.
func (s *infoScan) read(name string, hdr *tar.Header, r io.Reader) error {
	if name == pathsPath {
		// paths.json lists every file of the package and can be large, so
		// it is read as a stream, one entry at a time.
		return s.readPaths(r)
	}
	if hdr.Size > s.lim.MaxIndexJSON {
		return tooLargef("%s is %d bytes; the limit is %d (checklist F2).", name, hdr.Size, s.lim.MaxIndexJSON)
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

func (s *infoScan) readAbout(data []byte) error {
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
func (s *infoScan) readRunExports(data []byte) error {
	raw, err := decodeStrictObject(data, runExportsPath)
	if err != nil {
		return err
	}
	for k, v := range raw {
		var l []string
		if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &l) != nil {
			return invalidf("In %s, %s must be a list of strings.", runExportsPath, quote(k))
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

// readPaths streams {"paths": [{"_path", "file_mode", "prefix_placeholder"}, ...]}
// and sets the PostInstall flags as conda-index does.
func (s *infoScan) readPaths(r io.Reader) error {
	bad := func(why string) error {
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
		if t != "paths" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return bad(err.Error())
			}
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
