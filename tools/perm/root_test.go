package perm_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"spellhost/tools/perm"
)

// rootBox is root/{box (read and write), ro (read only), outside} with a
// file in each; box is the base folder.
type rootBox struct {
	root, box, ro, outside string
	p                      *perm.Set
}

func newRootBox(t testing.TB) rootBox {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := rootBox{root: root, box: filepath.Join(root, "box"), ro: filepath.Join(root, "ro"), outside: filepath.Join(root, "outside")}
	for _, d := range []string{b.box + "/sub/deeper", b.ro, b.outside} {
		must(t, os.MkdirAll(d, 0o755))
	}
	for f, content := range map[string]string{
		"box/in.txt": "inside", "box/sub/deeper/deep.txt": "deep", "ro/ro.txt": "read only", "outside/secret.txt": "SECRET",
	} {
		must(t, os.WriteFile(filepath.Join(root, f), []byte(content), 0o644))
	}
	b.p, err = perm.New(perm.Config{Base: b.box, Read: []string{b.ro}, Write: []string{b.box}})
	must(t, err)
	t.Cleanup(func() { b.p.Close() })
	return b
}

func (b rootBox) read(t testing.TB, path string) (string, error) {
	t.Helper()
	l, err := b.p.Locate(path, perm.ForRead)
	if err != nil {
		return "", err
	}
	data, _, err := l.ReadFile()
	return string(data), err
}

func TestLocateLexical(t *testing.T) {
	b := newRootBox(t)
	for path, want := range map[string]string{
		"in.txt":                       filepath.Join(b.box, "in.txt"),
		"./sub/../in.txt":              filepath.Join(b.box, "in.txt"),
		"sub/deeper/../../in.txt":      filepath.Join(b.box, "in.txt"),
		"../ro/ro.txt":                 filepath.Join(b.ro, "ro.txt"),
		filepath.Join(b.box, "x/../y"): filepath.Join(b.box, "y"),
		".":                            b.box,
	} {
		l, err := b.p.Locate(path, perm.ForRead)
		if err != nil || l.Path() != want {
			t.Errorf("Locate(%q) = %q, %v; want %q", path, l.Path(), err, want)
		}
	}
	for _, path := range []string{"..", "../outside/secret.txt", "sub/../../outside/secret.txt", b.box + "foo/x", "/etc/passwd", "../ro/../outside/secret.txt"} {
		if _, err := b.p.Locate(path, perm.ForRead); !isDenied(err) || !strings.Contains(err.Error(), "--allow-read=") {
			t.Errorf("Locate(%q) = %v, want denied naming --allow-read", path, err)
		}
	}
	if _, err := b.p.Locate("../ro/ro.txt", perm.ForWrite); !isDenied(err) || !strings.Contains(err.Error(), "--allow-write=") {
		t.Errorf("write to the read-only folder: %v", err)
	}
	for _, path := range []string{"", "in.txt\x00", "a\x00/../../outside/secret.txt"} {
		if _, err := b.p.Locate(path, perm.ForRead); !errors.Is(err, perm.ErrInvalid) {
			t.Errorf("Locate(%q) = %v, want invalid", path, err)
		}
	}
	for _, long := range []string{strings.Repeat("a/", 3000) + "x", strings.Repeat("x", 1<<20)} {
		if _, err := b.p.Locate(long, perm.ForWrite); !errors.Is(err, perm.ErrInvalid) || !strings.Contains(err.Error(), "4096-byte limit") {
			t.Errorf("a %d-byte path: %v, want invalid", len(long), err)
		}
	}
	// A path just under the limit is matched; the system answers for it.
	l, err := b.p.Locate(strings.Repeat("n", 300), perm.ForRead)
	must(t, err)
	if _, _, err := l.ReadFile(); err == nil || isDenied(err) {
		t.Errorf("reading a 300-byte name: %v, want an error from the system", err)
	}
}

func TestLinks(t *testing.T) {
	b := newRootBox(t)
	links := map[string]string{
		"abs-out":       filepath.Join(b.outside, "secret.txt"),
		"abs-out-dir":   b.outside,
		"rel-out":       "../outside/secret.txt",
		"rel-out-dir":   "../outside",
		"up":            "../..",
		"sub/up2":       "../../../outside",
		"abs-in":        filepath.Join(b.box, "in.txt"),
		"rel-in":        "sub/deeper/deep.txt",
		"rel-in-dir":    "sub",
		"cross-root":    "../ro/ro.txt",
		"abs-cross":     filepath.Join(b.ro, "ro.txt"),
		"dangling-out":  filepath.Join(b.outside, "new.txt"),
		"dangling-in":   "not-yet.txt",
		"loop1":         "loop2",
		"loop2":         "loop1",
		"etc":           "/etc/passwd",
		"chain":         "abs-out-dir",
		"chain-in":      "rel-in-dir/deeper",
		"sub/deeper/dd": "../../../ro",
	}
	for name, target := range links {
		must(t, os.Symlink(target, filepath.Join(b.box, name)))
	}
	reads := map[string]string{
		"abs-in": "inside", "rel-in": "deep", "rel-in-dir/deeper/deep.txt": "deep", "cross-root": "read only",
		"abs-cross": "read only", "chain-in/deep.txt": "deep", "sub/deeper/dd/ro.txt": "read only",
	}
	for path, want := range reads {
		if got, err := b.read(t, path); err != nil || got != want {
			t.Errorf("read %s = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"abs-out", "abs-out-dir/secret.txt", "rel-out", "rel-out-dir/secret.txt", "up/outside/secret.txt",
		"sub/up2/secret.txt", "dangling-out", "etc", "chain/secret.txt"} {
		got, err := b.read(t, path)
		if !isDenied(err) || !strings.Contains(err.Error(), "--allow-read=") {
			t.Errorf("read %s = %q, %v; want denied", path, got, err)
		}
	}
	if _, err := b.read(t, "loop1"); err == nil || isDenied(err) || !errors.Is(err, syscall.ELOOP) {
		t.Errorf("read through a loop: %v, want ELOOP", err)
	}
	// Writing through links: into the box is fine, out or into the
	// read-only folder is refused, and nothing outside changes.
	w := func(path, data string) error {
		l, err := b.p.Locate(path, perm.ForWrite)
		if err != nil {
			return err
		}
		_, err = l.WriteFile([]byte(data))
		return err
	}
	must(t, w("dangling-in", "created through a link"))
	if got, _ := os.ReadFile(filepath.Join(b.box, "not-yet.txt")); string(got) != "created through a link" {
		t.Fatalf("write through a dangling link inside wrote %q", got)
	}
	for _, path := range []string{"abs-out", "rel-out", "dangling-out", "abs-out-dir/new.txt", "up/outside/new.txt", "cross-root", "etc"} {
		if err := w(path, "x"); !isDenied(err) || !strings.Contains(err.Error(), "--allow-write=") {
			t.Errorf("write %s: %v, want denied", path, err)
		}
		l, _ := b.p.Locate(path, perm.ForWrite)
		if _, _, err := l.Append([]byte("x")); !isDenied(err) {
			t.Errorf("append %s: %v, want denied", path, err)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(b.outside, "secret.txt")); string(got) != "SECRET" {
		t.Fatalf("the secret changed: %q", got)
	}
	if _, err := os.Stat(filepath.Join(b.outside, "new.txt")); err == nil {
		t.Fatal("a file was created outside")
	}
	// Removing a link removes the link, even one leading out.
	l, err := b.p.Locate("abs-out-dir", perm.ForWrite)
	must(t, err)
	must(t, l.RemoveAll())
	if _, err := os.Stat(filepath.Join(b.outside, "secret.txt")); err != nil {
		t.Fatal("removing a link removed its target")
	}
	// Lstat describes a link; Stat follows it only inside.
	l, _ = b.p.Locate("rel-out", perm.ForRead)
	if fi, _, err := l.Lstat(); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat of a link out: %v %v", fi, err)
	}
	if _, _, err := l.Stat(); !isDenied(err) {
		t.Errorf("Stat through a link out: %v", err)
	}
	if _, ok := l.Target(); ok {
		t.Error("Target of a link out reported inside")
	}
	l, _ = b.p.Locate("abs-in", perm.ForRead)
	if tl, ok := l.Target(); !ok || tl.Path() != filepath.Join(b.box, "in.txt") {
		t.Errorf("Target of a link inside: %v %v", tl.Path(), ok)
	}
}

func TestNotRegular(t *testing.T) {
	b := newRootBox(t)
	fifo := filepath.Join(b.box, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	for path, kind := range map[string]string{"fifo": "FIFO", "sub": "folder"} {
		l, err := b.p.Locate(path, perm.ForWrite)
		must(t, err)
		var nr *perm.NotRegularError
		if _, err := l.Open(); !errors.As(err, &nr) || !errors.Is(err, perm.ErrInvalid) || !strings.Contains(err.Error(), kind) {
			t.Errorf("Open(%s) = %v, want not regular (%s)", path, err, kind)
		}
		if _, _, err := l.Append([]byte("x")); !errors.Is(err, perm.ErrNotRegular) {
			t.Errorf("Append(%s) = %v, want not regular", path, err)
		}
	}
	// Opening a FIFO or a file as a folder fails at once (it would block
	// for a FIFO if opened as anything else first).
	for _, path := range []string{"in.txt", "fifo"} {
		l, _ := b.p.Locate(path, perm.ForRead)
		if _, err := l.OpenDir(); !errors.Is(err, syscall.ENOTDIR) {
			t.Errorf("OpenDir(%s) = %v, want ENOTDIR", path, err)
		}
	}
	root, _ := b.p.Locate(".", perm.ForRead)
	d, err := root.OpenDir()
	must(t, err)
	defer d.Close()
	if _, err := d.Sub("fifo"); !errors.Is(err, perm.ErrNotRegular) {
		t.Errorf("Sub(fifo) = %v, want not regular", err)
	}
	// A device, where the folder holding it is allowed.
	dev, err := perm.New(perm.Config{Base: "/dev", Read: []string{"/dev"}})
	must(t, err)
	defer dev.Close()
	l, err := dev.Locate("zero", perm.ForRead)
	must(t, err)
	if _, _, err := l.ReadFile(); !errors.Is(err, perm.ErrNotRegular) || !strings.Contains(err.Error(), "character device") {
		t.Errorf("reading /dev/zero: %v", err)
	}
}

// threads returns the number of OS threads of this process.
func threads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			must(t, err)
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// TestFIFOLeavesNothingBehind opens a FIFO with no writer 200 times, from
// 8 goroutines: each is refused at once, and no thread is left blocked.
func TestFIFOLeavesNothingBehind(t *testing.T) {
	b := newRootBox(t)
	if err := syscall.Mkfifo(filepath.Join(b.box, "fifo"), 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	runtime.GC()
	before := threads(t)
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range 8 {
		wg.Go(func() {
			for range 25 {
				l, err := b.p.Locate("fifo", perm.ForRead)
				if err != nil {
					t.Error(err)
					return
				}
				if _, _, err := l.ReadFile(); errors.Is(err, perm.ErrNotRegular) {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if refused.Load() != 200 {
		t.Fatalf("%d of 200 reads of a FIFO refused", refused.Load())
	}
	// A thread blocked in open(2) would still be there; a few more than
	// before may be idle ones the runtime started for the goroutines.
	if after := threads(t); after > before+8 {
		t.Fatalf("%d threads after 200 FIFO reads, %d before", after, before)
	}
}

// TestSwapRace flips a folder of the box between a real folder and a link
// out while readers and writers use paths through it: the readers never
// see the secret and the writers never create anything outside.
func TestSwapRace(t *testing.T) {
	b := newRootBox(t)
	must(t, os.MkdirAll(filepath.Join(b.box, "real"), 0o755))
	must(t, os.WriteFile(filepath.Join(b.box, "real", "secret.txt"), []byte("inside"), 0o644))
	must(t, os.Symlink("../outside", filepath.Join(b.box, "link")))
	must(t, os.Symlink(b.outside, filepath.Join(b.box, "abslink")))
	const swaps = 3000
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(stop)
		w := filepath.Join(b.box, "w")
		for i := range swaps {
			from := []string{"real", "link", "abslink"}[i%3]
			if err := os.Rename(filepath.Join(b.box, from), w); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(w, filepath.Join(b.box, from)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var inside, refused atomic.Int64
	for i := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := b.read(t, "w/secret.txt")
				switch {
				case err == nil && got == "inside":
					inside.Add(1)
				case err == nil:
					t.Errorf("read through the swapped folder gave %q", got)
					return
				default:
					refused.Add(1)
				}
				l, err := b.p.Locate("w/new-"+strconv.Itoa(i)+".txt", perm.ForWrite)
				if err != nil {
					t.Error(err)
					return
				}
				l.WriteFile([]byte("x"))
				l.Append([]byte("y"))
				if d, err := b.p.Locate("w", perm.ForRead); err == nil {
					if dir, err := d.OpenDir(); err == nil {
						des, _ := dir.Entries()
						for _, de := range des {
							if de.Name() == "secret.txt" {
								if f, err := dir.Open("secret.txt"); err == nil {
									data, _ := io.ReadAll(f)
									f.Close()
									if bytes.Contains(data, []byte("SECRET")) {
										t.Errorf("a folder opened through the swap read the secret")
									}
								}
							}
						}
						dir.Close()
					}
				}
			}
		})
	}
	wg.Wait()
	entries, err := os.ReadDir(b.outside)
	must(t, err)
	if len(entries) != 1 {
		t.Fatalf("files created outside: %v", entries)
	}
	if got, _ := os.ReadFile(filepath.Join(b.outside, "secret.txt")); string(got) != "SECRET" {
		t.Fatalf("the secret changed: %q", got)
	}
	t.Logf("%d reads inside, %d refused or missing during %d swaps", inside.Load(), refused.Load(), swaps)
}

func TestLinkCreation(t *testing.T) {
	b := newRootBox(t)
	at := func(path string) perm.Loc {
		l, err := b.p.Locate(path, perm.ForWrite)
		must(t, err)
		return l
	}
	must(t, at("sub/ok").Symlink("deeper/deep.txt"))
	must(t, at("sub/ok2").Symlink("../in.txt"))
	must(t, at("abs-ok").Symlink(filepath.Join(b.box, "in.txt")))
	for _, target := range []string{"../..", "../outside", filepath.Join(b.outside, "secret.txt"), "/etc/passwd", "../ro/ro.txt", "sub/../../x"} {
		err := at("bad").Symlink(target)
		if !errors.Is(err, perm.ErrInvalid) || !strings.Contains(err.Error(), "outside the allowed folder") {
			t.Errorf("Symlink(%q) = %v, want refused", target, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(b.box, "bad")); err == nil {
		t.Fatal("a refused link was created")
	}
	// Moving a link or a folder holding links: refused where a link would
	// lead out from its new place, fine where every link stays inside.
	must(t, os.MkdirAll(filepath.Join(b.box, "a/b/c"), 0o755))
	must(t, os.Symlink("../../../in.txt", filepath.Join(b.box, "a/b/c/l"))) // box/in.txt
	if err := at("a/b/c/l").Rename(at("l")); !errors.Is(err, perm.ErrInvalid) {
		t.Errorf("moving a link up so it leads out: %v", err)
	}
	if err := at("a/b").Rename(at("b")); !errors.Is(err, perm.ErrInvalid) {
		t.Errorf("moving a folder up so a link in it leads out: %v", err)
	}
	must(t, os.MkdirAll(filepath.Join(b.box, "x"), 0o755))
	must(t, at("a/b").Rename(at("x/b"))) // the same depth: the link still leads to in.txt
	if got, err := b.read(t, "x/b/c/l"); err != nil || got != "inside" {
		t.Fatalf("after the move the link reads %q, %v", got, err)
	}
	if _, err := os.Lstat(filepath.Join(b.box, "a/b")); err == nil {
		t.Fatal("the moved folder is still there")
	}
	// Moving through a link in the target's path is judged where the link
	// really lands: d1/d2/up leads back to the box, so the link would sit
	// in the box itself.
	must(t, os.MkdirAll(filepath.Join(b.box, "d1/d2"), 0o755))
	must(t, os.Symlink("../..", filepath.Join(b.box, "d1/d2/up")))
	must(t, os.MkdirAll(filepath.Join(b.box, "e1/e2"), 0o755))
	must(t, os.Symlink("../../in.txt", filepath.Join(b.box, "e1/e2/l")))
	if err := at("e1/e2/l").Rename(at("d1/d2/up/l")); !errors.Is(err, perm.ErrInvalid) {
		t.Errorf("moving a link through a link upwards: %v", err)
	}
	// Between folders that share no handle, Rename says so.
	other := t.TempDir()
	p2, err := perm.New(perm.Config{Base: b.box, Write: []string{b.box, other}})
	must(t, err)
	defer p2.Close()
	src, _ := p2.Locate("in.txt", perm.ForWrite)
	dst, _ := p2.Locate(filepath.Join(other, "in.txt"), perm.ForWrite)
	if err := src.Rename(dst); !errors.Is(err, perm.ErrOtherFolder) {
		t.Errorf("rename between folders: %v", err)
	}
}

func TestDirWalk(t *testing.T) {
	b := newRootBox(t)
	must(t, os.Symlink(b.outside, filepath.Join(b.box, "out")))
	must(t, os.Symlink("sub", filepath.Join(b.box, "in-link")))
	l, err := b.p.Locate(".", perm.ForRead)
	must(t, err)
	d, err := l.OpenDir()
	must(t, err)
	defer d.Close()
	des, err := d.Entries()
	must(t, err)
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	if strings.Join(names, ",") != "in-link,in.txt,out,sub" {
		t.Fatalf("entries %v", names)
	}
	for _, name := range []string{"out", "in-link"} {
		if _, err := d.Sub(name); err == nil {
			t.Errorf("Sub(%s) entered a link", name)
		}
	}
	for _, name := range []string{"..", "sub/deeper", "", "a\x00"} {
		if _, err := d.Sub(name); !errors.Is(err, perm.ErrInvalid) {
			t.Errorf("Sub(%q) = %v, want invalid", name, err)
		}
	}
	sub, err := d.Sub("sub")
	must(t, err)
	defer sub.Close()
	deeper, err := sub.Sub("deeper")
	must(t, err)
	defer deeper.Close()
	f, err := deeper.Open("deep.txt")
	must(t, err)
	data, _ := io.ReadAll(f)
	f.Close()
	if string(data) != "deep" || f.Loc.Path() != filepath.Join(b.box, "sub/deeper/deep.txt") {
		t.Fatalf("read %q at %s", data, f.Loc.Path())
	}
	if _, err := d.Open("out"); err == nil {
		t.Fatal("opened a link to a folder out")
	}
}

func TestExactReadList(t *testing.T) {
	b := newRootBox(t)
	p, err := perm.New(perm.Config{Base: b.box, Read: []string{filepath.Join(b.ro, "ro.txt")}})
	must(t, err)
	defer p.Close()
	if _, err := p.Locate("in.txt", perm.ForRead); !isDenied(err) {
		t.Errorf("the base folder is readable though not listed: %v", err)
	}
	l, err := p.Locate("../ro/ro.txt", perm.ForRead)
	must(t, err)
	if data, _, err := l.ReadFile(); err != nil || string(data) != "read only" {
		t.Errorf("the listed file: %q %v", data, err)
	}
	must(t, os.WriteFile(filepath.Join(b.ro, "other.txt"), []byte("x"), 0o644))
	if _, err := p.Locate("../ro/other.txt", perm.ForRead); !isDenied(err) {
		t.Errorf("a file beside the listed one: %v", err)
	}
	if _, err := p.Locate("../ro/ro.txt/x", perm.ForRead); !isDenied(err) {
		t.Errorf("below the listed file: %v", err)
	}
}

// BenchmarkReadSmall compares a read of a 1 KiB file through the handles
// with the former path-based read (resolve every link by name, check, open
// by name).
func BenchmarkReadSmall(b *testing.B) {
	box := newRootBox(b)
	must(b, os.WriteFile(filepath.Join(box.box, "sub", "small.txt"), bytes.Repeat([]byte("x"), 1024), 0o644))
	b.Run("root", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := box.p.ReadFile("sub/small.txt"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("path", func(b *testing.B) {
		// What ReadFile did before the handles: resolve, compare, look
		// at the file, open it again by name, read it.
		b.ReportAllocs()
		for b.Loop() {
			r, err := filepath.EvalSymlinks(filepath.Join(box.box, "sub/small.txt"))
			if err != nil || !strings.HasPrefix(r, box.box+"/") {
				b.Fatal(r, err)
			}
			if st, err := os.Stat(r); err != nil || !st.Mode().IsRegular() {
				b.Fatal(err)
			}
			f, err := os.Open(r)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Stat(); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadAll(io.LimitReader(f, perm.DefaultMaxFileBytes+1)); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}

// TestLocateThroughLinksAbove matches a path that reaches an allowed
// folder through a link above it, as /tmp does on some systems.
func TestLocateThroughLinksAbove(t *testing.T) {
	b := newRootBox(t)
	alias := filepath.Join(t.TempDir(), "alias")
	must(t, os.Symlink(b.root, alias))
	l, err := b.p.Locate(filepath.Join(alias, "box", "in.txt"), perm.ForRead)
	must(t, err)
	if data, _, err := l.ReadFile(); err != nil || string(data) != "inside" {
		t.Fatalf("read through a link above the box: %q %v", data, err)
	}
	if _, err := b.p.Locate(filepath.Join(alias, "outside", "secret.txt"), perm.ForRead); !isDenied(err) {
		t.Fatalf("a link above leading outside: %v", err)
	}
}
