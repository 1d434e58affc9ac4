package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"spellhost/host/exitcode"
	"spellhost/host/luavm"
)

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
