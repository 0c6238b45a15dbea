package usercode

import (
	"regexp"
	"strings"
	"testing"
)

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestNormalizeUserCode(t *testing.T) {
	cases := []struct {
		typed, want string
	}{
		{"BCDF-GHJK", "BCDF-GHJK"},
		{"bcdfghjk", "BCDF-GHJK"},
		{" bcdf ghjk\t", "BCDF-GHJK"},
		{"BC-DF-GH-JK", "BCDF-GHJK"},
		{"bcdf–ghjk", "BCDF-GHJK"}, // an en dash, as some terminals paste
		{"BCDF-GHJ", ""},           // too short
		{"BCDF-GHJKL", ""},         // too long
		{"BCDF-GHJA", ""},          // a vowel is never in a code
		{"BCDF-GHJ1", ""},
		{"BCDF_GHJK", ""},
		{"ＢCDF-GHJK", ""}, // a full-width letter
		{strings.Repeat(" ", 100) + "BCDFGHJK", ""},
		{"", ""},
	}
	for _, c := range cases {
		got, ok := Normalize(c.typed)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.typed, got, ok, c.want)
		}
	}
}

func TestNewUserCodesAreWellFormedAndVaried(t *testing.T) {
	seen := map[string]bool{}
	letters := map[rune]int{}
	for range 2000 {
		c := New()
		if !userCodeShape.MatchString(c) {
			t.Fatalf("New() = %q", c)
		}
		seen[c] = true
		for _, r := range strings.ReplaceAll(c, "-", "") {
			letters[r]++
		}
	}
	if len(seen) < 1999 {
		t.Errorf("%d distinct codes of 2000", len(seen))
	}
	// 16000 letters over 20: each about 800; a letter under 600 or over
	// 1000 means a skewed draw (p < 1e-12 for a fair one).
	for _, r := range Alphabet {
		if n := letters[r]; n < 600 || n > 1000 {
			t.Errorf("letter %c drawn %d times of 16000", r, n)
		}
	}
}

// FuzzNormalizeUserCode: whatever a person types, the answer is a code of
// the stored form or nothing, and normalizing is idempotent.
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdf ghjk", "BC–DF GH-JK", "BCDF-GHJA", "", "ＢCDF-GHJK", "\xff\xfe", strings.Repeat("B", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		code, ok := Normalize(typed)
		if !ok {
			if code != "" {
				t.Fatalf("not ok but code %q", code)
			}
			return
		}
		if !userCodeShape.MatchString(code) {
			t.Fatalf("Normalize(%q) = %q, not a code", typed, code)
		}
		if again, ok := Normalize(code); !ok || again != code {
			t.Fatalf("not idempotent: %q → %q → %q", typed, code, again)
		}
		if lower, ok := Normalize(strings.ToLower(strings.ReplaceAll(code, "-", " "))); !ok || lower != code {
			t.Fatalf("case and separators matter: %q vs %q", code, lower)
		}
	})
}

func BenchmarkNormalizeUserCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Normalize(" bcdf ghjk "); !ok {
			b.Fatal("not a code")
		}
	}
}

// Issue 11 item 16: a code with a letter outside the alphabet names that
// letter and the allowed ones, rather than miscounting.
func TestUserCodeProblem(t *testing.T) {
	cases := []struct {
		name, typed string
		want        []string
	}{
		{"a Y among eight letters names the Y and the alphabet", "BCDF-GHJY", []string{`'Y'`, "B C D F G H J K L M N P Q R S T V W X Z"}},
		{"a lower-case vowel is named as typed", "bcdf-ghja", []string{`'a'`, "never contain"}},
		{"two bad characters are both named", "BCD1-GHJ0", []string{`'1'`, `'0'`, "characters"}},
		{"too few letters counts them", "BCDF-GHJ", []string{"8 letters", "this has 7"}},
		{"too many letters counts them", "BCDF-GHJKL", []string{"this has 9"}},
		{"an overlong paste says so", strings.Repeat("B", 100), []string{"too long"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Problem(c.typed)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("Problem(%q) = %q, want it to contain %q", c.typed, got, w)
				}
			}
		})
	}
	if got := Problem("bcdf-ghjk"); got != "" {
		t.Errorf("a good code has a problem: %q", got)
	}
}
