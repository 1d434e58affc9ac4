package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"spellhost/host/exitcode"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(gs *globalState, args []string) error
}

func commands() []command {
	return []command{
		{"run", "run a Lua script: its scenarios, checks and thresholds", runCmd},
		{"check", "compile a Lua script and report syntax errors without running it", checkCmd},
		{"inspect", "print a script's resolved options as JSON", inspectCmd},
		{"compare", "compare two runs' summary files: changes, whether they are real, tolerances", compareCmd},
		{"new", "write a commented starting script", newCmd},
		{"tools", "list, describe, search and invoke the kernel's tools", toolsCmd},
		{"serve", "run the kernel as an HTTP/JSON service (API keys, limits, metrics, drain)", serveCmd},
		{"worker", "run the tasks of a kernel whose tasks live in NATS JetStream, on this machine", workerCmd},
		{"api", "write the Lua API reference or the editor's type file", apiCmd},
		{"version", "print the version", versionCmd},
	}
}

const rootUsage = `spellhost runs Lua stress scenarios and error-injection tests against a
kernel of tools, enforces time and memory limits, and reports what it measured.

Usage:
  spellhost <command> [flags] [arguments]

Commands:
%s
Run "spellhost <command> --help" for a command's flags.
`

func printRootUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, rootUsage, b.String())
}

// errUsage marks a command-line mistake; the message is printed with a
// hint to use --help.
var errUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return exitcode.WithCodeIfNone(fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...), exitcode.Usage)
}

// errHelp is returned when --help was asked for and printed.
var errHelp = errors.New("help printed")

// Main runs spellhost with args and returns the exit code.
func Main(gs *globalState, args []string) (code exitcode.Code) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(gs.stderr, "spellhost: internal error: %v\nplease report this with the command you ran\n", r)
			code = exitcode.Panic
		}
	}()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			return Main(gs, []string{args[1], "--help"})
		}
		printRootUsage(gs.stdout)
		if len(args) == 0 {
			return exitcode.Usage
		}
		return exitcode.OK
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	i := slices.IndexFunc(commands(), func(c command) bool { return c.name == args[0] })
	if i < 0 {
		fmt.Fprintf(gs.stderr, "spellhost: unknown command %q\n", args[0])
		printRootUsage(gs.stderr)
		return exitcode.Usage
	}
	err := commands()[i].run(gs, args[1:])
	if errors.Is(err, errHelp) {
		return exitcode.OK
	}
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "usage: ")
		fmt.Fprintf(gs.stderr, "spellhost %s: %s\n", args[0], msg)
		if errors.Is(err, errUsage) {
			fmt.Fprintf(gs.stderr, "run \"spellhost %s --help\" for usage\n", args[0])
		}
	}
	return exitcode.Of(err)
}

// newFlags returns a flag set that reports errors instead of exiting and
// prints its usage on --help.
func newFlags(gs *globalState, name, usage string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprint(gs.stdout, usage)
		if fs.HasFlags() {
			fmt.Fprintf(gs.stdout, "\nFlags:\n%s", fs.FlagUsages())
		}
	}
	return fs
}

// parseFlags parses args, turning --help into errHelp and flag mistakes
// into usage errors.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			// pflag has printed the usage already.
			return errHelp
		}
		return usageErr("%v", err)
	}
	return nil
}
