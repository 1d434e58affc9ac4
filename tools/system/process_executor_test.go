package system_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/system"
)

var peRun = []string{"echo", "sh", "sleep", "seq", "cat", "env", "pwd"}

// peTool returns process_executor allowed to run peRun and to pass PATH
// and SPELLHOST_PT_ALLOWED* to them, with the base folder <tmp>/box
// readable and writable, and that folder. <tmp> also holds a sibling
// <tmp>/boxx and <tmp>/outside.
func peTool(t testing.TB, lim perm.Limits, run ...string) (tools.Tool, string) {
	t.Helper()
	root := t.TempDir()
	box := filepath.Join(root, "box")
	for _, d := range []string{box, filepath.Join(box, "sub"), filepath.Join(root, "boxx"), filepath.Join(root, "outside")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if run == nil {
		run = peRun
	}
	ps, err := perm.New(perm.Config{Base: box, Read: []string{box}, Write: []string{box}, Run: run,
		Env: []string{"SPELLHOST_PT_ALLOWED*", "PATH"}, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	box, _ = filepath.EvalSymlinks(box)
	return system.ProcessExecutor(ps), box
}

func TestProcessExecutorRuns(t *testing.T) {
	t.Setenv("SPELLHOST_PT_ALLOWED", "yes")
	t.Setenv("SPELLHOST_PT_SECRET", "hunter2")
	tool, box := peTool(t, perm.Limits{})
	// An impostor called echo in the sandbox, for the PATH case below.
	if err := os.WriteFile(filepath.Join(box, "echo"), []byte("#!/bin/sh\ntouch pwned\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	meta := []string{";", "a; touch pwned", "$(touch pwned)", "`touch pwned`", "|", "x | cat", "&&", ">", "pwned", "*", "$HOME",
		"'single'", `"double"`, `back\slash`, "new\nline", "", "  spaced  ", "#comment", "~", "%PATH%"}
	sorted := func(s string) []string {
		l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		slices.Sort(l)
		return l
	}
	cases := []struct {
		name   string
		params map[string]any
		stdout string
		stderr string
		exit   int
		signal any
		check  func(t *testing.T, res map[string]any)
	}{
		{name: "echo", params: map[string]any{"executable": "echo", "arguments": []any{"hello", "world"}}, stdout: "hello world\n"},
		{name: "no arguments", params: map[string]any{"executable": "echo"}, stdout: "\n"},
		{name: "metacharacters are literal", params: map[string]any{"executable": "echo", "arguments": toAny(meta)},
			stdout: strings.Join(meta, " ") + "\n"},
		{name: "absolute path of an allowed program", params: map[string]any{"executable": "/bin/echo", "arguments": []any{"ok"}}, stdout: "ok\n"},
		{name: "non-zero exit is data", params: map[string]any{"executable": "sh", "arguments": []any{"-c", "echo out; echo err >&2; exit 3"}},
			stdout: "out\n", stderr: "err\n", exit: 3},
		{name: "signal", params: map[string]any{"executable": "sh", "arguments": []any{"-c", "kill -TERM $$"}}, exit: -1, signal: "terminated"},
		{name: "stdin", params: map[string]any{"executable": "cat", "stdin": "line 1\nline 2"}, stdout: "line 1\nline 2"},
		{name: "no stdin reads empty", params: map[string]any{"executable": "cat"}},
		{name: "default working directory is base", params: map[string]any{"executable": "pwd"}, stdout: box + "\n"},
		{name: "relative working directory", params: map[string]any{"executable": "pwd", "working_directory": "sub"}, stdout: filepath.Join(box, "sub") + "\n"},
		{name: "absolute working directory", params: map[string]any{"executable": "pwd", "working_directory": filepath.Join(box, "sub")}, stdout: filepath.Join(box, "sub") + "\n"},
		// The host's SPELLHOST_PT_ALLOWED is readable but not inherited:
		// the child gets PATH and what it is given, nothing else.
		{name: "environment is PATH and the given variables", params: map[string]any{"executable": "env",
			"environment": map[string]any{"SPELLHOST_PT_ALLOWED_FOO": "bar baz", "SPELLHOST_PT_ALLOWED_N": 5, "SPELLHOST_PT_ALLOWED_B": true}},
			check: func(t *testing.T, res map[string]any) {
				want := []string{"PATH=" + os.Getenv("PATH"), "SPELLHOST_PT_ALLOWED_B=true", "SPELLHOST_PT_ALLOWED_FOO=bar baz", "SPELLHOST_PT_ALLOWED_N=5"}
				if got := sorted(res["stdout"].(string)); !reflect.DeepEqual(got, want) {
					t.Fatalf("environment %q, want %q", got, want)
				}
			}},
		{name: "no environment is PATH alone", params: map[string]any{"executable": "env"}, stdout: "PATH=" + os.Getenv("PATH") + "\n"},
		{name: "environment overrides PATH and allowed", params: map[string]any{"executable": "env",
			"environment": map[string]any{"PATH": "/nowhere", "SPELLHOST_PT_ALLOWED": "no"}},
			check: func(t *testing.T, res map[string]any) {
				want := []string{"PATH=/nowhere", "SPELLHOST_PT_ALLOWED=no"}
				if got := sorted(res["stdout"].(string)); !reflect.DeepEqual(got, want) {
					t.Fatalf("environment %q, want %q", got, want)
				}
			}},
		{name: "semicolon arguments stay arguments", params: map[string]any{"executable": "echo", "arguments": []any{"hi", ";", "touch", "pwned"}},
			stdout: "hi ; touch pwned\n"},
		{name: "environment PATH does not choose the program", params: map[string]any{"executable": "echo", "arguments": []any{"real"},
			"environment": map[string]any{"PATH": box}}, stdout: "real\n"},
		{name: "empty environment object", params: map[string]any{"executable": "echo", "environment": []any{}}, stdout: "\n"},
		{name: "empty arguments table", params: map[string]any{"executable": "echo", "arguments": map[string]any{}}, stdout: "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, tool, c.params)
			if c.check != nil {
				c.check(t, res)
			} else if res["stdout"] != c.stdout || res["stderr"] != c.stderr {
				t.Fatalf("stdout %q stderr %q, want %q and %q", res["stdout"], res["stderr"], c.stdout, c.stderr)
			}
			if res["exit_code"] != c.exit || res["signal"] != c.signal {
				t.Fatalf("exit_code %v signal %v, want %d and %v", res["exit_code"], res["signal"], c.exit, c.signal)
			}
			if _, ok := res["timed_out"]; ok || res["stdout_truncated"] != false || res["stderr_truncated"] != false {
				t.Fatalf("flags: %v", res)
			}
			if d, ok := res["duration_ms"].(float64); !ok || d < 0 {
				t.Fatalf("duration_ms %v", res["duration_ms"])
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(box, "pwned")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a metacharacter reached a shell: pwned exists (%v)", err)
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestProcessExecutorOutputCap(t *testing.T) {
	tool, _ := peTool(t, perm.Limits{MaxOutputBytes: 1000})
	res := call(t, tool, map[string]any{"executable": "seq", "arguments": []any{"1", "200000"}})
	out := res["stdout"].(string)
	if len(out) != 1000 || !strings.HasPrefix(out, "1\n2\n3\n") || res["stdout_truncated"] != true || res["exit_code"] != 0 {
		t.Fatalf("stdout %d bytes, truncated %v, exit %v", len(out), res["stdout_truncated"], res["exit_code"])
	}
	res = call(t, tool, map[string]any{"executable": "sh", "arguments": []any{"-c", "seq 1 200000 >&2; echo done"}})
	if len(res["stderr"].(string)) != 1000 || res["stderr_truncated"] != true || res["stdout"] != "done\n" || res["stdout_truncated"] != false {
		t.Fatalf("stderr %d bytes, truncated %v; stdout %q", len(res["stderr"].(string)), res["stderr_truncated"], res["stdout"])
	}
	// Exactly at the cap is not truncated.
	res = call(t, tool, map[string]any{"executable": "sh", "arguments": []any{"-c", "seq 1 1000 | head -c 1000"}})
	if len(res["stdout"].(string)) != 1000 || res["stdout_truncated"] != false {
		t.Fatalf("at cap: %d bytes, truncated %v", len(res["stdout"].(string)), res["stdout_truncated"])
	}
	// A rune cut by the cap is dropped whole.
	small, _ := peTool(t, perm.Limits{MaxOutputBytes: 5})
	res = call(t, small, map[string]any{"executable": "sh", "arguments": []any{"-c", "printf 'ééé'"}})
	if res["stdout"] != "éé" || res["stdout_truncated"] != true {
		t.Fatalf("utf-8 cut: %q %v", res["stdout"], res["stdout_truncated"])
	}
}

// peGone waits (bounded) until pid no longer runs: gone, or a zombie
// nobody has reaped yet.
func peGone(t *testing.T, pid int) {
	t.Helper()
	for range 500 {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		if i := strings.LastIndexByte(string(data), ')'); i >= 0 && strings.HasPrefix(string(data[i:]), ") Z") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d still runs", pid)
}

func peReadPid(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		t.Fatalf("pid file %s: %q", path, data)
	}
	return pid
}

func TestProcessExecutorTimeoutKillsGroup(t *testing.T) {
	tool, box := peTool(t, perm.Limits{})
	script := "sleep 30 & echo $! > child.pid; echo $$ > sh.pid; wait"
	start := time.Now()
	msg := callErr(t, tool, map[string]any{"executable": "sh", "arguments": []any{"-c", script}, "timeout_ms": 500}, tools.TypeTimeout)
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Fatalf("took %v to kill a 30 s sleep", elapsed)
	}
	for _, w := range []string{"process sh", "killed after", "timeout_ms 500", "0 bytes of stdout"} {
		if !strings.Contains(msg, w) {
			t.Fatalf("message %q does not mention %q", msg, w)
		}
	}
	peGone(t, peReadPid(t, filepath.Join(box, "sh.pid")))
	peGone(t, peReadPid(t, filepath.Join(box, "child.pid")))
}

func TestProcessExecutorLeavesNoBackgroundChild(t *testing.T) {
	tool, box := peTool(t, perm.Limits{})
	// sh exits at once; its background child would outlive it.
	res := call(t, tool, map[string]any{"executable": "sh", "arguments": []any{"-c", "sleep 30 & echo $! > bg.pid; echo started"}})
	if res["exit_code"] != 0 || res["stdout"] != "started\n" {
		t.Fatalf("got %v", res)
	}
	peGone(t, peReadPid(t, filepath.Join(box, "bg.pid")))
}

// A child that leaves the process group (a new session) cannot be killed
// with it; the call must still end soon after the program, not wait for
// the child to close the output pipes it holds.
func TestProcessExecutorEscapedChildDoesNotHang(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid program")
	}
	tool, box := peTool(t, perm.Limits{})
	script := `setsid sh -c 'echo $$ > esc.pid; exec sleep 30' & while [ ! -s esc.pid ]; do sleep 0.01; done; echo done`
	start := time.Now()
	res := call(t, tool, map[string]any{"executable": "sh", "arguments": []any{"-c", script}, "timeout_ms": 5000})
	pid := peReadPid(t, filepath.Join(box, "esc.pid"))
	defer func() {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
		peGone(t, pid)
	}()
	if res["stdout"] != "done\n" || res["exit_code"] != 0 {
		t.Fatalf("got %v", res)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("took %v: waited for the escaped child", elapsed)
	}
}

func TestProcessExecutorCallerContext(t *testing.T) {
	tool, _ := peTool(t, perm.Limits{})
	params := map[string]any{"executable": "sleep", "arguments": []any{"30"}}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := tools.Call(ctx, tool, params)
	if tools.TypeOf(err) != tools.TypeTimeout || !strings.Contains(err.Error(), "killed after") {
		t.Fatalf("deadline: got %v, want a timeout that killed the process", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = tools.Call(ctx, tool, params)
	if tools.TypeOf(err) != tools.TypeCancelled || !strings.Contains(err.Error(), "not started") {
		t.Fatalf("cancelled: got %v, want cancelled before start", err)
	}
}

func TestProcessExecutorErrors(t *testing.T) {
	tool, box := peTool(t, perm.Limits{})
	root := filepath.Dir(box)
	if err := os.WriteFile(filepath.Join(box, "file.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(box, "script.sh"), []byte("#!/bin/sh\necho pwned\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ls, err := exec.LookPath("ls")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ls, filepath.Join(box, "echo")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "outside"), filepath.Join(box, "out")); err != nil {
		t.Fatal(err)
	}
	// A different program that is also called echo, outside the sandbox.
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "echo"), []byte("#!/bin/sh\ntouch pwned\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	notExec := filepath.Join(box, "file.txt")
	noExecTool, _ := peTool(t, perm.Limits{}, notExec)
	smallStdin, _ := peTool(t, perm.Limits{MaxFileBytes: 4})
	many := make([]any, 1025)
	for i := range many {
		many[i] = "a"
	}
	manyEnv := map[string]any{}
	for i := range 257 {
		manyEnv["V"+strconv.Itoa(i)] = "x"
	}
	echo := func(extra map[string]any) map[string]any {
		m := map[string]any{"executable": "echo"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name   string
		tool   tools.Tool
		params map[string]any
		typ    tools.ErrorType
		want   []string
	}{
		{"missing executable", tool, map[string]any{"arguments": []any{"x"}}, tools.TypeValidation, []string{`"executable"`}},
		{"executable wrong type", tool, map[string]any{"executable": 1}, tools.TypeValidation, []string{`"executable"`, "expected string"}},
		{"executable empty", tool, map[string]any{"executable": ""}, tools.TypeValidation, []string{`"executable"`, "empty"}},
		{"executable too long", tool, map[string]any{"executable": strings.Repeat("e", 4097)}, tools.TypeTooLarge, []string{`"executable"`, "4096-byte"}},
		{"unknown parameter", tool, echo(map[string]any{"shell": true}), tools.TypeValidation, []string{`"shell"`}},
		{"arguments wrong type", tool, echo(map[string]any{"arguments": "a b"}), tools.TypeValidation, []string{`"arguments"`, "expected array"}},
		{"argument not a string", tool, echo(map[string]any{"arguments": []any{"a", 2}}), tools.TypeValidation, []string{`"arguments"`, "item 2"}},
		{"argument with NUL", tool, echo(map[string]any{"arguments": []any{"a\x00b"}}), tools.TypeValidation, []string{`"arguments"`, "NUL"}},
		{"too many arguments", tool, echo(map[string]any{"arguments": many}), tools.TypeTooLarge, []string{`"arguments"`, "1025", "1024"}},
		{"arguments too large", tool, echo(map[string]any{"arguments": []any{strings.Repeat("a", 128<<10+1)}}), tools.TypeTooLarge, []string{`"arguments"`, "131072-byte"}},
		{"timeout zero", tool, echo(map[string]any{"timeout_ms": 0}), tools.TypeValidation, []string{`"timeout_ms"`, "1 to 600000"}},
		{"timeout over max", tool, echo(map[string]any{"timeout_ms": 600001}), tools.TypeValidation, []string{`"timeout_ms"`, "600001"}},
		{"timeout fractional", tool, echo(map[string]any{"timeout_ms": 1.5}), tools.TypeValidation, []string{`"timeout_ms"`, "integer"}},
		{"environment wrong type", tool, echo(map[string]any{"environment": "A=B"}), tools.TypeValidation, []string{`"environment"`, "expected object"}},
		{"environment value object", tool, echo(map[string]any{"environment": map[string]any{"A": map[string]any{}}}), tools.TypeValidation, []string{`"environment"`, "variable A", "object"}},
		{"environment name with =", tool, echo(map[string]any{"environment": map[string]any{"A=B": "x"}}), tools.TypeValidation, []string{`"environment"`, `"A=B"`}},
		{"environment empty name", tool, echo(map[string]any{"environment": map[string]any{"": "x"}}), tools.TypeValidation, []string{`"environment"`, "empty"}},
		{"environment NUL value", tool, echo(map[string]any{"environment": map[string]any{"A": "x\x00"}}), tools.TypeValidation, []string{`"environment"`, "NUL"}},
		{"environment too many", tool, echo(map[string]any{"environment": manyEnv}), tools.TypeTooLarge, []string{`"environment"`, "257"}},
		{"environment too large", tool, echo(map[string]any{"environment": map[string]any{"A": strings.Repeat("x", 64<<10)}}), tools.TypeTooLarge, []string{`"environment"`, "65536-byte"}},
		{"stdin wrong type", tool, echo(map[string]any{"stdin": 5}), tools.TypeValidation, []string{`"stdin"`}},
		{"stdin over limit", smallStdin, map[string]any{"executable": "cat", "stdin": "12345"}, tools.TypeTooLarge, []string{`"stdin"`, "4-byte"}},
		{"working directory wrong type", tool, echo(map[string]any{"working_directory": true}), tools.TypeValidation, []string{`"working_directory"`}},
		{"working directory is a file", tool, echo(map[string]any{"working_directory": "file.txt"}), tools.TypeValidation, []string{`"working_directory"`, "not a folder"}},
		{"working directory missing", tool, echo(map[string]any{"working_directory": "nope"}), tools.TypeExecution, []string{`"working_directory"`, "no such file"}},
		{"cannot start: not found", tool, map[string]any{"executable": "spellhost-no-such-program"}, tools.TypeExecution, []string{"spellhost-no-such-program", "cannot start"}},
		{"cannot start: not executable", noExecTool, map[string]any{"executable": notExec}, tools.TypeExecution, []string{"cannot start", "permission denied"}},
		// Permissions and escapes.
		{"refused program", tool, map[string]any{"executable": "ls"}, tools.TypePermission, []string{"run ls", "--allow-run=ls"}},
		{"refused program by path", tool, map[string]any{"executable": "/usr/bin/ls", "arguments": []any{"/"}}, tools.TypePermission, []string{"--allow-run=/usr/bin/ls"}},
		{"shell line as executable", tool, map[string]any{"executable": "echo hi; touch pwned"}, tools.TypeExecution, []string{"cannot start"}},
		{"command substitution as executable", tool, map[string]any{"executable": "$(touch pwned)"}, tools.TypeExecution, []string{"cannot start"}},
		{"symlink named like an allowed program", tool, map[string]any{"executable": "./echo", "arguments": []any{"/"}}, tools.TypePermission, []string{"--allow-run=./echo"}},
		{"other program of an allowed name, dot-dot", tool, map[string]any{"executable": "../bin/echo"}, tools.TypePermission, []string{"--allow-run=../bin/echo"}},
		{"other program of an allowed name, absolute", tool, map[string]any{"executable": filepath.Join(root, "bin", "echo")}, tools.TypePermission, []string{"--allow-run="}},
		{"dot-dot through the sandbox to a link", tool, map[string]any{"executable": "sub/../echo"}, tools.TypePermission, []string{"--allow-run=sub/../echo"}},
		{"semicolon in executable", tool, map[string]any{"executable": "echo;ls"}, tools.TypeExecution, []string{"cannot start"}},
		{"script in the sandbox", tool, map[string]any{"executable": "./script.sh"}, tools.TypePermission, []string{"--allow-run=./script.sh"}},
		{"newline in executable", tool, map[string]any{"executable": "echo\nls"}, tools.TypeValidation, []string{"control character"}},
		{"working directory absolute outside", tool, echo(map[string]any{"working_directory": "/etc"}), tools.TypePermission, []string{`"working_directory"`, "--allow-read"}},
		{"working directory dotdot", tool, echo(map[string]any{"working_directory": "../outside"}), tools.TypePermission, []string{"--allow-read"}},
		{"working directory parent", tool, echo(map[string]any{"working_directory": ".."}), tools.TypePermission, []string{"--allow-read"}},
		{"working directory sibling prefix", tool, echo(map[string]any{"working_directory": filepath.Join(root, "boxx")}), tools.TypePermission, []string{"--allow-read"}},
		{"working directory symlink out", tool, echo(map[string]any{"working_directory": "out"}), tools.TypePermission, []string{"--allow-read"}},
		{"LD_PRELOAD", tool, echo(map[string]any{"environment": map[string]any{"LD_PRELOAD": "/tmp/x.so"}}), tools.TypePermission,
			[]string{`"environment"`, "LD_PRELOAD", "--allow-env=LD_PRELOAD"}},
		{"DYLD_INSERT_LIBRARIES", tool, echo(map[string]any{"environment": map[string]any{"DYLD_INSERT_LIBRARIES": "x"}}), tools.TypePermission,
			[]string{"--allow-env=DYLD_INSERT_LIBRARIES"}},
		{"variable not in --allow-env", tool, echo(map[string]any{"environment": map[string]any{"SPELLHOST_PT_ALLOWED": "x", "HOME": "/"}}), tools.TypePermission,
			[]string{"pass environment variable HOME", "--allow-env=HOME"}},
		{"refused variable, missing program", tool, map[string]any{"executable": "no-such-program", "environment": map[string]any{"BASH_ENV": "x"}},
			tools.TypePermission, []string{"--allow-env=BASH_ENV"}},
		{"nil perm", system.ProcessExecutor(nil), map[string]any{"executable": "echo"}, tools.TypePermission, []string{"--allow-run=echo"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, c.tool, c.params, c.typ)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q does not mention %q", msg, w)
				}
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(box, "pwned")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("something ran: pwned exists (%v)", err)
	}
}

func TestProcessExecutorSpec(t *testing.T) {
	tool, _ := peTool(t, perm.Limits{})
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "process_executor" || spec.Category != "system" || spec.Example != nil || spec.Inline {
		t.Fatalf("spec: %+v", spec)
	}
}

func BenchmarkProcessExecutor(b *testing.B) {
	tool, _ := peTool(b, perm.Limits{})
	params := map[string]any{"executable": "echo", "arguments": []any{"hello"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(b.Context(), tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

// TestProcessExecutorEnvRunsNoCode passes variables that make an allowed
// program run other code. Without --allow-env naming them they are
// refused and nothing runs; allowed, they reach the program (which shows
// the refusal was what stopped them).
func TestProcessExecutorEnvRunsNoCode(t *testing.T) {
	dir := t.TempDir()
	hook := filepath.Join(dir, "hook.sh")
	pwned := filepath.Join(dir, "pwned")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\ntouch "+pwned+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	type attack struct {
		program string
		args    []any
		env     map[string]any
	}
	attacks := []attack{{"bash", []any{"-c", "true"}, map[string]any{"BASH_ENV": hook}}}
	if _, err := exec.LookPath("git"); err == nil {
		repo := filepath.Join(dir, "repo")
		for _, args := range [][]string{{"init", "-q", repo}, {"-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"}} {
			if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		if err := os.WriteFile(filepath.Join(repo, "f"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		// git diff of an untracked-then-intent-added file runs the external diff.
		if out, err := exec.Command("git", "-C", repo, "add", "-N", "f").CombinedOutput(); err != nil {
			t.Fatalf("git add: %v\n%s", err, out)
		}
		attacks = append(attacks, attack{"git", []any{"-C", repo, "diff"}, map[string]any{"GIT_EXTERNAL_DIFF": hook}})
	}
	for _, a := range attacks {
		name := ""
		for k := range a.env {
			name = k
		}
		t.Run(name, func(t *testing.T) {
			if _, err := exec.LookPath(a.program); err != nil {
				t.Skipf("no %s here", a.program)
			}
			params := map[string]any{"executable": a.program, "arguments": a.args, "environment": a.env}
			ps, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Run: []string{a.program}})
			if err != nil {
				t.Fatal(err)
			}
			msg := callErr(t, system.ProcessExecutor(ps), params, tools.TypePermission)
			if !strings.Contains(msg, "--allow-env="+name) {
				t.Fatalf("message %q does not name --allow-env=%s", msg, name)
			}
			if _, err := os.Lstat(pwned); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the hook ran: %v", err)
			}
			ps, err = perm.New(perm.Config{Base: dir, Read: []string{dir}, Run: []string{a.program}, Env: []string{name}})
			if err != nil {
				t.Fatal(err)
			}
			call(t, system.ProcessExecutor(ps), params)
			if _, err := os.Lstat(pwned); err != nil {
				t.Fatalf("allowed by --allow-env=%s, the hook did not run: %v", name, err)
			}
			os.Remove(pwned)
		})
	}
}

// TestProcessExecutorPATHNeedsAllowEnv checks that PATH, like any other
// variable, is passed only when --allow-env allows it.
func TestProcessExecutorPATHNeedsAllowEnv(t *testing.T) {
	dir := t.TempDir()
	ps, err := perm.New(perm.Config{Base: dir, Run: []string{"env"}, Env: []string{"APP_*"}})
	if err != nil {
		t.Fatal(err)
	}
	tool := system.ProcessExecutor(ps)
	msg := callErr(t, tool, map[string]any{"executable": "env", "environment": map[string]any{"PATH": dir}}, tools.TypePermission)
	if !strings.Contains(msg, "--allow-env=PATH") {
		t.Fatalf("message %q", msg)
	}
	res := call(t, tool, map[string]any{"executable": "env", "environment": map[string]any{"APP_X": "1"}})
	if want := "PATH=" + os.Getenv("PATH") + "\nAPP_X=1\n"; res["stdout"] != want {
		t.Fatalf("environment %q, want %q", res["stdout"], want)
	}
}
