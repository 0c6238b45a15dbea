// Package upstream makes channels that follow an upstream conda channel:
// a proxy refreshes the upstream's repodata after a TTL and fetches each
// package file on first request; a mirror copies repodata and the files
// its filters admit in a scheduled or requested sync. Records go to the
// store in batches (one transaction and one channel revision each), so the
// index engine applies them like any upload; a record becomes visible in a
// mirror only once its file is stored, and a sync cut short resumes by
// comparing again.
package upstream

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/condaname"
)

// Policy is a compiled gatehouse.Filters.
type Policy struct {
	f        gatehouse.Filters
	licenses map[string]bool
	versions map[string][][]constraint // name -> OR of AND groups
}

// Compile checks filters and returns their policy; every problem is an
// EINVALID naming the field.
func Compile(f gatehouse.Filters) (*Policy, error) {
	p := &Policy{f: f, licenses: map[string]bool{}, versions: map[string][][]constraint{}}
	for _, g := range append(slices.Clone(f.Include), f.Exclude...) {
		if _, err := path.Match(g, "x"); err != nil || g == "" {
			return nil, gatehouse.FieldErrorf("upstream.filters", "The name pattern %q is not a valid glob.", g)
		}
	}
	for _, s := range f.Subdirs {
		if !condaname.ValidSubdir(s) {
			return nil, gatehouse.FieldErrorf("upstream.filters.subdirs", "The subdir %q is not valid.", s)
		}
	}
	for _, l := range f.Licenses {
		if strings.TrimSpace(l) == "" {
			return nil, gatehouse.FieldErrorf("upstream.filters.licenses", "A licence identifier is empty.")
		}
		p.licenses[strings.ToLower(strings.TrimSpace(l))] = true
	}
	if f.MinAgeDays < 0 || f.MinAgeDays > 3650 {
		return nil, gatehouse.FieldErrorf("upstream.filters.min_age_days", "min_age_days must be between 0 and 3650.")
	}
	for name, spec := range f.Versions {
		cs, err := parseSpec(spec)
		if err != nil {
			return nil, gatehouse.FieldErrorf("upstream.filters.versions", "The version constraint %q for %s: %s", spec, name, err)
		}
		p.versions[name] = cs
	}
	return p, nil
}

// Verdict is a policy's decision on one record: empty Rule admits it.
type Verdict struct {
	Rule string // "include", "exclude", "subdirs", "licenses", "min_age_days", "versions"
	Why  string // for people
	// Until is when a record held back by min_age_days is old enough.
	Until time.Time
}

// told reports whether the verdict follows from the file name alone; the
// others (licence, age) need the record, so the sync keeps them.
func (v Verdict) told() bool {
	return v.Rule != "licenses" && v.Rule != "min_age_days"
}

// Admits reports whether the policy admits a name in a subdir, before
// looking at any record (the sync skips filtered subdirs and names early).
func (p *Policy) admitsName(subdir, name string) Verdict {
	if len(p.f.Subdirs) > 0 && !slices.Contains(p.f.Subdirs, subdir) {
		return Verdict{Rule: "subdirs", Why: fmt.Sprintf("the subdir %s is not among those this channel follows", subdir)}
	}
	if len(p.f.Include) > 0 {
		ok := false
		for _, g := range p.f.Include {
			if m, _ := path.Match(g, name); m {
				ok = true
				break
			}
		}
		if !ok {
			return Verdict{Rule: "include", Why: fmt.Sprintf("%s matches none of the included names %v", name, p.f.Include)}
		}
	}
	for _, g := range p.f.Exclude {
		if m, _ := path.Match(g, name); m {
			return Verdict{Rule: "exclude", Why: fmt.Sprintf("%s matches the excluded name %q", name, g)}
		}
	}
	return Verdict{}
}

func (p *Policy) admitsVersion(name, version string) Verdict {
	cs, ok := p.versions[name]
	if !ok {
		return Verdict{}
	}
	for _, and := range cs {
		all := true
		for _, c := range and {
			if !c.match(version) {
				all = false
				break
			}
		}
		if all {
			return Verdict{}
		}
	}
	return Verdict{Rule: "versions", Why: fmt.Sprintf("%s %s is outside the allowed versions %q", name, version, p.f.Versions[name])}
}

// Check applies every rule to a record.
func (p *Policy) Check(subdir string, ix *conda.Index, now time.Time) Verdict {
	if v := p.admitsName(subdir, ix.Name); v.Rule != "" {
		return v
	}
	if v := p.admitsVersion(ix.Name, ix.Version); v.Rule != "" {
		return v
	}
	if len(p.licenses) > 0 && !p.licenseOK(ix.License) {
		return Verdict{Rule: "licenses", Why: fmt.Sprintf("its licence %q is not among the allowed %v", ix.License, p.f.Licenses)}
	}
	if p.f.MinAgeDays > 0 {
		if ix.Timestamp <= 0 {
			return Verdict{Rule: "min_age_days", Why: fmt.Sprintf("its record has no publication time, and releases must be %d days old", p.f.MinAgeDays)}
		}
		published := time.UnixMilli(ix.Timestamp).UTC()
		if until := published.Add(time.Duration(p.f.MinAgeDays) * 24 * time.Hour); now.Before(until) {
			return Verdict{Rule: "min_age_days", Until: until,
				Why: fmt.Sprintf("it was published on %s, less than %d days ago; it becomes available on %s", published.Format(time.DateOnly), p.f.MinAgeDays, until.Format(time.DateOnly))}
		}
	}
	return Verdict{}
}

// CheckFilename applies what can be told from a file name alone (name,
// version, subdir), for a direct request of a file the channel lacks.
func (p *Policy) CheckFilename(subdir, filename string) Verdict {
	stem, _, err := conda.ParseFilename(filename)
	if err != nil {
		return Verdict{}
	}
	// name-version-build: the name may hold dashes, version and build not.
	i := strings.LastIndexByte(stem, '-')
	if i <= 0 {
		return Verdict{}
	}
	j := strings.LastIndexByte(stem[:i], '-')
	if j <= 0 {
		return Verdict{}
	}
	name, version := stem[:j], stem[j+1:i]
	if v := p.admitsName(subdir, name); v.Rule != "" {
		return v
	}
	return p.admitsVersion(name, version)
}

// licenseOK reads the licence as an SPDX expression (AND, OR, WITH,
// parentheses; identifiers compared case-insensitively, a trailing "+"
// ignored) and reports whether the allowed identifiers satisfy it. A
// licence that is no expression is compared whole.
func (p *Policy) licenseOK(lic string) bool {
	lic = strings.TrimSpace(lic)
	if lic == "" {
		return false
	}
	if p.licenses[strings.ToLower(lic)] {
		return true
	}
	toks := spdxTokens(lic)
	pos := 0
	ok, good := p.spdxOr(toks, &pos)
	return good && pos == len(toks) && ok
}

func spdxTokens(s string) []string {
	s = strings.NewReplacer("(", " ( ", ")", " ) ").Replace(s)
	return strings.Fields(s)
}

func (p *Policy) spdxOr(t []string, pos *int) (bool, bool) {
	v, good := p.spdxAnd(t, pos)
	for good && *pos < len(t) && strings.EqualFold(t[*pos], "OR") {
		*pos++
		w, g := p.spdxAnd(t, pos)
		v, good = v || w, g
	}
	return v, good
}

func (p *Policy) spdxAnd(t []string, pos *int) (bool, bool) {
	v, good := p.spdxAtom(t, pos)
	for good && *pos < len(t) && strings.EqualFold(t[*pos], "AND") {
		*pos++
		w, g := p.spdxAtom(t, pos)
		v, good = v && w, g
	}
	return v, good
}

func (p *Policy) spdxAtom(t []string, pos *int) (bool, bool) {
	if *pos >= len(t) {
		return false, false
	}
	if t[*pos] == "(" {
		*pos++
		v, good := p.spdxOr(t, pos)
		if !good || *pos >= len(t) || t[*pos] != ")" {
			return false, false
		}
		*pos++
		return v, true
	}
	id := strings.ToLower(strings.TrimSuffix(t[*pos], "+"))
	if id == "and" || id == "or" || id == "with" || id == ")" {
		return false, false
	}
	*pos++
	ok := p.licenses[id]
	if *pos < len(t) && strings.EqualFold(t[*pos], "WITH") {
		if *pos+1 >= len(t) {
			return false, false
		}
		exc := strings.ToLower(t[*pos+1])
		*pos += 2
		ok = ok || p.licenses[id+" with "+exc]
	}
	return ok, true
}

// constraint is one version comparison of a match spec.
type constraint struct {
	op      string // "==", "!=", ">=", ">", "<=", "<", "=*" (prefix)
	version string
}

func (c constraint) match(v string) bool {
	switch c.op {
	case "=*":
		return v == c.version || strings.HasPrefix(v, c.version+".")
	case "==":
		return conda.CompareVersions(v, c.version) == 0
	case "!=":
		return conda.CompareVersions(v, c.version) != 0
	case ">=":
		return conda.CompareVersions(v, c.version) >= 0
	case ">":
		return conda.CompareVersions(v, c.version) > 0
	case "<=":
		return conda.CompareVersions(v, c.version) <= 0
	case "<":
		return conda.CompareVersions(v, c.version) < 0
	}
	return false
}

// parseSpec reads the version part of a conda match spec: "|" separates
// alternatives, "," joins constraints; "1.2.*" and "=1.2" match a prefix,
// a bare "1.2" the version exactly.
func parseSpec(spec string) ([][]constraint, error) {
	var out [][]constraint
	for _, alt := range strings.Split(spec, "|") {
		var and []constraint
		for _, part := range strings.Split(alt, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				return nil, fmt.Errorf("an empty constraint")
			}
			var c constraint
			for _, op := range []string{"==", "!=", ">=", "<=", ">", "<", "="} {
				if rest, ok := strings.CutPrefix(part, op); ok {
					c.op, c.version = op, strings.TrimSpace(rest)
					break
				}
			}
			if c.op == "" {
				c.op, c.version = "==", part
			}
			if c.op == "=" {
				c.op = "=*"
			}
			if v, ok := strings.CutSuffix(c.version, ".*"); ok {
				if c.op != "==" && c.op != "=*" {
					return nil, fmt.Errorf("a wildcard only works with == or =")
				}
				c.op, c.version = "=*", v
			}
			if c.version == "" || strings.ContainsAny(c.version, " *<>=!") {
				return nil, fmt.Errorf("%q is not a version", c.version)
			}
			and = append(and, c)
		}
		out = append(out, and)
	}
	return out, nil
}
