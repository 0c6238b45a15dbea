package ratelimit_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gatehouse-dev/gatehouse/ratelimit"
)

func ExampleLimiter_Reserve() {
	l := ratelimit.New[string](ratelimit.Options{Burst: 2, Refill: 30 * time.Second})
	subject := ratelimit.AddrSubject(netip.MustParseAddr("2001:db8::7"), ratelimit.DefaultIPv6PrefixLen)
	checkPassword := func(pw string) bool { return pw == "correct horse" } // stands for argon2

	for _, pw := range []string{"correct horse", "guess1", "guess2", "correct horse"} {
		r, ok, retryAfter := l.Reserve(subject)
		if !ok {
			fmt.Printf("%s: 429, retry after %v\n", subject, retryAfter.Round(time.Second))
			continue
		}
		if checkPassword(pw) {
			r.Succeeded()
			fmt.Println("signed in")
		} else {
			r.Failed()
			fmt.Println("wrong password")
		}
	}
	// Output:
	// signed in
	// wrong password
	// wrong password
	// 2001:db8::/64: 429, retry after 30s
}
