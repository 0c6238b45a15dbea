// Package matchspec reads the two grammars of a package record's text
// that conda itself interprets: versions (and their order, conda's
// VersionOrder) and dependency specs (index.json "depends" and
// "constrains"). Pure: no I/O.
package matchspec

import (
	"errors"
	"strconv"
	"strings"
)

// This file checks the dependency specs of a package (index.json "depends"
// and "constrains") against conda's MatchSpec grammar, read in conda's
// conda/models/match_spec.py (_parse_spec_str, _parse_version_plus_build)
// and rattler's crates/rattler_conda_types/src/match_spec/parse.rs. Both
// parse far more than a package record needs (channels, namespaces, URLs,
// file paths, comments, regexes, "if" conditions, parentheses options), and
// every form they parse loosely is one a hostile record could use to make
// two readers disagree. So this parser accepts a strict subset, the forms
// conda-build, rattler-build and cph write and that conda-forge and
// defaults packages carry, and nothing else:
//
//	spec       = name [vpart] [" "* brackets]
//	vpart      = (" "+ | &op) version [(" "+ | "=" | " "+ "=") build]
//	version    = vterm (" "* ("," | "|") " "* vterm)*
//	vterm      = [op " "*] vstr
//	op         = ">=" | "<=" | "==" | "!=" | "~=" | ">" | "<" | "="
//	vstr       = conda version, optionally ending in "*" (a glob: "3.12.*", "*")
//	build      = 1*[A-Za-z0-9_.+*]                 ("*_cp312", "py34_0", "*")
//	brackets   = "[" kv (" "* "," " "* kv)* "]"
//	kv         = ("version" | "build" | "build_number") "=" value
//	value      = "'" text "'" | '"' text '"' | 1*[A-Za-z0-9_.*+-]
//	name       = [A-Za-z0-9_] *[A-Za-z0-9_.-], at most 64 bytes
//
// Parentheses are refused: rattler reads "(>=1,<2)|>=3" as a version group,
// while conda's _parse_spec_str first cuts any "(...)" out of the spec as
// options ("numpy (optional)"), so the two read such a spec differently.
// Spaces are U+0020 only; everything is ASCII, so no control, format or
// line-separator character can pass (checklist F16). A bracket value is
// checked with the rule of its key (version, build, or a build number with
// an optional operator), a key may appear once, and a version or build may
// not be given both in place and in brackets. Names may start with "__"
// (virtual packages such as __glibc) and hold uppercase letters, since
// conda compares names without case; versions are checked with the same
// parser as package versions (version.go).

// MaxLen bounds one spec, in bytes.
const MaxLen = 1024

const (
	maxSpecNameLen  = 64
	maxSpecBrackets = 3 // one of each key
)

// Check reports, as a clause for a message, why s is not a match spec of
// the grammar above; nil if it is one.
func Check(s string) error {
	_, err := parseMatchSpec(s)
	return err
}

// Quote quotes s for a message, cut short so a hostile 10 MB name does not
// end up in logs whole.
func Quote(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}

// matchSpec is what checkMatchSpec read from a spec; the fuzz test prints
// it back and reads it again to check the parser is consistent.
type matchSpec struct {
	Name        string
	Version     string // as written, spaces included; "" when absent
	Build       string
	BuildNumber string // from brackets only
	InBrackets  bool   // version and build came from brackets
}

// String writes m in the canonical form: name, version and build separated
// by single spaces, or name and brackets.
func (m matchSpec) String() string {
	if m.InBrackets || m.BuildNumber != "" {
		var kv []string
		if m.Version != "" {
			kv = append(kv, "version='"+m.Version+"'")
		}
		if m.Build != "" {
			kv = append(kv, "build='"+m.Build+"'")
		}
		if m.BuildNumber != "" {
			kv = append(kv, "build_number='"+m.BuildNumber+"'")
		}
		return m.Name + "[" + strings.Join(kv, ",") + "]"
	}
	s := m.Name
	if m.Version != "" {
		s += " " + m.Version
	}
	if m.Build != "" {
		s += " " + m.Build
	}
	return s
}

// parseMatchSpec reads s as a dependency spec under the grammar above. The
// error says what is wrong, for a message that quotes the spec.
func parseMatchSpec(s string) (matchSpec, error) {
	var m matchSpec
	if s == "" {
		return m, errors.New("it is empty")
	}
	if len(s) > MaxLen {
		return m, errors.New("it is too long")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return m, errors.New("it holds a control or non-ASCII character")
		}
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return m, errors.New("it starts or ends with a space")
	}
	p := specParser{s: s}
	m.Name = p.name()
	if m.Name == "" {
		return m, errors.New("it does not start with a package name")
	}
	if len(m.Name) > maxSpecNameLen {
		return m, errors.New("the package name is too long")
	}
	if p.done() {
		return m, nil
	}
	if p.peek() != '[' {
		if p.spaces() == 0 && !isOpStart(p.peek()) {
			return m, errors.New("the package name holds a character names may not")
		}
		if p.peek() != '[' {
			start := p.i
			if err := p.version(); err != nil {
				return m, err
			}
			m.Version = s[start:p.i]
			b, err := p.build()
			if err != nil {
				return m, err
			}
			m.Build = b
		}
	}
	p.spaces()
	if p.done() {
		return m, nil
	}
	if p.peek() != '[' {
		return m, errors.New("it has something after the version and build that is not a [key=value] list")
	}
	if err := p.brackets(&m); err != nil {
		return m, err
	}
	if !p.done() {
		return m, errors.New("it has something after its [key=value] list")
	}
	return m, nil
}

type specParser struct {
	s string
	i int
}

func (p *specParser) done() bool { return p.i >= len(p.s) }

func (p *specParser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

// spaces skips spaces and returns how many there were.
func (p *specParser) spaces() int {
	n := 0
	for !p.done() && p.s[p.i] == ' ' {
		p.i++
		n++
	}
	return n
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func (p *specParser) name() string {
	start := p.i
	if p.done() || !isNameChar(p.peek()) || p.peek() == '.' || p.peek() == '-' {
		return ""
	}
	for !p.done() && isNameChar(p.peek()) {
		p.i++
	}
	return p.s[start:p.i]
}

func isOpStart(c byte) bool { return c == '>' || c == '<' || c == '=' || c == '!' || c == '~' }

// op reads a version operator, or returns "" if none is next.
func (p *specParser) op() (string, error) {
	rest := p.s[p.i:]
	for _, op := range []string{">=", "<=", "==", "!=", "~=", ">", "<", "="} {
		if strings.HasPrefix(rest, op) {
			p.i += len(op)
			if !p.done() && isOpStart(p.peek()) {
				return "", errors.New("it has an unknown version operator")
			}
			return op, nil
		}
	}
	if !p.done() && isOpStart(p.peek()) {
		return "", errors.New("it has an unknown version operator")
	}
	return "", nil
}

func isVersionChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '+' || c == '!' || c == '*'
}

// version reads version = vterm (sep vterm)*, leaving p after the last
// term (trailing spaces not consumed).
func (p *specParser) version() error {
	for {
		if err := p.vterm(); err != nil {
			return err
		}
		save := p.i
		p.spaces()
		if c := p.peek(); c == ',' || c == '|' {
			p.i++
			p.spaces()
			continue
		}
		p.i = save
		return nil
	}
}

func (p *specParser) vterm() error {
	op, err := p.op()
	if err != nil {
		return err
	}
	if op != "" {
		p.spaces()
	}
	start := p.i
	for !p.done() && isVersionChar(p.peek()) {
		p.i++
	}
	return checkVersionTerm(op, p.s[start:p.i])
}

// checkVersionTerm checks one version of a spec: a conda version, or a
// glob that ends in "*" ("3.12.*", "1.2*", "*").
func checkVersionTerm(op, v string) error {
	if v == "" {
		return errors.New("it has an operator or separator without a version")
	}
	base := v
	if strings.HasSuffix(base, "*") {
		base = strings.TrimSuffix(strings.TrimSuffix(base, "*"), ".")
		if base == "" {
			if op != "" && op != "=" && op != "==" {
				return errors.New("it compares with \"*\", which is not a version")
			}
			return nil
		}
	}
	if strings.Contains(base, "*") {
		return errors.New("its version has a '*' that is not at the end")
	}
	if _, err := parseVersion(base); err != nil {
		return errors.New("its version " + Quote(v) + " is not a conda version (" + err.Error() + ")")
	}
	return nil
}

func isBuildChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '+' || c == '*'
}

// build reads the optional build string after a version: separated by
// spaces, "=", or spaces and "=".
func (p *specParser) build() (string, error) {
	save := p.i
	n := p.spaces()
	if p.peek() == '=' {
		p.i++
	} else if n == 0 || p.done() || p.peek() == '[' {
		p.i = save
		if !p.done() && p.peek() != ' ' && p.peek() != '[' {
			return "", errors.New("its version holds a character versions may not")
		}
		return "", nil
	}
	start := p.i
	for !p.done() && isBuildChar(p.peek()) {
		p.i++
	}
	b := p.s[start:p.i]
	if b == "" {
		return "", errors.New("it has a build separator without a build string")
	}
	if !p.done() && p.peek() != ' ' && p.peek() != '[' {
		return "", errors.New("its build string holds a character build strings may not")
	}
	return b, nil
}

// brackets reads [key=value, ...] into m.
func (p *specParser) brackets(m *matchSpec) error {
	p.i++ // '['
	seen := map[string]bool{}
	hadVersion, hadBuild := m.Version != "", m.Build != ""
	for {
		p.spaces()
		start := p.i
		for !p.done() && (p.peek() >= 'a' && p.peek() <= 'z' || p.peek() == '_') {
			p.i++
		}
		key := p.s[start:p.i]
		if p.peek() != '=' {
			return errors.New("its [key=value] list is malformed")
		}
		p.i++
		val, err := p.bracketValue()
		if err != nil {
			return err
		}
		if seen[key] {
			return errors.New("its [key=value] list gives " + key + " twice")
		}
		seen[key] = true
		if len(seen) > maxSpecBrackets {
			return errors.New("its [key=value] list is too long")
		}
		switch key {
		case "version":
			if hadVersion {
				return errors.New("it gives a version both in place and in brackets")
			}
			q := specParser{s: val}
			if err := q.version(); err != nil {
				return err
			}
			if !q.done() {
				return errors.New("its bracketed version is not a version")
			}
			m.Version = val
		case "build":
			if hadBuild {
				return errors.New("it gives a build both in place and in brackets")
			}
			for i := 0; i < len(val); i++ {
				if !isBuildChar(val[i]) {
					return errors.New("its bracketed build holds a character build strings may not")
				}
			}
			m.Build = val
		case "build_number":
			q := specParser{s: val}
			if _, err := q.op(); err != nil {
				return err
			}
			digits := q.s[q.i:]
			if digits == "" || strings.Trim(digits, "0123456789") != "" || len(digits) > 18 {
				return errors.New("its bracketed build_number is not a number")
			}
			m.BuildNumber = val
		default:
			return errors.New("its [key=value] list has the key " + Quote(key) + "; only version, build and build_number are allowed")
		}
		m.InBrackets = true
		p.spaces()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			if m.Version == "" && m.Build == "" && m.BuildNumber == "" {
				return errors.New("its [key=value] list is empty")
			}
			return nil
		default:
			return errors.New("its [key=value] list is malformed")
		}
	}
}

func (p *specParser) bracketValue() (string, error) {
	if q := p.peek(); q == '\'' || q == '"' {
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			return "", errors.New("its [key=value] list has an unclosed quote")
		}
		v := p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
		if v == "" {
			return "", errors.New("its [key=value] list has an empty value")
		}
		return v, nil
	}
	start := p.i
	for !p.done() {
		c := p.peek()
		if !(isBuildChar(c) || c == '-') {
			break
		}
		p.i++
	}
	if p.i == start {
		return "", errors.New("its [key=value] list has an empty value")
	}
	return p.s[start:p.i], nil
}
