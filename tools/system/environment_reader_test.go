package system_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/system"
)

// envTool returns environment_reader with --allow-env=allow.
func envTool(t testing.TB, allow ...string) tools.Tool {
	t.Helper()
	dir := t.TempDir()
	ps, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Env: allow})
	if err != nil {
		t.Fatal(err)
	}
	return system.EnvironmentReader(ps)
}

// envSetup sets the test's variables: two allowed under SPELLHOST_TEST_APP_*
// and one secret.
func envSetup(t *testing.T) tools.Tool {
	t.Setenv("SPELLHOST_TEST_APP_ONE", "1")
	t.Setenv("SPELLHOST_TEST_APP_EMPTY", "")
	t.Setenv("SPELLHOST_TEST_SECRET", "hunter2")
	return envTool(t, "SPELLHOST_TEST_APP_*", "SPELLHOST_TEST_MISSING")
}

func TestEnvironmentReaderGet(t *testing.T) {
	tool := envSetup(t)
	cases := []struct {
		name  string
		value any
		found bool
	}{
		{"SPELLHOST_TEST_APP_ONE", "1", true},
		{"SPELLHOST_TEST_APP_EMPTY", "", true},
		{"SPELLHOST_TEST_MISSING", nil, false},
		{"SPELLHOST_TEST_APP_UNSET", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, tool, map[string]any{"operation": "get", "variable_name": c.name})
			want := map[string]any{"variable_name": c.name, "value": c.value, "found": c.found}
			if !reflect.DeepEqual(res, want) {
				t.Fatalf("got %v, want %v", res, want)
			}
		})
	}
	t.Run("allow all", func(t *testing.T) {
		dir := t.TempDir()
		ps, err := perm.New(perm.Config{Base: dir, All: true})
		if err != nil {
			t.Fatal(err)
		}
		res := call(t, system.EnvironmentReader(ps), map[string]any{"operation": "get", "variable_name": "SPELLHOST_TEST_SECRET"})
		if res["value"] != "hunter2" || res["found"] != true {
			t.Fatalf("got %v", res)
		}
	})
}

// envCount counts the process's variables, those starting with prefix.
func envCount(prefix string) int {
	n := 0
	for _, kv := range os.Environ() {
		if i := strings.IndexByte(kv, '='); i > 0 && strings.HasPrefix(kv[:i], prefix) {
			n++
		}
	}
	return n
}

func TestEnvironmentReaderListAndPattern(t *testing.T) {
	tool := envSetup(t)
	both := map[string]any{"SPELLHOST_TEST_APP_ONE": "1", "SPELLHOST_TEST_APP_EMPTY": ""}
	cases := []struct {
		name   string
		params map[string]any
		vars   map[string]any
	}{
		{"pattern prefix", map[string]any{"operation": "pattern", "pattern": "SPELLHOST_TEST_*"}, both},
		{"pattern allowed prefix", map[string]any{"operation": "pattern", "pattern": "SPELLHOST_TEST_APP_*"}, both},
		{"pattern ?", map[string]any{"operation": "pattern", "pattern": "SPELLHOST_TEST_APP_?NE"}, map[string]any{"SPELLHOST_TEST_APP_ONE": "1"}},
		{"pattern class", map[string]any{"operation": "pattern", "pattern": "SPELLHOST_TEST_[AS]*"}, both},
		{"pattern exact secret", map[string]any{"operation": "pattern", "pattern": "SPELLHOST_TEST_SECRET"}, map[string]any{}},
		{"pattern no match", map[string]any{"operation": "pattern", "pattern": "SPELLHOST_NOPE_*"}, map[string]any{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, tool, c.params)
			want := map[string]any{"variables": c.vars, "count": len(c.vars), "pattern": c.params["pattern"]}
			if !reflect.DeepEqual(res, want) {
				t.Fatalf("got %v, want %v", res, want)
			}
		})
	}
	t.Run("list", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "list"})
		want := map[string]any{"variables": both, "count": 2, "hidden": envCount("") - 2}
		if !reflect.DeepEqual(res, want) {
			t.Fatalf("got %v, want %v", res, want)
		}
	})
	// A pattern naming a refused variable that is set answers exactly as
	// one naming a variable that does not exist: no probing of names.
	set := call(t, tool, map[string]any{"operation": "pattern", "pattern": "SPELLHOST_TEST_SEC*"})
	unset := call(t, tool, map[string]any{"operation": "pattern", "pattern": "SPELLHOST_TEST_XYZ*"})
	delete(set, "pattern")
	delete(unset, "pattern")
	if !reflect.DeepEqual(set, unset) {
		t.Fatalf("refused match %v differs from no match %v", set, unset)
	}
	// Repeated calls are answered from the permission cache; the answer
	// must not change.
	for range 3 {
		res := call(t, tool, map[string]any{"operation": "list"})
		if !reflect.DeepEqual(res["variables"], both) {
			t.Fatalf("repeat: %v", res["variables"])
		}
	}
}

func TestEnvironmentReaderErrors(t *testing.T) {
	tool := envSetup(t)
	long := strings.Repeat("A", 1025)
	cases := []struct {
		name   string
		tool   tools.Tool
		params map[string]any
		typ    tools.ErrorType
		want   []string
	}{
		{"missing operation", tool, map[string]any{"variable_name": "X"}, tools.TypeValidation, []string{`"operation"`}},
		{"unknown operation", tool, map[string]any{"operation": "set"}, tools.TypeValidation, []string{`"operation"`, `"set"`}},
		{"operation wrong type", tool, map[string]any{"operation": 1}, tools.TypeValidation, []string{`"operation"`, "expected string"}},
		{"unknown parameter", tool, map[string]any{"operation": "list", "value": "x"}, tools.TypeValidation, []string{`"value"`}},
		{"get without name", tool, map[string]any{"operation": "get"}, tools.TypeValidation, []string{`"variable_name"`, "get"}},
		{"name wrong type", tool, map[string]any{"operation": "get", "variable_name": 5}, tools.TypeValidation, []string{`"variable_name"`}},
		{"name empty", tool, map[string]any{"operation": "get", "variable_name": ""}, tools.TypeValidation, []string{`"variable_name"`, "empty"}},
		{"name with =", tool, map[string]any{"operation": "get", "variable_name": "A=B"}, tools.TypeValidation, []string{`"variable_name"`, "'='"}},
		{"name with NUL", tool, map[string]any{"operation": "get", "variable_name": "A\x00"}, tools.TypeValidation, []string{`"variable_name"`, "NUL"}},
		{"name too long", tool, map[string]any{"operation": "get", "variable_name": long}, tools.TypeTooLarge, []string{`"variable_name"`, "1024-byte"}},
		{"get with pattern", tool, map[string]any{"operation": "get", "variable_name": "X", "pattern": "*"}, tools.TypeValidation, []string{`"pattern"`, "get"}},
		{"list with name", tool, map[string]any{"operation": "list", "variable_name": "X"}, tools.TypeValidation, []string{`"variable_name"`, "list"}},
		{"list with pattern", tool, map[string]any{"operation": "list", "pattern": "*"}, tools.TypeValidation, []string{`"pattern"`, "list"}},
		{"pattern missing", tool, map[string]any{"operation": "pattern"}, tools.TypeValidation, []string{`"pattern"`}},
		{"pattern with name", tool, map[string]any{"operation": "pattern", "pattern": "*", "variable_name": "X"}, tools.TypeValidation, []string{`"variable_name"`}},
		{"pattern empty", tool, map[string]any{"operation": "pattern", "pattern": ""}, tools.TypeValidation, []string{`"pattern"`, "empty"}},
		{"pattern malformed", tool, map[string]any{"operation": "pattern", "pattern": "APP_[*"}, tools.TypeValidation, []string{`"pattern"`, "malformed"}},
		{"pattern trailing escape", tool, map[string]any{"operation": "pattern", "pattern": `APP\`}, tools.TypeValidation, []string{`"pattern"`, "malformed"}},
		{"pattern too long", tool, map[string]any{"operation": "pattern", "pattern": strings.Repeat("*", 257)}, tools.TypeTooLarge, []string{`"pattern"`, "256-byte"}},
		// Permissions.
		{"refused variable", tool, map[string]any{"operation": "get", "variable_name": "SPELLHOST_TEST_SECRET"}, tools.TypePermission,
			[]string{"SPELLHOST_TEST_SECRET", "--allow-env=SPELLHOST_TEST_SECRET"}},
		{"prefix without separator", tool, map[string]any{"operation": "get", "variable_name": "SPELLHOST_TEST_APP"}, tools.TypePermission,
			[]string{"--allow-env=SPELLHOST_TEST_APP"}},
		{"shorter prefix", tool, map[string]any{"operation": "get", "variable_name": "SPELLHOST_TEST_AP"}, tools.TypePermission, []string{"--allow-env"}},
		{"refused even when unset", tool, map[string]any{"operation": "get", "variable_name": "SPELLHOST_TEST_NOT_SET"}, tools.TypePermission, []string{"--allow-env"}},
		{"default perm refuses PATH", envTool(t), map[string]any{"operation": "get", "variable_name": "PATH"}, tools.TypePermission, []string{"--allow-env=PATH"}},
		{"nil perm get", system.EnvironmentReader(nil), map[string]any{"operation": "get", "variable_name": "PATH"}, tools.TypePermission, []string{"--allow-env=PATH"}},
		{"nil perm list", system.EnvironmentReader(nil), map[string]any{"operation": "list"}, tools.TypePermission, []string{"--allow-env"}},
		{"nil perm pattern", system.EnvironmentReader(nil), map[string]any{"operation": "pattern", "pattern": "*"}, tools.TypePermission, []string{"--allow-env"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, c.tool, c.params, c.typ)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q does not mention %q", msg, w)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Fatalf("message %q leaks a value", msg)
			}
		})
	}
}

func TestEnvironmentReaderDefaultPermHidesAll(t *testing.T) {
	t.Setenv("SPELLHOST_TEST_SECRET", "hunter2")
	res := call(t, envTool(t), map[string]any{"operation": "list"})
	if res["count"] != 0 || len(res["variables"].(map[string]any)) != 0 || res["hidden"] != envCount("") {
		t.Fatalf("got count %v hidden %v, want 0 and %d", res["count"], res["hidden"], envCount(""))
	}
}

func TestEnvironmentReaderExample(t *testing.T) {
	tool := envTool(t)
	res := call(t, tool, tool.Spec().Example)
	if res["count"] != 0 {
		t.Fatalf("example: %v", res)
	}
}

func BenchmarkEnvironmentReader(b *testing.B) {
	b.Setenv("APP_BENCH", "x")
	tool := envTool(b, "APP_*")
	params := map[string]any{"operation": "get", "variable_name": "APP_BENCH"}
	list := map[string]any{"operation": "pattern", "pattern": "APP_*"}
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tools.Call(b.Context(), tool, params); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pattern", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tools.Call(b.Context(), tool, list); err != nil {
				b.Fatal(err)
			}
		}
	})
}
