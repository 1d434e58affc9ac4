package main

import (
	"fmt"

	"spellhost/host/exitcode"
	"spellhost/host/luavm"
)

const checkUsage = `Usage: spellhost check FILE.lua...

Compiles each script and reports syntax errors as FILE:LINE: message,
without running anything. Exit 0 when all compile, 107 otherwise.
`

func checkCmd(gs *globalState, args []string) error {
	fs := newFlags(gs, "check", checkUsage)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErr("missing the script to check")
	}
	var failed []string
	for _, path := range fs.Args() {
		if _, err := luavm.CompileFile(path); err != nil {
			fmt.Fprintln(gs.stderr, err)
			failed = append(failed, path)
			continue
		}
		fmt.Fprintf(gs.stdout, "%s: ok\n", path)
	}
	if len(failed) > 0 {
		return exitcode.WithCodeIfNone(fmt.Errorf("%d of %d scripts do not compile", len(failed), fs.NArg()), exitcode.ScriptException)
	}
	return nil
}
