package credstore

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ServiceName is the keyring service anaconda-auth stores its entries under,
// in the keyring file and in the OS keyring alike.
const ServiceName = "Anaconda Cloud"

// maxKeyringFileSize bounds what is read from the keyring file; a real one
// holds a few entries of a few hundred bytes each.
const maxKeyringFileSize = 4 << 20

// keyringDoc is the parsed keyring file: {"<service>": {"<domain>":
// "<base64 entry>"}}, every service and domain in file order, each value as
// the exact bytes read so foreign entries are written back untouched.
type keyringDoc struct {
	top object
}

// parseKeyringFile parses the keyring file's bytes. An empty file (which
// anaconda-auth creates when it probes that the path is writable) is an
// empty keyring. Anything else that is not a JSON object is an error:
// unlike anaconda-auth, which reads a corrupt file as empty and then
// overwrites it, we refuse to touch it.
func parseKeyringFile(data []byte) (*keyringDoc, error) {
	if len(bytes.Trim(data, " \t\r\n")) == 0 {
		return &keyringDoc{}, nil
	}
	top, err := parseObject(data)
	if err != nil {
		return nil, err
	}
	return &keyringDoc{top: top}, nil
}

// service returns our service's domains, or nil when the file has none.
func (d *keyringDoc) service() (object, error) {
	raw, ok := d.top.get(ServiceName)
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	svc, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("the value under %q is not a JSON object", ServiceName)
	}
	return svc, nil
}

// find returns the stored key that matches domain: the exact key first,
// then any key that normalizes to it (a file written by hand or by a client
// that kept the port or upper case).
func findDomain(svc object, domain string) (string, json.RawMessage, bool) {
	if raw, ok := svc.get(domain); ok {
		return domain, raw, true
	}
	for _, m := range svc {
		if k, err := DomainKey(m.key); err == nil && k == domain {
			return m.key, m.raw, true
		}
	}
	return "", nil, false
}

// lookup returns the entry for domain (already a DomainKey), or nil.
func (d *keyringDoc) lookup(domain string) (*Entry, error) {
	svc, err := d.service()
	if err != nil {
		return nil, err
	}
	key, raw, ok := findDomain(svc, domain)
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var value string
	if err := json.Unmarshal(raw, &value); err != nil {
		return nil, fmt.Errorf("the entry for %q is not a string", key)
	}
	e, err := decodeEntry(value)
	if err != nil {
		return nil, fmt.Errorf("the entry for %q: %w", key, err)
	}
	if e.Domain == "" {
		e.Domain = domain
	}
	return e, nil
}

// put stores e under domain, replacing the entry that matches it (in its
// position, as a Python dict assignment does) and leaving every other
// service and domain as it was.
func (d *keyringDoc) put(domain string, e *Entry) error {
	svc, err := d.service()
	if err != nil {
		return err
	}
	value := appendPythonString(nil, encodeEntry(e, domain))
	// When only a differently spelled key matches (the exact key is absent),
	// rename it in place so the file keeps one entry per server.
	if old, _, ok := findDomain(svc, domain); ok && old != domain {
		for i := range svc {
			if svc[i].key == old {
				svc[i] = member{key: domain, raw: value}
				break
			}
		}
	} else {
		svc = svc.set(domain, value)
	}
	d.setService(svc)
	return nil
}

// remove deletes every entry that matches domain and reports whether there
// was one.
func (d *keyringDoc) remove(domain string) (bool, error) {
	svc, err := d.service()
	if err != nil {
		return false, err
	}
	found := false
	for {
		key, _, ok := findDomain(svc, domain)
		if !ok {
			break
		}
		svc, _ = svc.remove(key)
		found = true
	}
	if found {
		d.setService(svc)
	}
	return found, nil
}

func (d *keyringDoc) setService(svc object) {
	d.top = d.top.set(ServiceName, appendPythonObject(nil, svc))
}

// encode returns the file bytes exactly as anaconda-auth's json.dump
// writes them: one line, ", " and ": " separators, no trailing newline.
func (d *keyringDoc) encode() []byte {
	return appendPythonObject(nil, d.top)
}
