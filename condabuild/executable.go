package condabuild

import (
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"io"
)

// ExecutableSubdir names the conda subdir an executable is for, read from
// its ELF, Mach-O or PE headers; "" if it is none of those known.
func ExecutableSubdir(r io.ReaderAt) string {
	if f, err := elf.NewFile(r); err == nil {
		defer f.Close()
		switch f.Machine {
		case elf.EM_X86_64:
			return "linux-64"
		case elf.EM_AARCH64:
			return "linux-aarch64"
		case elf.EM_PPC64:
			return "linux-ppc64le"
		case elf.EM_S390:
			return "linux-s390x"
		}
		return ""
	}
	if f, err := macho.NewFile(r); err == nil {
		defer f.Close()
		switch f.Cpu {
		case macho.CpuAmd64:
			return "osx-64"
		case macho.CpuArm64:
			return "osx-arm64"
		}
		return ""
	}
	if f, err := pe.NewFile(r); err == nil {
		defer f.Close()
		switch f.Machine {
		case pe.IMAGE_FILE_MACHINE_AMD64:
			return "win-64"
		case pe.IMAGE_FILE_MACHINE_ARM64:
			return "win-arm64"
		}
	}
	return ""
}
