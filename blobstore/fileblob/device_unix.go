//go:build unix

package fileblob

import (
	"io/fs"
	"syscall"
)

// device returns the filesystem a file is on, for Adopt's same-filesystem
// check.
func device(fi fs.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Dev), true // int32 on darwin
}
