// Package cli holds the gatehouse command-line client: every subcommand of
// `gatehouse` except `server`. It finds and keeps keys like anaconda-auth
// (package credstore), talks to the server through package client, and
// prints tables for people and JSON (--json) for scripts.
//
// Exit statuses: 0 success; 1 failure (a refusal, an unreachable server, a
// bad argument); 2 no usable credential (no key found, or the server
// refused the key: expired, revoked, unknown).
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/cli/cmdline"
	"github.com/gatehouse-dev/gatehouse/client"
	"github.com/gatehouse-dev/gatehouse/credstore"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit statuses.
const (
	ExitFailure = 1
	ExitNoKey   = 2
)

// Env is everything the commands read from the outside world, so tests run
// them in process with a temporary home, a fake browser and a fixed clock.
// Zero fields mean the real thing.
type Env struct {
	Stdout, Stderr io.Writer
	// Stdin answers questions (keys revoke of the CLI's own key); nil
	// means os.Stdin, and only when it is a terminal.
	Stdin io.Reader
	// Getenv reads an environment variable; nil means os.Getenv.
	Getenv func(string) string
	// HomeDir replaces the home directory; "" means $HOME (%USERPROFILE%
	// on Windows), then os.UserHomeDir.
	HomeDir string
	// SecretsDir is where Docker secrets are mounted ("" = /run/secrets).
	SecretsDir string
	// OSKeyring replaces the system keyring.
	OSKeyring credstore.Keyring
	// Version is reported in the User-Agent.
	Version string
	// OpenBrowser opens a URL in the person's browser; nil runs xdg-open,
	// open or rundll32.
	OpenBrowser func(ctx context.Context, url string) error
	// Hostname names this machine in key names; nil means os.Hostname.
	Hostname func() (string, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// GOOS replaces runtime.GOOS (where the conda clients keep files).
	GOOS string
	// IsTerminal reports whether w is a terminal (progress bars); nil
	// checks an *os.File with golang.org/x/term.
	IsTerminal func(w io.Writer) bool
	// LoginTimeout bounds a login (default 10 minutes).
	LoginTimeout time.Duration
	// HTTPClient, when set, is used for every request (tests).
	HTTPClient *http.Client
}

func (e *Env) getenv(name string) string {
	if e.Getenv == nil {
		return os.Getenv(name)
	}
	return e.Getenv(name)
}

func (e *Env) goos() string {
	if e.GOOS != "" {
		return e.GOOS
	}
	return runtime.GOOS
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// home is the home directory the conda clients use.
func (e *Env) home() (string, error) {
	if e.HomeDir != "" {
		return e.HomeDir, nil
	}
	name := "HOME"
	if e.goos() == "windows" {
		name = "USERPROFILE"
	}
	if h := e.getenv(name); h != "" {
		return h, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your home directory (set %s): %w", name, err)
	}
	return h, nil
}

// creds is the credstore view of the environment.
func (e *Env) creds() credstore.Env {
	home, _ := e.home()
	return credstore.Env{
		Getenv: e.Getenv, HomeDir: home, SecretsDir: e.SecretsDir, OSKeyring: e.OSKeyring,
		Warnf: func(format string, args ...any) { e.warnf(format, args...) },
	}
}

func (e *Env) warnf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "Warning: "+format+"\n", args...)
}

func (e *Env) isTerminal(w io.Writer) bool {
	if e.IsTerminal != nil {
		return e.IsTerminal(w)
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks a yes/no question on stderr and reads the answer; without
// someone to answer (no terminal), it is no.
func (e *Env) confirm(question string) bool {
	in := e.Stdin
	if in == nil {
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			return false
		}
		in = os.Stdin
	}
	fmt.Fprintf(e.Stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

// version is the CLI's version in User-Agents: "dev" when unset.
func (e *Env) version() string {
	if e.Version == "" {
		return "dev"
	}
	return e.Version
}

func (e *Env) loginTimeout() time.Duration {
	if e.LoginTimeout > 0 {
		return e.LoginTimeout
	}
	return 10 * time.Minute
}

// ExitError is a failure with its exit status. Report prints Err's text
// alone: it is already a sentence a person can act on.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// exitf returns an ExitError with a formatted sentence.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// Report prints err for a person and returns the exit status: an
// ExitError's sentence alone, anything else (a usage error from cobra)
// after "Error:".
func Report(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if msg := ee.Error(); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		return ee.Code
	}
	var ue *cmdline.UsageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, ue.Error())
		return ExitFailure
	}
	fmt.Fprintln(stderr, "Error:", err)
	return ExitFailure
}

// fail classifies an error from the server or the network: a refused
// credential exits 2, anything else 1. The text stays the server's.
func fail(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	if client.IsStatus(err, http.StatusUnauthorized) {
		return &ExitError{Code: ExitNoKey, Err: err}
	}
	return &ExitError{Code: ExitFailure, Err: err}
}

// Commands returns the CLI's commands, to add to the root command.
func Commands(env *Env) []*cobra.Command {
	if env.Stdout == nil {
		env.Stdout = os.Stdout
	}
	if env.Stderr == nil {
		env.Stderr = os.Stderr
	}
	return []*cobra.Command{
		newLoginCommand(env),
		newLogoutCommand(env),
		newAuthCommand(env),
		newWhoamiCommand(env, "whoami"),
		newKeysCommand(env),
		newChannelCommand(env),
		newUploadCommand(env),
		newAdminCommand(env),
		newRegisterCommand(env),
	}
}

// Configure makes a mistyped command line fail with a suggestion (see
// package cmdline). Call it on the root command once every subcommand is
// added.
func Configure(root *cobra.Command) { cmdline.Configure(root) }

// runE adapts a command body so every error becomes an ExitError.
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return fail(fn(cmd, args))
	}
}
