// Package condaname holds the rules for the names that reach conda URLs,
// channels and subdirs, which follow CEP-26. They are defined once, here:
// the conda package, the channel rules and the HTTP layer all ask these.
// It is pure: it imports only the root package, for its errors.
package condaname

import (
	"strings"

	"github.com/gatehouse-dev/gatehouse"
)

const (
	maxSubdirLen  = 32
	maxChannelLen = 128
)

// knownSubdirs are the platforms conda knows (conda's KNOWN_SUBDIRS). A
// channel answers an empty but valid repodata.json for each of them even
// without packages there, so clients see "no packages", not an error.
var knownSubdirs = map[string]bool{
	"noarch": true, "emscripten-wasm32": true, "wasi-wasm32": true, "freebsd-64": true,
	"linux-32": true, "linux-64": true, "linux-aarch64": true, "linux-armv6l": true,
	"linux-armv7l": true, "linux-ppc64": true, "linux-ppc64le": true, "linux-riscv64": true,
	"linux-s390x": true, "osx-64": true, "osx-arm64": true, "win-32": true, "win-64": true,
	"win-arm64": true, "zos-z": true,
}

// KnownSubdir reports whether s is a platform conda knows.
func KnownSubdir(s string) bool { return knownSubdirs[s] }

// ValidSubdir reports whether s is a CEP-26 subdir name: "noarch", or
// <os>-<arch> of lowercase letters and digits, at most 32 bytes. It rejects
// "../../etc", "linux-64/../noarch" and "LINUX-64" (checklist F8).
func ValidSubdir(s string) bool {
	if s == "noarch" {
		return true
	}
	if len(s) == 0 || len(s) > maxSubdirLen {
		return false
	}
	dash := strings.IndexByte(s, '-')
	if dash <= 0 || dash == len(s)-1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != dash && !isLowerAlnum(s[i]) {
			return false
		}
	}
	return true
}

// ValidateChannel checks a channel name: one CEP-26 channel path part
// (^[a-z0-9_][a-z0-9_.-]*$, at most 128 bytes) that conda cannot mistake
// for something else in a channel URL. So it may not be a subdir conda
// knows (conda would read a URL ending in linux-64 as that subdir of the
// channel before it), nor "t", which conda's token parser reads as the
// start of /t/<key>/.
func ValidateChannel(name string) error {
	if !validChannelChars(name) || name == "t" {
		return gatehouse.FieldErrorf("name", "Channel names are 1 to 128 characters: lowercase letters, digits, '_', '.' and '-', not starting with '.' or '-' (conda's rule); \"t\" is reserved.")
	}
	if knownSubdirs[name] {
		return gatehouse.FieldErrorf("name", "%q is a platform name (like noarch or linux-64); conda would misread it as a subdir. Choose another name.", name)
	}
	return nil
}

func validChannelChars(s string) bool {
	if len(s) == 0 || len(s) > maxChannelLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isLowerAlnum(c) || c == '_' || (i > 0 && (c == '.' || c == '-')) {
			continue
		}
		return false
	}
	return true
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// CanonicalChannel is the form in which two channel names that look
// alike in a URL are equal: '_' read as '-', trailing '.' and '-'
// dropped. "conda_forge" and "conda-forge." are "conda-forge" (checklist
// G6). The store keeps it beside the name.
func CanonicalChannel(name string) string {
	return strings.TrimRight(strings.ReplaceAll(name, "_", "-"), ".-")
}
