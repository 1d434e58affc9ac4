package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"spellhost/host/exitcode"
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
