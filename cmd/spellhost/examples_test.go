package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"spellhost/host/exitcode"
)

// The header lines every example in examples/ carries (see
// examples/README.md):
//
//	-- Teaches: what the example shows
//	-- run: spellhost run [flags] examples/NAME.lua [-- args]
//	-- expect exit: N
var (
	exampleRun     = regexp.MustCompile(`(?m)^-- run: spellhost (run .*?)\s*$`)
	exampleExit    = regexp.MustCompile(`(?m)^-- expect exit: (\d+)\s*$`)
	exampleTeaches = regexp.MustCompile(`(?m)^-- Teaches: \S`)
)

// exampleHeader is what an example's header says about running it.
type exampleHeader struct {
	command string   // "run ... examples/NAME.lua ...", as written
	args    []string // command split into Main's arguments
	exit    exitcode.Code
}

// parseExampleHeader reads and checks the header of the example at path
// (relative to the repository's root).
func parseExampleHeader(path string, src []byte) (exampleHeader, []string) {
	var h exampleHeader
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, path+": "+fmt.Sprintf(format, args...))
	}
	if !exampleTeaches.Match(src) {
		bad("no %q comment saying what the example teaches", "-- Teaches: ")
	}
	runs := exampleRun.FindAllSubmatch(src, -1)
	switch len(runs) {
	case 0:
		bad("no %q line", "-- run: spellhost run ...")
	case 1:
		h.command = string(runs[0][1])
		if strings.ContainsAny(h.command, `"'\$`+"`") {
			bad("the run line %q uses quotes or shell syntax; keep it to plain words", h.command)
		}
		h.args = strings.Fields(h.command)
		if !slices.Contains(h.args, path) {
			bad("the run line %q does not run %s", h.command, path)
		}
	default:
		bad("%d run lines; want one", len(runs))
	}
	exits := exampleExit.FindAllSubmatch(src, -1)
	switch len(exits) {
	case 0:
		bad("no %q line", "-- expect exit: N")
	case 1:
		n, _ := strconv.Atoi(string(exits[0][1]))
		h.exit = exitcode.Code(n)
	default:
		bad("%d expect exit lines; want one", len(exits))
	}
	return h, problems
}

// TestExamples runs every examples/*.lua (lib/ holds modules, not
// examples) with the command its header gives and checks the exit code.
// The commands are written as run from the repository's root, so the test
// runs them from there: the script path and flags such as
// --allow-read=../README.md (which resolves against the script's folder)
// then mean exactly what they mean to a user typing them.
func TestExamples(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	files, err := filepath.Glob(filepath.Join("examples", "*.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 18 {
		t.Fatalf("found %d examples in examples/; want at least 18 (is the working directory the repository's root?)", len(files))
	}
	readme, err := os.ReadFile(filepath.Join("examples", "README.md"))
	if err != nil {
		t.Fatalf("examples/README.md: %v", err)
	}
	start := time.Now()
	for _, path := range files {
		path = filepath.ToSlash(path)
		name := strings.TrimPrefix(path, "examples/")
		t.Run(strings.TrimSuffix(name, ".lua"), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			h, problems := parseExampleHeader(path, src)
			if !strings.Contains(string(readme), "["+name+"]("+name+")") {
				problems = append(problems, "examples/README.md does not list "+name+" as ["+name+"]("+name+")")
			}
			if h.command != "" && !strings.Contains(string(readme), "`spellhost "+h.command+"`") {
				problems = append(problems, "examples/README.md does not give "+name+"'s command `spellhost "+h.command+"`")
			}
			if len(problems) > 0 {
				t.Fatal(strings.Join(problems, "\n"))
			}
			// A safety net: a hung example fails with 102 instead of
			// hanging the test.
			args := h.args
			if !strings.Contains(h.command, "--timeout") {
				args = append([]string{"run", "--timeout=60s"}, args[1:]...)
			}
			t0 := time.Now()
			// Run as from a shell in the repository's root: the
			// current directory is the real one.
			gs, stdout, stderr := testState(t, nil)
			gs.getwd = os.Getwd
			code := Main(gs, args)
			out, errOut := stdout.String(), stderr.String()
			took := time.Since(t0)
			if code != h.exit {
				t.Fatalf("spellhost %s: exit %d, want %d (took %v)\n--- stdout:\n%s\n--- stderr:\n%s",
					h.command, code, h.exit, took.Round(time.Millisecond), out, errOut)
			}
			t.Logf("spellhost %s: exit %d in %v", h.command, code, took.Round(time.Millisecond))
		})
	}
	t.Logf("%d examples in %v", len(files), time.Since(start).Round(time.Millisecond))
}

// TestExampleHeaderParsing checks the header reader on made-up headers,
// so a broken convention fails with a clear message rather than a skip.
func TestExampleHeaderParsing(t *testing.T) {
	good := "-- x.lua\n-- Teaches: something.\n--\n-- run: spellhost run --allow-read=../a examples/x.lua -- a b\n-- expect exit: 99\nprint(1)\n"
	h, problems := parseExampleHeader("examples/x.lua", []byte(good))
	if len(problems) > 0 || h.exit != 99 || strings.Join(h.args, " ") != "run --allow-read=../a examples/x.lua -- a b" {
		t.Fatalf("good header: %+v %q", h, problems)
	}
	cases := map[string]string{
		"-- run: spellhost run examples/x.lua\n-- expect exit: 0\n":                                   "Teaches",
		"-- Teaches: x\n-- expect exit: 0\n":                                                          "no \"-- run: spellhost run ...\" line",
		"-- Teaches: x\n-- run: spellhost run examples/x.lua\n":                                       "no \"-- expect exit: N\" line",
		"-- Teaches: x\n-- run: spellhost run examples/y.lua\n-- expect exit: 0\n":                    "does not run examples/x.lua",
		"-- Teaches: x\n-- run: spellhost run examples/x.lua -- 'a b'\n-- expect exit: 0\n":           "quotes",
		"-- Teaches: x\n-- run: spellhost run examples/x.lua\n-- expect exit: 0\n-- expect exit: 1\n": "2 expect exit lines",
	}
	for src, want := range cases {
		_, problems := parseExampleHeader("examples/x.lua", []byte(src))
		if !strings.Contains(strings.Join(problems, "\n"), want) {
			t.Errorf("%q: problems %q; want one containing %q", src, problems, want)
		}
	}
}
