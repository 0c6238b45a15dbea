package apikey_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/apikey"
)

// A server creates a key, shows it to its owner once, and stores only the
// hash and the hint.
func ExampleGenerate() {
	key, err := apikey.Generate()
	if err != nil {
		panic(err)
	}
	hash := apikey.Hash(key) // store this
	hint := apikey.Hint(key) // and this, for lists

	fmt.Println(len(key), key[:len(apikey.Prefix)], apikey.Check(key) == nil)
	fmt.Println(len(hash), len([]rune(hint)))
	// Output:
	// 52 gk- true
	// 32 12
}

// GenerateFrom makes tests deterministic.
func ExampleGenerateFrom() {
	key, _ := apikey.GenerateFrom(bytes.NewReader(make([]byte, 32)))
	fmt.Println(key)
	// Output: gk-00000000000000000000000000000000000000000000EhatJ
}

// Check turns away typos and junk before any database lookup.
func ExampleCheck() {
	key := "gk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf0cZWXt"
	typo := "gk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlfOcZWXt" // 0 → O

	fmt.Println(apikey.Check(key))
	fmt.Println(errors.Is(apikey.Check(typo), apikey.ErrChecksum))
	fmt.Println(errors.Is(apikey.Check("Bearer nonsense"), apikey.ErrMalformed))
	// Output:
	// <nil>
	// true
	// true
}

func ExampleHint() {
	fmt.Println(apikey.Hint("gk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf0cZWXt"))
	// Output: gk-003a…ZWXt
}

// Secret scanners find keys with Pattern, then drop look-alikes with Check.
func ExamplePattern() {
	log := `curl -H "Authorization: Bearer gk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf0cZWXt" https://gatehouse.example`
	for _, m := range apikey.Pattern.FindAllString(log, -1) {
		fmt.Println(apikey.Hint(m), apikey.Check(m) == nil)
	}
	// Output: gk-003a…ZWXt true
}
