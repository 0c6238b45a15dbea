package conda

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse"
)

func TestParseFilename(t *testing.T) {
	good := []struct {
		filename, stem string
		format         Format
	}{
		{"numpy-1.26.4-py312h8753938_0.conda", "numpy-1.26.4-py312h8753938_0", Conda},
		{"numpy-1.26.4-py312h8753938_0.tar.bz2", "numpy-1.26.4-py312h8753938_0", TarBz2},
		{"_libgcc_mutex-0.1-conda_forge.tar.bz2", "_libgcc_mutex-0.1-conda_forge", TarBz2},
		{"ca-certificates-2024.2.2-hbcca054_0.conda", "ca-certificates-2024.2.2-hbcca054_0", Conda},
		{"python_abi-3.12-4_cp312.conda", "python_abi-3.12-4_cp312", Conda},
		{"openssl-1.0.2u_-h1.conda", "openssl-1.0.2u_-h1", Conda},
		{"pkg-1!2.0+local.1-py_0.conda", "pkg-1!2.0+local.1-py_0", Conda},
		{"r-base-4.3.3-hb8ee39d_0.conda", "r-base-4.3.3-hb8ee39d_0", Conda},
		{"a-1-B.conda", "a-1-B", Conda},
	}
	for _, c := range good {
		t.Run("accepts "+c.filename, func(t *testing.T) {
			stem, f, err := ParseFilename(c.filename)
			if err != nil || stem != c.stem || f != c.format {
				t.Fatalf("ParseFilename(%q) = %q, %v, %v; want %q, %v", c.filename, stem, f, err, c.stem, c.format)
			}
			if f.Ext() != strings.TrimPrefix(c.filename, stem) {
				t.Errorf("Ext() = %q", f.Ext())
			}
		})
	}
	bad := []struct{ why, filename string }{
		{"it has no extension", "numpy-1.26.4-py312_0"},
		{"it is a wheel", "numpy-1.26.4-cp312-none-any.whl"},
		{"it is a plain tarball", "numpy-1.26.4-py312_0.tar.gz"},
		{"it is a path", "linux-64/numpy-1.26.4-py312_0.conda"},
		{"it is a Windows path", "..\\numpy-1.26.4-py312_0.conda"},
		{"it climbs directories", "../../etc/passwd-1-0.conda"},
		{"it has one dash", "numpy-1.26.4.conda"},
		{"it has no dash", "numpy.conda"},
		{"the name is uppercase (F9)", "NumPy-1.26.4-py312_0.conda"},
		{"the name is empty", "-1.0-0.conda"},
		{"the version is empty", "numpy--0.conda"},
		{"the build is empty", "numpy-1.0-.conda"},
		{"the name starts with a dot", ".hidden-1.0-0.conda"},
		{"the name has two separators in a row", "a__b-1.0-0.conda"},
		{"the version has a space (F9)", "numpy-1 0-0.conda"},
		{"the version has '..' (F9)", "numpy-1..0-0.conda"},
		{"the version starts with a dot", "numpy-.1-0.conda"},
		{"the version has two epochs", "numpy-1!2!3-0.conda"},
		{"the version has a non-numeric epoch", "numpy-a!1-0.conda"},
		{"the version is uppercase (CEP-26)", "numpy-1.0RC1-0.conda"},
		{"the build has '..' (F9)", "numpy-1.0-py..0.conda"},
		{"the build has a '!'", "numpy-1.0-py!0.conda"},
		{"it holds NUL (F9)", "numpy-1.0-0\x00.conda"},
		{"the name is too long (F9)", strings.Repeat("a", 65) + "-1.0-0.conda"},
		{"the file name is 1000 characters (F9)", strings.Repeat("a", 990) + "-1.0-0.conda"},
		{"it is only an extension", ".conda"},
	}
	for _, c := range bad {
		t.Run("refuses a file name because "+c.why, func(t *testing.T) {
			_, _, err := ParseFilename(c.filename)
			if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
				t.Fatalf("ParseFilename(%q) error = %v; want EINVALID", c.filename, err)
			}
			if len(gatehouse.ErrorMessage(err)) > 400 {
				t.Errorf("the message is %d bytes long; hostile names must be cut short", len(gatehouse.ErrorMessage(err)))
			}
		})
	}
}

func TestFormat(t *testing.T) {
	if TarBz2.Ext() != ".tar.bz2" || Conda.Ext() != ".conda" || Format(0).Ext() != "" || Format(9).String() != "unknown format" {
		t.Fatalf("Ext/String: %q %q %q %q", TarBz2.Ext(), Conda.Ext(), Format(0).Ext(), Format(9).String())
	}
}
