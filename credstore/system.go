package credstore

import (
	"errors"
	"fmt"

	gokeyring "github.com/zalando/go-keyring"
)

// Keyring is an OS keyring: a store of secrets by service and user. Get
// and Delete return an error wrapping ErrNotFound when there is no item.
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// ErrKeyringUnavailable is wrapped by errors from the system store when no
// OS keyring can be reached (no D-Bus Secret Service on a server or CI).
var ErrKeyringUnavailable = errors.New("the system keyring is not available")

// osKeyring is the default Keyring: Keychain on macOS, the Secret Service
// over D-Bus on Linux, the Credential Manager on Windows. Python's keyring
// library, which anaconda-auth uses, stores items under the same service
// and user attributes, so the two clients see each other's entries.
type osKeyring struct{}

func (osKeyring) Get(service, user string) (string, error) {
	v, err := gokeyring.Get(service, user)
	if errors.Is(err, gokeyring.ErrNotFound) {
		return "", fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return v, err
}

func (osKeyring) Set(service, user, password string) error {
	return gokeyring.Set(service, user, password)
}

func (osKeyring) Delete(service, user string) error {
	err := gokeyring.Delete(service, user)
	if errors.Is(err, gokeyring.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func (e Env) osKeyring() Keyring {
	if e.OSKeyring != nil {
		return e.OSKeyring
	}
	return osKeyring{}
}

func isNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, gokeyring.ErrNotFound)
}

// systemError explains a failing OS keyring and how to do without it.
func systemError(cfg *Config, err error) error {
	if errors.Is(err, gokeyring.ErrSetDataTooBig) {
		return fmt.Errorf("the system keyring refused the entry as too large (%w); set preferred_token_storage = %q under [plugin.auth] in %s to keep keys in the keyring file instead", err, StorageFile, cfg.Path)
	}
	return fmt.Errorf("%w (%v). Keys go to the OS keyring because preferred_token_storage = %q; to keep them in the file ~/.anaconda/keyring instead, set preferred_token_storage = %q under [plugin.auth] in %s (or export %s=%s)",
		ErrKeyringUnavailable, err, StorageSystem, StorageFile, cfg.Path, EnvPreferredTokenStorage, StorageFile)
}

func systemGet(env Env, cfg *Config, domain string) (*Entry, error) {
	value, err := env.osKeyring().Get(ServiceName, domain)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, systemError(cfg, err)
	}
	e, err := decodeEntry(value)
	if err != nil {
		return nil, fmt.Errorf("the system keyring entry %q for %s: %w; log in again to replace it", ServiceName, domain, err)
	}
	if e.Domain == "" {
		e.Domain = domain
	}
	return e, nil
}

func systemSet(env Env, cfg *Config, domain string, e *Entry) error {
	if err := env.osKeyring().Set(ServiceName, domain, encodeEntry(e, domain)); err != nil {
		return systemError(cfg, err)
	}
	return nil
}

func systemDelete(env Env, cfg *Config, domain string) (bool, error) {
	err := env.osKeyring().Delete(ServiceName, domain)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, systemError(cfg, err)
	}
	return true, nil
}
