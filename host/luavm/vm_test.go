package luavm_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/luavm"
	lualib "spellhost/lua"
	"spellhost/tools"
	"spellhost/tools/builtin"
	"spellhost/tools/perm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness is a kernel with the built-in tools plus test tools, and an Env.
type harness struct {
	env    *luavm.Env
	k      *kernel.Kernel
	out    *bytes.Buffer
	log    *bytes.Buffer
	envVar map[string]string
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}, Env: []string{"SPELLHOST_TEST_*"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.CloseIdle)
	reg, err := builtin.NewRegistry(builtin.Config{Perm: p})
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range testTools() {
		if err := reg.Register(tl); err != nil {
			t.Fatal(err)
		}
	}
	fs := fault.New(7)
	k := kernel.New(reg, kernel.Options{MaxRequestBytes: 1 << 20, Faults: fs})
	t.Cleanup(func() { k.Close(); fs.Close() })
	h := &harness{k: k, out: &bytes.Buffer{}, log: &bytes.Buffer{},
		envVar: map[string]string{"SPELLHOST_TEST_NAME": "lua", "HOME": "/root"}}
	h.env = &luavm.Env{
		Kernel: k, Perm: p, Stdout: h.out, Log: h.log, LogLevel: "debug", Args: []string{"one", "two"},
		Seed: 7, Lib: lualib.FS, Limits: luavm.Limits{MaxStringBytes: 2 << 20}, // over the request limit, for too_large
		LookupEnv: func(k string) (string, bool) { v, ok := h.envVar[k]; return v, ok },
	}
	return h
}

func testTools() []tools.Tool {
	return []tools.Tool{
		tools.New(tools.Spec{Name: "sleeper", Category: "test", Description: "sleeps ms or until cancelled",
			Params: []tools.Param{{Name: "ms", Type: tools.Integer, Required: true, Description: "milliseconds"}}},
			func(ctx context.Context, p tools.Params) (any, error) {
				select {
				case <-time.After(time.Duration(p.Int("ms")) * time.Millisecond):
					return map[string]any{"slept": p.Int("ms")}, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}),
		tools.New(tools.Spec{Name: "panicker", Category: "test", Description: "panics"},
			func(context.Context, tools.Params) (any, error) { panic("tool exploded") }),
		tools.New(tools.Spec{Name: "echo", Category: "test", Description: "returns its params",
			Params: []tools.Param{{Name: "value", Type: tools.Any, Description: "anything"}}},
			func(_ context.Context, p tools.Params) (any, error) {
				v, _ := p.Get("value")
				return map[string]any{"value": v}, nil
			}),
	}
}

// run compiles src as name and runs it in a fresh VM.
func (h *harness) run(t testing.TB, ctx context.Context, name, src string) error {
	t.Helper()
	prog, err := luavm.Compile(name, "testdata", []byte(src))
	if err != nil {
		return err
	}
	vm, err := luavm.New(h.env, prog, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	return vm.RunMain(ctx)
}

// TestScripts runs every testdata/*.lua file; each asserts its own
// expectations and must finish without error.
func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.lua")
	if len(files) == 0 {
		t.Fatal("no testdata scripts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := h.run(t, ctx, f, string(src)); err != nil {
				var se *luavm.ScriptError
				if ok := asScript(err, &se); ok {
					t.Fatalf("%s\n%s", se.Message, se.Traceback)
				}
				t.Fatal(err)
			}
		})
	}
}

func asScript(err error, se **luavm.ScriptError) bool {
	s, ok := err.(*luavm.ScriptError)
	if ok {
		*se = s
	}
	return ok
}

func TestSyntaxErrors(t *testing.T) {
	cases := map[string]string{
		"x = ":                     "broken.lua:1: syntax error",
		"local a = 1\nif a then":   "broken.lua:2: syntax error",
		"print('unterminated)":     "broken.lua:1: syntax error",
		"\x1bLua\x51\x00":          "precompiled bytecode is not accepted",
		"local x = 1\n\nx = = 2\n": "broken.lua:3: syntax error",
	}
	for src, want := range cases {
		_, err := luavm.Compile("broken.lua", ".", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile(%q) = %v, want %q", src, err, want)
		}
	}
	if _, err := luavm.Compile("ok.lua", ".", []byte("#!/usr/bin/env spellhost\nprint(1)")); err != nil {
		t.Errorf("shebang line: %v", err)
	}
}

func TestRuntimeErrorHasTraceback(t *testing.T) {
	h := newHarness(t)
	err := h.run(t, context.Background(), "boom.lua", "local function inner()\n  error('kaput')\nend\nlocal function outer() inner() end\nouter()\n")
	se, ok := err.(*luavm.ScriptError)
	if !ok {
		t.Fatalf("err = %T %v", err, err)
	}
	if se.Message != "boom.lua:2: kaput" {
		t.Fatalf("message %q", se.Message)
	}
	for _, want := range []string{"boom.lua:2: in function 'inner'", "boom.lua:4: in function 'outer'", "boom.lua:5: in main chunk"} {
		if !strings.Contains(se.Traceback, want) {
			t.Errorf("traceback lacks %q:\n%s", want, se.Traceback)
		}
	}
	err = h.run(t, context.Background(), "tool.lua", "Tool.invoke('calculator', {input = '1/0'})")
	if se, ok = err.(*luavm.ScriptError); !ok || se.Type != tools.TypeExecution ||
		se.Message != "tool.lua:1: execution_error: tool calculator: division by zero" {
		t.Fatalf("tool error: %#v", err)
	}
}

func TestPrintAndLogger(t *testing.T) {
	h := newHarness(t)
	if err := h.run(t, context.Background(), "p.lua", `print("a", 1, nil, true) Logger.info("hello", {n = 2, a = "x"}) Logger.debug("dbg")`); err != nil {
		t.Fatal(err)
	}
	if h.out.String() != "a\t1\tnil\ttrue\n" {
		t.Fatalf("print wrote %q", h.out.String())
	}
	if !strings.Contains(h.log.String(), "INFO  vu=1 hello a=x n=2") || !strings.Contains(h.log.String(), "DEBUG vu=1 dbg") {
		t.Fatalf("log %q", h.log.String())
	}
	h.env2(t, "warn")
}

// env2 checks level filtering with a fresh env at the given level.
func (h *harness) env2(t *testing.T, level string) {
	t.Helper()
	h2 := newHarness(t)
	h2.env.LogLevel = level
	if err := h2.run(t, context.Background(), "l.lua", `Logger.info("hidden") Logger.warn("shown")`); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h2.log.String(), "hidden") || !strings.Contains(h2.log.String(), "shown") {
		t.Fatalf("level %s: %q", level, h2.log.String())
	}
}

func TestSeededRandomRepeats(t *testing.T) {
	draw := func() string {
		h := newHarness(t)
		if err := h.run(t, context.Background(), "r.lua", `for i = 1, 5 do print(math.random(1, 1000)) end`); err != nil {
			t.Fatal(err)
		}
		return h.out.String()
	}
	if a, b := draw(), draw(); a != b {
		t.Fatalf("same seed, different draws:\n%s\n%s", a, b)
	}
}
