package condaname

import (
	"strings"
	"testing"
)

// checklist F8: subdirs follow CEP-26.
func TestValidSubdir(t *testing.T) {
	for _, s := range []string{"noarch", "linux-64", "linux-aarch64", "osx-arm64", "win-64", "emscripten-wasm32", "zos-z", strings.Repeat("a", 16) + "-" + strings.Repeat("b", 15)} {
		if !ValidSubdir(s) {
			t.Errorf("ValidSubdir(%q) = false; want true", s)
		}
	}
	for _, s := range []string{"", "../../etc", "linux-64/../noarch", "LINUX-64", "linux_64", "linux-64-extra", "-64", "linux-", "linux", "noarch/", "linux 64", "linux-64\x00", strings.Repeat("a", 17) + "-" + strings.Repeat("b", 15)} {
		if ValidSubdir(s) {
			t.Errorf("ValidSubdir(%q) = true; want false", s)
		}
	}
}

func TestValidChannelName(t *testing.T) {
	for _, s := range []string{"conda-forge", "bioconda", "acme", "_internal", "team.tools", "a", "ml_models-2", strings.Repeat("a", 128)} {
		if err := ValidateChannel(s); err != nil {
			t.Errorf("ValidateChannel(%q) = %v; want nil", s, err)
		}
	}
	for why, s := range map[string]string{
		"empty":                    "",
		"uppercase":                "Conda-Forge",
		"starts with a dot":        ".hidden",
		"starts with a dash":       "-x",
		"is a path":                "a/b",
		"climbs":                   "..",
		"has a space":              "my channel",
		"is too long":              strings.Repeat("a", 129),
		"looks like a subdir":      "linux-64",
		"is noarch":                "noarch",
		"is conda's token segment": "t",
		"has a tilde":              "~user",
	} {
		if ValidateChannel(s) == nil {
			t.Errorf("ValidateChannel(%q) = nil; want an error because it %s", s, why)
		}
	}
}
