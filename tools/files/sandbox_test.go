package files_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"spellhost/tools"
	"spellhost/tools/files"
	"spellhost/tools/perm"
	"spellhost/tools/system"
	"spellhost/tools/text"
)

// Attacks on the file sandbox that cut across tools: special files, links
// made by copies and moves, and a folder swapped for a link while tools
// use it.

// osThreads returns the number of OS threads of this process.
func osThreads(t *testing.T) int {
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

func TestFileToolsRefuseSpecialFiles(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	if err := syscall.Mkfifo(b.in("pipe"), 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	// /dev is readable here, so that /dev/zero is refused for what it is,
	// not for where it is.
	ps, err := perm.New(perm.Config{Base: b.box, Read: []string{"/dev"}, Write: []string{b.box}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	cfg := ps
	V := tools.TypeValidation
	for _, special := range []struct{ path, kind string }{{"pipe", "FIFO"}, {"/dev/zero", "character device"}} {
		t.Run(special.kind, func(t *testing.T) {
			p := special.path
			fsCheckErrs(t, files.Operations(cfg), []fsErrCase{
				{"read", map[string]any{"operation": "read", "path": p}, V, []string{special.kind}},
				{"copy", map[string]any{"operation": "copy", "source_path": p, "target_path": "c"}, V, []string{special.kind}},
			})
			fsCheckErrs(t, text.HashCalculator(cfg), []fsErrCase{
				{"hash", map[string]any{"operation": "hash", "file": p}, V, []string{`"file"`, special.kind}},
			})
			fsCheckErrs(t, files.Converter(cfg), []fsErrCase{
				{"convert", map[string]any{"operation": "line_endings", "path": p, "target_path": "out.txt"}, V, []string{special.kind}},
			})
			fsCheckErrs(t, files.Search(cfg), []fsErrCase{
				{"search", map[string]any{"pattern": "x", "path": p}, V, []string{special.kind}},
			})
			fsCheckErrs(t, text.Base64Encoder(cfg), []fsErrCase{
				{"encode", map[string]any{"operation": "encode", "input_file": p}, V, []string{special.kind}},
			})
			fsCheckErrs(t, files.Watcher(cfg), []fsErrCase{
				{"watch", map[string]any{"operation": "config", "input": p}, V, []string{special.kind}},
			})
		})
	}
	// Appending to a FIFO (with no reader); the statistics of the file
	// system holding one (read through an open handle, so the FIFO is not
	// opened); a disk path through a link out.
	fsCheckErrs(t, files.Operations(cfg), []fsErrCase{
		{"append", map[string]any{"operation": "append", "path": "pipe", "input": "x"}, V, []string{"FIFO"}},
	})
	fsCheckErrs(t, system.Monitor(cfg), []fsErrCase{
		{"disk of a FIFO", map[string]any{"operation": "disk", "path": "pipe"}, V, []string{"FIFO"}},
		{"disk through a link out", map[string]any{"operation": "disk", "path": "out-dir"}, tools.TypePermission, []string{"--allow-read"}},
	})
	if d := call(t, system.Monitor(cfg), map[string]any{"operation": "disk", "path": "."})["disk"].(map[string]any); d["path"] != b.box {
		t.Fatalf("disk of the box: %v", d)
	}
	// A FIFO in a searched folder is passed over, not opened.
	fsWrite(t, b.in("s/found.txt"), "needle\n")
	if err := syscall.Mkfifo(b.in("s/pipe.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := call(t, files.Search(cfg), map[string]any{"pattern": "needle", "path": "s"})
	if res["summary"].(map[string]any)["matches"] != 1 {
		t.Fatalf("search of a folder holding a FIFO: %v", res)
	}
	// A folder copy leaves the FIFO out.
	call(t, files.Operations(cfg), map[string]any{"operation": "copy", "source_path": "s", "target_path": "s2", "recursive": true})
	if fsExists(b.in("s2/pipe.txt")) || fsRead(t, b.in("s2/found.txt")) != "needle\n" {
		t.Fatal("folder copy with a FIFO")
	}

	// 200 hashes of a FIFO with no writer, 8 at a time: every one is
	// refused and no thread is left blocked.
	runtime.GC()
	before := osThreads(t)
	hash := text.HashCalculator(cfg)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				if _, err := tools.Call(t.Context(), hash, map[string]any{"operation": "hash", "file": "pipe"}); tools.TypeOf(err) != V {
					t.Errorf("hash of a FIFO: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if after := osThreads(t); after > before+8 {
		t.Fatalf("%d threads after 200 hashes of a FIFO, %d before", after, before)
	}
}

func TestFileOperationsLinksInCopiesAndMoves(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Operations(b.cfg())
	V := tools.TypeValidation
	secret := filepath.Join(b.outside, "secret.txt")
	link := func(target, at string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(b.in(at)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, b.in(at)); err != nil {
			t.Fatal(err)
		}
	}
	fsWrite(t, b.in("kit/a.txt"), "a")
	link("../../..", "kit/up") // inside box/kit it leads to root: out already
	fsWrite(t, b.in("deep/x/kit2/a.txt"), "a")
	link("../../../mine.txt", "deep/x/kit2/l") // box/mine.txt from here, out from box/
	link(secret, "abs/out")
	link(b.in("kit/a.txt"), "absin/in")
	fsWrite(t, b.in("mine.txt"), "mine")

	fsCheckErrs(t, tool, []fsErrCase{
		{"copy a folder holding a link out", map[string]any{"operation": "copy", "source_path": "kit", "target_path": "kit-copy", "recursive": true},
			V, []string{"up", "outside the allowed folder"}},
		{"copy a folder holding an absolute link out", map[string]any{"operation": "copy", "source_path": "abs", "target_path": "abs-copy", "recursive": true},
			V, []string{"outside the allowed folder"}},
		{"copy a folder to where its link leads out", map[string]any{"operation": "copy", "source_path": "deep/x/kit2", "target_path": "kit2", "recursive": true},
			V, []string{"outside the allowed folder"}},
		{"move a folder to where its link leads out", map[string]any{"operation": "move", "source_path": "deep/x/kit2", "target_path": "kit2"},
			V, []string{"outside the allowed folder"}},
		{"move a link to where it leads out", map[string]any{"operation": "move", "source_path": "deep/x/kit2/l", "target_path": "l"},
			V, []string{"outside the allowed folder"}},
		{"move a link out already", map[string]any{"operation": "move", "source_path": "kit/up", "target_path": "kit/up2"},
			V, []string{"outside the allowed folder"}},
	})
	for _, p := range []string{"kit-copy", "abs-copy", "kit2", "l", "kit/up2"} {
		if fsExists(b.in(p)) {
			t.Errorf("a refused copy or move left %s", p)
		}
	}
	if entries, _ := os.ReadDir(b.box); len(entries) == 0 {
		t.Fatal("box emptied")
	} else {
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary entry left: %s", e.Name())
			}
		}
	}
	// Links that stay inside are copied and moved as links.
	call(t, tool, map[string]any{"operation": "copy", "source_path": "absin", "target_path": "absin-copy", "recursive": true})
	if got, _ := os.Readlink(b.in("absin-copy/in")); got != b.in("kit/a.txt") {
		t.Fatalf("copied absolute link inside: %q", got)
	}
	call(t, tool, map[string]any{"operation": "move", "source_path": "deep/x/kit2", "target_path": "deep/y/kit2", "recursive": true})
	res := call(t, tool, map[string]any{"operation": "read", "path": "deep/y/kit2/l"})
	if res["content"] != "mine" {
		t.Fatalf("read through a moved link: %v", res)
	}
	// Moving onto a link replaces the link, not what it leads to.
	link(secret, "onto")
	call(t, tool, map[string]any{"operation": "move", "source_path": "mine.txt", "target_path": "onto"})
	if fsRead(t, secret) != "secret needle\n" || fsRead(t, b.in("onto")) != "mine" {
		t.Fatal("a move onto a link wrote through it")
	}

	// Between two writable folders that share no handle a move copies and
	// removes, with the same rule for links.
	other := filepath.Join(b.root, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	ps, err := perm.New(perm.Config{Base: b.box, Write: []string{b.box, other}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	two := files.Operations(ps)
	fsWrite(t, b.in("pack/f.txt"), "f")
	link("f.txt", "pack/l")
	call(t, two, map[string]any{"operation": "move", "source_path": "pack", "target_path": filepath.Join(other, "pack")})
	if fsExists(b.in("pack")) || fsRead(t, filepath.Join(other, "pack/l")) != "f" {
		t.Fatal("move between folders")
	}
	callErr(t, two, map[string]any{"operation": "move", "source_path": "kit", "target_path": filepath.Join(other, "kit")}, V)
	if fsExists(filepath.Join(other, "kit")) || !fsExists(b.in("kit/up")) {
		t.Fatal("a refused move between folders changed something")
	}
}

// TestFileToolsSwapRace flips box/w between a real folder and links out
// while file_operations, file_search and hash_calculator use paths
// through it: the secret is never read and nothing appears outside.
func TestFileToolsSwapRace(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	fsWrite(t, b.in("real/secret.txt"), "harmless\n")
	if err := os.Symlink("../outside", b.in("rel")); err != nil {
		t.Fatal(err)
	}
	fops, search, hash := files.Operations(b.cfg()), files.Search(b.cfg()), text.HashCalculator(b.cfg())
	secretHash := call(t, hash, map[string]any{"operation": "hash", "input": "secret needle\n"})["hash"]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(stop)
		for i := range 2000 {
			from := []string{"real", "rel", "out-dir"}[i%3]
			if err := os.Rename(b.in(from), b.in("w")); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(b.in("w"), b.in(from)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for i := range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var out []any
				for _, c := range []struct {
					tool   tools.Tool
					params map[string]any
				}{
					{fops, map[string]any{"operation": "read", "path": "w/secret.txt"}},
					{fops, map[string]any{"operation": "list_dir", "path": "w"}},
					{fops, map[string]any{"operation": "write", "path": "w/new" + strconv.Itoa(i) + ".txt", "input": "x"}},
					{fops, map[string]any{"operation": "append", "path": "w/app" + strconv.Itoa(i) + ".txt", "input": "x"}},
					{fops, map[string]any{"operation": "copy", "source_path": "w/secret.txt", "target_path": "copy" + strconv.Itoa(i)}},
					{search, map[string]any{"pattern": "needle", "path": "w"}},
					{hash, map[string]any{"operation": "hash", "file": "w/secret.txt"}},
				} {
					res, _ := tools.Call(t.Context(), c.tool, c.params)
					out = append(out, res)
				}
				for _, f := range []string{"copy" + strconv.Itoa(i)} {
					if data, err := os.ReadFile(b.in(f)); err == nil && strings.Contains(string(data), "secret") {
						t.Errorf("copied the secret into %s", f)
					}
				}
				for _, res := range out {
					s := fmt.Sprint(res)
					if strings.Contains(s, "secret needle") || secretHash != "" && strings.Contains(s, secretHash.(string)) {
						t.Errorf("a call through the swapped folder saw the secret: %s", s)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	entries, err := os.ReadDir(b.outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || fsRead(t, filepath.Join(b.outside, "secret.txt")) != "secret needle\n" {
		t.Fatalf("outside changed: %v", entries)
	}
}

// TestFileWatcherPathBecomesLink swaps a watched folder for a link out
// during a recursive watch: changes outside are never reported. Events of
// one watch arrive in order, so a change outside made before a change in
// the box would be reported first.
func TestFileWatcherPathBecomesLink(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	if err := os.Mkdir(b.in("w"), 0o755); err != nil {
		t.Fatal(err)
	}
	tool := files.Watcher(b.cfg())
	res := fwtCall(t, tool, map[string]any{"operation": "watch", "input": ".", "recursive": true, "pattern": "*.txt",
		"max_events": 1, "timeout_ms": 20000}, func() {
		if err := os.Rename(b.in("w"), b.in("w.real")); err != nil {
			t.Error(err)
		}
		if err := os.Symlink(b.outside, b.in("w")); err != nil {
			t.Error(err)
		}
		fsWrite(t, filepath.Join(b.outside, "leak.txt"), "x")
		fsWrite(t, b.in("marker.txt"), "x")
	})
	if got := fwtEvents(res, b.box); len(got) != 1 || got[0] != "create marker.txt" {
		t.Fatalf("events %v", got)
	}
	// A link out created in a recursively watched folder is not entered.
	if err := os.Remove(b.in("w")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(b.in("w.real"), b.in("w")); err != nil {
		t.Fatal(err)
	}
	res = fwtCall(t, tool, map[string]any{"operation": "watch", "input": "w", "recursive": true, "pattern": "*.txt",
		"max_events": 1, "timeout_ms": 20000}, func() {
		if err := os.Symlink(b.outside, b.in("w/out")); err != nil {
			t.Error(err)
		}
		fsWrite(t, filepath.Join(b.outside, "leak2.txt"), "x")
		fsWrite(t, b.in("w/ok2.txt"), "x")
	})
	if got := fwtEvents(res, b.in("w")); len(got) != 1 || got[0] != "create ok2.txt" {
		t.Fatalf("events %v", got)
	}
	if res["watch_count"] != 1 {
		t.Fatalf("watched a link: %v", res)
	}
}
