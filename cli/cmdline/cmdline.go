// Package cmdline makes a mistyped gatehouse command line fail with a
// suggestion: unknown subcommands and flags name the closest ones, and a
// wrong number of arguments says what to pass.
package cmdline

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// UsageError is a mistyped command line: its text is a sentence for a
// person, printed alone, with exit status 1.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Configure makes a mistyped command line fail with a suggestion instead
// of help text and exit status 0: unknown subcommands of any command
// group name the closest ones, unknown flags name the closest flags, and a
// wrong number of arguments says what to pass. Call it on the root command
// once every subcommand is added.
func Configure(root *cobra.Command) {
	root.SetFlagErrorFunc(flagError)
	walk(root, func(c *cobra.Command) {
		// Each command reads its own distance; zero suggests nothing.
		c.SuggestionsMinimumDistance = 2
		if c.HasSubCommands() && !c.Runnable() {
			// A group: "gatehouse channel lst" is a typo, not a request
			// for help. Unknown flags are let through to the group, so
			// "keys lst --at H" is reported as the unknown subcommand it
			// is rather than as an unknown --at.
			c.Args = cobra.ArbitraryArgs
			c.FParseErrWhitelist.UnknownFlags = true
			c.RunE = groupRun
		}
		if c.Args != nil && c != root {
			c.Args = explainArgs(c.Args)
		}
	})
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// groupRun is the body of a command group: help with no arguments, an
// error naming the closest subcommands otherwise.
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	names := []string{}
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	msg += fmt.Sprintf("\n\n%s has these commands: %s. Run '%s --help' for usage.", cmd.CommandPath(), strings.Join(names, ", "), cmd.CommandPath())
	return &UsageError{Msg: msg}
}

// flagError explains a flag cobra could not parse, with the closest flags
// of the command and where to read its usage.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		if s := similarFlags(cmd, name); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t--" + strings.Join(s, "\n\t--")
		}
	}
	return &UsageError{Msg: fmt.Sprintf("%s\n\nRun '%s --help' for usage.", msg, cmd.CommandPath())}
}

// similarFlags names the command's flags within two edits of name, or
// starting with it.
func similarFlags(cmd *cobra.Command, name string) []string {
	var out []string
	seen := map[string]bool{}
	visit := func(f *pflag.Flag) {
		if seen[f.Name] || f.Hidden {
			return
		}
		if distance(name, f.Name) <= 2 || (len(name) > 1 && strings.HasPrefix(f.Name, name)) {
			seen[f.Name] = true
			out = append(out, f.Name)
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	sort.Strings(out)
	return out
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// explainArgs wraps an argument check so its refusal says what the
// command takes, instead of cobra's "requires at least 1 arg(s)".
func explainArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		err := check(cmd, args)
		if err == nil {
			return nil
		}
		want := argsPart(cmd)
		var msg string
		switch {
		case want == "":
			msg = fmt.Sprintf("%s takes no arguments, but got %q.", cmd.CommandPath(), strings.Join(args, " "))
			if len(args) > 0 && cmd.HasParent() {
				if s := cmd.Parent().SuggestionsFor(args[0]); len(s) > 0 {
					msg += fmt.Sprintf(" Did you mean: %s %s?", cmd.Parent().CommandPath(), s[0])
				}
			}
		case len(args) == 0:
			msg = fmt.Sprintf("%s needs %s; none was given.", cmd.CommandPath(), want)
		default:
			msg = fmt.Sprintf("%s takes %s, but got %d argument%s (%q).", cmd.CommandPath(), want, len(args), pluralS(len(args)), strings.Join(args, " "))
		}
		return &UsageError{Msg: fmt.Sprintf("%s\nUsage: %s\nRun '%s --help' for more.", msg, cmd.UseLine(), cmd.CommandPath())}
	}
}

// argsPart is what follows the command's name in its Use line, flags
// left out: "FILE...", "CHANNEL USER", "" for none.
func argsPart(cmd *cobra.Command) string {
	fields := strings.Fields(cmd.Use)
	var out []string
	for i := 1; i < len(fields); i++ {
		f := fields[i]
		if strings.HasPrefix(f, "-") {
			// A flag, and its value if it has one.
			if i+1 < len(fields) && !strings.HasPrefix(fields[i+1], "-") {
				i++
			}
			continue
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
