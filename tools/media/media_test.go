package media_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/media"
	"spellhost/tools/perm"
)

// Shared by the audio, video and image tests.

// mediaWriteFile writes data to name inside dir and returns the path.
func mediaWriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mediaErr expects an error of type typ whose message mentions every want.
func mediaErr(t *testing.T, tool tools.Tool, params map[string]any, typ tools.ErrorType, want ...string) {
	t.Helper()
	msg := callErr(t, tool, params, typ)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Fatalf("message %q does not mention %q", msg, w)
		}
	}
}

// mediaSandbox is a layout for escape tests: root/allowed is readable and
// writable, root/allowedfoo and root/outside are not, and allowed holds
// links that lead out.
type mediaSandbox struct {
	perm              *perm.Set
	allowed, outside  string
	prefixSibling     string // root/allowedfoo
	readOnly          *perm.Set
	readOnlyDir       string
	outsideFile       string // a file in outside named like the test file
	linkFile, linkDir string // symlinks inside allowed pointing out
}

// mediaEscapes builds the layout and places data under the name file in
// outside, allowedfoo and the read-only folder; links point to them.
func mediaEscapes(t *testing.T, file string, data []byte) *mediaSandbox {
	t.Helper()
	root := t.TempDir()
	s := &mediaSandbox{
		allowed:       filepath.Join(root, "allowed"),
		outside:       filepath.Join(root, "outside"),
		prefixSibling: filepath.Join(root, "allowedfoo"),
		readOnlyDir:   filepath.Join(root, "ro"),
	}
	for _, d := range []string{s.allowed, s.outside, s.prefixSibling, s.readOnlyDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.outsideFile = mediaWriteFile(t, s.outside, file, data)
	mediaWriteFile(t, s.prefixSibling, file, data)
	mediaWriteFile(t, s.readOnlyDir, file, data)
	mediaWriteFile(t, s.allowed, file, data)
	s.linkFile = filepath.Join(s.allowed, "link-"+file)
	s.linkDir = filepath.Join(s.allowed, "linkdir")
	if err := os.Symlink(s.outsideFile, s.linkFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(s.outside, s.linkDir); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.perm, err = perm.New(perm.Config{Base: s.allowed, Read: []string{s.allowed}, Write: []string{s.allowed}}); err != nil {
		t.Fatal(err)
	}
	if s.readOnly, err = perm.New(perm.Config{Base: s.readOnlyDir, Read: []string{s.readOnlyDir}}); err != nil {
		t.Fatal(err)
	}
	return s
}

// mediaEscapeCases are read and write escapes every media tool must
// refuse: file_path and target_path out of the sandbox by "..", by an
// absolute path, by a /tmp-vs-/tmpfoo prefix, and through symlinks.
func mediaEscapeCases(t *testing.T, s *mediaSandbox, file string, writeOp map[string]any) []struct {
	name   string
	perm   *perm.Set
	params map[string]any
	want   string
} {
	t.Helper()
	with := func(k, v string) map[string]any {
		m := map[string]any{}
		for kk, vv := range writeOp {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	read := func(path string) map[string]any { return map[string]any{"operation": "metadata", "file_path": path} }
	cases := []struct {
		name   string
		perm   *perm.Set
		params map[string]any
		want   string
	}{
		{"read dot-dot", s.perm, read("../outside/" + file), "--allow-read"},
		{"read absolute outside", s.perm, read(s.outsideFile), "--allow-read"},
		{"read prefix sibling", s.perm, read(filepath.Join(s.prefixSibling, file)), "--allow-read"},
		{"read dot-dot prefix sibling", s.perm, read("../allowedfoo/" + file), "--allow-read"},
		{"read symlinked file", s.perm, read("link-" + file), "--allow-read"},
		{"read through symlinked folder", s.perm, read("linkdir/" + file), "--allow-read"},
		{"write source outside", s.perm, with("file_path", "../outside/"+file), "--allow-read"},
		{"write dot-dot", s.perm, with("target_path", "../outside/out-"+file), "--allow-write"},
		{"write prefix sibling", s.perm, with("target_path", filepath.Join(s.prefixSibling, "out-"+file)), "--allow-write"},
		{"write through symlinked folder", s.perm, with("target_path", "linkdir/out-"+file), "--allow-write"},
		{"write over symlink out", s.perm, with("target_path", "link-"+file), "--allow-write"},
		{"write with read-only permission", s.readOnly, with("target_path", "out-"+file), "--allow-write"},
	}
	if writeOp == nil {
		return cases[:6]
	}
	return cases
}

// mediaCheckEscapes runs the escape cases against the tool made by mk and
// checks nothing was written outside the sandbox.
func mediaCheckEscapes(t *testing.T, mk func(*perm.Set) tools.Tool, file string, data []byte, writeOp map[string]any) {
	t.Helper()
	s := mediaEscapes(t, file, data)
	for _, c := range mediaEscapeCases(t, s, file, writeOp) {
		t.Run(c.name, func(t *testing.T) {
			mediaErr(t, mk(c.perm), c.params, tools.TypePermission, c.want)
		})
	}
	for _, d := range []string{s.outside, s.prefixSibling, s.readOnlyDir} {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "out-") || strings.HasPrefix(e.Name(), ".") {
				t.Errorf("%s was written outside the sandbox", filepath.Join(d, e.Name()))
			}
		}
	}
	if got, err := os.ReadFile(s.outsideFile); err != nil || string(got) != string(data) {
		t.Errorf("the file outside the sandbox changed")
	}
	t.Run("no permission set", func(t *testing.T) {
		mediaErr(t, mk(nil), map[string]any{"operation": "metadata", "file_path": file}, tools.TypePermission, "no file permissions")
		if writeOp != nil {
			mediaErr(t, mk(nil), writeOp, tools.TypePermission, "no file permissions")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		params := map[string]any{"operation": "metadata", "file_path": file}
		if writeOp != nil {
			params = map[string]any{}
			for k, v := range writeOp {
				params[k] = v
			}
			params["target_path"] = "cancelled-" + file
		}
		_, err := tools.Call(ctx, mk(s.perm), params)
		if tools.TypeOf(err) != tools.TypeCancelled {
			t.Fatalf("got %v, want cancelled", err)
		}
		if _, err := os.Stat(filepath.Join(s.allowed, "cancelled-"+file)); err == nil {
			t.Fatal("a cancelled call wrote its target")
		}
	})
}

func TestMediaProcessorsRefuseSpecialFiles(t *testing.T) {
	ps, dir := testPerm(t)
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, c := range []struct {
		tool  tools.Tool
		write map[string]any
	}{
		{media.AudioProcessor(ps), map[string]any{"operation": "convert", "file_path": "pipe", "target_path": "o.wav"}},
		{media.VideoProcessor(ps), nil},
		{media.ImageProcessor(ps), map[string]any{"operation": "convert", "file_path": "pipe", "target_path": "o.png"}},
	} {
		t.Run(c.tool.Spec().Name, func(t *testing.T) {
			// Opening a FIFO for reading would block: these must return.
			for _, op := range []string{"metadata", "detect"} {
				mediaErr(t, c.tool, map[string]any{"operation": op, "file_path": "pipe"}, tools.TypeValidation, "not a regular file")
			}
			if c.write != nil {
				mediaErr(t, c.tool, c.write, tools.TypeValidation, "not a regular file")
			}
		})
	}
}

// mediaFuzz checks that the tool answers any bytes with a result or a
// typed error, never a panic, a hang or an untyped failure.
func mediaFuzz(f *testing.F, mk func(*perm.Set) tools.Tool, ops []map[string]any, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	dir := f.TempDir()
	ps, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}})
	if err != nil {
		f.Fatal(err)
	}
	tool := mk(ps)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "in"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			params := map[string]any{"file_path": "in"}
			for k, v := range op {
				params[k] = v
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := tools.Call(ctx, tool, params)
			cancel()
			switch tools.TypeOf(err) {
			case "", tools.TypeExecution, tools.TypeTooLarge:
			default:
				t.Fatalf("%v: %v (%s)", op, err, tools.TypeOf(err))
			}
		}
	})
}
