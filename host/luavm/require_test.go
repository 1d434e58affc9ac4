package luavm_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"spellhost/host/luavm"
)

// threadCount returns the number of OS threads of this process.
func threadCount(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// TestRequireFiles checks what require reads from the script's folder:
// modules, but never a FIFO or device (which would block the VU's thread
// for good), a folder, or a file reached through a link out.
func TestRequireFiles(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, outside := filepath.Join(root, "script"), filepath.Join(root, "outside")
	for _, d := range []string{filepath.Join(dir, "lib", "dir.lua"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(dir, "lib", "good.lua"):   "return {name = 'good'}",
		filepath.Join(outside, "secret.lua"):    "return {name = 'SECRET'}",
		filepath.Join(dir, "lib", "inside.lua"): "return {name = 'inside'}",
	}
	for p, src := range files {
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"out.lua":        "../outside/secret.lua",
		"abs_out.lua":    filepath.Join(outside, "secret.lua"),
		"outdir":         "../outside",
		"lib/rel_in.lua": "inside.lua",
	} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.lua"), 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.lua")); err != nil {
		t.Fatal(err)
	}
	src := `
local expect = require("expect")
local function bad(name, kind, pattern)
  local ok, e = pcall(require, name)
  expect.eq(ok, false)
  expect.error_type(e, kind)
  expect.truthy(tostring(e):find(pattern, 1, true), tostring(e))
end
expect.eq(require("lib.good").name, "good")
expect.eq(require("lib.rel_in").name, "inside")
for _ = 1, 200 do
  bad("pipe", "validation_error", "FIFO")
end
bad("lib.dir", "validation_error", "folder")
bad("out", "permission_denied", "leads outside the script's folder")
bad("abs_out", "permission_denied", "leads outside the script's folder")
bad("outdir.secret", "permission_denied", "leads outside the script's folder")
bad("zero", "permission_denied", "leads outside the script's folder")
print("done")
`
	h := newHarness(t)
	prog, err := luavm.Compile("require.lua", dir, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	before := threadCount(t)
	vm, err := luavm.New(h.env, prog, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = vm.RunMain(ctx)
	vm.Close()
	if err != nil {
		if se, ok := err.(*luavm.ScriptError); ok {
			t.Fatalf("%s\n%s", se.Message, se.Traceback)
		}
		t.Fatal(err)
	}
	if !strings.Contains(h.out.String(), "done") || strings.Contains(h.out.String(), "SECRET") {
		t.Fatalf("output %q", h.out.String())
	}
	// 200 requires of a FIFO leave no thread blocked in open(2).
	if after := threadCount(t); after > before+4 {
		t.Fatalf("%d threads after 200 requires of a FIFO, %d before", after, before)
	}
}
