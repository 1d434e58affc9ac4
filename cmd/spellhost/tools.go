package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/host/exitcode"
	"spellhost/host/kernel"
	"spellhost/tools"
	"spellhost/tools/builtin"
)

const toolsUsage = `Usage:
  spellhost tools list [--category C] [--json]
  spellhost tools info NAME [--json]
  spellhost tools search QUERY [--json]
  spellhost tools invoke NAME ['{"param": value}'] [-p key=value]... [--timeout D]
  spellhost tools docs [--out FILE]

Lists, describes, searches and invokes the kernel's tools. --json output is
stable: keys sorted, one JSON document per command.
`

func toolsCmd(gs *globalState, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(gs.stderr, toolsUsage)
		return usageErr("missing subcommand: list, info, search, invoke or docs")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list":
		return toolsList(gs, rest)
	case "info":
		return toolsInfo(gs, rest)
	case "search":
		return toolsSearch(gs, rest)
	case "invoke":
		return toolsInvoke(gs, rest)
	case "docs":
		return toolsDocs(gs, rest)
	case "-h", "--help", "help":
		fmt.Fprint(gs.stdout, toolsUsage)
		return errHelp
	}
	return usageErr("unknown subcommand %q: want list, info, search, invoke or docs", sub)
}

// builtinRegistry returns the built-in tools for describing them; it needs
// no permissions since nothing is invoked.
func builtinRegistry() (*tools.Registry, error) {
	return builtin.NewRegistry(builtin.Config{})
}

func writeJSON(w io.Writer, v any) error {
	out, err := json.Marshal(v, json.Deterministic(true), jsontext.WithIndent("  "), jsontext.AllowInvalidUTF8(true))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}

func toolsList(gs *globalState, args []string) error {
	fs := newFlags(gs, "tools list", "Usage: spellhost tools list [--category C] [--json]\n\nLists the tools, sorted by name.\n")
	category := fs.String("category", "", "only tools of this category")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("list takes no arguments, got %q (did you mean --category %s?)", fs.Arg(0), fs.Arg(0))
	}
	reg, err := builtinRegistry()
	if err != nil {
		return err
	}
	specs := reg.List(*category)
	if *category != "" && len(specs) == 0 {
		return exitcode.WithCodeIfNone(fmt.Errorf("no category %q; categories: %s", *category, strings.Join(reg.Categories(), ", ")), exitcode.Failure)
	}
	if *asJSON {
		out := make([]any, len(specs))
		for i, s := range specs {
			out[i] = kernel.Summary(s)
		}
		return writeJSON(gs.stdout, map[string]any{"tools": out, "count": len(specs)})
	}
	tw := tabwriter.NewWriter(gs.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCATEGORY\tDESCRIPTION")
	for _, s := range specs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Category, firstSentence(s.Description, 70))
	}
	tw.Flush()
	cats := map[string]bool{}
	for _, s := range specs {
		cats[s.Category] = true
	}
	fmt.Fprintf(gs.stdout, "\n%s in %s\n", plural(len(specs), "tool"), plural(len(cats), "category"))
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return humanize.Comma(int64(n)) + " " + strings.TrimSuffix(word, "y") + "ies"
	}
	return humanize.Comma(int64(n)) + " " + word + "s"
}

// firstSentence shortens a description for a table cell.
func firstSentence(s string, max int) string {
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i+1]
	}
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

func toolsInfo(gs *globalState, args []string) error {
	fs := newFlags(gs, "tools info", "Usage: spellhost tools info NAME [--json]\n\nDescribes a tool: its parameters, their types, defaults and allowed values.\n")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("info takes one tool name, got %d arguments", fs.NArg())
	}
	reg, err := builtinRegistry()
	if err != nil {
		return err
	}
	t, err := reg.Get(fs.Arg(0))
	if err != nil {
		return err
	}
	s := t.Spec()
	if *asJSON {
		return writeJSON(gs.stdout, kernel.SpecMap(s))
	}
	w := gs.stdout
	fmt.Fprintf(w, "%s (%s)\n\n%s\n\n", s.Name, s.Category, s.Description)
	if len(s.Params) == 0 {
		fmt.Fprintln(w, "Takes no parameters.")
	} else {
		fmt.Fprintln(w, "Parameters:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, p := range s.Params {
			extra := []string{}
			if p.Required {
				extra = append(extra, "required")
			}
			if p.Default != nil {
				extra = append(extra, fmt.Sprintf("default %v", p.Default))
			}
			if len(p.Enum) > 0 {
				extra = append(extra, "one of "+strings.Join(p.Enum, ", "))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Name, p.Type, strings.Join(extra, "; "))
			fmt.Fprintf(tw, "  \t\t%s\n", p.Description)
		}
		tw.Flush()
	}
	if s.Returns != "" {
		fmt.Fprintf(w, "\nReturns: %s\n", s.Returns)
	}
	if s.Example != nil {
		ex, _ := json.Marshal(s.Example, json.Deterministic(true))
		fmt.Fprintf(w, "\nExample:\n  spellhost tools invoke %s '%s'\n", s.Name, ex)
	}
	return nil
}

func toolsSearch(gs *globalState, args []string) error {
	fs := newFlags(gs, "tools search", "Usage: spellhost tools search QUERY [--json]\n\nFinds tools whose name, category or description contain every word of QUERY\n(case-insensitive), name matches first.\n")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	query := strings.Join(fs.Args(), " ")
	if strings.TrimSpace(query) == "" {
		return usageErr("search needs a query")
	}
	reg, err := builtinRegistry()
	if err != nil {
		return err
	}
	specs := reg.Search(query)
	if *asJSON {
		out := make([]any, len(specs))
		for i, s := range specs {
			out[i] = kernel.Summary(s)
		}
		return writeJSON(gs.stdout, map[string]any{"query": query, "tools": out, "count": len(specs)})
	}
	if len(specs) == 0 {
		fmt.Fprintf(gs.stdout, "no tools match %q\n", query)
		return nil
	}
	tw := tabwriter.NewWriter(gs.stdout, 0, 0, 2, ' ', 0)
	for _, s := range specs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.Category, firstSentence(s.Description, 70))
	}
	return tw.Flush()
}

func toolsInvoke(gs *globalState, args []string) error {
	fs := newFlags(gs, "tools invoke", `Usage: spellhost tools invoke NAME ['{"param": value}'] [-p key=value]... [flags]

Runs one tool and prints its result as JSON. Parameters come from a JSON
object argument, from -p flags, or both (-p wins). A -p value that parses as
JSON (a number, true, an object...) is taken as that; otherwise it is a
string. On failure the error goes to stderr as "TYPE: message" and the exit
code is 1.
`)
	var pairs []string
	fs.StringArrayVarP(&pairs, "param", "p", nil, "a parameter as key=value (repeatable)")
	timeout := fs.String("timeout", "30s", "how long the tool may run")
	var pf permFlags
	pf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return usageErr("invoke takes a tool name and an optional JSON object of parameters")
	}
	params := map[string]any{}
	if fs.NArg() == 2 {
		if err := json.Unmarshal([]byte(fs.Arg(1)), &params); err != nil {
			return usageErr("parameters %q: want a JSON object: %v", fs.Arg(1), err)
		}
		if params == nil {
			params = map[string]any{}
		}
	}
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageErr("-p %q: want key=value", kv)
		}
		var val any
		if err := json.Unmarshal([]byte(v), &val); err != nil {
			val = v
		}
		params[k] = val
	}
	d, err := kernel.ParseDuration(*timeout)
	if err != nil || d <= 0 {
		return usageErr("--timeout=%s: want a positive duration such as 5s", *timeout)
	}
	wd, err := gs.getwd()
	if err != nil {
		return err
	}
	sess, err := pf.build(gs, wd)
	if err != nil {
		return err
	}
	defer sess.close()
	reg, err := builtin.NewRegistry(sess.cfg)
	if err != nil {
		return err
	}
	k := kernel.New(reg, kernel.Options{})
	defer k.Close()
	start := time.Now()
	res, err := k.Invoke(context.Background(), fs.Arg(0), params, d)
	if err != nil {
		return fmt.Errorf("%s: %w", tools.TypeOf(err), err)
	}
	if err := writeJSON(gs.stdout, res); err != nil {
		return err
	}
	if gs.stderrTTY {
		fmt.Fprintf(gs.stderr, "ok in %v\n", time.Since(start).Round(time.Microsecond))
	}
	return nil
}

func toolsDocs(gs *globalState, args []string) error {
	fs := newFlags(gs, "tools docs", "Usage: spellhost tools docs [--out FILE]\n\nWrites the Markdown reference of every tool (docs/tools.md), generated from\nthe tool specs.\n")
	out := fs.String("out", "", "write to FILE instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("docs takes no arguments")
	}
	reg, err := builtinRegistry()
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := writeToolsMarkdown(&b, reg.List("")); err != nil {
		return err
	}
	if *out == "" {
		_, err := io.WriteString(gs.stdout, b.String())
		return err
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}
