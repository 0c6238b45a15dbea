package conda

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Record returns the canonical repodata record of a package: the keys of
// its index.json that recordKeys allows (from ix.Raw; the rest are dropped,
// checklist F16) plus md5,
// sha256 and size of the file as served and CEP-47 indexed_timestamp (ms,
// set once when the server first indexes the package). The bytes are
// compact JSON with keys sorted at every level, so the same input gives the
// same bytes on every machine; store them once and build repodata by
// concatenation (WriteRepodata). ix must come from ParseIndexJSON or
// Inspect: Record checks Raw again and refuses an Index without it.
func Record(ix *Index, md5, sha256 string, size int64, indexedTimestampMS int64) ([]byte, error) {
	if len(ix.Raw) == 0 {
		return nil, gatehouse.Errorf(gatehouse.EINTERNAL, "Record needs an Index read by ParseIndexJSON or Inspect.")
	}
	if !IsLowerHex(md5, 32) {
		return nil, gatehouse.FieldErrorf("md5", "md5 must be 32 lowercase hex digits.")
	}
	if !IsLowerHex(sha256, 64) {
		return nil, gatehouse.FieldErrorf("sha256", "sha256 must be 64 lowercase hex digits.")
	}
	if size < 0 || indexedTimestampMS < 0 {
		return nil, gatehouse.FieldErrorf("size", "size and indexed_timestamp must not be negative.")
	}
	// The record is what clients solve with: check Raw, not only the typed
	// fields, which a caller could have changed.
	check := &Index{Raw: ix.Raw}
	if err := check.fillTyped(); err != nil {
		return nil, err
	}
	if err := check.Validate(time.Time{}); err != nil {
		return nil, err
	}
	rec := make(map[string]json.RawMessage, len(ix.Raw)+4)
	for k, v := range ix.Raw {
		if recordKeys[k] {
			rec[k] = v
		}
	}
	rec["md5"] = json.RawMessage(strconv.Quote(md5))
	rec["sha256"] = json.RawMessage(strconv.Quote(sha256))
	rec["size"] = json.RawMessage(strconv.FormatInt(size, 10))
	rec["indexed_timestamp"] = json.RawMessage(strconv.FormatInt(indexedTimestampMS, 10))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil { // map keys come out sorted
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// IsLowerHex reports whether s is n lowercase hex digits.
func IsLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
