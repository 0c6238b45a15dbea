package cli

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"testing"
)

// machoHeader is the smallest Mach-O 64 executable header for cpu.
func machoHeader(cpu uint32) []byte {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint32(b[0:], 0xfeedfacf) // MH_MAGIC_64
	binary.LittleEndian.PutUint32(b[4:], cpu)
	binary.LittleEndian.PutUint32(b[12:], 2) // MH_EXECUTE
	return b
}

// peHeader is the smallest PE image header for machine.
func peHeader(machine uint16) []byte {
	b := make([]byte, 512) // zero padding: debug/pe reads past the header
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x44:], machine)
	return b
}

func TestBinaryPlatformReadsTheExecutablesHeaders(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"Mach-O arm64", machoHeader(0x0100000c), "osx-arm64"},
		{"Mach-O amd64", machoHeader(0x01000007), "osx-64"},
		{"PE amd64", peHeader(0x8664), "win-64"},
		{"PE arm64", peHeader(0xaa64), "win-arm64"},
		{"PE i386", peHeader(0x14c), ""},
		{"text", []byte("#!/bin/sh\necho hi\n"), ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := binaryPlatform(bytes.NewReader(tt.data)); got != tt.want {
				t.Fatalf("binaryPlatform = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("this test binary", func(t *testing.T) {
		want := map[string]string{"linux/amd64": "linux-64", "linux/arm64": "linux-aarch64", "darwin/arm64": "osx-arm64",
			"darwin/amd64": "osx-64", "windows/amd64": "win-64"}[runtime.GOOS+"/"+runtime.GOARCH]
		if want == "" {
			t.Skip("platform not mapped")
		}
		exe, err := os.Executable()
		if err != nil {
			t.Skip(err)
		}
		f, err := os.Open(exe)
		if err != nil {
			t.Skip(err)
		}
		defer f.Close()
		if got := binaryPlatform(f); got != want {
			t.Fatalf("binaryPlatform(test binary) = %q, want %q", got, want)
		}
	})
}

func TestTheCLIInstallsIntoLibraryBinOnWindowsAndBinElsewhere(t *testing.T) {
	for platform, want := range map[string]string{
		"linux-64": "bin/gatehouse", "osx-arm64": "bin/gatehouse", "win-64": "Library/bin/gatehouse.exe", "win-arm64": "Library/bin/gatehouse.exe",
	} {
		if got, err := cliInstallPath(platform); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", platform, got, err, want)
		}
	}
	for _, bad := range []string{"", "noarch", "Linux-64", "linux-64/../x", "linux_64"} {
		if _, err := cliInstallPath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCondaVersionOfAGoVersion(t *testing.T) {
	for in, want := range map[string]string{"dev": "0.0.0.dev0", "": "0.0.0.dev0", "v1.2.3": "1.2.3", "1.2.3-rc.1": "1.2.3_rc.1", "1.2.3-4-gABC1234": "1.2.3_4_gabc1234"} {
		if got, err := condaVersionOf(in, "--version"); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"v", "1 2", "1/2", "x1"} {
		if _, err := condaVersionOf(bad, "--version"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
