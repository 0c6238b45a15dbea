package server

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// Found in the attack pass: password checks were unbounded and raced
// (checklist E7, E10), and the password change was a guessing oracle (E11).

// statuses runs n requests at once and counts the answers by status.
func (f *fixture) statuses(n int, mk func(i int) call) map[int]int {
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := f.do(mk(i))
			mu.Lock()
			got[a.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return got
}

// checked counts the sign-in attempts that reached a password check:
// failures audited as wrong passwords, plus successes.
func (f *fixture) checked(username string) (wrong, right int) {
	f.t.Helper()
	events, err := f.store.ListAudit(f.t.Context(), gatehouse.AuditFilter{Action: gatehouse.AuditSignIn, Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range events {
		if e.Actor != username {
			continue
		}
		switch {
		case e.Success:
			right++
		case e.Detail == "wrong username or password":
			wrong++
		}
	}
	return wrong, right
}

func TestConcurrentGuessesNeverExceedTheAccountsBudget(t *testing.T) {
	// checklist E7, E10: 39 wrong passwords and the right one, all at
	// once, from many addresses. The account's budget (10) is taken
	// before each check, so at most 10 checks run; the old code checked
	// first and counted after, and let 26 through.
	f := newFixture(t)
	f.user("alice", false)
	got := f.statuses(40, func(i int) call {
		pw := "wrong-guess-" + strings.Repeat("x", i%7)
		if i == 20 {
			pw = testPassword
		}
		return call{method: "GET", path: "/api/account", auth: basic("alice", pw), remote: "198.51.100." + itoa(i+1) + ":1234"}
	})
	wrong, right := f.checked("alice")
	if wrong+right > 10 {
		t.Errorf("%d passwords were checked (%d wrong, %d right); the account's budget is 10", wrong+right, wrong, right)
	}
	if got[http.StatusTooManyRequests] < 30 {
		t.Errorf("answers %v: want at least 30 refused with 429", got)
	}
}

func TestConcurrentWrongPasswordsFromOneAddressAreRefusedOverBudget(t *testing.T) {
	// checklist E10: 100 wrong passwords at once from one address, over
	// several accounts: the address's budget (30) bounds the checks, the
	// rest get 429 with Retry-After at once instead of each costing an
	// argon2id hash.
	f := newFixture(t)
	for _, u := range []string{"u0", "u1", "u2", "u3", "u4"} {
		f.user(u, false)
	}
	var mu sync.Mutex
	retry := 0
	var wg sync.WaitGroup
	got := map[int]int{}
	for i := range 100 {
		wg.Go(func() {
			a := f.do(call{method: "GET", path: "/api/account", auth: basic("u"+itoa(i%5), "wrong-"+itoa(i))})
			mu.Lock()
			got[a.status]++
			if a.status == http.StatusTooManyRequests && a.header.Get("Retry-After") != "" {
				retry++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if got[http.StatusUnauthorized] > 30 || got[http.StatusTooManyRequests] < 70 || retry != got[http.StatusTooManyRequests] {
		t.Errorf("answers %v (%d with Retry-After): want at most 30 checked, the rest 429 with Retry-After", got, retry)
	}
}

func TestThePasswordChangeIsNoGuessingOracle(t *testing.T) {
	// checklist E11: a stolen session or user-scope key guessing
	// current_password meets the sign-in's budget.
	f := newFixture(t)
	f.user("bob", false)
	key, _ := f.createKey("bob", "stolen", []string{"user"}, 24*time.Hour)
	got := f.statuses(40, func(i int) call {
		return call{method: "POST", path: "/api/account/password", auth: bearer(key), remote: "203.0.113.7:1",
			body: map[string]any{"current_password": "guess-" + itoa(i), "new_password": "a-new-password-1"}}
	})
	if got[http.StatusTooManyRequests] < 30 || got[http.StatusBadRequest] > 10 {
		t.Errorf("answers %v: want at most 10 guesses checked, the rest 429", got)
	}
	// The budget is the account's: the right password from elsewhere is
	// refused too until it refills.
	a := f.do(call{method: "POST", path: "/api/account/password", auth: bearer(key), remote: "192.0.2.99:1",
		body: map[string]any{"current_password": testPassword, "new_password": "a-new-password-1"}})
	if a.status != http.StatusTooManyRequests {
		t.Errorf("the right password right after 40 guesses: %d, want 429", a.status)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
