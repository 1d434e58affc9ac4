package files_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/files"
	"spellhost/tools/perm"
)

// fwtCall runs a watch, calling change once the watches are in place.
func fwtCall(t testing.TB, tool tools.Tool, params map[string]any, change func()) map[string]any {
	t.Helper()
	ctx := files.WithWatchReady(context.Background(), change)
	res, err := tools.Call(ctx, tool, params)
	if err != nil {
		t.Fatalf("watch %v: %v", params, err)
	}
	return res.(map[string]any)
}

// fwtEvents lists the events of a result as "op name" with the path
// relative to base.
func fwtEvents(res map[string]any, base string) []string {
	var out []string
	for _, e := range res["events"].([]any) {
		m := e.(map[string]any)
		rel, _ := filepath.Rel(base, m["path"].(string))
		out = append(out, m["op"].(string)+" "+filepath.ToSlash(rel))
	}
	return out
}

func TestFileWatcherSpec(t *testing.T) {
	spec := files.Watcher(nil).Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "file_watcher" || spec.Returns == "" || spec.Inline {
		t.Fatalf("incomplete spec %+v", spec)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
	b := newFSBox(t, perm.Limits{})
	call(t, files.Watcher(b.cfg()), spec.Example)
}

func TestFileWatcherWatch(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Watcher(b.cfg())
	if err := os.MkdirAll(b.in("w/sub"), 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("create ends at max_events", func(t *testing.T) {
		start := time.Now()
		res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": "w", "max_events": 1, "timeout_ms": 10000},
			func() { fsWrite(t, b.in("w/a.txt"), "a") })
		if got := fwtEvents(res, b.in("w")); !slices.Equal(got, []string{"create a.txt"}) {
			t.Fatalf("events %v", got)
		}
		if res["timed_out"] != false || res["event_count"] != 1 || res["watch_count"] != 1 || time.Since(start) > 5*time.Second {
			t.Fatalf("result %v", res)
		}
		if !slices.Equal(res["watched"].([]any), []any{b.in("w")}) {
			t.Fatalf("watched %v", res["watched"])
		}
		ev := res["events"].([]any)[0].(map[string]any)
		if _, err := time.Parse(time.RFC3339Nano, ev["time"].(string)); err != nil {
			t.Fatalf("time %v: %v", ev["time"], err)
		}
	})
	t.Run("write, chmod, rename and remove", func(t *testing.T) {
		res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": "w", "max_events": 5, "timeout_ms": 10000},
			func() {
				f, err := os.OpenFile(b.in("w/a.txt"), os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString("more")
				f.Close()
				os.Chmod(b.in("w/a.txt"), 0o600)
				os.Rename(b.in("w/a.txt"), b.in("w/b.txt"))
				os.Remove(b.in("w/b.txt"))
			})
		want := []string{"write a.txt", "chmod a.txt", "rename a.txt", "create b.txt", "remove b.txt"}
		if got := fwtEvents(res, b.in("w")); !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
	})
	t.Run("debounce merges a path's events", func(t *testing.T) {
		res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": "w", "max_events": 2, "timeout_ms": 10000, "debounce_ms": 300},
			func() {
				fsWrite(t, b.in("w/c.txt"), "c")
				fsWrite(t, b.in("w/c.txt"), "cc")
				fsWrite(t, b.in("w/d.txt"), "d")
			})
		if got := fwtEvents(res, b.in("w")); !slices.Equal(got, []string{"create|write c.txt", "create|write d.txt"}) {
			t.Fatalf("events %v", got)
		}
	})
	t.Run("pattern", func(t *testing.T) {
		res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": []any{"w"}, "max_events": 1, "timeout_ms": 10000, "pattern": "*.log"},
			func() {
				fsWrite(t, b.in("w/e.txt"), "e")
				fsWrite(t, b.in("w/e.log"), "e")
			})
		if got := fwtEvents(res, b.in("w")); !slices.Equal(got, []string{"create e.log"}) {
			t.Fatalf("events %v", got)
		}
	})
	t.Run("not recursive ignores subfolders", func(t *testing.T) {
		res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": "w", "timeout_ms": 100},
			func() { fsWrite(t, b.in("w/sub/f.txt"), "f") })
		if got := fwtEvents(res, b.in("w")); len(got) != 0 || res["timed_out"] != true {
			t.Fatalf("events %v, result %v", got, res)
		}
	})
	t.Run("recursive", func(t *testing.T) {
		res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": "w", "recursive": true, "max_events": 1, "timeout_ms": 10000},
			func() { fsWrite(t, b.in("w/sub/g.txt"), "g") })
		if got := fwtEvents(res, b.in("w")); !slices.Equal(got, []string{"create sub/g.txt"}) || res["watch_count"] != 2 {
			t.Fatalf("events %v, result %v", got, res)
		}
	})
	t.Run("recursive follows new folders", func(t *testing.T) {
		// The new folder's contents were made before it could be watched:
		// they are reported as created when it is.
		res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": "w", "recursive": true, "max_events": 4, "timeout_ms": 10000},
			func() {
				fsWrite(t, b.in("w/new/h.txt"), "h")
				fsWrite(t, b.in("w/new/deeper/i.txt"), "i")
			})
		want := []string{"create new", "create new/deeper", "create new/deeper/i.txt", "create new/h.txt"}
		if got := fwtEvents(res, b.in("w")); !slices.Equal(got, want) || res["watch_count"] != 4 {
			t.Fatalf("events %v, want %v; result %v", got, want, res)
		}
		// Now the new folders are watched, writes inside them are seen.
		res = fwtCall(t, tool, map[string]any{"operation": "watch", "input": "w", "recursive": true, "max_events": 1,
			"timeout_ms": 10000, "pattern": "j.txt"},
			func() {
				if err := os.Mkdir(b.in("w/new2"), 0o755); err != nil {
					t.Fatal(err)
				}
				fsWrite(t, b.in("w/new2/j.txt"), "j")
			})
		if got := fwtEvents(res, b.in("w")); !slices.Equal(got, []string{"create new2/j.txt"}) {
			t.Fatalf("events %v", got)
		}
	})
	t.Run("a file", func(t *testing.T) {
		fsWrite(t, b.in("w/file.txt"), "x")
		res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": "w/file.txt", "max_events": 1, "timeout_ms": 10000},
			func() { os.WriteFile(b.in("w/file.txt"), []byte("y"), 0o644) })
		if got := fwtEvents(res, b.in("w")); !slices.Equal(got, []string{"write file.txt"}) {
			t.Fatalf("events %v", got)
		}
	})
	t.Run("max_events drops the rest", func(t *testing.T) {
		res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": "w", "max_events": 2, "timeout_ms": 10000, "debounce_ms": 200},
			func() {
				for i := range 4 {
					fsWrite(t, b.in(fmt.Sprintf("w/m%d.txt", i)), "m")
				}
			})
		if got := fwtEvents(res, b.in("w")); !slices.Equal(got, []string{"create|write m0.txt", "create|write m1.txt"}) || res["dropped"] == 0 {
			t.Fatalf("events %v, result %v", got, res)
		}
	})
	t.Run("read-only folder can be watched", func(t *testing.T) {
		res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": "../ro", "timeout_ms": 1}, func() {})
		if res["timed_out"] != true || len(res["events"].([]any)) != 0 {
			t.Fatalf("result %v", res)
		}
	})
	t.Run("config", func(t *testing.T) {
		// w, w/sub, w/new, w/new/deeper and w/new2 from the tests above, and ro.
		res := call(t, tool, map[string]any{"operation": "config", "input": []any{"w", "./w", "../ro"}, "recursive": true, "pattern": "*.go"})
		if !slices.Equal(res["watched"].([]any), []any{b.in("w"), b.ro}) || res["watch_count"] != 6 || res["pattern"] != "*.go" ||
			res["timeout_ms"] != 1000 || res["max_events"] != 100 || res["debounce_ms"] != 0 || res["recursive"] != true {
			t.Fatalf("config %v", res)
		}
	})
}

func TestFileWatcherContext(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Watcher(b.cfg())
	params := map[string]any{"operation": "watch", "input": ".", "timeout_ms": 60000}

	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		start := time.Now()
		_, err := tools.Call(files.WithWatchReady(ctx, cancel), tool, params)
		if tools.TypeOf(err) != tools.TypeCancelled || time.Since(start) > 5*time.Second {
			t.Fatalf("got %v after %v, want cancelled at once", err, time.Since(start))
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := tools.Call(ctx, tool, params)
		if tools.TypeOf(err) != tools.TypeTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want timeout", err)
		}
	})
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := tools.Call(ctx, tool, params); tools.TypeOf(err) != tools.TypeCancelled {
			t.Fatalf("got %v, want cancelled", err)
		}
	})
}

func TestFileWatcherEscapes(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Watcher(b.cfg())
	D := tools.TypePermission
	w := func(input any) map[string]any {
		return map[string]any{"operation": "watch", "input": input, "timeout_ms": 1}
	}
	fsCheckErrs(t, tool, []fsErrCase{
		{"dot-dot", w("../outside"), D, []string{`"input"`, "--allow-read"}},
		{"absolute", w(b.outside), D, []string{"--allow-read"}},
		{"link to folder out", w("out-dir"), D, []string{"--allow-read"}},
		{"link to file out", w("out-file"), D, []string{"--allow-read"}},
		{"prefix sibling", w(b.boxfoo), D, []string{"boxfoo"}},
		{"prefix sibling relative", w("../boxfoo"), D, nil},
		{"one bad path among good", w([]any{".", "../outside"}), D, nil},
		{"parent of the sandbox", w(b.root), D, nil},
		{"config refuses too", map[string]any{"operation": "config", "input": "../outside"}, D, nil},
	})
	callErr(t, files.Watcher(nil), w("."), D)

	t.Run("recursive does not follow links out", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "config", "input": ".", "recursive": true})
		if res["watch_count"] != 1 {
			t.Fatalf("config %v", res)
		}
		// Changes outside are not reported though a link in the box leads there.
		res = fwtCall(t, tool, map[string]any{"operation": "watch", "input": ".", "recursive": true, "timeout_ms": 100},
			func() { fsWrite(t, filepath.Join(b.outside, "new.txt"), "x") })
		if got := fwtEvents(res, b.box); len(got) != 0 {
			t.Fatalf("events from outside: %v", got)
		}
	})
}

func TestFileWatcherErrors(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Watcher(b.cfg())
	many := make([]any, 65)
	for i := range many {
		many[i] = "."
	}
	V := tools.TypeValidation
	fsCheckErrs(t, tool, []fsErrCase{
		{"missing operation", map[string]any{"input": "."}, V, []string{`"operation"`}},
		{"unknown operation", map[string]any{"operation": "poll", "input": "."}, V, []string{`"operation"`}},
		{"missing input", map[string]any{"operation": "watch"}, V, []string{`"input"`}},
		{"input a number", map[string]any{"operation": "watch", "input": 3}, V, []string{`"input"`, "got number"}},
		{"input empty", map[string]any{"operation": "watch", "input": ""}, V, []string{`"input"`}},
		{"input empty array", map[string]any{"operation": "watch", "input": []any{}}, V, []string{`"input"`}},
		{"input item not a string", map[string]any{"operation": "watch", "input": []any{".", true}}, V, []string{"item 2"}},
		{"too many paths", map[string]any{"operation": "watch", "input": many}, tools.TypeTooLarge, []string{"64"}},
		{"timeout zero", map[string]any{"operation": "watch", "input": ".", "timeout_ms": 0}, V, []string{`"timeout_ms"`}},
		{"timeout over cap", map[string]any{"operation": "watch", "input": ".", "timeout_ms": 60001}, V, []string{`"timeout_ms"`, "60000"}},
		{"max_events zero", map[string]any{"operation": "watch", "input": ".", "max_events": 0}, V, []string{`"max_events"`}},
		{"max_events over cap", map[string]any{"operation": "watch", "input": ".", "max_events": 10001}, V, []string{`"max_events"`}},
		{"debounce negative", map[string]any{"operation": "watch", "input": ".", "debounce_ms": -1}, V, []string{`"debounce_ms"`}},
		{"bad pattern", map[string]any{"operation": "watch", "input": ".", "pattern": "[a"}, V, []string{`"pattern"`}},
		{"missing path", map[string]any{"operation": "watch", "input": "nope"}, tools.TypeExecution, []string{"nope", "does not exist"}},
	})
}

func TestFileWatcherTooManyFolders(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Watcher(b.cfg())
	for i := range 1025 {
		if err := os.Mkdir(b.in(fmt.Sprintf("d%04d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	msg := callErr(t, tool, map[string]any{"operation": "watch", "input": ".", "recursive": true}, tools.TypeTooLarge)
	if !strings.Contains(msg, "1024") {
		t.Fatalf("message %q", msg)
	}
}

func BenchmarkFileWatcher(b *testing.B) {
	box := newFSBox(b, perm.Limits{})
	tool := files.Watcher(box.cfg())
	if err := os.Mkdir(box.in("w"), 0o755); err != nil {
		b.Fatal(err)
	}
	params := map[string]any{"operation": "watch", "input": "w", "max_events": 1, "timeout_ms": 10000}
	ctx := files.WithWatchReady(context.Background(), func() {
		if err := os.WriteFile(box.in("w/f.txt"), []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		res, err := tools.Call(ctx, tool, params)
		if err != nil {
			b.Fatal(err)
		}
		if res.(map[string]any)["event_count"] != 1 {
			b.Fatalf("result %v", res)
		}
	}
}
