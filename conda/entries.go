package conda

import (
	"archive/tar"
	"hash/maphash"
	"path"
	"strings"
)

// This file holds the rules every archive entry of a package must follow,
// in info/ and in the payload alike: what conda (or cph, or rattler) would
// extract must land inside the package directory and, once linked, inside
// the environment prefix (checklist F7, F17). Inspect never extracts; it
// refuses what an extractor could be tricked into writing elsewhere.

// checkHeader refuses entries whose header is oversized, whose path could
// point outside the install prefix, or whose type has no place in a conda
// package: devices, named pipes, sparse files (whose holes would let a tiny
// archive stand for a huge file) and the other special types.
func (s *scanner) checkHeader(hdr *tar.Header) error {
	n := len(hdr.Name) + len(hdr.Linkname) + len(hdr.Uname) + len(hdr.Gname)
	for k, v := range hdr.PAXRecords {
		n += len(k) + len(v)
		if strings.HasPrefix(k, "GNU.sparse.") {
			return invalidf("The archive entry %s is a sparse file; conda packages hold only plain files (checklist F17).", Quote(hdr.Name))
		}
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
		return invalidf("The archive entry %s is a %s; conda packages hold only files, directories and links (checklist F17).", Quote(hdr.Name), typeName(hdr.Typeflag))
	}
	return nil
}

// checkEntryPath refuses a path that is empty, absolute (also in Windows
// form), holds a backslash or NUL, or is not in canonical form: no "." or
// ".." components and no empty ones (checklist F7, F17). A directory's one
// trailing slash is allowed.
func checkEntryPath(p string) error {
	name := strings.TrimSuffix(p, "/")
	switch {
	case name == "":
		return invalidf("The archive has an entry with an empty path.")
	case strings.ContainsAny(name, "\\\x00"):
		return invalidf("The archive entry %s holds a backslash or NUL; it could escape the install prefix on Windows (checklist F7).", Quote(p))
	case name[0] == '/' || len(name) >= 2 && name[1] == ':':
		return invalidf("The archive entry %s has an absolute path; conda packages hold only relative paths (checklist F7).", Quote(p))
	case path.Clean(name) != name || name == "..":
		return invalidf("The archive entry %s has \"..\", \".\" or empty path components; conda packages hold only plain relative paths (checklist F7).", Quote(p))
	}
	if strings.HasPrefix(name, "../") {
		return invalidf("The archive entry %s points outside the package (checklist F7).", Quote(p))
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
	case tar.TypeGNUSparse:
		return "sparse file"
	}
	return "special entry (type " + Quote(string([]byte{t})) + ")"
}

// nameSet holds archive paths as 128-bit seeded hashes, so its memory is
// bounded by the number of entries (Limits.MaxEntries), not by the length of
// hostile names. The seeds are random per inspection, so nobody can aim for
// a collision; one would be as likely as two random 128-bit numbers being
// equal.
type nameSet struct {
	seeds [2]maphash.Seed
	m     map[[2]uint64]struct{}
}

func newNameSet(seeds [2]maphash.Seed) *nameSet {
	return &nameSet{seeds: seeds, m: map[[2]uint64]struct{}{}}
}

func (n *nameSet) key(s string) [2]uint64 {
	return [2]uint64{maphash.String(n.seeds[0], s), maphash.String(n.seeds[1], s)}
}

func (n *nameSet) add(s string) { n.m[n.key(s)] = struct{}{} }

func (n *nameSet) has(s string) bool { _, ok := n.m[n.key(s)]; return ok }

// hasPrefixOf reports whether the set holds p itself or one of its parent
// directories, hashing each prefix once as it goes (linear in len(p)).
func (n *nameSet) hasPrefixOf(p string) bool {
	if len(n.m) == 0 {
		return false
	}
	var h [2]maphash.Hash
	h[0].SetSeed(n.seeds[0])
	h[1].SetSeed(n.seeds[1])
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		for j := range h {
			h[j].WriteString(p[start:i])
		}
		if _, ok := n.m[[2]uint64{h[0].Sum64(), h[1].Sum64()}]; ok {
			return true
		}
		for j := range h {
			h[j].WriteByte('/')
		}
		start = i + 1
	}
	return false
}

// links tracks the symlinks and files of one tarball, so a link can be
// checked against what came before it.
type links struct {
	symlinks *nameSet // lowercased, since macOS and Windows ignore case
	files    *nameSet // regular files and hard links: what a hard link may name
}

func newLinks(seeds [2]maphash.Seed) *links {
	return &links{symlinks: newNameSet(seeds), files: newNameSet(seeds)}
}

// check applies the link rules to one entry whose path already passed
// checkEntryPath, then records it (checklist F17):
//
//   - no entry may sit under, or replace, a symlink seen before it: an
//     extractor would write through the link, wherever it points;
//   - a symlink's target, followed from the link's directory, must stay
//     inside the archive root whatever the other symlinks point to (see
//     checkSymlinkTarget);
//   - a hard link must name a regular file that came before it in the same
//     tarball, not through a symlink: a hard link to anything else is a way
//     to reach a file outside the archive.
func (l *links) check(hdr *tar.Header) error {
	name := strings.TrimSuffix(hdr.Name, "/")
	lower := strings.ToLower(name)
	if l.symlinks.hasPrefixOf(lower) {
		return invalidf("The archive entry %s lies under or replaces a symlink of the package, so extracting it would write wherever the link points (checklist F17).", Quote(hdr.Name))
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		if err := checkSymlinkTarget(name, hdr.Linkname); err != nil {
			return err
		}
		l.symlinks.add(lower)
	case tar.TypeLink:
		if l.symlinks.hasPrefixOf(strings.ToLower(hdr.Linkname)) || !l.files.has(hdr.Linkname) {
			return invalidf("The archive entry %s is a hard link to %s, which is not a file that comes before it in the same archive; conda packages link only to their own files (checklist F17).", Quote(hdr.Name), Quote(hdr.Linkname))
		}
		l.files.add(name)
	case tar.TypeReg:
		l.files.add(name)
	}
	return nil
}

// checkSymlinkTarget refuses a symlink target that could resolve outside
// the archive root. It must be relative (no "/", drive letter, backslash or
// NUL), and its ".." components must all come first, no more of them than
// the link's directory is deep: "../../lib/libz.so" from "lib/pkgconfig/x"
// is fine. Checking the target as written, not as path.Clean would shorten
// it, matters: in "d/s1" -> "s2/../.." with "d/s2" -> "..", the lexical
// answer is "inside" while the file system, following s2 first, lands
// above the root. With ".." only at the start, and no entry under a
// symlink (links.check), every step stays inside whatever the other
// symlinks point to.
func checkSymlinkTarget(name, target string) error {
	bad := func(why string) error {
		return invalidf("The archive entry %s is a symlink to %s, which %s; conda packages link only inside their own files (checklist F17).", Quote(name), Quote(target), why)
	}
	switch {
	case target == "":
		return bad("is empty")
	case strings.ContainsAny(target, "\\\x00"):
		return bad("holds a backslash or NUL")
	case target[0] == '/' || len(target) >= 2 && target[1] == ':':
		return bad("is an absolute path")
	}
	depth := strings.Count(name, "/")
	ups, down := 0, false
	for c := range strings.SplitSeq(target, "/") {
		switch c {
		case "", ".":
		case "..":
			if down {
				return bad("goes down and back up with \"..\"")
			}
			if ups++; ups > depth {
				return bad("points outside the package")
			}
		default:
			down = true
		}
	}
	return nil
}
