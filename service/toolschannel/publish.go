// Package toolschannel publishes the gatehouse CLI into the tools channel,
// the channel the registration gate never closes.
package toolschannel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/gatehouse-dev/gatehouse/condabuild"
	"github.com/gatehouse-dev/gatehouse/spool"
)

// The tools channel serves the gatehouse CLI itself, so a client behind the
// registration gate can install the tool that registers it with only
// `conda install -c <server>/repo/gatehouse-tools --override-channels
// gatehouse`, the way Anaconda's anaconda-tools channel serves
// anaconda-registration. At start the server packages its own binary.

// Config is what publishing needs.
type Config struct {
	Store    gatehouse.Store
	Packages gatehouse.PackageService
	// Spool is where the package is built before it is uploaded, and
	// MaxUploadSize bounds it as it bounds any upload.
	Spool         spool.Dir
	MaxUploadSize int64
	ToolsChannel  string
	PublicURL     *url.URL
	Clock         gatehouse.Clock
	Logger        *slog.Logger
}

// Publisher publishes the CLI.
type Publisher struct{ cfg Config }

// New returns a Publisher.
func New(cfg Config) *Publisher { return &Publisher{cfg: cfg} }

// absURL returns the public URL of path.
func (c *Publisher) absURL(path string) string {
	u := *c.cfg.PublicURL
	u.Path = path
	u.RawQuery = ""
	return u.String()
}

// cliPackageName is the conda package the CLI is published as.
const cliPackageName = "gatehouse"

// devCondaVersion is the conda version of a binary built without a version
// (the "dev" default of cmd/gatehouse): the lowest a release can sort above.
const devCondaVersion = "0.0.0.dev0"

// CLITarget maps a Go platform to the conda subdir the CLI belongs in and
// the path it installs to: bin/ on Unix, Library/bin/ on Windows (where
// conda puts Library\bin on PATH). ok is false for platforms with no
// mapping; the CLI is then not published.
func CLITarget(goos, goarch string) (subdir, path string, ok bool) {
	switch goos + "/" + goarch {
	case "linux/amd64":
		return "linux-64", "bin/gatehouse", true
	case "linux/arm64":
		return "linux-aarch64", "bin/gatehouse", true
	case "darwin/amd64":
		return "osx-64", "bin/gatehouse", true
	case "darwin/arm64":
		return "osx-arm64", "bin/gatehouse", true
	case "windows/amd64":
		return "win-64", "Library/bin/gatehouse.exe", true
	case "windows/arm64":
		return "win-arm64", "Library/bin/gatehouse.exe", true
	}
	return "", "", false
}

// cliCondaVersion maps the binary's version (cmd/gatehouse's version
// variable, set with -ldflags "-X main.version=...") to a conda version:
//
//   - "", "dev" and "(devel)" become 0.0.0.dev0;
//   - a leading "v" before a digit is dropped (v1.2.3 → 1.2.3);
//   - letters are lowercased and '-' becomes '_', which conda reads as a
//     separator like '.', so 1.2.3-rc.1 → 1.2.3_rc.1 sorts before 1.2.3
//     and git describe's 1.2.3-4-gabc1234 → 1.2.3_4_gabc1234 after it.
//
// Anything that is still not a conda version (spaces, '/', ...) is an
// error: the CLI is not published rather than published under a made-up
// version.
func cliCondaVersion(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch v {
	case "", "dev", "(devel)":
		return devCondaVersion, nil
	}
	if len(v) > 1 && (v[0] == 'v' || v[0] == 'V') && v[1] >= '0' && v[1] <= '9' {
		v = v[1:]
	}
	v = strings.ReplaceAll(strings.ToLower(v), "-", "_")
	if _, _, err := conda.ParseFilename(cliPackageName + "-" + v + "-h0_0.conda"); err != nil {
		return "", fmt.Errorf("the version %q cannot be a conda version: %s", v, gatehouse.ErrorMessage(err))
	}
	return v, nil
}

// Publish publishes the executable at binaryPath (the running server's
// own, from os.Executable) as the conda package "gatehouse" in the tools
// channel, in the subdir of the platform the server runs on. version is
// the binary's version, mapped to a conda version by the rules of
// cliCondaVersion. The build string is h<first 8 hex digits of the
// binary's sha256>_0, so a new binary is a new package and a binary
// already published is left alone: then Publish does nothing and
// returns nil. It is also nil when another replica publishes the same
// file at the same moment.
//
// The package goes through the same path as an upload (inspection,
// validation, blob store, audit log), in the name of the tools channel's
// owner (for a channel owned by an organization, its first owner). The
// tools channel must exist; cmd/gatehouse creates it at start. Callers run
// Publish in the background: building the package compresses the
// binary twice, about two seconds for a 50 MB binary.
func (c *Publisher) Publish(ctx context.Context, binaryPath, version string) error {
	subdir, _, ok := CLITarget(runtime.GOOS, runtime.GOARCH)
	if !ok {
		return fmt.Errorf("publishing the CLI: no conda subdir is known for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	return c.PublishFor(ctx, binaryPath, version, subdir)
}

// PublishFor is Publish for a binary of the platform whose conda subdir is
// given (a cross-compiled one).
func (c *Publisher) PublishFor(ctx context.Context, binaryPath, version, subdir string) error {
	installPath := "bin/gatehouse"
	if strings.HasPrefix(subdir, "win-") {
		installPath = "Library/bin/gatehouse.exe"
	}
	condaVersion, err := cliCondaVersion(version)
	if err != nil {
		return fmt.Errorf("publishing the CLI: %w", err)
	}
	ch, err := c.cfg.Store.ChannelByName(ctx, c.cfg.ToolsChannel)
	if err != nil {
		return fmt.Errorf("publishing the CLI: looking up the tools channel %q: %w", c.cfg.ToolsChannel, err)
	}
	// One descriptor for every pass: if the binary is replaced on disk
	// meanwhile (an upgrade renames a new file into place), every pass
	// still reads the one that was hashed.
	bin, err := os.Open(binaryPath)
	if err != nil {
		return fmt.Errorf("publishing the CLI: %w", err)
	}
	defer bin.Close()
	fi, err := bin.Stat()
	if err != nil {
		return fmt.Errorf("publishing the CLI: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("publishing the CLI: %s is not a regular file", binaryPath)
	}
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, io.NewSectionReader(bin, 0, fi.Size())}); err != nil {
		return fmt.Errorf("publishing the CLI: hashing %s: %w", binaryPath, err)
	}
	binSHA := hex.EncodeToString(h.Sum(nil))
	meta := condabuild.Meta{
		Name: cliPackageName, Version: condaVersion, Build: "h" + binSHA[:8] + "_0", Subdir: subdir,
		Summary:     "Gatehouse command-line client: register this machine, log in, manage API keys",
		Description: "The gatehouse binary published by the Gatehouse server at " + c.absURL("/") + " (binary sha256 " + binSHA + ").",
		Home:        c.absURL("/"),
		Timestamp:   c.cfg.Clock(),
	}
	filename := meta.Filename()
	log := c.cfg.Logger.With("channel", ch.Name, "subdir", subdir, "package", filename)
	if _, err := c.cfg.Store.PackageByFilename(ctx, ch.ID, subdir, filename); err == nil {
		log.Info("the gatehouse CLI is already in the tools channel")
		return nil
	} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
		return fmt.Errorf("publishing the CLI: %w", err)
	}
	owner, err := c.channelOwner(ctx, ch)
	if err != nil {
		return fmt.Errorf("publishing the CLI: %w", err)
	}
	file := condabuild.File{Path: installPath, Mode: 0o755, Size: fi.Size(), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(ctxReader{ctx, io.NewSectionReader(bin, 0, fi.Size())}), nil
	}}
	u, err := c.spoolBuild(meta, []condabuild.File{file})
	if err != nil {
		return fmt.Errorf("publishing the CLI: building %s: %w", filename, err)
	}
	defer spool.Remove(u)
	_, pkg, err := c.cfg.Packages.Upload(ctx, &gatehouse.Principal{User: owner, Method: gatehouse.AuthSystem}, ch.Name, u, false)
	if gatehouse.ErrorCode(err) == gatehouse.ECONFLICT {
		// Another replica, started with the same binary, was first.
		log.Info("the gatehouse CLI was published meanwhile by another server")
		return nil
	}
	if err != nil {
		return fmt.Errorf("publishing the CLI: %w", err)
	}
	log.Info("published the gatehouse CLI in the tools channel", "version", condaVersion, "sha256", pkg.SHA256, "size", pkg.Size, "binary_sha256", binSHA)
	return nil
}

// spoolBuild builds the package into a spooled upload, through the same
// size limit and digests as an upload.
func (c *Publisher) spoolBuild(meta condabuild.Meta, files []condabuild.File) (*gatehouse.Upload, error) {
	pr, pw := io.Pipe()
	built := make(chan error, 1)
	go func() {
		err := condabuild.Build(pw, meta, files)
		pw.CloseWithError(err)
		built <- err
	}()
	u, err := c.cfg.Spool.Write(pr, meta.Filename(), c.cfg.MaxUploadSize)
	pr.Close() // if spool stopped early, Build's next write fails and it returns
	berr := <-built
	switch {
	case berr != nil && !errors.Is(berr, io.ErrClosedPipe):
		err = berr // the cause; spool only saw the pipe break
	case err == nil:
		err = berr
	}
	if err != nil {
		spool.Remove(u)
		return nil, err
	}
	return u, nil
}

// channelOwner is the user the server acts as in ch: its owner, or the
// first owner of the organization that owns it.
func (c *Publisher) channelOwner(ctx context.Context, ch *gatehouse.Channel) (*gatehouse.User, error) {
	if ch.OwnerUserID != 0 {
		return c.cfg.Store.UserByID(ctx, ch.OwnerUserID)
	}
	members, err := c.cfg.Store.OrgMembers(ctx, ch.OwnerOrgID)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if m.Role == gatehouse.OrgOwner {
			return c.cfg.Store.UserByID(ctx, m.UserID)
		}
	}
	return nil, fmt.Errorf("channel %q has no owner to publish in the name of", ch.Name)
}

// ctxReader stops reading once ctx is done, so a shutdown interrupts a
// build in progress.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
