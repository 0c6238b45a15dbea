package server

import (
	"regexp"
	"time"
)

// What the login and key rules promise, as the tests hold the server to
// it (the values live in the service package, unexported).
const (
	codeLifetime        = 5 * time.Minute
	deviceLifetime      = 10 * time.Minute
	accessTokenLifetime = 10 * time.Minute
	deviceInterval      = 5 * time.Second
	oauthKeepExpired    = time.Hour
	grantTypeDevice     = "urn:ietf:params:oauth:grant-type:device_code"
)

// keyLike matches anything shaped like one of our keys.
var keyLike = regexp.MustCompile(`gk-[0-9A-Za-z]+`)
