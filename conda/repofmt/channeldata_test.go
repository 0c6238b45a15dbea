package repofmt

import (
	"bytes"
	"encoding/json"
	"github.com/gatehouse-dev/gatehouse/conda"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

func fixturePackages(t *testing.T) []ChannelPackage {
	t.Helper()
	var out []ChannelPackage
	for _, fx := range fixtures(t) {
		p, err := conda.Inspect(bytes.NewReader(fx.data), int64(len(fx.data)), fx.filename, conda.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ChannelPackageOf(p))
	}
	return out
}

// checklist G5: channeldata.json (CEP-38) for the fixture channel.
func TestChannelDataOfRealPackages(t *testing.T) {
	pkgs := fixturePackages(t)
	doc, err := BuildChannelData([]string{"linux-64"}, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if err := conda.CheckStrictJSON(doc); err != nil {
		t.Fatalf("not strict JSON: %v", err)
	}
	var cd struct {
		ChanneldataVersion int                                   `json:"channeldata_version"`
		Packages           map[string]map[string]json.RawMessage `json:"packages"`
		Subdirs            []string                              `json:"subdirs"`
	}
	if err := json.Unmarshal(doc, &cd); err != nil {
		t.Fatal(err)
	}
	if cd.ChanneldataVersion != 1 || !slices.Equal(cd.Subdirs, []string{"linux-64", "noarch"}) || len(cd.Packages) != 3 {
		t.Fatalf("channeldata: %s", doc)
	}
	// rattler refuses channeldata without these; CEP-38 requires them.
	required := []string{"activate.d", "binary_prefix", "deactivate.d", "post_link", "pre_link", "pre_unlink", "run_exports", "subdirs", "text_prefix", "timestamp", "version"}
	for name, p := range cd.Packages {
		for _, k := range required {
			if _, ok := p[k]; !ok {
				t.Errorf("%s has no %q", name, k)
			}
		}
	}
	lib := cd.Packages["gh-lib"]
	checks := map[string]string{
		"version":     `"2.10.0"`, // conda's order, not the string order that gives 2.9.0
		"subdirs":     `["linux-64"]`,
		"activate.d":  `true`,
		"post_link":   `true`,
		"text_prefix": `true`,
		"pre_link":    `false`,
		"timestamp":   `1700000100`,
		"run_exports": `{"2.10.0":{"weak":["gh-lib >=2.10.0,<3.0a0"]},"2.9.0":{"weak":["gh-lib >=2.9.0,<3.0a0"]}}`,
		"home":        `"https://example.org/gh-lib"`,
		"summary":     `"The gh-lib fixture"`,
		"license":     `"BSD-3-Clause"`,
	}
	for k, want := range checks {
		if got := string(lib[k]); got != want {
			t.Errorf("gh-lib %s = %s; want %s", k, got, want)
		}
	}
	if got := string(cd.Packages["gh-data"]["subdirs"]); got != `["noarch"]` {
		t.Errorf("gh-data subdirs = %s", got)
	}
	if got := string(cd.Packages["gh-app"]["activate.d"]); got != `false` {
		t.Errorf("gh-app activate.d = %s", got)
	}
}

func TestChannelDataIsDeterministic(t *testing.T) {
	pkgs := fixturePackages(t)
	want, err := BuildChannelData([]string{"noarch", "linux-64"}, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 20 {
		p := slices.Clone(pkgs)
		rng.Shuffle(len(p), func(a, b int) { p[a], p[b] = p[b], p[a] })
		got, err := BuildChannelData([]string{"linux-64", "noarch", "linux-64"}, p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("shuffle %d gave different bytes:\n%s\n%s", i, got, want)
		}
	}
}

func TestChannelDataEdges(t *testing.T) {
	t.Run("an empty channel lists noarch", func(t *testing.T) {
		got, err := BuildChannelData(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"channeldata_version":1,"packages":{},"subdirs":["noarch"]}`; string(got) != want {
			t.Fatalf("got %s; want %s", got, want)
		}
	})
	pkgs := fixturePackages(t)
	t.Run("refuses a package in a subdir the channel does not list", func(t *testing.T) {
		if _, err := BuildChannelData(nil, pkgs); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Fatalf("error = %v; want EINVALID", err)
		}
	})
	t.Run("refuses an invalid subdir (F8)", func(t *testing.T) {
		if _, err := BuildChannelData([]string{"../etc"}, nil); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Fatalf("error = %v; want EINVALID", err)
		}
	})
}
