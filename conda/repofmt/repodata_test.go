package repofmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gatehouse-dev/gatehouse/conda"
	"io"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/klauspost/compress/zstd"
)

const (
	testMD5    = "0123456789abcdef0123456789abcdef"
	testSHA256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// testEntries returns n realistic records (about 400 bytes each), in both
// formats, in sorted order.
func testEntries(t testing.TB, n int) []Entry {
	t.Helper()
	es := make([]Entry, 0, n)
	for i := range n {
		name := fmt.Sprintf("pkg%05d", i/2)
		doc := fmt.Sprintf(`{"build":"py312h%07x_0","build_number":0,"depends":["libgcc-ng >=12","libstdcxx-ng >=12","python >=3.12,<3.13.0a0","python_abi 3.12.* *_cp312"],"license":"BSD-3-Clause","license_family":"BSD","name":"%s","subdir":"linux-64","timestamp":1707225345123,"version":"1.%d.%d"}`, i, name, i%7, i%13)
		ix, err := conda.ParseIndexJSON([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := conda.Record(ix, testMD5, testSHA256, int64(1000+i), 1767225600000)
		if err != nil {
			t.Fatal(err)
		}
		f := conda.Conda
		if i%2 == 1 {
			f = conda.TarBz2
		}
		es = append(es, Entry{Filename: ix.Filename(f), Record: rec})
	}
	slices.SortFunc(es, compareEntries)
	return es
}

// checklist G5: repodata.json has the shape clients expect.
func TestWriteRepodataShape(t *testing.T) {
	t.Run("an empty subdir is still valid repodata", func(t *testing.T) {
		got, err := BuildRepodata("noarch", nil)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"info":{"subdir":"noarch"},"packages":{},"packages.conda":{},"removed":[],"repodata_version":1}`
		if string(got) != want {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
	t.Run("files go to the map of their format, sorted, keys unique", func(t *testing.T) {
		es := testEntries(t, 20)
		got, err := BuildRepodata("linux-64", es)
		if err != nil {
			t.Fatal(err)
		}
		if err := conda.CheckStrictJSON(got); err != nil {
			t.Fatalf("repodata is not strict JSON: %v", err)
		}
		var rd struct {
			Info struct {
				Subdir string `json:"subdir"`
			} `json:"info"`
			Packages        map[string]json.RawMessage `json:"packages"`
			PackagesConda   map[string]json.RawMessage `json:"packages.conda"`
			Removed         []string                   `json:"removed"`
			RepodataVersion int                        `json:"repodata_version"`
		}
		if err := json.Unmarshal(got, &rd); err != nil {
			t.Fatal(err)
		}
		if rd.Info.Subdir != "linux-64" || rd.RepodataVersion != 1 || rd.Removed == nil || len(rd.Removed) != 0 {
			t.Fatalf("header: %+v", rd)
		}
		if len(rd.Packages) != 10 || len(rd.PackagesConda) != 10 {
			t.Fatalf("%d .tar.bz2 and %d .conda; want 10 each", len(rd.Packages), len(rd.PackagesConda))
		}
		for fn := range rd.Packages {
			if !strings.HasSuffix(fn, ".tar.bz2") {
				t.Errorf("%s under packages", fn)
			}
		}
		for fn, rec := range rd.PackagesConda {
			if !strings.HasSuffix(fn, ".conda") {
				t.Errorf("%s under packages.conda", fn)
			}
			i := slices.IndexFunc(es, func(e Entry) bool { return e.Filename == fn })
			if i < 0 || !bytes.Equal(rec, es[i].Record) {
				t.Errorf("%s: the record was not copied as is", fn)
			}
		}
		// Keys appear in sorted order in the bytes.
		var last string
		for _, e := range es {
			if e.Filename < last {
				t.Fatal("test entries not sorted")
			}
			last = e.Filename
		}
		prev := -1
		for _, f := range []conda.Format{conda.TarBz2, conda.Conda} {
			for _, e := range es {
				if !strings.HasSuffix(e.Filename, f.Ext()) {
					continue
				}
				at := bytes.Index(got, []byte(`"`+e.Filename+`":`))
				if at < prev {
					t.Fatalf("%s is out of order", e.Filename)
				}
				prev = at
			}
		}
	})
	t.Run("refuses bad input", func(t *testing.T) {
		es := testEntries(t, 4)
		for name, c := range map[string]struct {
			subdir string
			es     []Entry
			code   string
		}{
			"an invalid subdir (F8)":     {"../x", es, gatehouse.EINVALID},
			"a repeated file":            {"linux-64", append(slices.Clone(es), es[0]), gatehouse.EINVALID},
			"a file name with a quote":   {"linux-64", []Entry{{Filename: `a"b-1-0.conda`, Record: es[0].Record}}, gatehouse.EINVALID},
			"a record that is not JSON":  {"linux-64", []Entry{{Filename: es[0].Filename, Record: json.RawMessage("oops")}}, gatehouse.EINTERNAL},
			"an empty record":            {"linux-64", []Entry{{Filename: es[0].Filename}}, gatehouse.EINTERNAL},
			"a file that is not a conda": {"linux-64", []Entry{{Filename: "x-1-0.whl", Record: es[0].Record}}, gatehouse.EINVALID},
		} {
			t.Run(name, func(t *testing.T) {
				if _, err := BuildRepodata(c.subdir, c.es); gatehouse.ErrorCode(err) != c.code {
					t.Fatalf("BuildRepodata error = %v; want %s", err, c.code)
				}
			})
		}
	})
}

// Same entries in any order give the same bytes, and the caller's slice is
// left alone.
func TestWriteRepodataIsDeterministic(t *testing.T) {
	es := testEntries(t, 200)
	want, err := BuildRepodata("linux-64", es)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		shuffled := slices.Clone(es)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		before := slices.Clone(shuffled)
		got, err := BuildRepodata("linux-64", shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("shuffle %d gave different bytes", i)
		}
		if !slices.EqualFunc(before, shuffled, func(a, b Entry) bool { return a.Filename == b.Filename }) {
			t.Fatal("WriteRepodata reordered the caller's slice")
		}
	}
	t.Run("through any writer", func(t *testing.T) {
		var w onlyWriter
		if err := WriteRepodata(&w, "linux-64", es); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.buf.Bytes(), want) {
			t.Fatal("WriteRepodata to a plain writer differs from BuildRepodata")
		}
	})
	t.Run("a failing writer's error comes back", func(t *testing.T) {
		boom := errors.New("disk full")
		if err := WriteRepodata(failingWriter{boom}, "linux-64", es); !errors.Is(err, boom) {
			t.Fatalf("WriteRepodata error = %v; want %v", err, boom)
		}
	})
}

type onlyWriter struct{ buf bytes.Buffer }

func (w *onlyWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

// checklist G5: repodata.json.zst holds the same document.
func TestZstdRoundTrips(t *testing.T) {
	doc, err := BuildRepodata("linux-64", testEntries(t, 500))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"repodata": doc, "empty": nil} {
		t.Run(name, func(t *testing.T) {
			z := Zstd(in)
			if !bytes.Equal(z, Zstd(in)) {
				t.Fatal("Zstd is not deterministic")
			}
			dec, err := zstd.NewReader(bytes.NewReader(z))
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			out, err := io.ReadAll(dec)
			if err != nil || !bytes.Equal(out, in) {
				t.Fatalf("decoded %d bytes, %v; want %d", len(out), err, len(in))
			}
			if len(in) > 0 && len(z)*5 > len(in) {
				t.Errorf("compressed %d to %d bytes; repodata should shrink far more", len(in), len(z))
			}
		})
	}
}

// conda reads repodata.json.zst with the Python zstandard module, and people
// with the zstd tool. Both must read what Zstd writes; the test runs each
// that is installed (Debian's python3-zstandard comes with
// conda-package-handling, which make-fixtures.sh needs).
func TestZstdReadableByCondaTooling(t *testing.T) {
	doc, err := BuildRepodata("linux-64", testEntries(t, 300))
	if err != nil {
		t.Fatal(err)
	}
	z := Zstd(doc)
	ran := 0
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(py)
		if err != nil || exec.Command(path, "-c", "import zstandard").Run() != nil {
			continue
		}
		const script = `import sys, zstandard
data = sys.stdin.buffer.read()
one = zstandard.ZstdDecompressor().decompress(data)
two = zstandard.ZstdDecompressor().stream_reader(data).read()
assert one == two
sys.stdout.buffer.write(one)`
		cmd := exec.Command(path, "-c", script)
		cmd.Stdin = bytes.NewReader(z)
		out, err := cmd.Output()
		if err != nil || !bytes.Equal(out, doc) {
			t.Fatalf("python zstandard read %d bytes, %v; want the %d-byte document", len(out), err, len(doc))
		}
		ran++
		break
	}
	if path, err := exec.LookPath("zstd"); err == nil {
		cmd := exec.Command(path, "-dc")
		cmd.Stdin = bytes.NewReader(z)
		out, err := cmd.Output()
		if err != nil || !bytes.Equal(out, doc) {
			t.Fatalf("zstd -d read %d bytes, %v", len(out), err)
		}
		ran++
	}
	if ran == 0 {
		t.Skip("neither python3 with zstandard nor zstd is installed")
	}
}
