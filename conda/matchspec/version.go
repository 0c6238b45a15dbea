package matchspec

import (
	"errors"
	"strings"
)

// This file orders versions the way conda's VersionOrder does (conda/models/
// version.py), which channeldata.json needs to name the latest version:
// "2.10.0" is newer than "2.9.0", "1.1dev1" < "1.1a1" < "1.1" < "1.1post1",
// and "1!0.1" beats every version without an epoch.

// Kinds of version subcomponents, in the order Python compares them: strings
// sort before numbers, and "post" (infinity) after every number.
const (
	vStr = iota
	vNum
	vInf
)

// CheckVersion reports, as a clause for a message, why s is not a
// version conda can read; nil if it is one.
func CheckVersion(s string) error {
	_, err := parseVersion(s)
	return err
}

// vpart is one subcomponent: a run of digits or of non-digits.
type vpart struct {
	kind int8
	s    string // vStr: the text ("dev" becomes "DEV" so it sorts first); vNum: digits without leading zeros
}

// versionKey is a parsed version: the epoch and the components of the
// upstream version, then those of the local version (after '+').
type versionKey struct {
	main, local [][]vpart
}

var zeroPart = vpart{kind: vNum}

// parseVersion parses a version string as conda does. It fails on what conda
// refuses: a second '!' or '+', a non-numeric epoch, an empty component.
func parseVersion(s string) (versionKey, error) {
	var k versionKey
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "" {
		return k, errors.New("empty version string")
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isLowerAlnum(c) && c != '.' && c != '_' && c != '+' && c != '!' && c != '*' {
			return k, errors.New("invalid character(s)")
		}
	}
	epoch := "0"
	if parts := strings.Split(v, "!"); len(parts) == 2 {
		if parts[0] == "" || strings.Trim(parts[0], "0123456789") != "" {
			return k, errors.New("epoch must be an integer")
		}
		epoch, v = parts[0], parts[1]
	} else if len(parts) > 2 {
		return k, errors.New("duplicated epoch separator '!'")
	}
	var local []string
	if parts := strings.Split(v, "+"); len(parts) == 2 {
		v = parts[0]
		local = strings.Split(strings.ReplaceAll(parts[1], "_", "."), ".")
	} else if len(parts) > 2 {
		return k, errors.New("duplicated local version separator '+'")
	}
	if v == "" {
		return k, errors.New("empty version component")
	}
	var comps []string
	if strings.HasSuffix(v, "_") {
		// conda keeps a trailing '_' on the last component (openssl-style
		// "1.0.1_" versions) instead of splitting an empty one out.
		comps = strings.Split(strings.ReplaceAll(v[:len(v)-1], "_", "."), ".")
		comps[len(comps)-1] += "_"
	} else {
		comps = strings.Split(strings.ReplaceAll(v, "_", "."), ".")
	}
	var err error
	if k.main, err = splitComponents(append([]string{epoch}, comps...)); err != nil {
		return k, err
	}
	if k.local, err = splitComponents(local); err != nil {
		return k, err
	}
	return k, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || isDigit(c) }

func splitComponents(comps []string) ([][]vpart, error) {
	out := make([][]vpart, 0, len(comps))
	for _, comp := range comps {
		if comp == "" {
			return nil, errors.New("empty version component")
		}
		var parts []vpart
		if !isDigit(comp[0]) {
			// Keep numbers and strings in phase: "1.1.a1" == "1.1.0a1".
			parts = append(parts, zeroPart)
		}
		for i := 0; i < len(comp); {
			j := i + 1
			switch {
			case isDigit(comp[i]):
				for j < len(comp) && isDigit(comp[j]) {
					j++
				}
				parts = append(parts, vpart{kind: vNum, s: strings.TrimLeft(comp[i:j], "0")})
			case comp[i] == '*':
				for j < len(comp) && comp[j] == '*' {
					j++
				}
				parts = append(parts, vpart{kind: vStr, s: comp[i:j]})
			default:
				for j < len(comp) && !isDigit(comp[j]) && comp[j] != '*' {
					j++
				}
				switch t := comp[i:j]; t {
				case "post":
					parts = append(parts, vpart{kind: vInf})
				case "dev":
					parts = append(parts, vpart{kind: vStr, s: "DEV"})
				default:
					parts = append(parts, vpart{kind: vStr, s: t})
				}
			}
			i = j
		}
		out = append(out, parts)
	}
	return out, nil
}

// comparePart orders two subcomponents as Python orders conda's: strings
// before numbers, numbers by value, "post" after all numbers.
func comparePart(a, b vpart) int {
	if a.kind == vStr || b.kind == vStr {
		switch {
		case a.kind != vStr:
			return 1
		case b.kind != vStr:
			return -1
		}
		return strings.Compare(a.s, b.s)
	}
	if a.kind != b.kind {
		if a.kind == vInf {
			return 1
		}
		return -1
	}
	if a.kind == vInf {
		return 0
	}
	if len(a.s) != len(b.s) {
		if len(a.s) < len(b.s) {
			return -1
		}
		return 1
	}
	return strings.Compare(a.s, b.s)
}

func compareComponents(a, b [][]vpart) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y []vpart
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		for j := 0; j < len(x) || j < len(y); j++ {
			p, q := zeroPart, zeroPart
			if j < len(x) {
				p = x[j]
			}
			if j < len(y) {
				q = y[j]
			}
			if c := comparePart(p, q); c != 0 {
				return c
			}
		}
	}
	return 0
}

// compareVersionKeys returns -1, 0 or 1 as a is older than, equal to or newer
// than b.
func compareVersionKeys(a, b versionKey) int {
	if c := compareComponents(a.main, b.main); c != 0 {
		return c
	}
	return compareComponents(a.local, b.local)
}

// CompareVersions orders two conda version strings as conda does, returning
// -1, 0 or +1. A string conda cannot parse sorts before every valid one, and
// two such strings compare as plain strings, so the order stays total.
func CompareVersions(a, b string) int {
	ka, errA := parseVersion(a)
	kb, errB := parseVersion(b)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return compareVersionKeys(ka, kb)
}
