// Package upload uploads one conda package file to a channel for the
// CLI's upload command: streamed from disk, with a progress bar on a
// terminal, and safe to run again: a file already in the channel with the
// same content is an outcome of its own (Unchanged), not a failure, so a
// CI job that uploads again passes.
package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/client"
)

// Result is one file's outcome (upload --json prints a list of them).
type Result struct {
	File    string          `json:"file"`
	OK      bool            `json:"ok"`
	Package *client.Package `json:"package,omitempty"`
	Status  int             `json:"status,omitempty"`
	Error   string          `json:"error,omitempty"`
	// Unchanged: the identical file was already in the channel.
	Unchanged bool `json:"unchanged,omitempty"`
}

// File uploads the file at path to channel with c. When bar is not nil (a
// terminal), a progress bar is drawn on it and erased at the end.
func File(ctx context.Context, c *client.Client, channel, path string, replace bool, bar io.Writer) Result {
	res := Result{File: path}
	f, err := os.Open(path)
	if err != nil {
		res.Error = FileError(path, err)
		return res
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		res.Error = fmt.Sprintf("%s is not a regular file.", path)
		return res
	}
	opts := client.UploadOptions{Replace: replace}
	var pb *output.ProgressBar
	if bar != nil {
		pb = output.NewProgressBar(bar, filepath.Base(path), fi.Size())
		opts.Progress = pb.Update
	}
	pkg, err := c.Upload(ctx, channel, filepath.Base(path), f, fi.Size(), opts)
	if pb != nil {
		pb.Clear()
	}
	if err != nil {
		res.Error = err.Error()
		var ce *client.Error
		if errors.As(err, &ce) {
			res.Status = ce.Status
		}
		if res.Status == http.StatusConflict && !replace {
			// The identical file is already there: nothing to do, and a
			// rerun of a CI job passes. A different file of that name
			// still fails.
			if same := samePackage(ctx, c, channel, f, fi.Size(), filepath.Base(path), ce.Message); same != nil {
				res = Result{File: path, OK: true, Package: same, Unchanged: true}
			}
		}
		return res
	}
	res.OK, res.Package = true, pkg
	return res
}

var subdirRE = regexp.MustCompile(`^[a-z0-9]+-[a-z0-9]+$`)

// samePackage returns the channel's package of the file's name when its
// sha256 is the file's, nil otherwise. msg, the server's refusal, names
// the subdir first ("linux-64/x-1-0.conda is already ..."); without it
// the whole channel is searched.
func samePackage(ctx context.Context, c *client.Client, channel string, f *os.File, n int64, filename, msg string) *client.Package {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, n)); err != nil {
		return nil
	}
	sum := hex.EncodeToString(h.Sum(nil))
	subdir, rest, ok := strings.Cut(msg, "/")
	if !ok || !strings.HasPrefix(rest, filename+" ") || !subdirRE.MatchString(subdir) {
		subdir = ""
	}
	pkgs, err := c.ListPackages(ctx, channel, subdir)
	if err != nil {
		return nil
	}
	for i := range pkgs {
		if pkgs[i].Filename == filename && strings.EqualFold(pkgs[i].SHA256, sum) {
			return &pkgs[i]
		}
	}
	return nil
}

// FileError says, as a sentence, why the file at path cannot be read.
func FileError(path string, err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("%s does not exist.", path)
	case errors.Is(err, os.ErrPermission):
		return fmt.Sprintf("%s cannot be read (permission denied).", path)
	}
	return fmt.Sprintf("%s cannot be read: %v.", path, err)
}
