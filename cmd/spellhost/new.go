package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"spellhost/host/exitcode"
)

//go:embed templates/*.lua
var templates embed.FS

const newUsage = `Usage: spellhost new [--template NAME] [--force] FILE.lua

Writes a commented starting script. Templates:
%s
It refuses to overwrite an existing file unless --force.
`

func templateNames() []string {
	entries, _ := fs.ReadDir(templates, "templates")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".lua"))
	}
	slices.Sort(names)
	return names
}

func newCmd(gs *globalState, args []string) error {
	var list strings.Builder
	for _, n := range templateNames() {
		fmt.Fprintf(&list, "  %s\n", n)
	}
	fset := newFlags(gs, "new", fmt.Sprintf(newUsage, list.String()))
	tmpl := fset.String("template", "stress", "the template: "+strings.Join(templateNames(), ", "))
	force := fset.Bool("force", false, "overwrite FILE if it exists")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		return usageErr("want one FILE.lua to write, got %d arguments", fset.NArg())
	}
	path := fset.Arg(0)
	if !strings.HasSuffix(path, ".lua") {
		return usageErr("%s: the script's name must end in .lua", path)
	}
	src, err := templates.ReadFile("templates/" + *tmpl + ".lua")
	if err != nil {
		return usageErr("unknown template %q: want one of %s", *tmpl, strings.Join(templateNames(), ", "))
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if *force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return exitcode.WithCodeIfNone(fmt.Errorf("%s exists; use --force to overwrite it", path), exitcode.Failure)
	}
	if err != nil {
		return exitcode.WithCodeIfNone(fmt.Errorf("new: %w", err), exitcode.Failure)
	}
	if _, err := f.Write(src); err != nil {
		f.Close()
		return exitcode.WithCodeIfNone(fmt.Errorf("new: %w", err), exitcode.Failure)
	}
	if err := f.Close(); err != nil {
		return exitcode.WithCodeIfNone(fmt.Errorf("new: %w", err), exitcode.Failure)
	}
	fmt.Fprintf(gs.stdout, "wrote %s (template %s); run it with: spellhost run %s\n", path, *tmpl, path)
	return nil
}
