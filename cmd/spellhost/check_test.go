package main

import (
	"strings"
	"testing"

	"spellhost/host/exitcode"
)

func TestCheck(t *testing.T) {
	good, bad := script(t, "print(1)"), script(t, "if then")
	code, out, _ := run(t, "check", good)
	if code != 0 || !strings.Contains(out, "s.lua: ok") {
		t.Fatalf("check good: %d %q", code, out)
	}
	code, _, errOut := run(t, "check", good, bad)
	if code != exitcode.ScriptException || !strings.Contains(errOut, "s.lua:1: syntax error") || !strings.Contains(errOut, "1 of 2 scripts") {
		t.Fatalf("check bad: %d %q", code, errOut)
	}
	if code, _, _ := run(t, "check"); code != exitcode.Usage {
		t.Fatalf("check without args: %d", code)
	}
	if code, _, errOut := run(t, "check", "/nonexistent.lua"); code != exitcode.ScriptException || !strings.Contains(errOut, "no such file") {
		t.Fatalf("check missing: %d %q", code, errOut)
	}
}
