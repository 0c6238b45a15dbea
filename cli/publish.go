package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/cli/output"
	"github.com/gatehouse-dev/gatehouse/cli/upload"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/condabuild"
	"github.com/gatehouse-dev/gatehouse/condaname"
	"github.com/spf13/cobra"
)

// cliPackage is the conda package the CLI is published as; the server
// publishes its own binary under the same name (server/toolspublish.go).
const cliPackage = "gatehouse"

func newPublishCLICommand(env *Env) *cobra.Command {
	var at, platform, version, channel string
	var replace, asJSON, force bool
	cmd := &cobra.Command{
		Use:   "publish-cli --platform SUBDIR FILE",
		Short: "Publish a gatehouse binary for another platform in the tools channel",
		Long: `Package a gatehouse binary as the conda package "gatehouse" (bin/gatehouse, or
Library/bin/gatehouse.exe on win-*) for the platform named, and upload it to
the tools channel, so machines of that platform can install the CLI with

    conda install -c <server>/repo/gatehouse-tools --override-channels gatehouse

The server publishes its own binary for its own platform when it starts; this
command adds the others (cross-compiled with GOOS/GOARCH). The build string is
h<first 8 hex digits of the binary's sha256>_0, so publishing the same binary
twice does nothing. The binary's format and architecture are checked against
--platform.`,
		Example: `  GOOS=darwin GOARCH=arm64 go build -o gatehouse-osx-arm64 ./cmd/gatehouse
  gatehouse admin publish-cli --platform osx-arm64 gatehouse-osx-arm64 --version 1.4.0`,
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			installPath, err := cliInstallPath(platform)
			if err != nil {
				return err
			}
			v, from := version, "--version"
			if v == "" {
				v, from = env.Version, "this gatehouse's version"
			}
			condaVersion, err := condaVersionOf(v, from)
			if err != nil {
				return err
			}
			bin, err := os.Open(args[0])
			if err != nil {
				return exitf(ExitFailure, "%s", upload.FileError(args[0], err))
			}
			defer bin.Close()
			fi, err := bin.Stat()
			if err != nil || !fi.Mode().IsRegular() {
				return exitf(ExitFailure, "%s is not a regular file.", args[0])
			}
			if got := binaryPlatform(bin); got != platform && !force {
				if got == "" {
					got = "not a gatehouse executable of any platform this command knows"
				}
				return exitf(ExitFailure, "%s is %s, not %s: build it with the matching GOOS and GOARCH (or pass --force).", args[0], got, platform)
			}
			h := sha256.New()
			if _, err := io.Copy(h, io.NewSectionReader(bin, 0, fi.Size())); err != nil {
				return fmt.Errorf("reading %s: %w", args[0], err)
			}
			sum := hex.EncodeToString(h.Sum(nil))

			s, err := env.connect(at)
			if err != nil {
				return err
			}
			meta := condabuild.Meta{
				Name: cliPackage, Version: condaVersion, Build: "h" + sum[:8] + "_0", Subdir: platform,
				Summary:     "Gatehouse command-line client: register this machine, log in, manage API keys",
				Description: "The gatehouse binary for " + platform + " (binary sha256 " + sum + ").",
				Home:        s.t.base.String() + "/",
				Timestamp:   env.now().UTC(),
			}
			ctx := cmd.Context()
			if !replace {
				pkgs, err := s.c.ListPackages(ctx, channel, platform)
				if err != nil {
					return env.keyRefused(s, err)
				}
				for _, p := range pkgs {
					if p.Filename == meta.Filename() {
						if asJSON {
							return output.JSON(env.Stdout, p)
						}
						fmt.Fprintf(env.Stdout, "%s/%s is already in %s: nothing to do.\n", platform, p.Filename, channel)
						return nil
					}
				}
			}

			tmp, err := os.CreateTemp("", "gatehouse-publish-*.conda")
			if err != nil {
				return fmt.Errorf("creating a temporary file for the package: %w", err)
			}
			defer os.Remove(tmp.Name())
			defer tmp.Close()
			file := condabuild.File{Path: installPath, Mode: 0o755, Size: fi.Size(), Open: func() (io.ReadCloser, error) {
				return io.NopCloser(io.NewSectionReader(bin, 0, fi.Size())), nil
			}}
			if err := condabuild.Build(tmp, meta, []condabuild.File{file}); err != nil {
				return fmt.Errorf("building %s: %w", meta.Filename(), err)
			}
			n, err := tmp.Seek(0, io.SeekEnd)
			if err == nil {
				_, err = tmp.Seek(0, io.SeekStart)
			}
			if err != nil {
				return err
			}
			opts := client.UploadOptions{Replace: replace}
			if env.isTerminal(env.Stderr) {
				bar := output.NewProgressBar(env.Stderr, meta.Filename(), n)
				opts.Progress = bar.Update
				defer bar.Clear()
			}
			pkg, err := s.c.Upload(ctx, channel, meta.Filename(), tmp, n, opts)
			if err != nil {
				return env.keyRefused(s, err)
			}
			if asJSON {
				return output.JSON(env.Stdout, pkg)
			}
			fmt.Fprintf(env.Stdout, "Published %s/%s (gatehouse %s, %s) in %s.\nInstall it with: conda install -c %s/repo/%s --override-channels gatehouse\n",
				pkg.Subdir, pkg.Filename, condaVersion, output.Size(pkg.Size), channel, s.t.base.String(), channel)
			return nil
		}),
	}
	addAt(cmd, &at)
	f := cmd.Flags()
	f.StringVar(&platform, "platform", "", "the conda subdir of the binary: linux-64, linux-aarch64, osx-64, osx-arm64, win-64, ... (required)")
	f.StringVar(&version, "version", "", "the package version (default: this gatehouse's version)")
	f.StringVar(&channel, "channel", "gatehouse-tools", "the tools channel")
	f.BoolVar(&replace, "replace", false, "replace a package of the same file name")
	f.BoolVar(&force, "force", false, "publish even if the binary does not look like one for --platform")
	f.BoolVar(&asJSON, "json", false, "print the package as JSON")
	cmd.MarkFlagRequired("platform")
	return cmd
}

// cliInstallPath is where the binary goes in the package: Library\bin on
// Windows (on conda's PATH there), bin elsewhere.
func cliInstallPath(platform string) (string, error) {
	if !condaname.ValidSubdir(platform) || platform == "noarch" {
		return "", exitf(ExitFailure, "--platform %q: give a conda subdir such as linux-64, osx-arm64 or win-64.", platform)
	}
	if strings.HasPrefix(platform, "win-") {
		return "Library/bin/gatehouse.exe", nil
	}
	return "bin/gatehouse", nil
}

// condaVersionOf maps a Go binary's version to a conda version, as the
// server does for its own binary: dev builds are 0.0.0.dev0, a leading v
// goes, '-' becomes '_' (1.2.3-rc.1 → 1.2.3_rc.1).
func condaVersionOf(v, from string) (string, error) {
	v = strings.TrimSpace(v)
	switch v {
	case "", "dev", "(devel)":
		return "0.0.0.dev0", nil
	}
	if len(v) > 1 && (v[0] == 'v' || v[0] == 'V') && v[1] >= '0' && v[1] <= '9' {
		v = v[1:]
	}
	v = strings.ReplaceAll(strings.ToLower(v), "-", "_")
	if !condaVersionRE.MatchString(v) {
		return "", exitf(ExitFailure, "%s %q cannot be a conda version: pass --version with digits, letters, '.', '_' and '+', such as 1.4.0.", from, v)
	}
	return v, nil
}

var condaVersionRE = regexp.MustCompile(`^[0-9][0-9a-z._+!]{0,63}$`)

// binaryPlatform names the conda subdir an executable is for, from its
// headers; "" if it is none this command knows.
func binaryPlatform(r io.ReaderAt) string { return condabuild.ExecutableSubdir(r) }
