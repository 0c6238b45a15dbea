package credstore_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/gatehouse-dev/gatehouse/credstore"
)

func Example() {
	home, err := os.MkdirTemp("", "credstore-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(home)
	// Everything is injected: no real home, environment or OS keyring.
	env := credstore.Env{HomeDir: home, SecretsDir: home, Getenv: func(string) string { return "" }}

	// gatehouse login --at https://packages.example.com saves the new key.
	if err := credstore.Save(env, &credstore.Entry{Domain: "https://packages.example.com", APIKey: "gk-example"}); err != nil {
		panic(err)
	}

	// Any later command finds it by host, however the host is written.
	e, src, err := credstore.Lookup(env, "Packages.Example.com:443")
	fmt.Println(e.APIKey, src, err)

	// A server with no key gets a sentence that says what to do.
	_, _, err = credstore.Lookup(env, "http://other.example:8080/repo")
	fmt.Println(errors.Is(err, credstore.ErrNotFound), err)
	// Output:
	// gk-example anaconda-keyring <nil>
	// true No API key found for other.example:8080. Run: gatehouse login --at other.example:8080
}

func ExampleDomainKey() {
	for _, in := range []string{"host", "HOST:443", "https://host", "http://host:8080/path", "[::1]:8443"} {
		k, _ := credstore.DomainKey(in)
		fmt.Println(k)
	}
	// Output:
	// host
	// host
	// host
	// host:8080
	// [::1]:8443
}
