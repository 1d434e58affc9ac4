package lualib_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/luavm"
	lualib "spellhost/lua"
	"spellhost/tools/builtin"
	"spellhost/tools/perm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestModules runs every testdata/*.lua file against a kernel with the
// built-in tools and a fault set; each script asserts its own
// expectations (require("expect")) and must finish without error.
func TestModules(t *testing.T) {
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
			dir := t.TempDir()
			p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.CloseIdle()
			reg, err := builtin.NewRegistry(builtin.Config{Perm: p})
			if err != nil {
				t.Fatal(err)
			}
			fs := fault.New(1)
			k := kernel.New(reg, kernel.Options{Faults: fs})
			defer func() { k.Close(); fs.Close() }()
			env := &luavm.Env{Kernel: k, Perm: p, Seed: 1, Lib: lualib.FS}
			prog, err := luavm.Compile(f, "testdata", src)
			if err != nil {
				t.Fatal(err)
			}
			vm, err := luavm.New(env, prog, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer vm.Close()
			// The deadline only catches a hang; the scripts assert no time.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := vm.RunMain(ctx); err != nil {
				var se *luavm.ScriptError
				if errors.As(err, &se) {
					t.Fatalf("%s\n%s", se.Message, se.Traceback)
				}
				t.Fatal(err)
			}
		})
	}
}
