package orgtoken

import (
	"strings"

	"github.com/gatehouse-dev/gatehouse/apikey"
)

// MaxOrgs is how many o/ tokens ParseUserAgent keeps; the plugin sends one
// per org_token file it finds, which is rarely more than two.
const MaxOrgs = 4

// Agent is what a conda User-Agent says about the client: conda's version
// and platform, and the anaconda-anon-usage tokens. Every field is a
// substring of the User-Agent it came from (nothing is copied). Tokens
// that do not match the plugin's pattern ValidToken are left out.
type Agent struct {
	Conda    string // conda's version, from "conda/26.7.1"
	Platform string // the system field, "Linux/6.1.0-18-amd64"
	AAU      string // anaconda-anon-usage's version, from "aau/0.8.1"
	Client   string // c/: one per user and machine
	Session  string // s/: one per conda command
	Env      string // e/: one per environment
	Machine  string // m/: the first machine token
	// Installer is the first i/ token.
	Installer string
	// Orgs holds the o/ tokens, NOrgs of them.
	Orgs  [MaxOrgs]string
	NOrgs int
}

// ParseUserAgent reads ua. It never fails: what it does not understand it
// skips. It does not allocate.
func ParseUserAgent(ua string) Agent {
	var a Agent
	for ua != "" {
		var f string
		i := strings.IndexByte(ua, ' ')
		if i < 0 {
			f, ua = ua, ""
		} else {
			f, ua = ua[:i], ua[i+1:]
		}
		name, value, ok := strings.Cut(f, "/")
		if !ok || value == "" {
			continue
		}
		switch name {
		case "conda":
			if a.Conda == "" {
				a.Conda = value
			}
		case "Linux", "Darwin", "Windows", "FreeBSD", "OpenBSD", "NetBSD":
			if a.Platform == "" {
				a.Platform = f
			}
		case "aau":
			a.AAU = value
		case "c", "s", "e", "m", "i", "o":
			if !ValidToken(value) {
				continue
			}
			switch name {
			case "c":
				a.Client = value
			case "s":
				a.Session = value
			case "e":
				a.Env = value
			case "m":
				if a.Machine == "" {
					a.Machine = value
				}
			case "i":
				if a.Installer == "" {
					a.Installer = value
				}
			case "o":
				if a.NOrgs < MaxOrgs {
					a.Orgs[a.NOrgs] = value
					a.NOrgs++
				}
			}
		}
	}
	return a
}

// HasOrg reports quickly whether ua may carry an o/ token, so requests
// without one skip the parse.
func HasOrg(ua string) bool {
	return strings.HasPrefix(ua, "o/") || strings.Contains(ua, " o/")
}

// ValidToken reports whether s matches anaconda-anon-usage's token pattern
// [A-Za-z0-9_-]{1,36}.
func ValidToken(s string) bool {
	if len(s) == 0 || len(s) > 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if apikey.Digit(c) < 0 && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// RedactUserAgent returns ua with the value of every o/ token replaced
// by its Hint (or "…"), so that a stored or shown User-Agent never holds
// an organization's registration token. Other fields are kept.
func RedactUserAgent(ua string) string {
	if !HasOrg(ua) {
		return ua
	}
	fields := strings.Split(ua, " ")
	for i, f := range fields {
		if v, ok := strings.CutPrefix(f, "o/"); ok && v != "" {
			h := Hint(v)
			if h == "" {
				h = "…"
			}
			fields[i] = "o/" + h
		}
	}
	return strings.Join(fields, " ")
}
