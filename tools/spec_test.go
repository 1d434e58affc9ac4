package tools_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/internal/tooltest"
)

var specFixture = tools.Spec{
	Name: "fixture", Category: "test", Description: "exercises Bind",
	Params: []tools.Param{
		{Name: "s", Type: tools.String, Required: true, Description: "a string"},
		{Name: "mode", Type: tools.String, Default: "a", Enum: []string{"a", "b"}, Description: "a mode"},
		{Name: "n", Type: tools.Integer, Default: int64(3), Description: "an integer"},
		{Name: "f", Type: tools.Number, Description: "a number"},
		{Name: "b", Type: tools.Boolean, Description: "a flag"},
		{Name: "o", Type: tools.Object, Description: "an object"},
		{Name: "l", Type: tools.Array, Description: "a list"},
		{Name: "any", Type: tools.Any, Description: "anything"},
	},
}

func TestBindAcceptsAndDefaults(t *testing.T) {
	p, err := specFixture.Bind(map[string]any{"s": "x", "f": 2, "b": true, "o": []any{}, "l": map[string]any{}, "any": nil})
	if err != nil {
		t.Fatal(err)
	}
	if p.String("s") != "x" || p.String("mode") != "a" || p.Int("n") != 3 || p.Float("f") != 2 || !p.Bool("b") {
		t.Fatalf("accessors: %q %q %d %v %v", p.String("s"), p.String("mode"), p.Int("n"), p.Float("f"), p.Bool("b"))
	}
	if p.Has("mode") || !p.Has("s") || p.Has("any") {
		t.Fatal("Has must report only given, non-nil values")
	}
	if _, ok := p.Get("nothing"); ok {
		t.Fatal("Get of an undeclared name succeeded")
	}
	if p.Int("n") != 3 {
		t.Fatal("integer default not applied")
	}
}

func TestBindRejects(t *testing.T) {
	cases := []struct {
		in  map[string]any
		msg string
	}{
		{map[string]any{}, `missing required parameter "s"`},
		{map[string]any{"s": nil}, `missing required parameter "s"`},
		{map[string]any{"s": 1.0}, `parameter "s": expected string, got number`},
		{map[string]any{"s": "x", "mode": "c"}, `parameter "mode": unknown value "c"; allowed: a, b`},
		{map[string]any{"s": "x", "n": 2.5}, `parameter "n": expected integer, got 2.5`},
		{map[string]any{"s": "x", "n": "3"}, `parameter "n": expected integer, got string`},
		{map[string]any{"s": "x", "n": 1e300}, `expected integer`},
		{map[string]any{"s": "x", "f": "1"}, `parameter "f": expected number, got string`},
		{map[string]any{"s": "x", "b": "true"}, `parameter "b": expected boolean, got string`},
		{map[string]any{"s": "x", "o": []any{1.0}}, `parameter "o": expected object, got array`},
		{map[string]any{"s": "x", "l": map[string]any{"a": 1.0}}, `parameter "l": expected array, got object`},
		{map[string]any{"s": "x", "zz": 1, "aa": 2}, `unknown parameters "aa", "zz"; known: s, mode, n, f, b, o, l, any`},
	}
	for _, c := range cases {
		_, err := specFixture.Bind(c.in)
		if err == nil || !errors.Is(err, tools.ErrValidation) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Bind(%v) = %v, want validation error containing %q", c.in, err, c.msg)
		}
	}
}

func TestSpecCheck(t *testing.T) {
	bad := []tools.Spec{
		{Name: "", Category: "c", Description: "d"},
		{Name: "Bad Name", Category: "c", Description: "d"},
		{Name: "ok", Description: "d"},
		{Name: "ok", Category: "c", Description: "d", Params: []tools.Param{{Name: "a", Type: "str"}}},
		{Name: "ok", Category: "c", Description: "d", Params: []tools.Param{{Name: "a", Type: tools.String}, {Name: "a", Type: tools.String}}},
		{Name: "ok", Category: "c", Description: "d", Params: []tools.Param{{Name: "a", Type: tools.Integer, Enum: []string{"x"}}}},
		{Name: "ok", Category: "c", Description: "d", Params: []tools.Param{{Name: "a", Type: tools.String, Required: true, Default: "x"}}},
		{Name: "ok", Category: "c", Description: "d", Params: []tools.Param{{Name: "a", Type: tools.String, Default: "z", Enum: []string{"x"}}}},
		{Name: "ok", Category: "c", Description: "d", Params: []tools.Param{{Name: "a", Type: tools.Integer, Default: "1"}}},
	}
	for _, s := range bad {
		if err := s.Check(); err == nil {
			t.Errorf("Check(%+v) passed, want an error", s)
		}
	}
	if err := specFixture.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestErrorTypes(t *testing.T) {
	err := tools.WithOp("tool x", tools.Failed("broke: %w", context.DeadlineExceeded))
	if tools.TypeOf(err) != tools.TypeExecution || err.Error() != "tool x: broke: context deadline exceeded" {
		t.Fatalf("%v %s", err, tools.TypeOf(err))
	}
	// The type is the outermost classification; the cause stays reachable.
	if !errors.Is(err, tools.ErrExecution) || errors.Is(err, tools.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("errors.Is mismatch for %v", err)
	}
	if tools.TypeOf(context.Canceled) != tools.TypeCancelled || tools.TypeOf(errors.New("x")) != tools.TypeExecution || tools.TypeOf(nil) != "" {
		t.Fatal("TypeOf of plain errors")
	}
	if tools.WithOp("a", nil) != nil {
		t.Fatal("WithOp(nil) is not nil")
	}
	if e := tools.WithOp("b", tools.WithOp("a", tools.Invalid("x"))); e.Error() != "a: x" {
		t.Fatalf("WithOp kept the inner origin? %q", e)
	}
}

func TestCallRejectsBeforeInvoking(t *testing.T) {
	called := false
	tool := tools.New(specFixture, func(context.Context, tools.Params) (any, error) { called = true; return nil, nil })
	if _, err := tools.Call(context.Background(), tool, map[string]any{}); tools.TypeOf(err) != tools.TypeValidation || called {
		t.Fatalf("err %v, called %v", err, called)
	}
	if !strings.HasPrefix(tooltest.CallErr(t, tool, map[string]any{"s": 1}, tools.TypeValidation), "tool fixture: ") {
		t.Fatal("error lacks the tool's name")
	}
}
