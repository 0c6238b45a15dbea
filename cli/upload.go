package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/spf13/cobra"
)

// uploadResult is one file's outcome (--json prints a list of them).
type uploadResult struct {
	File    string          `json:"file"`
	OK      bool            `json:"ok"`
	Package *client.Package `json:"package,omitempty"`
	Status  int             `json:"status,omitempty"`
	Error   string          `json:"error,omitempty"`
	// Unchanged: the identical file was already in the channel.
	Unchanged bool `json:"unchanged,omitempty"`
}

func newUploadCommand(env *Env) *cobra.Command {
	var at, channel string
	var replace, asJSON bool
	cmd := &cobra.Command{
		Use:   "upload FILE... --channel CHANNEL",
		Short: "Upload conda packages (.conda, .tar.bz2) to a channel",
		Long: `Upload conda packages to a channel, one after another, each streamed from
disk. A progress bar is shown on a terminal. Every file's outcome is
reported; a failed file does not stop the others, and the exit status is 1
if any failed. A file already in the channel with the same content is not
a failure ("Nothing to do."), so a CI job can run again; a different file
of the same name is, unless --replace.

With no key stored, in a CI job that has an OpenID Connect ID token, the
upload uses trusted publishing: it exchanges the token for a key that can
only upload to the channel, for 15 minutes. GitHub Actions jobs with
"permissions: id-token: write" are found by ACTIONS_ID_TOKEN_REQUEST_URL and
ACTIONS_ID_TOKEN_REQUEST_TOKEN (the audience asked is the server's host, or
GATEHOUSE_OIDC_AUDIENCE); other systems put the token in GATEHOUSE_ID_TOKEN.`,
		Example: `  gatehouse upload dist/*.conda --channel lab
  gatehouse upload mypkg-1.0-0.tar.bz2 --channel lab --replace --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if channel == "" {
				return exitf(ExitFailure, "Name the channel to upload to: --channel NAME.")
			}
			s, err := env.connect(at)
			var ee *ExitError
			if errors.As(err, &ee) && ee.Code == ExitNoKey {
				// No key stored: in a CI job with an ID token, trusted
				// publishing gets one for this channel.
				ts, ok, terr := env.trustedSession(cmd.Context(), at, channel)
				if ok || terr != nil {
					s, err = ts, terr
				}
			}
			if err != nil {
				return err
			}
			var results []uploadResult
			failed := 0
			for i, path := range args {
				r := env.uploadOne(cmd, s, channel, path, replace)
				results = append(results, r)
				if r.OK && r.Unchanged {
					if !asJSON {
						fmt.Fprintf(env.Stdout, "%s/%s is already in %s with the same content. Nothing to do.\n", r.Package.Subdir, r.Package.Filename, channel)
					}
					continue
				}
				if r.OK {
					if !asJSON {
						fmt.Fprintf(env.Stdout, "Uploaded %s/%s to %s (%s).\n", r.Package.Subdir, r.Package.Filename, channel, size(r.Package.Size))
					}
					continue
				}
				failed++
				if !asJSON {
					fmt.Fprintf(env.Stderr, "Failed %s: %s\n", path, r.Error)
				}
				if r.Status == http.StatusUnauthorized {
					// Every other file would be refused the same way.
					for _, rest := range args[i+1:] {
						results = append(results, uploadResult{File: rest, Error: "not attempted: the key was refused"})
						failed++
					}
					if asJSON {
						printJSON(env.Stdout, results)
					}
					return env.keyRefused(s, &client.Error{Status: r.Status, Message: r.Error})
				}
			}
			if asJSON {
				if err := printJSON(env.Stdout, results); err != nil {
					return err
				}
			}
			if failed > 0 {
				if len(args) == 1 {
					return &ExitError{Code: ExitFailure}
				}
				return exitf(ExitFailure, "%d of %d files failed.", failed, len(args))
			}
			return nil
		}),
	}
	addAt(cmd, &at)
	f := cmd.Flags()
	f.StringVarP(&channel, "channel", "c", "", "the channel to upload to (required)")
	f.BoolVar(&replace, "replace", false, "overwrite a package file of the same name")
	f.BoolVar(&asJSON, "json", false, "print the outcomes as JSON")
	return cmd
}

// uploadOne uploads one file, with a progress bar on a terminal.
func (env *Env) uploadOne(cmd *cobra.Command, s *session, channel, path string, replace bool) uploadResult {
	res := uploadResult{File: path}
	f, err := os.Open(path)
	if err != nil {
		res.Error = fileError(path, err)
		return res
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		res.Error = fmt.Sprintf("%s is not a regular file.", path)
		return res
	}
	var bar *progressBar
	if env.isTerminal(env.Stderr) {
		bar = newProgressBar(env.Stderr, filepath.Base(path), fi.Size())
	}
	opts := client.UploadOptions{Replace: replace}
	if bar != nil {
		opts.Progress = bar.update
	}
	pkg, err := s.c.Upload(cmd.Context(), channel, filepath.Base(path), f, fi.Size(), opts)
	if bar != nil {
		bar.clear()
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
			if same := env.samePackage(cmd, s, channel, f, fi.Size(), filepath.Base(path), ce.Message); same != nil {
				res = uploadResult{File: path, OK: true, Package: same, Unchanged: true}
			}
		}
		return res
	}
	res.OK, res.Package = true, pkg
	return res
}

// samePackage returns the channel's package of the file's name when its
// sha256 is the file's, nil otherwise. msg, the server's refusal, names
// the subdir first ("linux-64/x-1-0.conda is already ..."); without it
// the whole channel is searched.
func (env *Env) samePackage(cmd *cobra.Command, s *session, channel string, f *os.File, n int64, filename, msg string) *client.Package {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, n)); err != nil {
		return nil
	}
	sum := hex.EncodeToString(h.Sum(nil))
	subdir, rest, ok := strings.Cut(msg, "/")
	if !ok || !strings.HasPrefix(rest, filename+" ") || !subdirRE.MatchString(subdir) {
		subdir = ""
	}
	pkgs, err := s.c.ListPackages(cmd.Context(), channel, subdir)
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

func fileError(path string, err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("%s does not exist.", path)
	case errors.Is(err, os.ErrPermission):
		return fmt.Sprintf("%s cannot be read (permission denied).", path)
	}
	return fmt.Sprintf("%s cannot be read: %v.", path, err)
}

// progressBar draws "name [=====>     ]  45%  1.2 MiB / 2.7 MiB" on one
// terminal line, redrawn at most ten times a second.
type progressBar struct {
	w     io.Writer
	name  string
	total int64
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, name string, total int64) *progressBar {
	if len(name) > 32 {
		name = name[:29] + "..."
	}
	return &progressBar{w: w, name: name, total: total}
}

func (p *progressBar) update(sent, total int64) {
	now := time.Now()
	if sent < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = float64(sent) / float64(total)
	}
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	fmt.Fprintf(p.w, "\r%-32s [%s] %3.0f%%  %s / %s ", p.name, bar, frac*100, size(sent), size(total))
	p.drawn = true
}

// clear erases the bar, so the outcome line starts clean.
func (p *progressBar) clear() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 90))
	}
}
