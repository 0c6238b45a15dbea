package orgtoken

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// The plugin's own pattern (anaconda_anon_usage/tokens.py, VALID_TOKEN_RE)
// and conda's /t/ parser.
var (
	aauPattern   = regexp.MustCompile(`^(?:[A-Za-z0-9]|_|-){1,36}$`)
	condaTParser = regexp.MustCompile(`/t/([a-zA-Z0-9-]*)`)
)

func TestGeneratedTokensFitThePluginAndCondaPatterns(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		tok, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !aauPattern.MatchString(tok) {
			t.Fatalf("%q does not match anaconda-anon-usage's pattern", tok)
		}
		if m := condaTParser.FindStringSubmatch("/t/" + tok + "/x"); m == nil || m[1] != tok {
			t.Fatalf("conda's /t/ parser cuts %q short: %q", tok, m)
		}
		if err := Check(tok); err != nil {
			t.Fatalf("Check(%q) = %v", tok, err)
		}
		if seen[tok] {
			t.Fatalf("token %q generated twice", tok)
		}
		seen[tok] = true
	}
}

func TestCheckRefusesTyposAndLookalikes(t *testing.T) {
	tok, _ := GenerateFrom(bytes.NewReader(bytes.Repeat([]byte{7, 99, 200, 255}, 64)))
	flipped := []byte(tok)
	if flipped[10] == 'a' {
		flipped[10] = 'b'
	} else {
		flipped[10] = 'a'
	}
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"an empty string is malformed", "", ErrMalformed},
		{"an API key is malformed", "gk-" + strings.Repeat("a", 49), ErrMalformed},
		{"a token cut short is malformed", tok[:Len-1], ErrMalformed},
		{"an underscore is malformed", tok[:8] + "_" + tok[9:], ErrMalformed},
		{"a changed character breaks the checksum", string(flipped), ErrChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Check(tc.in); !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
	if strings.Contains(ErrChecksum.Error(), tok) || Hint(tok) == tok || !strings.HasPrefix(Hint(tok), Prefix) {
		t.Fatal("errors and hints must not hold the token")
	}
}

func TestCheckAndHashDoNotAllocate(t *testing.T) {
	tok, _ := Generate()
	ua := "conda/26.7.1 requests/2.28.1 CPython/3.11.2 Linux/6.1.0 debian/12 glibc/2.36 aau/0.8.1 c/abc s/def e/ghi o/" + tok
	if n := testing.AllocsPerRun(100, func() {
		_ = Check(tok)
		_ = Hash(tok)
		a := ParseUserAgent(ua)
		_ = a.Orgs[0]
	}); n != 0 {
		t.Fatalf("Check, Hash and ParseUserAgent allocate %v times", n)
	}
}

func TestParseUserAgentReadsCondaAndTheAnonUsageTokens(t *testing.T) {
	for _, tc := range []struct {
		name, ua string
		want     Agent
	}{
		{"conda with the plugin and two organization tokens",
			"conda/26.7.1 requests/2.28.1 CPython/3.11.2 Linux/6.1.0-18-amd64 debian/12 glibc/2.36 solver/classic aau/0.8.1 c/Cli-ent_1 s/sess e/env i/inst o/org1 o/org2 m/mach",
			Agent{Conda: "26.7.1", Platform: "Linux/6.1.0-18-amd64", AAU: "0.8.1", Client: "Cli-ent_1", Session: "sess", Env: "env",
				Installer: "inst", Machine: "mach", Orgs: [MaxOrgs]string{"org1", "org2"}, NOrgs: 2}},
		{"the plugin turned off sends only its version",
			"conda/26.7.1 requests/2.28.1 CPython/3.11.2 Darwin/23.0 OSX/14.0 aau/0.8.1",
			Agent{Conda: "26.7.1", Platform: "Darwin/23.0", AAU: "0.8.1"}},
		{"tokens outside the pattern are dropped",
			"conda/1 o/" + strings.Repeat("a", 37) + " c/has.dot o/ok",
			Agent{Conda: "1", Orgs: [MaxOrgs]string{"ok"}, NOrgs: 1}},
		{"rattler is not conda", "rattler/0.3.5", Agent{}},
		{"extra spaces are skipped", "  o/x  ", Agent{Orgs: [MaxOrgs]string{"x"}, NOrgs: 1}},
		{"at most four organizations are kept", "o/a o/b o/c o/d o/e",
			Agent{Orgs: [MaxOrgs]string{"a", "b", "c", "d"}, NOrgs: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseUserAgent(tc.ua); got != tc.want {
				t.Fatalf("ParseUserAgent(%q)\n got %+v\nwant %+v", tc.ua, got, tc.want)
			}
		})
	}
}

// FuzzParseUserAgent: User-Agents come from anyone. The parse never panics,
// keeps only tokens that match the plugin's pattern, and every field is a
// piece of the input.
func FuzzParseUserAgent(f *testing.F) {
	tok, _ := Generate()
	for _, seed := range []string{
		"", "o/", "o/" + tok, " o/ o/x", "aau/0.8.1 c/x s/y e/z o/" + tok + " m/w i/v",
		"conda/26.7.1 requests/2.28.1 CPython/3.11.2 Linux/6.1.0 debian/12 glibc/2.36",
		strings.Repeat("o/a ", 100), "c/\xff o/\x00", "/////", "conda/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		a := ParseUserAgent(ua)
		if a.NOrgs < 0 || a.NOrgs > MaxOrgs {
			t.Fatalf("NOrgs = %d", a.NOrgs)
		}
		if HasOrg(ua) != (a.NOrgs > 0) && a.NOrgs > 0 {
			t.Fatalf("HasOrg(%q) is false but an o/ token was read", ua)
		}
		for _, v := range append([]string{a.Client, a.Session, a.Env, a.Machine, a.Installer}, a.Orgs[:a.NOrgs]...) {
			if v == "" {
				continue
			}
			if !aauPattern.MatchString(v) {
				t.Fatalf("token %q does not match the plugin's pattern", v)
			}
			if !strings.Contains(ua, v) {
				t.Fatalf("token %q is not from the input", v)
			}
		}
		for _, v := range []string{a.Conda, a.Platform, a.AAU} {
			if !strings.Contains(ua, v) || strings.Contains(v, " ") {
				t.Fatalf("field %q is not one field of the input", v)
			}
		}
	})
}

// FuzzCheck: Check accepts only what GenerateFrom can produce.
func FuzzCheck(f *testing.F) {
	tok, _ := Generate()
	for _, seed := range []string{"", Prefix, tok, tok + "0", tok[:Len-1], strings.ToUpper(tok), Prefix + strings.Repeat("\xff", 32)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := Check(s); err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrChecksum) {
				t.Fatalf("Check returned %v", err)
			}
			return
		}
		if !aauPattern.MatchString(s) || len(s) != Len || !Looks(s) {
			t.Fatalf("Check accepted %q", s)
		}
	})
}

func BenchmarkGateUserAgent(b *testing.B) {
	tok, _ := Generate()
	ua := "conda/26.7.1 requests/2.28.1 CPython/3.11.2 Linux/6.1.0 debian/12 glibc/2.36 aau/0.8.1 c/abcdefghijklmnopqrstuv s/abcdefghijklmnopqrstuv e/abcdefghijklmnopqrstuv o/" + tok
	b.ReportAllocs()
	for b.Loop() {
		a := ParseUserAgent(ua)
		if Check(a.Orgs[0]) != nil {
			b.Fatal("invalid")
		}
		_ = Hash(a.Orgs[0])
	}
}

func TestRedactUserAgentHidesOrganizationTokens(t *testing.T) {
	tok, _ := Generate()
	ua := "conda/26.7.1 aau/0.8.1 c/abc o/" + tok + " o/custom-token m/mach"
	got := RedactUserAgent(ua)
	if strings.Contains(got, tok) || strings.Contains(got, "custom-token") {
		t.Fatalf("RedactUserAgent kept a token: %q", got)
	}
	if want := "conda/26.7.1 aau/0.8.1 c/abc o/" + Hint(tok) + " o/… m/mach"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if RedactUserAgent("conda/26.7.1") != "conda/26.7.1" {
		t.Fatal("an agent without o/ changed")
	}
}
