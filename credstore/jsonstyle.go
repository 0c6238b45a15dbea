package credstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// member is one key of a JSON object with its value kept as the exact bytes
// the file held, so entries we do not own are written back untouched.
type member struct {
	key string
	raw json.RawMessage
}

// object is a JSON object that keeps the order of its keys, like the Python
// dict anaconda-auth reads the file into.
type object []member

func (o object) get(key string) (json.RawMessage, bool) {
	for _, m := range o {
		if m.key == key {
			return m.raw, true
		}
	}
	return nil, false
}

// set replaces the value of key in place, or appends it, as assigning to a
// Python dict does.
func (o object) set(key string, raw json.RawMessage) object {
	for i := range o {
		if o[i].key == key {
			o[i].raw = raw
			return o
		}
	}
	return append(o, member{key: key, raw: raw})
}

func (o object) remove(key string) (object, bool) {
	for i := range o {
		if o[i].key == key {
			return append(o[:i:i], o[i+1:]...), true
		}
	}
	return o, false
}

var errNotObject = errors.New("not a JSON object")

// parseObject reads one JSON object and nothing after it. Duplicate keys
// keep their first position and their last value (Python's json.load).
func parseObject(data []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	var o object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		o = o.set(key, raw)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if rest := bytes.Trim(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return o, nil
}

// appendPythonObject writes o the way Python's json.dump does by default:
// ", " and ": " separators, keys escaped to ASCII, values as stored.
func appendPythonObject(b []byte, o object) []byte {
	b = append(b, '{')
	for i, m := range o {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendPythonString(b, m.key)
		b = append(b, ": "...)
		b = append(b, m.raw...)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendPythonString quotes s like json.dumps with ensure_ascii=True:
// everything outside printable ASCII becomes \uXXXX (lower-case hex,
// surrogate pairs above the BMP).
func appendPythonString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s { // invalid UTF-8 decodes as U+FFFD
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r >= ' ' && r <= '~':
			b = append(b, byte(r))
		case r > 0xffff:
			r -= 0x10000
			b = appendU4(b, 0xd800+(r>>10))
			b = appendU4(b, 0xdc00+(r&0x3ff))
		default:
			b = appendU4(b, r)
		}
	}
	return append(b, '"')
}

// appendCompactString quotes s like pydantic's model_dump_json: UTF-8 kept
// as is, only '"', '\\' and control characters escaped.
func appendCompactString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\ufffd"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		default:
			if c < ' ' {
				b = appendU4(b, rune(c))
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return append(b, '"')
}

func appendU4(b []byte, r rune) []byte {
	return append(b, '\\', 'u',
		hexDigits[(r>>12)&0xf], hexDigits[(r>>8)&0xf], hexDigits[(r>>4)&0xf], hexDigits[r&0xf])
}
