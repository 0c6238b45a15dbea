package secret

import (
	"strings"
	"testing"
)

func TestSealedSecretsOpenOnlyWithTheirKeyAndContext(t *testing.T) {
	key, err := ParseSealKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewSealer(key)
	other, _ := NewSealer([]byte(strings.Repeat("k", 32)))
	sealed := s.Seal("client-secret-value", "org:1")
	if strings.Contains(sealed, "client-secret-value") || !strings.HasPrefix(sealed, SealedPrefix) {
		t.Fatalf("sealed = %q", sealed)
	}
	if again := s.Seal("client-secret-value", "org:1"); again == sealed {
		t.Error("sealing twice gave the same text: the nonce is not fresh")
	}
	tests := []struct {
		name    string
		s       *Sealer
		value   string
		context string
		ok      bool
	}{
		{"the same key and context open it", s, sealed, "org:1", true},
		{"another row's context does not", s, sealed, "org:2", false},
		{"another key does not", other, sealed, "org:1", false},
		{"a value cut short does not", s, sealed[:len(sealed)-4], "org:1", false},
		{"text without the prefix does not", s, "plain", "org:1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Open(tt.value, tt.context)
			if (err == nil) != tt.ok || (tt.ok && got != "client-secret-value") {
				t.Errorf("Open = %q, %v", got, err)
			}
		})
	}
	if _, err := ParseSealKey("c2hvcnQ="); err == nil {
		t.Error("a short key was accepted")
	}
}

// A key written in hex (openssl rand -hex 32) is the same key as its base64.
func TestParseSealKeyHexAndBase64Agree(t *testing.T) {
	hexKey, err := ParseSealKey("3031323334353637383961626364656630313233343536373839616263646566")
	if err != nil {
		t.Fatal(err)
	}
	b64Key, _ := ParseSealKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if string(hexKey) != string(b64Key) {
		t.Errorf("hex %x, base64 %x", hexKey, b64Key)
	}
	if _, err := ParseSealKey("30313233"); err == nil {
		t.Error("a short hex key was accepted")
	}
}
