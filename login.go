package gatehouse

import (
	"net/url"
	"strings"
)

// LoginAt is what follows `gatehouse login --at` for the server at u: the
// host alone where the CLI's default scheme reaches it (https, or http for
// a loopback host), the full URL otherwise.
func LoginAt(u *url.URL) string {
	path := strings.TrimRight(u.Path, "/")
	host := u.Hostname()
	loopback := host == "localhost" || host == "127.0.0.1" || host == "::1"
	if path == "" && (u.Scheme == "https" || (u.Scheme == "http" && loopback)) {
		return u.Host
	}
	return u.Scheme + "://" + u.Host + path
}

// LoginCommand is the full command that logs the CLI in to the server at
// u, as refusals name it.
func LoginCommand(u *url.URL) string { return "gatehouse login --at " + LoginAt(u) }

// KeysPageURL is the address of Account Settings → API Keys on the server
// at u, as refusals link it.
func KeysPageURL(u *url.URL) string {
	v := *u
	v.Path = strings.TrimRight(u.Path, "/") + "/settings/keys"
	v.RawQuery, v.Fragment = "", ""
	return v.String()
}
