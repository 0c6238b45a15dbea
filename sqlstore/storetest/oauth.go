package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse"
)

// codeGrant returns an unsaved authorization code grant approved by
// userID, as the server stores it on approval.
func codeGrant(userID int64, created time.Time) *gatehouse.OAuthGrant {
	return &gatehouse.OAuthGrant{
		Kind: gatehouse.GrantCode, CodeHash: randomHash(), ClientID: "gatehouse-cli",
		RedirectURI: "http://127.0.0.1:8000/auth/oidc", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		Scopes: gatehouse.ScopeUser | gatehouse.ScopeChannels, ClientName: "cli-buildhost",
		UserID: userID, Status: gatehouse.GrantApproved, CreatedAt: created, ExpiresAt: created.Add(5 * time.Minute),
	}
}

// deviceGrant returns an unsaved pending device grant with userCode.
func deviceGrant(userCode string, created time.Time) *gatehouse.OAuthGrant {
	return &gatehouse.OAuthGrant{
		Kind: gatehouse.GrantDevice, CodeHash: randomHash(), UserCode: userCode, ClientID: "gatehouse-cli",
		Scopes: gatehouse.ScopeChannels, ClientName: "cli-ci-runner-7",
		CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute),
	}
}

func mkGrant(t *testing.T, s gatehouse.Store, g *gatehouse.OAuthGrant) *gatehouse.OAuthGrant {
	t.Helper()
	must(t, s.CreateGrant(t.Context(), g))
	return g
}

func mkToken(t *testing.T, s gatehouse.Store, userID int64, created time.Time) *gatehouse.AccessToken {
	t.Helper()
	tok := &gatehouse.AccessToken{Hash: randomHash(), UserID: userID, Scopes: gatehouse.ScopeUser,
		ClientName: "cli-buildhost", CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute)}
	must(t, s.CreateAccessToken(t.Context(), tok))
	return tok
}

func grantByHash(t *testing.T, s gatehouse.Store, hash []byte) *gatehouse.OAuthGrant {
	t.Helper()
	g, err := s.GrantByCodeHash(t.Context(), hash)
	must(t, err)
	return g
}

var oauthTests = []test{
	{"creating a code grant sets its ID, and reading it by code hash returns it as stored", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		g := codeGrant(alice.ID, t0)
		must(t, s.CreateGrant(t.Context(), g))
		if g.ID <= 0 {
			t.Fatalf("ID = %d after CreateGrant", g.ID)
		}
		want := *codeGrant(alice.ID, t0)
		want.ID, want.CodeHash = g.ID, g.CodeHash
		want.CreatedAt, want.ExpiresAt = stored(t0), stored(t0.Add(5*time.Minute))
		equal(t, "the grant as CreateGrant left it", *g, want)
		equal(t, "GrantByCodeHash", *grantByHash(t, s, g.CodeHash), want)
	}},
	{"a device grant starts pending with nobody, and is found by its user code while pending", func(t *testing.T, s gatehouse.Store) {
		g := deviceGrant("BCDF-GHJK", t0)
		g.Status = ""
		mkGrant(t, s, g)
		equal(t, "status of a grant created without one", g.Status, gatehouse.GrantPending)
		got, err := s.GrantByUserCode(t.Context(), "BCDF-GHJK")
		must(t, err)
		equal(t, "GrantByUserCode", *got, *g)
		equal(t, "user of a pending grant", got.UserID, int64(0))
		for _, other := range []string{"", "bcdf-ghjk", "BCDFGHJK", "BCDF-GHJL"} {
			_, err := s.GrantByUserCode(t.Context(), other)
			wantCode(t, err, gatehouse.ENOTFOUND)
		}
	}},
	{"reading an unknown grant is not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		mkGrant(t, s, codeGrant(alice.ID, t0))
		_, err := s.GrantByCodeHash(t.Context(), randomHash())
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, err = s.GrantByCodeHash(t.Context(), nil)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"approving a device grant records who approved it, and it is no longer found by its user code", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		g := mkGrant(t, s, deviceGrant("BCDF-GHJK", t0))
		must(t, s.SetGrantStatus(t.Context(), g.ID, gatehouse.GrantPending, gatehouse.GrantApproved, alice.ID))
		got := grantByHash(t, s, g.CodeHash)
		equal(t, "status", got.Status, gatehouse.GrantApproved)
		equal(t, "user", got.UserID, alice.ID)
		_, err := s.GrantByUserCode(t.Context(), "BCDF-GHJK")
		wantCode(t, err, gatehouse.ENOTFOUND)
		// Using it keeps the approver when no user is given.
		must(t, s.SetGrantStatus(t.Context(), g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0))
		got = grantByHash(t, s, g.CodeHash)
		equal(t, "status after use", got.Status, gatehouse.GrantUsed)
		equal(t, "user after use", got.UserID, alice.ID)
	}},
	{"denying a device grant records who denied it", func(t *testing.T, s gatehouse.Store) {
		bob := mkUser(t, s, "bob")
		g := mkGrant(t, s, deviceGrant("BCDF-GHJK", t0))
		must(t, s.SetGrantStatus(t.Context(), g.ID, gatehouse.GrantPending, gatehouse.GrantDenied, bob.ID))
		got := grantByHash(t, s, g.CodeHash)
		equal(t, "status", got.Status, gatehouse.GrantDenied)
		equal(t, "user", got.UserID, bob.ID)
		wantCode(t, s.SetGrantStatus(t.Context(), g.ID, gatehouse.GrantPending, gatehouse.GrantApproved, bob.ID), gatehouse.ECONFLICT)
	}},
	{"a code is used once: the second move from approved to used conflicts (checklist D1)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		g := mkGrant(t, s, codeGrant(alice.ID, t0))
		must(t, s.SetGrantStatus(t.Context(), g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0))
		wantCode(t, s.SetGrantStatus(t.Context(), g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0), gatehouse.ECONFLICT)
		equal(t, "status", grantByHash(t, s, g.CodeHash).Status, gatehouse.GrantUsed)
	}},
	{"of many concurrent uses of one code exactly one succeeds, the others conflict (checklist D1)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		for round := range raceRounds {
			g := mkGrant(t, s, codeGrant(alice.ID, t0))
			errs := parallel(8, func(int) error {
				return s.SetGrantStatus(t.Context(), g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0)
			})
			won := 0
			for _, err := range errs {
				switch gatehouse.ErrorCode(err) {
				case "":
					won++
				case gatehouse.ECONFLICT:
				default:
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d of 8 concurrent uses succeeded, want exactly 1", round, won)
			}
		}
	}},
	{"status moves the lifecycle does not have are invalid and change nothing", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		g := mkGrant(t, s, codeGrant(alice.ID, t0))
		for _, m := range [][2]string{
			{gatehouse.GrantUsed, gatehouse.GrantApproved}, {gatehouse.GrantApproved, gatehouse.GrantPending},
			{gatehouse.GrantPending, gatehouse.GrantUsed}, {gatehouse.GrantDenied, gatehouse.GrantApproved},
			{gatehouse.GrantApproved, gatehouse.GrantApproved}, {gatehouse.GrantApproved, "revoked"}, {"", gatehouse.GrantUsed},
		} {
			wantCode(t, s.SetGrantStatus(t.Context(), g.ID, m[0], m[1], alice.ID), gatehouse.EINVALID)
		}
		equal(t, "status", grantByHash(t, s, g.CodeHash).Status, gatehouse.GrantApproved)
	}},
	{"moving an unknown grant, or to an unknown user, is not found", func(t *testing.T, s gatehouse.Store) {
		g := mkGrant(t, s, deviceGrant("BCDF-GHJK", t0))
		wantCode(t, s.SetGrantStatus(t.Context(), g.ID+1000, gatehouse.GrantPending, gatehouse.GrantApproved, 0), gatehouse.ENOTFOUND)
		wantCode(t, s.SetGrantStatus(t.Context(), g.ID, gatehouse.GrantPending, gatehouse.GrantApproved, 4242), gatehouse.ENOTFOUND)
		got := grantByHash(t, s, g.CodeHash)
		equal(t, "status", got.Status, gatehouse.GrantPending)
		equal(t, "user", got.UserID, int64(0))
	}},
	{"a grant's code hash is unique, and a user code is unique among pending grants only", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		first := mkGrant(t, s, deviceGrant("BCDF-GHJK", t0))
		dup := deviceGrant("XZXZ-XZXZ", t0)
		dup.CodeHash = bytes.Clone(first.CodeHash)
		wantCode(t, s.CreateGrant(t.Context(), dup), gatehouse.ECONFLICT)
		wantCode(t, s.CreateGrant(t.Context(), deviceGrant("BCDF-GHJK", t0)), gatehouse.ECONFLICT)
		// Once the first is no longer pending, its user code is free.
		must(t, s.SetGrantStatus(t.Context(), first.ID, gatehouse.GrantPending, gatehouse.GrantApproved, alice.ID))
		second := mkGrant(t, s, deviceGrant("BCDF-GHJK", t0))
		got, err := s.GrantByUserCode(t.Context(), "BCDF-GHJK")
		must(t, err)
		equal(t, "the pending grant with the code", got.ID, second.ID)
		// Code grants have no user code; any number of them coexist.
		mkGrant(t, s, codeGrant(alice.ID, t0))
		mkGrant(t, s, codeGrant(alice.ID, t0))
	}},
	{"creating a grant refuses a bad kind, status, hash or expiry, and an unknown user", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		for name, mutate := range map[string]func(g *gatehouse.OAuthGrant){
			"kind":       func(g *gatehouse.OAuthGrant) { g.Kind = "implicit" },
			"no kind":    func(g *gatehouse.OAuthGrant) { g.Kind = "" },
			"status":     func(g *gatehouse.OAuthGrant) { g.Status = "revoked" },
			"short hash": func(g *gatehouse.OAuthGrant) { g.CodeHash = make([]byte, 16) },
			"no hash":    func(g *gatehouse.OAuthGrant) { g.CodeHash = nil },
			"no expiry":  func(g *gatehouse.OAuthGrant) { g.ExpiresAt = time.Time{} },
			"year 10000": func(g *gatehouse.OAuthGrant) { g.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		} {
			g := codeGrant(alice.ID, t0)
			mutate(g)
			if err := s.CreateGrant(t.Context(), g); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Errorf("grant with a bad %s: error %v, want invalid", name, err)
			}
		}
		wantCode(t, s.CreateGrant(t.Context(), codeGrant(4242, t0)), gatehouse.ENOTFOUND)
	}},
	{"creating a grant or token refuses text that holds NUL or is not UTF-8, and writes nothing", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		for _, bad := range badTexts {
			for _, mutate := range []func(g *gatehouse.OAuthGrant){
				func(g *gatehouse.OAuthGrant) { g.UserCode = bad },
				func(g *gatehouse.OAuthGrant) { g.ClientID = bad },
				func(g *gatehouse.OAuthGrant) { g.RedirectURI = bad },
				func(g *gatehouse.OAuthGrant) { g.CodeChallenge = bad },
				func(g *gatehouse.OAuthGrant) { g.ClientName = bad },
			} {
				g := deviceGrant("BCDF-GHJK", t0)
				mutate(g)
				wantCode(t, s.CreateGrant(t.Context(), g), gatehouse.EINVALID)
			}
			tok := &gatehouse.AccessToken{Hash: randomHash(), UserID: alice.ID, ClientName: bad, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
			wantCode(t, s.CreateAccessToken(t.Context(), tok), gatehouse.EINVALID)
			_, err := s.GrantByUserCode(t.Context(), bad)
			wantCode(t, err, gatehouse.ENOTFOUND)
		}
		n, err := s.DeleteExpiredOAuth(t.Context(), t0.Add(24*time.Hour))
		must(t, err)
		equal(t, "rows written by refused calls", n, int64(0))
	}},
	{"recording a device poll sets its time, and polling an unknown grant is not found", func(t *testing.T, s gatehouse.Store) {
		g := mkGrant(t, s, deviceGrant("BCDF-GHJK", t0))
		polled := t0.Add(7*time.Second + 123*time.Nanosecond)
		must(t, s.TouchGrantPoll(t.Context(), g.ID, polled))
		wantUTC(t, "LastPolledAt", grantByHash(t, s, g.CodeHash).LastPolledAt, polled)
		wantCode(t, s.TouchGrantPoll(t.Context(), g.ID+1000, polled), gatehouse.ENOTFOUND)
	}},
	{"creating an access token sets its ID, and reading it by hash returns it with its user as they are now", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		tok := &gatehouse.AccessToken{Hash: randomHash(), UserID: alice.ID, Scopes: gatehouse.ScopeUser | gatehouse.ScopeChannels,
			ClientName: "cli-buildhost", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		must(t, s.CreateAccessToken(t.Context(), tok))
		if tok.ID <= 0 {
			t.Fatalf("ID = %d after CreateAccessToken", tok.ID)
		}
		want := gatehouse.AccessToken{ID: tok.ID, Hash: tok.Hash, UserID: alice.ID, Scopes: gatehouse.ScopeUser | gatehouse.ScopeChannels,
			ClientName: "cli-buildhost", CreatedAt: stored(t0), ExpiresAt: stored(t0.Add(10 * time.Minute))}
		equal(t, "the token as CreateAccessToken left it", *tok, want)
		got, u, err := s.AccessTokenByHash(t.Context(), tok.Hash)
		must(t, err)
		equal(t, "AccessTokenByHash token", *got, want)
		equal(t, "AccessTokenByHash user", *u, *alice)
		alice.Disabled = true
		must(t, s.UpdateUser(t.Context(), alice))
		_, u, err = s.AccessTokenByHash(t.Context(), tok.Hash)
		must(t, err)
		if !u.Disabled {
			t.Error("the token's user is not shown as disabled (checklist A10)")
		}
	}},
	{"access tokens refuse a bad hash, a duplicate hash, no expiry and an unknown user; unknown ones are not found", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		first := mkToken(t, s, alice.ID, t0)
		bad := func(mutate func(tok *gatehouse.AccessToken)) *gatehouse.AccessToken {
			tok := &gatehouse.AccessToken{Hash: randomHash(), UserID: alice.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
			mutate(tok)
			return tok
		}
		wantCode(t, s.CreateAccessToken(t.Context(), bad(func(tok *gatehouse.AccessToken) { tok.Hash = make([]byte, 31) })), gatehouse.EINVALID)
		wantCode(t, s.CreateAccessToken(t.Context(), bad(func(tok *gatehouse.AccessToken) { tok.ExpiresAt = time.Time{} })), gatehouse.EINVALID)
		wantCode(t, s.CreateAccessToken(t.Context(), bad(func(tok *gatehouse.AccessToken) { tok.Hash = bytes.Clone(first.Hash) })), gatehouse.ECONFLICT)
		wantCode(t, s.CreateAccessToken(t.Context(), bad(func(tok *gatehouse.AccessToken) { tok.UserID = 4242 })), gatehouse.ENOTFOUND)
		_, _, err := s.AccessTokenByHash(t.Context(), randomHash())
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, _, err = s.AccessTokenByHash(t.Context(), nil)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
	{"deleting expired sign-ins removes grants and tokens that expired before the time, whatever their status, and counts them", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		cut := t0.Add(time.Hour)
		at := func(g *gatehouse.OAuthGrant, expires time.Time) *gatehouse.OAuthGrant {
			g.ExpiresAt = expires
			return mkGrant(t, s, g)
		}
		goneCode := at(codeGrant(alice.ID, t0), cut.Add(-time.Microsecond))
		goneDevice := at(deviceGrant("BCDF-GHJK", t0), cut.Add(-time.Hour))
		usedCode := at(codeGrant(alice.ID, t0), cut.Add(-time.Minute))
		must(t, s.SetGrantStatus(t.Context(), usedCode.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0))
		keepAtCut := at(codeGrant(alice.ID, t0), cut)
		keepLater := at(deviceGrant("XZXZ-XZXZ", t0), cut.Add(time.Microsecond))
		goneToken := mkToken(t, s, alice.ID, cut.Add(-11*time.Minute))
		keepToken := mkToken(t, s, alice.ID, cut.Add(-10*time.Minute)) // expires at the cut
		n, err := s.DeleteExpiredOAuth(t.Context(), cut.In(time.UTC))
		must(t, err)
		equal(t, "rows deleted", n, int64(4))
		for _, g := range []*gatehouse.OAuthGrant{goneCode, goneDevice, usedCode} {
			_, err := s.GrantByCodeHash(t.Context(), g.CodeHash)
			wantCode(t, err, gatehouse.ENOTFOUND)
		}
		for _, g := range []*gatehouse.OAuthGrant{keepAtCut, keepLater} {
			grantByHash(t, s, g.CodeHash)
		}
		_, _, err = s.AccessTokenByHash(t.Context(), goneToken.Hash)
		wantCode(t, err, gatehouse.ENOTFOUND)
		_, _, err = s.AccessTokenByHash(t.Context(), keepToken.Hash)
		must(t, err)
		// The expired pending grant's user code is free again.
		mkGrant(t, s, deviceGrant("BCDF-GHJK", cut))
		n, err = s.DeleteExpiredOAuth(t.Context(), cut)
		must(t, err)
		equal(t, "rows deleted the second time", n, int64(0))
	}},
	{"grant and token times written in any zone come back as the same instant in UTC (checklist A12)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		for i, loc := range zones(t) {
			base := time.Date(2026, 10, 25, 1, 59, 59, 999999999, loc).Add(time.Duration(i) * time.Hour)
			g := deviceGrant(name("BCDF-GH", i), base)
			g.LastPolledAt = base.Add(5 * time.Second)
			mkGrant(t, s, g)
			got := grantByHash(t, s, g.CodeHash)
			wantUTC(t, "grant CreatedAt in "+loc.String(), got.CreatedAt, base)
			wantUTC(t, "grant ExpiresAt in "+loc.String(), got.ExpiresAt, base.Add(10*time.Minute))
			wantUTC(t, "grant LastPolledAt in "+loc.String(), got.LastPolledAt, base.Add(5*time.Second))
			equal(t, "grant as CreateGrant left it, in "+loc.String(), *g, *got)

			tok := mkToken(t, s, alice.ID, base)
			gotT, _, err := s.AccessTokenByHash(t.Context(), tok.Hash)
			must(t, err)
			wantUTC(t, "token CreatedAt in "+loc.String(), gotT.CreatedAt, base)
			wantUTC(t, "token ExpiresAt in "+loc.String(), gotT.ExpiresAt, base.Add(10*time.Minute))
		}
	}},
	{"a grant created without a time gets the store's now", func(t *testing.T, s gatehouse.Store) {
		g := deviceGrant("BCDF-GHJK", time.Time{})
		g.ExpiresAt = time.Now().Add(time.Minute)
		before := time.Now().Add(-time.Second)
		mkGrant(t, s, g)
		if g.CreatedAt.Before(before) || g.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt = %v, want about now, in UTC", g.CreatedAt)
		}
	}},
	{"sign-in calls whose deadline has passed fail as unavailable, never as not found (checklist H1)", func(t *testing.T, s gatehouse.Store) {
		alice := mkUser(t, s, "alice")
		g := mkGrant(t, s, codeGrant(alice.ID, t0))
		tok := mkToken(t, s, alice.ID, t0)
		ctx := expired(t)
		wantCode(t, s.CreateGrant(ctx, codeGrant(alice.ID, t0)), gatehouse.EUNAVAILABLE)
		_, err := s.GrantByCodeHash(ctx, g.CodeHash)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, err = s.GrantByUserCode(ctx, "BCDF-GHJK")
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		wantCode(t, s.SetGrantStatus(ctx, g.ID, gatehouse.GrantApproved, gatehouse.GrantUsed, 0), gatehouse.EUNAVAILABLE)
		wantCode(t, s.TouchGrantPoll(ctx, g.ID, t0), gatehouse.EUNAVAILABLE)
		wantCode(t, s.CreateAccessToken(ctx, &gatehouse.AccessToken{Hash: randomHash(), UserID: alice.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}), gatehouse.EUNAVAILABLE)
		_, _, err = s.AccessTokenByHash(ctx, tok.Hash)
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		_, err = s.DeleteExpiredOAuth(ctx, t0.Add(time.Hour))
		wantCode(t, err, gatehouse.EUNAVAILABLE)
		equal(t, "status after the failed calls", grantByHash(t, s, g.CodeHash).Status, gatehouse.GrantApproved)
	}},
	{"a token is spent once, keeps its grant, and the keys of a grant are found and its tokens deleted (checklist D9)", func(t *testing.T, s gatehouse.Store) {
		ctx := t.Context()
		alice := mkUser(t, s, "alice")
		g := mkGrant(t, s, codeGrant(alice.ID, t0))
		tok := &gatehouse.AccessToken{Hash: randomHash(), UserID: alice.ID, Scopes: gatehouse.ScopeUser,
			CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute), GrantID: g.ID}
		must(t, s.CreateAccessToken(ctx, tok))
		got, _, err := s.AccessTokenByHash(ctx, tok.Hash)
		must(t, err)
		equal(t, "grant of the token", got.GrantID, g.ID)
		equal(t, "unused", got.UsedAt.IsZero(), true)
		must(t, s.UseAccessToken(ctx, tok.ID, t0.Add(time.Minute)))
		wantCode(t, s.UseAccessToken(ctx, tok.ID, t0.Add(2*time.Minute)), gatehouse.ECONFLICT)
		wantCode(t, s.UseAccessToken(ctx, tok.ID+999, t0), gatehouse.ENOTFOUND)
		got, _, err = s.AccessTokenByHash(ctx, tok.Hash)
		must(t, err)
		equal(t, "used at", got.UsedAt, stored(t0.Add(time.Minute)))

		k := mkKey(t, s, alice.ID, "laptop", t0)
		other := mkKey(t, s, alice.ID, "ci", t0)
		must(t, s.LinkLoginKey(ctx, g.ID, k.ID))
		wantCode(t, s.LinkLoginKey(ctx, g.ID, k.ID+999), gatehouse.ENOTFOUND)
		keys, err := s.GrantKeys(ctx, g.ID)
		must(t, err)
		if len(keys) != 1 || keys[0].ID != k.ID {
			t.Fatalf("keys of the grant: %+v, want the linked one only (not %d)", keys, other.ID)
		}
		_, err = s.RevokeKey(ctx, alice.ID, k.ID, t0.Add(time.Hour), gatehouse.RevokedReplayedLogin)
		must(t, err)
		keys, err = s.GrantKeys(ctx, g.ID)
		must(t, err)
		equal(t, "unrevoked keys of the grant after the revocation", len(keys), 0)
		n, err := s.DeleteGrantTokens(ctx, g.ID)
		must(t, err)
		equal(t, "tokens deleted", n, int64(1))
		_, _, err = s.AccessTokenByHash(ctx, tok.Hash)
		wantCode(t, err, gatehouse.ENOTFOUND)
	}},
}
