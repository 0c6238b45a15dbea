package credstore

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Entry versions this package reads and writes. anaconda-auth v0.15 writes
// 2; older releases wrote 1 or left the field out (read as 1).
const (
	legacyEntryVersion  = 1
	currentEntryVersion = 2
)

// RepoToken is a per-organization repository token, as anaconda-auth keeps
// them beside the API key.
type RepoToken struct {
	Token   string
	OrgName string
}

// Entry is what is stored for one server: the API key and what anaconda-auth
// keeps with it. Version is the entry format version: 1 or 2 as read; 0 on a
// new entry means "current" (2) when saved.
type Entry struct {
	Domain     string
	APIKey     string
	Username   string
	RepoTokens []RepoToken
	Version    int

	// extra holds fields this package does not know, kept so a read,
	// modify and save cycle does not drop what a newer client wrote.
	extra object
	// versionAbsent records an entry stored without "version" (read as 1),
	// so saving it unchanged writes the same bytes back.
	versionAbsent bool
}

// encodeEntry returns the keyring value for e: base64 (standard alphabet,
// padded) of the compact JSON pydantic's model_dump_json(exclude_none=True)
// produces, fields in anaconda-auth's declaration order.
func encodeEntry(e *Entry, domain string) string {
	version := e.Version
	if version == 0 {
		version = currentEntryVersion
	}
	b := make([]byte, 0, 128+len(e.APIKey))
	b = append(b, `{"domain":`...)
	b = appendCompactString(b, domain)
	if e.APIKey != "" {
		b = append(b, `,"api_key":`...)
		b = appendCompactString(b, e.APIKey)
	}
	if e.Username != "" {
		b = append(b, `,"username":`...)
		b = appendCompactString(b, e.Username)
	}
	b = append(b, `,"repo_tokens":[`...)
	for i, t := range e.RepoTokens {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"token":`...)
		b = appendCompactString(b, t.Token)
		if t.OrgName != "" {
			b = append(b, `,"org_name":`...)
			b = appendCompactString(b, t.OrgName)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if !(e.versionAbsent && version == legacyEntryVersion) {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(version), 10)
	}
	for _, m := range e.extra {
		b = append(b, ',')
		b = appendCompactString(b, m.key)
		b = append(b, ':')
		b = append(b, compactJSON(m.raw)...)
	}
	b = append(b, '}')
	return base64.StdEncoding.EncodeToString(b)
}

func compactJSON(raw json.RawMessage) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

// decodeEntry parses a keyring value. It accepts what Python's lenient
// base64 decoder accepts in practice (surrounding space, missing padding)
// and the fields pydantic would accept for anaconda-auth's TokenInfo.
func decodeEntry(value string) (*Entry, error) {
	value = strings.TrimSpace(value)
	raw, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(value, "="))
		if err != nil {
			return nil, errors.New("the value is not base64")
		}
	}
	obj, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("the value is not a base64-encoded JSON object: %w", err)
	}
	e := &Entry{Version: legacyEntryVersion, versionAbsent: true}
	for _, m := range obj {
		var err error
		switch m.key {
		case "domain":
			e.Domain, err = optionalString(m.raw)
		case "api_key":
			e.APIKey, err = optionalString(m.raw)
		case "username":
			e.Username, err = optionalString(m.raw)
		case "repo_tokens":
			e.RepoTokens, err = decodeRepoTokens(m.raw)
		case "version":
			e.Version, err = decodeVersion(m.raw)
			e.versionAbsent = string(m.raw) == "null"
		default:
			e.extra = append(e.extra, m)
		}
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", m.key, err)
		}
	}
	return e, nil
}

func optionalString(raw json.RawMessage) (string, error) {
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errors.New("not a string")
	}
	if s == nil {
		return "", nil
	}
	return *s, nil
}

func decodeRepoTokens(raw json.RawMessage) ([]RepoToken, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, errors.New("not a list")
	}
	tokens := make([]RepoToken, 0, len(items))
	for i, item := range items {
		obj, err := parseObject(item)
		if err != nil {
			return nil, fmt.Errorf("item %d is not an object", i)
		}
		var t RepoToken
		tokenRaw, ok := obj.get("token")
		if !ok {
			return nil, fmt.Errorf("item %d has no token", i)
		}
		if t.Token, err = optionalString(tokenRaw); err != nil {
			return nil, fmt.Errorf("item %d: token is %w", i, err)
		}
		if orgRaw, ok := obj.get("org_name"); ok {
			if t.OrgName, err = optionalString(orgRaw); err != nil {
				return nil, fmt.Errorf("item %d: org_name is %w", i, err)
			}
		}
		tokens = append(tokens, t)
	}
	return tokens, nil
}

func decodeVersion(raw json.RawMessage) (int, error) {
	if string(raw) == "null" {
		return legacyEntryVersion, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, errors.New("not a number")
	}
	switch f {
	case legacyEntryVersion, currentEntryVersion:
		return int(f), nil
	}
	return 0, fmt.Errorf("version %s is not one this gatehouse reads (1 or 2); it was written by a newer client, so upgrade gatehouse", raw)
}
