package conda

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda/matchspec"
	"github.com/gatehouse-dev/gatehouse/condaname"
)

// Index is a package's info/index.json: the typed fields Gatehouse uses, and
// Raw, every key of the file with its value in canonical form (compact, with
// object keys sorted). Record takes from Raw only the keys in recordKeys.
type Index struct {
	Name        string
	Version     string
	Build       string
	BuildNumber int64
	Subdir      string
	Noarch      string // "", "generic" or "python"
	License     string
	Depends     []string
	Constrains  []string
	Timestamp   int64 // milliseconds since the epoch; 0 when index.json has none
	Raw         map[string]json.RawMessage
}

// Stem returns name-version-build, the file name without its extension.
func (ix *Index) Stem() string { return ix.Name + "-" + ix.Version + "-" + ix.Build }

// Filename returns the file name the package must have in the given format.
func (ix *Index) Filename(f Format) string { return ix.Stem() + f.Ext() }

// recordKeys are the index.json keys a repodata record carries; every
// other key is dropped from the record (checklist F16). The list is what the
// tools that write index.json write and conda reads back from repodata:
//
//   - conda-build, conda_build/metadata.py MetaData.info_index: name,
//     version, build, build_number, platform, arch, subdir, depends,
//     constrains, timestamp, license, license_family, preferred_env,
//     features, track_features, provides_features, requires_features,
//     noarch, and the Navigator "app" keys (type, icon, app_entry, ...);
//   - rattler, crates/rattler_conda_types/src/package/index.rs IndexJson:
//     arch, build, build_number, constrains, depends, extra_depends,
//     features, flags, license, license_family, name, noarch, platform,
//     purls, python_site_packages_path (CEP-17), repodata_revision, subdir,
//     timestamp, track_features, version;
//   - conda, conda/models/records.py PackageRecord, the fields a client
//     reads from a record.
//
// Left out, though a writer may write them: arch and platform, which
// conda-index drops as obsolete (conda reads the subdir); provides_features,
// requires_features and the app keys, obsolete and dropped by conda-index
// or unread by conda; extra_depends, flags and repodata_revision, which need
// repodata v3 (rattler refuses them in the v1 layout Gatehouse serves); and
// purls, which conda does not read. md5, sha256, size, url, fn, channel and
// the other keys a server sets are never taken from the package.
//
// Unknown keys are dropped, not refused: conda-index drops obsolete keys the
// same way, packages mirrored from old channels carry keys such as
// has_prefix or binstar, and refusing them would refuse real packages while
// dropping already keeps them out of what clients read. The keys kept are
// all checked (fillTyped, Validate): types, CEP-26 names, match specs and
// printable text.
var recordKeys = map[string]bool{
	"build": true, "build_number": true, "constrains": true, "depends": true,
	"features": true, "license": true, "license_family": true, "name": true,
	"noarch": true, "preferred_env": true, "python_site_packages_path": true,
	"subdir": true, "timestamp": true, "track_features": true, "version": true,
}

const (
	maxJSONDepth = 64
	maxSpecLen   = matchspec.MaxLen // one dependency spec
	maxTextLen   = 1024             // one text field of the record, such as license
	// Timestamps above this are milliseconds; conda applies the same rule
	// (9999-12-31 in seconds), since old packages wrote seconds.
	maxSecondsTimestamp = 253402300799
	// clockSkew is how far in the future a package timestamp may be.
	clockSkew = 24 * time.Hour
)

// ParseIndexJSON decodes and validates the bytes of an info/index.json
// strictly (checklist F11): one JSON object, valid UTF-8, no duplicate keys at
// any depth, nesting at most 64 deep, the known keys with their conda types
// (no numbers as strings, depends a list of strings), name, version and build
// valid under CEP-26 (F9), subdir a platform conda knows (F8, F16), every
// depends and constrains entry a match spec (matchspec.go), and no
// non-printing character in the text of the keys a record keeps (F16). It
// does not check the
// timestamp against a clock: call Validate for that. The caller bounds the
// size of data (Inspect uses Limits.MaxIndexJSON).
func ParseIndexJSON(data []byte) (*Index, error) {
	raw, err := decodeStrictObject(data, "info/index.json")
	if err != nil {
		return nil, err
	}
	ix := &Index{Raw: raw}
	if err := ix.fillTyped(); err != nil {
		return nil, err
	}
	if err := ix.Validate(time.Time{}); err != nil {
		return nil, err
	}
	return ix, nil
}

// decodeStrictObject checks data is exactly one JSON object with no
// duplicate keys and returns its members in canonical form.
func decodeStrictObject(data []byte, what string) (map[string]json.RawMessage, error) {
	if !utf8.Valid(data) {
		return nil, invalidf("%s is not valid UTF-8.", what)
	}
	if err := CheckStrictJSON(data); err != nil {
		return nil, invalidf("%s is not valid JSON: %s.", what, err.Error())
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return nil, invalidf("%s must be a JSON object.", what)
	}
	for k, v := range members {
		c, err := canonicalJSON(v)
		if err != nil {
			return nil, invalidf("%s: the value of %s cannot be read: %s.", what, Quote(k), err.Error())
		}
		members[k] = c
	}
	return members, nil
}

// CheckStrictJSON walks data token by token and refuses what encoding/json
// would silently accept: duplicate object keys (the last would win, so two
// readers could disagree on a package's name), trailing values, and deep
// nesting.
func CheckStrictJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object  bool
		wantKey bool
		keys    map[string]struct{}
	}
	var stack []frame
	values := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				continue
			}
			key, _ := tok.(string)
			if _, dup := stack[n-1].keys[key]; dup {
				return errors.New("the key " + Quote(key) + " appears twice")
			}
			stack[n-1].keys[key] = struct{}{}
			stack[n-1].wantKey = false
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		// tok starts a value: a scalar, an object or an array.
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			}
		} else if values++; values > 1 {
			return errors.New("more than one value")
		}
		if d, ok := tok.(json.Delim); ok {
			if len(stack) >= maxJSONDepth {
				return errors.New("nested too deeply")
			}
			if d == '{' {
				stack = append(stack, frame{object: true, wantKey: true, keys: map[string]struct{}{}})
			} else {
				stack = append(stack, frame{})
			}
		}
	}
	if values == 0 {
		return errors.New("empty document")
	}
	return nil
}

// canonicalJSON re-encodes one JSON value compactly with object keys sorted
// and numbers kept as written, so equal input gives equal bytes everywhere.
// HTML characters stay as they are, as Python's json.dumps writes them.
func canonicalJSON(v json.RawMessage) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// fillTyped reads the known keys of Raw into the typed fields, refusing
// values of the wrong JSON type.
func (ix *Index) fillTyped() error {
	var err error
	str := func(key string, required bool) string {
		if err != nil {
			return ""
		}
		v, ok := ix.Raw[key]
		if !ok || string(v) == "null" {
			if required {
				err = gatehouse.FieldErrorf(key, "info/index.json has no %s.", Quote(key))
			}
			return ""
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			err = gatehouse.FieldErrorf(key, "In info/index.json, %s must be a string, not %s.", Quote(key), jsonKind(v))
			return ""
		}
		err = checkText(key, s)
		return s
	}
	ix.Name = str("name", true)
	ix.Version = str("version", true)
	ix.Build = str("build", true)
	ix.Subdir = str("subdir", true)
	ix.License = str("license", false)
	str("license_family", false)
	str("platform", false)
	str("arch", false)
	str("preferred_env", false)
	if f := str("features", false); err == nil {
		err = checkFeatures("features", f)
	}
	if p := str("python_site_packages_path", false); err == nil && p != "" {
		if checkEntryPath(p) != nil {
			err = gatehouse.FieldErrorf("python_site_packages_path", "In info/index.json, \"python_site_packages_path\" is %s; it must be a plain relative path inside the environment, such as \"lib/python3.13t/site-packages\" (CEP-17).", Quote(p))
		}
	}
	if err != nil {
		return err
	}
	if ix.BuildNumber, err = nonNegativeInt(ix.Raw, "build_number", true); err != nil {
		return err
	}
	ts, err := nonNegativeInt(ix.Raw, "timestamp", false)
	if err != nil {
		return err
	}
	ix.Timestamp = ts
	if ts > 0 && ts <= maxSecondsTimestamp {
		ix.Timestamp = ts * 1000
	}
	if ix.Depends, err = specList(ix.Raw, "depends"); err != nil {
		return err
	}
	if ix.Constrains, err = specList(ix.Raw, "constrains"); err != nil {
		return err
	}
	if v, ok := ix.Raw["track_features"]; ok && string(v) != "null" {
		var s string
		var l []string
		if json.Unmarshal(v, &s) != nil && json.Unmarshal(v, &l) != nil {
			return gatehouse.FieldErrorf("track_features", "In info/index.json, \"track_features\" must be a string or a list of strings, not %s.", jsonKind(v))
		}
		for _, f := range append(l, s) {
			if err := checkFeatures("track_features", f); err != nil {
				return err
			}
		}
	}
	if v, ok := ix.Raw["noarch"]; ok {
		var b bool
		switch {
		case string(v) == "null":
		case json.Unmarshal(v, &ix.Noarch) == nil:
		case json.Unmarshal(v, &b) == nil:
			// Old conda-build wrote "noarch": true for generic noarch; conda
			// still reads it that way.
			if b {
				ix.Noarch = "generic"
			}
		default:
			return gatehouse.FieldErrorf("noarch", "In info/index.json, \"noarch\" must be \"generic\" or \"python\", not %s.", jsonKind(v))
		}
	}
	return nil
}

func nonNegativeInt(raw map[string]json.RawMessage, key string, required bool) (int64, error) {
	v, ok := raw[key]
	if !ok {
		if required {
			return 0, gatehouse.FieldErrorf(key, "info/index.json has no %s.", Quote(key))
		}
		return 0, nil
	}
	var n int64
	if json.Unmarshal(v, &n) != nil || n < 0 {
		return 0, gatehouse.FieldErrorf(key, "In info/index.json, %s must be a non-negative integer, not %s.", Quote(key), jsonKind(v))
	}
	return n, nil
}

func specList(raw map[string]json.RawMessage, key string) ([]string, error) {
	v, ok := raw[key]
	if !ok {
		return nil, nil
	}
	var l []string
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &l) != nil {
		return nil, gatehouse.FieldErrorf(key, "In info/index.json, %s must be a list of strings, not %s.", Quote(key), jsonKind(v))
	}
	for _, s := range l {
		if err := checkSpec(key, s); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// checkSpec refuses a dependency spec that is not in the strict match-spec
// grammar of matchspec.go (checklist F16): empty, huge, holding control,
// format or line-separator characters, or shaped in a way conda and rattler
// could read differently.
func checkSpec(key, s string) error {
	if strings.TrimSpace(s) == "" {
		return gatehouse.FieldErrorf(key, "In info/index.json, %s holds an empty entry.", Quote(key))
	}
	if len(s) > maxSpecLen {
		return gatehouse.FieldErrorf(key, "In info/index.json, an entry of %s is %d characters long; the limit is %d.", Quote(key), len(s), maxSpecLen)
	}
	if err := matchspec.Check(s); err != nil {
		return gatehouse.FieldErrorf(key, "In info/index.json, the entry %s of %s is not a match spec conda-build or rattler-build would write: %s (checklist F16).", Quote(s), Quote(key), err.Error())
	}
	return nil
}

// checkText refuses record text that is too long or holds a character that
// does not print: controls (U+0085 included), format characters such as
// U+200B ZERO WIDTH SPACE, line and paragraph separators (U+2028, U+2029),
// spaces other than U+0020, private-use and unassigned code points. Such
// characters only hide what a string says from the person reading it
// (checklist F16).
func checkText(key, s string) error {
	if len(s) > maxTextLen {
		return gatehouse.FieldErrorf(key, "In info/index.json, %s is %d bytes long; the limit is %d.", Quote(key), len(s), maxTextLen)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return gatehouse.FieldErrorf(key, "In info/index.json, %s holds the non-printing character %U; record text may hold only printable characters (checklist F16).", Quote(key), r)
		}
	}
	return nil
}

// checkFeatures checks features or track_features: feature names, as
// conda's FeatureMatch reads them, separated by spaces or commas. An empty
// string is allowed (conda-build writes "" for none).
func checkFeatures(key, s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLowerAlnum(c) && !(c >= 'A' && c <= 'Z') && c != '_' && c != '.' && c != '-' && c != '+' && c != ' ' && c != ',' {
			return gatehouse.FieldErrorf(key, "In info/index.json, %s is %s; it may hold only feature names (letters, digits, '_', '.', '-', '+') separated by spaces or commas.", Quote(key), Quote(s))
		}
	}
	return nil
}

// jsonKind names the JSON type of v for a message.
func jsonKind(v json.RawMessage) string {
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(v, ".eE-") {
		return "the number " + string(v)
	}
	return "the integer " + Quote(string(v))
}

// Validate checks the typed fields: name, version and build under CEP-26
// (checklist F9), the subdir against the platforms conda knows (F8, F16),
// noarch, the build number, the license text and the dependency lists as
// match specs (F16). With a non-zero now it also refuses a timestamp more than
// a day ahead of now, as protocols.md asks ("refuse a package whose
// timestamp is in the future"); Inspect passes a zero now, so the caller
// must call Validate with its clock before accepting a package.
func (ix *Index) Validate(now time.Time) error {
	if err := CheckName(ix.Name); err != nil {
		return err
	}
	if err := checkVersion(ix.Version); err != nil {
		return err
	}
	if err := checkBuild(ix.Build); err != nil {
		return err
	}
	if !condaname.KnownSubdir(ix.Subdir) {
		return gatehouse.FieldErrorf("subdir", "The subdir %s is not a platform conda knows: it must be \"noarch\" or one of conda's platforms, such as \"linux-64\", \"osx-arm64\" or \"win-64\" (checklist F8, F16).", Quote(ix.Subdir))
	}
	if err := checkText("license", ix.License); err != nil {
		return err
	}
	switch ix.Noarch {
	case "":
	case "generic", "python":
		if ix.Subdir != "noarch" {
			return gatehouse.FieldErrorf("subdir", "This is a noarch: %s package, but its subdir is %s; noarch packages belong in \"noarch\".", ix.Noarch, Quote(ix.Subdir))
		}
	default:
		return gatehouse.FieldErrorf("noarch", "noarch is %s; conda knows only \"generic\" and \"python\".", Quote(ix.Noarch))
	}
	if ix.BuildNumber < 0 {
		return gatehouse.FieldErrorf("build_number", "The build number is negative.")
	}
	if ix.Timestamp < 0 {
		return gatehouse.FieldErrorf("timestamp", "The timestamp is negative.")
	}
	for _, s := range ix.Depends {
		if err := checkSpec("depends", s); err != nil {
			return err
		}
	}
	for _, s := range ix.Constrains {
		if err := checkSpec("constrains", s); err != nil {
			return err
		}
	}
	if !now.IsZero() && ix.Timestamp > now.Add(clockSkew).UnixMilli() {
		return gatehouse.FieldErrorf("timestamp", "The package timestamp %s is in the future; check the clock of the machine that built it and rebuild.",
			time.UnixMilli(ix.Timestamp).UTC().Format(time.RFC3339))
	}
	return nil
}
