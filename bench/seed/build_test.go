package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/conda"
)

// The seeder's packages must pass the server's own reader, or the benchmark
// measures refusals.
func TestBuiltPackagesPassTheServersReader(t *testing.T) {
	big := bigSpec(1<<20, 1)
	cases := map[string]spec{"the first small package": smallSpec(0), "a later small package": smallSpec(7777), "the large package": big}
	for name, s := range cases {
		t.Run(name+" is a valid .conda", func(t *testing.T) {
			b, err := buildConda(&s)
			if err != nil {
				t.Fatal(err)
			}
			p, err := conda.Inspect(bytes.NewReader(b), int64(len(b)), s.Filename(), conda.DefaultLimits())
			if err != nil {
				t.Fatalf("Inspect(%s): %v", s.Filename(), err)
			}
			if err := p.Index.Validate(time.Now()); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if p.Index.Name != s.Name || p.Index.Version != s.Version || p.Index.Build != s.Build ||
				p.Index.Subdir != "noarch" || p.Index.Noarch != "generic" || len(p.Index.Depends) != len(s.Depends) {
				t.Errorf("index = %+v, want the fields of %+v", p.Index, s)
			}
		})
	}
	t.Run("the large package is about 1 MB because its payload does not compress", func(t *testing.T) {
		b, err := buildConda(&big)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(b); n < 1<<20 || n > 1<<20+16<<10 {
			t.Errorf("size = %d, want just over 1 MiB", n)
		}
	})
}

func TestSmallPackagesAreDistinctAndRealistic(t *testing.T) {
	const n = 10_000
	seen := make(map[string]int, n)
	withDeps := 0
	for i := range n {
		s := smallSpec(i)
		if j, dup := seen[s.Filename()]; dup {
			t.Fatalf("packages %d and %d are both %s", j, i, s.Filename())
		}
		seen[s.Filename()] = i
		if len(s.Depends) >= 2 {
			withDeps++
		}
		if time.UnixMilli(s.Timestamp).After(time.Now()) {
			t.Fatalf("package %d has a timestamp in the future", i)
		}
	}
	t.Run("almost every package has a few dependencies", func(t *testing.T) {
		if withDeps < n*9/10 {
			t.Errorf("%d of %d packages have two or more depends", withDeps, n)
		}
	})
	t.Run("the same index gives the same package on every run", func(t *testing.T) {
		a, b := smallSpec(42), smallSpec(42)
		x, _ := buildConda(&a)
		y, _ := buildConda(&b)
		if !bytes.Equal(x, y) {
			t.Error("two builds of package 42 differ")
		}
	})
}

func BenchmarkBuildSmallConda(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s := smallSpec(i % 10_000)
		if _, err := buildConda(&s); err != nil {
			b.Fatal(err)
		}
	}
}
