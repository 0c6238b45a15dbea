package authn

import (
	"net/http"
	"testing"
)

func TestConflictingCredentialsAreRefused(t *testing.T) {
	// checklist B4: a header and a /t/ key that disagree are never "first wins".
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer gk-one")
	if _, err := Credential(r, "gk-two"); err == nil {
		t.Fatal("two different keys were accepted")
	}
	c, err := Credential(r, "gk-one")
	if err != nil || c.Key != "gk-one" {
		t.Fatalf("the same key twice: %v %v", c, err)
	}
}
