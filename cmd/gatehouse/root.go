package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/cli"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries a process exit status through cobra.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the gatehouse command with args and returns the exit status.
// Everything it touches comes in as arguments, so tests can run it in
// process.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	root := newRoot(stdout, stderr, getenv)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return cli.Report(err, stderr)
}

// newRoot returns the gatehouse command with every subcommand.
func newRoot(stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse: a self-hosted conda package platform, server and client in one binary",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServerCommand(getenv))
	root.AddCommand(cli.Commands(&cli.Env{Stdout: stdout, Stderr: stderr, Getenv: getenv, Version: version})...)
	cli.Configure(root)
	return root
}
