package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/cli/upload"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/spf13/cobra"
)

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
			var bar io.Writer
			if env.isTerminal(env.Stderr) {
				bar = env.Stderr
			}
			var results []upload.Result
			failed := 0
			for i, path := range args {
				r := upload.File(cmd.Context(), s.c, channel, path, replace, bar)
				results = append(results, r)
				if r.OK && r.Unchanged {
					if !asJSON {
						fmt.Fprintf(env.Stdout, "%s/%s is already in %s with the same content. Nothing to do.\n", r.Package.Subdir, r.Package.Filename, channel)
					}
					continue
				}
				if r.OK {
					if !asJSON {
						fmt.Fprintf(env.Stdout, "Uploaded %s/%s to %s (%s).\n", r.Package.Subdir, r.Package.Filename, channel, output.Size(r.Package.Size))
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
						results = append(results, upload.Result{File: rest, Error: "not attempted: the key was refused"})
						failed++
					}
					if asJSON {
						output.JSON(env.Stdout, results)
					}
					return env.keyRefused(s, &client.Error{Status: r.Status, Message: r.Error})
				}
			}
			if asJSON {
				if err := output.JSON(env.Stdout, results); err != nil {
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
