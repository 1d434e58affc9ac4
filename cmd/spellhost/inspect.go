package main

import (
	"context"
	"errors"
	"fmt"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/host/exitcode"
	"spellhost/host/scenario"
)

const inspectUsage = `Usage: spellhost inspect [flags] FILE.lua [-- ARGS...]

Prints the script's resolved options as JSON: scenarios with their
defaults filled, thresholds parsed, memory and task settings. The
script's top level runs (as it does before any run) but no scenario does.
Takes run's flags, so --vus, --iterations, --duration and --scenario show
their effect. Exit 104 on invalid options, 107 on a script error.
`

func inspectCmd(gs *globalState, args []string) error {
	fs := newFlags(gs, "inspect", inspectUsage)
	var rf runFlags
	rf.register(fs)
	script, scriptArgs, err := splitScriptArgs(fs, args)
	if err != nil {
		return err
	}
	cfg, cleanup, err := rf.config(gs, script, scriptArgs)
	if err != nil {
		return err
	}
	defer cleanup()
	cfg.InspectOnly = true
	cfg.Stdout = gs.stderr // what the top level prints is not the JSON
	res, err := scenario.Run(context.Background(), cfg)
	if err != nil {
		return reportRunError(gs, err)
	}
	if res == nil || res.RunOptions == nil {
		return exitcode.WithCodeIfNone(errors.New("inspect: the script produced no options"), exitcode.InvalidConfig)
	}
	d := res.RunOptions
	d["script"] = script
	if res.TopToBottom {
		d["mode"] = "top to bottom (no scenarios and no default function)"
	} else {
		d["mode"] = "scenarios"
	}
	out, err := json.Marshal(d, json.Deterministic(true), jsontext.WithIndent("  "))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(gs.stdout, "%s\n", out)
	return err
}
