package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version describes the binary from the build information Go records in
// it: the module version (a pseudo-version from the commit when built in a
// checkout) and, when the build stamped it, the VCS revision, its time and
// whether the tree had uncommitted changes.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(no build information)"
	}
	return describeBuild(info)
}

func describeBuild(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v + " (no VCS revision recorded: built with -buildvcs=false or outside a checkout), " + info.GoVersion
	}
	details := []string{"revision " + rev}
	if at != "" {
		details = append(details, at)
	}
	if modified {
		details = append(details, "modified")
	}
	return fmt.Sprintf("%s (%s), %s", v, strings.Join(details, ", "), info.GoVersion)
}

func newVersionCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and VCS revision of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(g.streams.out, "tessera "+version())
			return err
		},
	}
}

// refuseUnknownSubcommands makes every command with subcommands below the
// root refuse an unknown one with cobra's suggestions: cobra checks only
// the root's, and otherwise prints the help and exits 0, so a typo in a
// script (`tessera app registr`) passes for success.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		refuseUnknownSubcommands(c)
	}
	if !cmd.HasParent() || !cmd.HasSubCommands() {
		return
	}
	cmd.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2
		}
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return fmt.Errorf("%s\n\nRun '%s --help' for usage", msg, c.CommandPath())
	}
	if !cmd.Runnable() {
		cmd.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
	}
}

// movedCommands are subcommands of the root that this binary no longer
// has, with where they went.
func movedCommands() map[string]string {
	return map[string]string{
		"bench": "The load generator is a binary of its own, so that the server carries none of it:\n" +
			"\ttessera-bench (go build ./cmd/tessera-bench; see docs/benchmarks.md)",
	}
}

// addMovedCommands gives each moved command a hidden stand-in that fails
// as an unknown command would, and says where the command went: someone
// following an old script or document learns more than that it is gone.
// The stand-in takes whatever arguments and flags follow it, so that it
// is the answer whatever the old command line was, and it skips the
// root's settings file, which the old command did not need.
func addMovedCommands(root *cobra.Command) {
	for name, where := range movedCommands() {
		root.AddCommand(&cobra.Command{
			Use:                name,
			Hidden:             true,
			DisableFlagParsing: true,
			PersistentPreRunE:  func(*cobra.Command, []string) error { return nil },
			RunE: func(c *cobra.Command, args []string) error {
				return fmt.Errorf("unknown command %q for %q\n\n%s", name, root.CommandPath(), where)
			},
		})
	}
}
