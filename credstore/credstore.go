// Package credstore is where the gatehouse CLI finds and keeps API keys.
//
// It shares its files with anaconda-auth, the Python client: the config
// file ~/.anaconda/config.toml (table [plugin.auth]), the environment
// variables ANACONDA_AUTH_*, Docker secrets in /run/secrets, and the
// keyring file ~/.anaconda/keyring, a JSON object
//
//	{"Anaconda Cloud": {"<domain>": "<base64 of the entry's JSON>"}}
//
// written byte for byte as anaconda-auth writes it, so a key saved by one
// client is used by the other, and a keyring file copied to another machine
// works there. Entries are keyed by DomainKey: "host" or "host:port".
package credstore

import (
	"errors"
	"fmt"
	"strings"
)

// Source says where Lookup found a key.
type Source string

// Sources in the order Lookup tries them.
const (
	SourceEnv    Source = "env"              // ANACONDA_AUTH_API_KEY
	SourceSecret Source = "secret"           // <SecretsDir>/ANACONDA_AUTH_API_KEY
	SourceConfig Source = "config"           // api_key in [plugin.auth]
	SourceFile   Source = "anaconda-keyring" // the keyring file
	SourceSystem Source = "system"           // the OS keyring
)

// ErrNotFound is wrapped by the error Lookup and Delete return when there
// is no key for the server.
var ErrNotFound = errors.New("no API key found")

// notFoundError carries the sentence a person sees.
type notFoundError struct{ host string }

func (e *notFoundError) Error() string {
	return fmt.Sprintf("No API key found for %s. Run: gatehouse login --at %s", e.host, e.host)
}

func (e *notFoundError) Unwrap() error { return ErrNotFound }

// Lookup finds the API key for domain (anything DomainKey accepts; "" means
// the configured domain). It
// tries, in order: the ANACONDA_AUTH_API_KEY environment variable, the
// Docker secret of that name, api_key in the config file, then the store
// preferred_token_storage names (the keyring file, or the OS keyring). The
// first three apply to every server, as they do in anaconda-auth. With no
// key anywhere the error wraps ErrNotFound and says how to log in.
func Lookup(env Env, domain string) (*Entry, Source, error) {
	cfg, keySource, err := loadConfig(env)
	if err != nil {
		return nil, "", err
	}
	host, err := hostFor(cfg, domain)
	if err != nil {
		return nil, "", err
	}
	if cfg.APIKey != "" {
		return &Entry{Domain: host, APIKey: cfg.APIKey, Version: currentEntryVersion}, keySource, nil
	}

	var e *Entry
	var src Source
	switch cfg.PreferredTokenStorage {
	case StorageSystem:
		e, err = systemGet(env, cfg, host)
		src = SourceSystem
	default:
		e, err = fileGet(env, host)
		src = SourceFile
	}
	if err != nil {
		return nil, "", err
	}
	if e == nil || e.APIKey == "" {
		return nil, "", &notFoundError{host: host}
	}
	return e, src, nil
}

// Save stores e, keyed by DomainKey(e.Domain) (the configured domain when
// e.Domain is ""), in the store preferred_token_storage names. A key set
// in the environment, a Docker secret or the config file still wins in
// Lookup; the caller should say so. A new entry (Version 0) is written as
// version 2; an entry read by Lookup keeps the version it was read with.
func Save(env Env, e *Entry) error {
	if e == nil {
		return errors.New("credstore: Save called with a nil entry")
	}
	if e.Version < 0 || e.Version > currentEntryVersion {
		return fmt.Errorf("credstore: entry version %d is not 1 or 2", e.Version)
	}
	cfg, err := LoadConfig(env)
	if err != nil {
		return err
	}
	host, err := hostFor(cfg, e.Domain)
	if err != nil {
		return err
	}
	if cfg.PreferredTokenStorage == StorageSystem {
		return systemSet(env, cfg, host, e)
	}
	return filePut(env, host, e)
}

// Delete removes the entry for domain from the store
// preferred_token_storage names. With no entry there the error wraps
// ErrNotFound. Keys set in the environment, a Docker secret or the config
// file are not touched: the caller should tell the person to remove them.
func Delete(env Env, domain string) error {
	cfg, err := LoadConfig(env)
	if err != nil {
		return err
	}
	host, err := hostFor(cfg, domain)
	if err != nil {
		return err
	}
	var found bool
	if cfg.PreferredTokenStorage == StorageSystem {
		found, err = systemDelete(env, cfg, host)
	} else {
		found, err = fileDelete(env, host)
	}
	if err != nil {
		return err
	}
	if !found {
		return &notFoundError{host: host}
	}
	return nil
}

// hostFor normalizes the server a caller named, or the configured domain
// when it named none (anaconda-auth's default for TokenInfo too).
func hostFor(cfg *Config, domain string) (string, error) {
	if strings.TrimSpace(domain) == "" {
		if cfg.Domain == "" {
			return "", fmt.Errorf("no server given: name one with --at HOST, or set domain under [plugin.auth] in %s (or %s)", cfg.Path, EnvDomain)
		}
		domain = cfg.Domain
	}
	return DomainKey(domain)
}

// fileGet reads the entry for host from the keyring file.
func fileGet(env Env, host string) (*Entry, error) {
	path, err := env.KeyringPath()
	if err != nil {
		return nil, err
	}
	doc, _, err := readKeyring(env, path)
	if err != nil {
		return nil, err
	}
	e, err := doc.lookup(host)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; log in again to replace it", path, err)
	}
	return e, nil
}

// filePut stores e under host in the keyring file, under the directory
// lock, leaving every other entry as it was.
func filePut(env Env, host string, e *Entry) error {
	return updateKeyring(env, func(doc *keyringDoc) (bool, error) {
		return true, doc.put(host, e)
	})
}

func fileDelete(env Env, host string) (found bool, err error) {
	err = updateKeyring(env, func(doc *keyringDoc) (bool, error) {
		found, err = doc.remove(host)
		return found, err
	})
	return found, err
}

// readKeyring reads and parses the keyring file at path (checklist D5).
func readKeyring(env Env, path string) (*keyringDoc, bool, error) {
	data, exists, err := readPrivateFile(path, maxKeyringFileSize, env.Warnf)
	if err != nil {
		return nil, exists, err
	}
	doc, err := parseKeyringFile(data)
	if err != nil {
		return nil, exists, fmt.Errorf("%s is not valid JSON (%v); it was left untouched: fix it or move it aside, then log in again", path, err)
	}
	return doc, exists, nil
}

// updateKeyring runs change on the keyring file and writes the result
// atomically (checklist D6) when change reports a modification.
func updateKeyring(env Env, change func(*keyringDoc) (bool, error)) error {
	path, err := env.KeyringPath()
	if err != nil {
		return err
	}
	if err := mkdirPrivate(path); err != nil {
		return err
	}
	unlock, err := lockDir(dirOf(path))
	if err != nil {
		return err
	}
	defer unlock()
	removeStaleTemps(path)

	doc, _, err := readKeyring(env, path)
	if err != nil {
		return err
	}
	changed, err := change(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !changed {
		return nil
	}
	return writeFileAtomic(path, doc.encode(), 0o600)
}
