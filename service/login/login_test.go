package login

import "testing"

func TestPKCEAcceptsOnlyTheVerifierOfTheChallenge(t *testing.T) {
	verifier := "a-verifier-of-at-least-forty-three-characters-long"
	challenge := "IVwqw-RbcfSCohPiwFj5_rcK5SITNl8PHeuEfqi9ouM" // base64url(SHA-256(verifier))
	if !pkceMatches(verifier, challenge) {
		t.Fatal("the verifier of the challenge was refused")
	}
	for _, bad := range []string{"", "short", verifier + "x", verifier[:42], verifier + "\x00"} {
		if pkceMatches(bad, challenge) {
			t.Errorf("verifier %q accepted", bad)
		}
	}
}
