// Package tooltest holds the helpers the tool families' tests share:
// a permission set over a fresh folder and calls that fail the test on an
// unexpected outcome.
package tooltest

import (
	"context"
	"testing"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// Perm returns a permission set rooted at a fresh folder that is both
// readable and writable, and the folder.
func Perm(t testing.TB) (*perm.Set, string) {
	t.Helper()
	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.CloseIdle)
	return p, dir
}

// Call invokes a tool through spec validation, failing the test on error.
func Call(t testing.TB, tool tools.Tool, params map[string]any) map[string]any {
	t.Helper()
	res, err := tools.Call(context.Background(), tool, params)
	if err != nil {
		t.Fatalf("%s %v: unexpected error: %v", tool.Spec().Name, params, err)
	}
	m, ok := res.(map[string]any)
	if !ok {
		t.Fatalf("%s: result is %T, want map[string]any", tool.Spec().Name, res)
	}
	return m
}

// CallErr invokes a tool expecting an error of type want; it returns the
// error's message.
func CallErr(t testing.TB, tool tools.Tool, params map[string]any, want tools.ErrorType) string {
	t.Helper()
	res, err := tools.Call(context.Background(), tool, params)
	if err == nil {
		t.Fatalf("%s %v: got result %v, want %s error", tool.Spec().Name, params, res, want)
	}
	if got := tools.TypeOf(err); got != want {
		t.Fatalf("%s %v: error type %s (%v), want %s", tool.Spec().Name, params, got, err, want)
	}
	return err.Error()
}
