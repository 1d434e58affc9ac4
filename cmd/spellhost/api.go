package main

import (
	"io"
	"os"
	"strings"

	"spellhost/host/luavm"
)

const apiUsage = `Usage:
  spellhost api docs [--out FILE]    the Lua API reference (docs/lua-api.md)
  spellhost api types [--out FILE]   the lua-language-server meta file (lua/types/spellhost.lua)

Both are generated from the declarations that install the Lua bindings.
`

func apiCmd(gs *globalState, args []string) error {
	if len(args) == 0 {
		return usageErr("missing subcommand: docs or types")
	}
	sub := args[0]
	var write func(io.Writer) error
	switch sub {
	case "docs":
		write = luavm.WriteAPIMarkdown
	case "types":
		write = luavm.WriteMeta
	case "-h", "--help":
		io.WriteString(gs.stdout, apiUsage)
		return nil
	default:
		return usageErr("unknown subcommand %q: want docs or types", sub)
	}
	fs := newFlags(gs, "api "+sub, apiUsage)
	out := fs.String("out", "", "write to FILE instead of stdout")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("api %s takes no arguments", sub)
	}
	var b strings.Builder
	if err := write(&b); err != nil {
		return err
	}
	if *out == "" {
		_, err := io.WriteString(gs.stdout, b.String())
		return err
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}
