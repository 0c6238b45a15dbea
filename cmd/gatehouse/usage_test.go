package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runCLI runs gatehouse in process with an empty environment.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	home := t.TempDir()
	code = Main(context.Background(), args, &out, &errb, func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	})
	return out.String(), errb.String(), code
}

// internalRef matches what only the project's own documents explain:
// checklist rows ("checklist D7", "(D7)"), issue numbers, design files.
var internalRef = regexp.MustCompile(`(?i)checklist|\bissue \d|\(\s*[A-K]\d{1,2}\b|\b[A-K]\d{1,2}:|protocols\.md|architecture\.md|security-checklist|\bTODO\b|\bXXX\b`)

func TestNoHelpTextHasInternalReferences(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
	walk(root, nil)
	if len(paths) < 30 {
		t.Fatalf("walked only %d commands", len(paths))
	}
	for _, p := range paths {
		out, errOut, code := runCLI(t, append(p, "--help")...)
		name := strings.Join(append([]string{"gatehouse"}, p...), " ")
		if code != 0 || out == "" {
			t.Errorf("%s --help: exit %d, stderr %q", name, code, errOut)
			continue
		}
		if m := internalRef.FindString(out); m != "" {
			t.Errorf("%s --help mentions %q, which only the project's own documents explain:\n%s", name, m, out)
		}
	}
}

func TestTyposFailWithASuggestion(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"an unknown subcommand of a group names the closest one", []string{"channel", "lst"},
			[]string{`unknown command "lst" for "gatehouse channel"`, "Did you mean this?", "list"}},
		{"an unknown subcommand followed by a flag is reported as the subcommand", []string{"keys", "lst", "--at", "127.0.0.1:1"},
			[]string{`unknown command "lst" for "gatehouse keys"`, "list"}},
		{"a nested group too", []string{"admin", "network", "ad", "10.0.0.0/8"},
			[]string{`unknown command "ad" for "gatehouse admin network"`, "add"}},
		{"an unknown top-level command", []string{"lgin"},
			[]string{`unknown command "lgin"`, "login"}},
		{"an unknown flag names the closest flag", []string{"login", "--att", "x"},
			[]string{"unknown flag: --att", "--at", "Run 'gatehouse login --help' for usage."}},
		{"upload with no arguments says what to pass", []string{"upload"},
			[]string{"gatehouse upload needs FILE...", "Usage: gatehouse upload FILE... --channel CHANNEL"}},
		{"too many arguments say what the command takes", []string{"channel", "create", "a", "b"},
			[]string{"gatehouse channel create takes NAME, but got 2 arguments", "Usage:"}},
		{"an argument to a command that takes none", []string{"keys", "list", "everything"},
			[]string{`gatehouse keys list takes no arguments, but got "everything"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, c.args...)
			if code == 0 {
				t.Fatalf("gatehouse %s exited 0; stdout:\n%s", strings.Join(c.args, " "), out)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(errOut, "arg(s)") {
				t.Errorf("stderr has cobra's raw message:\n%s", errOut)
			}
		})
	}
	t.Run("a group with no arguments still prints its help and succeeds", func(t *testing.T) {
		out, _, code := runCLI(t, "channel")
		if code != 0 || !strings.Contains(out, "Available Commands") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}
