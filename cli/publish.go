package cli

import "github.com/spf13/cobra"

// newPublishCLICommand returns `admin publish-cli`, or nil until the conda
// package writer it needs (package condabuild) exists.
func newPublishCLICommand(env *Env) *cobra.Command { return nil }
