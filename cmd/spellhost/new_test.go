package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	json "github.com/go-json-experiment/json"

	"spellhost/host/exitcode"
	"spellhost/host/luavm"
)

// TestNewThenRun is the newcomer's path: spellhost new my.lua, then
// spellhost run my.lua, for every template.
func TestNewThenRun(t *testing.T) {
	for _, tmpl := range templateNames() {
		p := filepath.Join(t.TempDir(), "my.lua")
		code, out, errOut := run(t, "new", "--template", tmpl, p)
		if code != 0 || !strings.Contains(out, "spellhost run "+p) {
			t.Fatalf("new %s: %d %q %q", tmpl, code, out, errOut)
		}
		code, out, errOut = run(t, "run", p)
		if code != 0 {
			t.Fatalf("run of template %s: exit %d\n%s\n%s", tmpl, code, out, errOut)
		}
	}
	// The default template is stress.
	p := filepath.Join(t.TempDir(), "d.lua")
	if code, _, _ := run(t, "new", p); code != 0 {
		t.Fatal("new without --template")
	}
	want, _ := templates.ReadFile("templates/stress.lua")
	if got, _ := os.ReadFile(p); string(got) != string(want) {
		t.Fatal("the default template is not stress")
	}
}

func TestNewBadInput(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "x.lua")
	os.WriteFile(existing, []byte("-- mine"), 0o644)
	cases := []struct {
		args []string
		code exitcode.Code
		msg  string
	}{
		{[]string{"new", existing}, exitcode.Failure, "exists; use --force"},
		{[]string{"new", "--template", "nope", filepath.Join(dir, "y.lua")}, exitcode.Usage, `unknown template "nope"`},
		{[]string{"new"}, exitcode.Usage, "want one FILE.lua"},
		{[]string{"new", "a.lua", "b.lua"}, exitcode.Usage, "got 2 arguments"},
		{[]string{"new", filepath.Join(dir, "script.txt")}, exitcode.Usage, "must end in .lua"},
		{[]string{"new", filepath.Join(dir, "missing", "z.lua")}, exitcode.Failure, "no such file"},
	}
	for _, c := range cases {
		code, _, errOut := run(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: %d %q, want %d with %q", c.args, code, errOut, c.code, c.msg)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "-- mine" {
		t.Fatal("new overwrote an existing file without --force")
	}
	if code, _, _ := run(t, "new", "--force", "--template", "tasks", existing); code != 0 {
		t.Fatal("--force did not overwrite")
	}
	if b, _ := os.ReadFile(existing); string(b) == "-- mine" {
		t.Fatal("--force left the file as it was")
	}
}

func TestInspect(t *testing.T) {
	p := script(t, `
options = {
  scenarios = {a = {executor = "constant-arrival-rate", rate = 10, duration = "2s", preAllocatedVUs = 2, exec = "f"}},
  thresholds = {["tool_duration{tool:calculator}"] = {"p(95)<5", {threshold = "max<50", abortOnFail = true}}},
  tasks = {workers = 8},
}
print("the top level runs")
function f() end`)
	code, out, errOut := run(t, "inspect", p)
	if code != 0 {
		t.Fatalf("inspect: %d %q", code, errOut)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("inspect output is not JSON: %v\n%s", err, out)
	}
	a := d["scenarios"].(map[string]any)["a"].(map[string]any)
	if a["executor"] != "constant-arrival-rate" || a["timeUnit"] != "1s" || a["gracefulStop"] != "30s" || a["duration"] != "2s" {
		t.Fatalf("scenario defaults: %v", a)
	}
	ths := d["thresholds"].([]any)
	if len(ths) != 2 || ths[0].(map[string]any)["percentile"] != 95.0 || ths[1].(map[string]any)["abortOnFail"] != true {
		t.Fatalf("thresholds: %v", ths)
	}
	tk := d["tasks"].(map[string]any)
	if tk["workers"] != 8.0 || tk["queue"] != 10000.0 {
		t.Fatalf("tasks: %v", tk)
	}
	if !strings.Contains(errOut, "the top level runs") {
		t.Fatalf("the script's prints should go to stderr, got %q", errOut)
	}
	// --vus and --duration show their effect.
	code, out, _ = run(t, "inspect", "--vus", "3", "--duration", "5s", script(t, "function default() end"))
	if code != 0 || !strings.Contains(out, `"executor": "constant-vus"`) || !strings.Contains(out, `"vus": 3`) {
		t.Fatalf("inspect with --vus: %d %s", code, out)
	}
	for _, c := range []struct {
		src  string
		code exitcode.Code
		msg  string
	}{
		{`options = {scenarios = {a = {executor = "warp"}}}`, exitcode.InvalidConfig, `unknown executor "warp"`},
		{`options = {thresholds = {iterations = {"p(95)<<3"}}}`, exitcode.InvalidConfig, "p(95)<<3"},
		{"options = {\n", exitcode.ScriptException, "syntax error"},
		{`error("boom")`, exitcode.ScriptException, "boom"},
	} {
		code, _, errOut := run(t, "inspect", script(t, c.src))
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%q: %d %q, want %d with %q", c.src, code, errOut, c.code, c.msg)
		}
	}
	if code, _, _ := run(t, "inspect"); code != exitcode.Usage {
		t.Fatal("inspect without a script")
	}
	if code, _, _ := run(t, "inspect", "/no/such.lua"); code != exitcode.InvalidConfig {
		t.Fatal("inspect of a missing file")
	}
}

// TestAPIDocsCurrent fails when docs/lua-api.md or lua/types/spellhost.lua
// differ from what the binding declarations generate (make docs).
func TestAPIDocsCurrent(t *testing.T) {
	for _, c := range []struct{ sub, path string }{
		{"docs", "../../docs/lua-api.md"},
		{"types", "../../lua/types/spellhost.lua"},
	} {
		code, out, errOut := run(t, "api", c.sub)
		if code != 0 {
			t.Fatalf("api %s: %d %s", c.sub, code, errOut)
		}
		if *update {
			if err := os.WriteFile(c.path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		have, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatalf("%v (run make docs)", err)
		}
		if string(have) != out {
			t.Fatalf("%s is stale: run `make docs`", c.path)
		}
	}
	if code, _, errOut := run(t, "api", "colour"); code != exitcode.Usage || !strings.Contains(errOut, `unknown subcommand "colour"`) {
		t.Fatalf("bad subcommand: %d %q", code, errOut)
	}
	if code, _, _ := run(t, "api"); code != exitcode.Usage {
		t.Fatal("api without a subcommand")
	}
}

// TestMetaFile: the editor file parses as Lua, declares every registered
// function and value and nothing else, and defines every class it uses.
func TestMetaFile(t *testing.T) {
	_, out, _ := run(t, "api", "types")
	if _, err := luavm.Compile("spellhost.lua", ".", []byte(out)); err != nil {
		t.Fatalf("the meta file does not parse: %v", err)
	}
	declared := regexp.MustCompile(`(?m)^function ([A-Za-z_.]+)\(`).FindAllStringSubmatch(out, -1)
	var got []string
	for _, m := range declared { // methods (KernelHandle:invoke) do not match
		got = append(got, m[1])
	}
	var want []string
	for _, f := range luavm.Funcs() {
		want = append(want, f.FullName())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("functions in the meta file\n%v\nregistered\n%v", got, want)
	}
	for _, v := range luavm.Values() {
		name := v.Name
		if v.Table != "" {
			name = v.Table + "." + v.Name
		}
		if v.Table != "Exec" && !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name)+` = `).MatchString(out) {
			t.Errorf("value %s is missing from the meta file", name)
		}
	}
	classes := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^---@class (\w+)`).FindAllStringSubmatch(out, -1) {
		classes[m[1]] = true
	}
	builtin := map[string]bool{"string": true, "number": true, "integer": true, "boolean": true, "table": true, "any": true,
		"nil": true, "userdata": true, "fun": true}
	for _, m := range regexp.MustCompile(`\b([A-Z][A-Za-z]+)\b`).FindAllStringSubmatch(strings.Join(typeRefs(out), " "), -1) {
		if !classes[m[1]] && !builtin[m[1]] {
			t.Errorf("type %s is used but no class defines it", m[1])
		}
	}
}

// typeRefs returns the type parts of the @param, @return, @field and @type
// annotations.
func typeRefs(meta string) []string {
	var out []string
	for _, l := range strings.Split(meta, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && (f[0] == "---@param" || f[0] == "---@field"):
			out = append(out, f[2])
		case len(f) >= 2 && (f[0] == "---@return" || f[0] == "---@type"):
			out = append(out, f[1])
		}
	}
	return out
}
