package e2e

import "testing"

// The secret check must catch any 8 characters of a key, and must not
// take a key's public hint after a stray '.' for a leak.
func TestSecretFinder(t *testing.T) {
	jwt := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxMjMifQ.gk-AxOo9aB3cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3wX4yZ5"
	f := NewSecretFinder([]string{jwt, "plain-password.with.dots"})
	for _, leak := range []string{"IiwidHlw", ".eyJzdWI", "gk-AxOo9", "7kL8mN9o", "password.wit", "rd.with."} {
		if f.Find([]byte("xx"+leak+"yy")) == "" {
			t.Errorf("%q was not found", leak)
		}
	}
	for _, public := range []string{"\\x2e.gk-AxOo…4yZ5", "hash.gk-AxOo…yZ5"} {
		if hit := f.Find([]byte(public)); hit != "" {
			t.Errorf("the hint in %q was taken for a leak: %q", public, hit)
		}
	}
}
