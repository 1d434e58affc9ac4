package files_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/files"
	"spellhost/tools/perm"
)

// fsBox is a sandbox for the filesystem tools: box is readable and
// writable (and the base folder), ro only readable; boxfoo (a sibling whose
// name starts with box's) and outside are neither. Links in box lead out:
// out-dir to outside, out-file to outside/secret.txt.
type fsBox struct {
	root, box, ro, boxfoo, outside string
	ps                             *perm.Set
}

func newFSBox(t testing.TB, lim perm.Limits) fsBox {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := fsBox{
		root: root, box: filepath.Join(root, "box"), ro: filepath.Join(root, "ro"),
		boxfoo: filepath.Join(root, "boxfoo"), outside: filepath.Join(root, "outside"),
	}
	for _, d := range []string{b.box, b.ro, b.boxfoo, b.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fsWrite(t, filepath.Join(b.outside, "secret.txt"), "secret needle\n")
	fsWrite(t, filepath.Join(b.boxfoo, "x.txt"), "boxfoo needle\n")
	fsWrite(t, filepath.Join(b.ro, "ro.txt"), "read only needle\n")
	if err := os.Symlink(b.outside, filepath.Join(b.box, "out-dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(b.outside, "secret.txt"), filepath.Join(b.box, "out-file")); err != nil {
		t.Fatal(err)
	}
	b.ps, err = perm.New(perm.Config{Base: b.box, Read: []string{b.ro}, Write: []string{b.box}, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.ps.CloseIdle)
	return b
}

func (b fsBox) cfg() *perm.Set { return b.ps }

// in returns the path of name inside box.
func (b fsBox) in(name string) string { return filepath.Join(b.box, filepath.FromSlash(name)) }

func fsWrite(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fsRead(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func fsExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// fsCheckErr runs error cases: each must fail with its type and a message
// mentioning every want.
type fsErrCase struct {
	name   string
	params map[string]any
	typ    tools.ErrorType
	want   []string
}

func fsCheckErrs(t *testing.T, tool tools.Tool, cases []fsErrCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, tool, c.params, c.typ)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestFileOperationsSpec(t *testing.T) {
	tool := files.Operations(nil)
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "file_operations" || spec.Category != "filesystem" || spec.Returns == "" {
		t.Fatalf("incomplete spec %+v", spec)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
	b := newFSBox(t, perm.Limits{})
	call(t, files.Operations(b.cfg()), spec.Example)
}

func TestFileOperationsReadWrite(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Operations(b.cfg())

	res := call(t, tool, map[string]any{"operation": "write", "path": "a.txt", "input": "héllo\n"})
	if res["path"] != b.in("a.txt") || res["bytes_written"] != int64(7) || fsRead(t, b.in("a.txt")) != "héllo\n" {
		t.Fatalf("write: %v", res)
	}
	res = call(t, tool, map[string]any{"operation": "read", "path": "a.txt"})
	if res["content"] != "héllo\n" || res["encoding"] != "utf-8" || res["size"] != int64(7) {
		t.Fatalf("read: %v", res)
	}
	res = call(t, tool, map[string]any{"operation": "append", "path": "a.txt", "input": "more"})
	if res["size"] != int64(11) || fsRead(t, b.in("a.txt")) != "héllo\nmore" {
		t.Fatalf("append: %v", res)
	}
	res = call(t, tool, map[string]any{"operation": "append", "path": "new/deep/b.txt", "input": "x", "recursive": true})
	if res["size"] != int64(1) || fsRead(t, b.in("new/deep/b.txt")) != "x" {
		t.Fatalf("append creating: %v", res)
	}
	res = call(t, tool, map[string]any{"operation": "write", "path": "p/q/c.txt", "input": "c", "recursive": true})
	if fsRead(t, b.in("p/q/c.txt")) != "c" {
		t.Fatalf("write with parents: %v", res)
	}

	bin := []byte{0, 1, 2, 0xff}
	res = call(t, tool, map[string]any{"operation": "write", "path": "bin", "input": base64.StdEncoding.EncodeToString(bin), "encoding": "base64"})
	if got := fsRead(t, b.in("bin")); got != string(bin) {
		t.Fatalf("base64 write gave %q", got)
	}
	res = call(t, tool, map[string]any{"operation": "read", "path": "bin"})
	if res["encoding"] != "base64" || res["content"] != "AAEC/w==" {
		t.Fatalf("binary read: %v", res)
	}
	res = call(t, tool, map[string]any{"operation": "read", "path": "a.txt", "encoding": "base64"})
	if res["content"] != base64.StdEncoding.EncodeToString([]byte("héllo\nmore")) {
		t.Fatalf("base64 read: %v", res)
	}
	// Reading through a link that stays inside the sandbox is fine.
	if err := os.Symlink(b.in("a.txt"), b.in("link.txt")); err != nil {
		t.Fatal(err)
	}
	res = call(t, tool, map[string]any{"operation": "read", "path": "link.txt"})
	if res["path"] != b.in("a.txt") {
		t.Fatalf("read via link: %v", res)
	}
	// The read-only folder is readable.
	res = call(t, tool, map[string]any{"operation": "read", "path": "../ro/ro.txt"})
	if res["content"] != "read only needle\n" {
		t.Fatalf("read ro: %v", res)
	}
}

func TestFileOperationsFolders(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Operations(b.cfg())

	res := call(t, tool, map[string]any{"operation": "create_dir", "path": "d"})
	if res["created"] != true || res["path"] != b.in("d") {
		t.Fatalf("create_dir: %v", res)
	}
	if res = call(t, tool, map[string]any{"operation": "create_dir", "path": "d"}); res["created"] != false {
		t.Fatalf("create_dir again: %v", res)
	}
	call(t, tool, map[string]any{"operation": "create_dir", "path": "d/e/f", "recursive": true})
	fsWrite(t, b.in("d/one.txt"), "1")
	fsWrite(t, b.in("d/e/two.txt"), "22")
	fsWrite(t, b.in("d/e/f/three.txt"), "333")

	names := func(res map[string]any) []string {
		var out []string
		for _, e := range res["entries"].([]any) {
			out = append(out, e.(map[string]any)["name"].(string))
		}
		return out
	}
	res = call(t, tool, map[string]any{"operation": "list_dir", "path": "d"})
	if got := names(res); !slices.Equal(got, []string{"e", "one.txt"}) || res["count"] != 2 || res["truncated"] != false {
		t.Fatalf("list_dir: %v", res)
	}
	res = call(t, tool, map[string]any{"operation": "list_dir", "path": "d", "recursive": true})
	if got := names(res); !slices.Equal(got, []string{"e", "e/f", "e/f/three.txt", "e/two.txt", "one.txt"}) {
		t.Fatalf("recursive list_dir: %v", got)
	}
	res = call(t, tool, map[string]any{"operation": "list_dir", "path": "d", "recursive": true, "max_depth": 1})
	if got := names(res); !slices.Equal(got, []string{"e", "e/f", "e/two.txt", "one.txt"}) {
		t.Fatalf("list_dir max_depth 1: %v", got)
	}
	// Links are listed as links, never followed out.
	res = call(t, tool, map[string]any{"operation": "list_dir", "path": ".", "recursive": true})
	for _, e := range res["entries"].([]any) {
		m := e.(map[string]any)
		if strings.HasPrefix(m["name"].(string), "out-dir/") {
			t.Fatalf("listing followed a link out: %v", m)
		}
		if m["name"] == "out-dir" && m["type"] != "symlink" {
			t.Fatalf("out-dir listed as %v", m["type"])
		}
	}

	res = call(t, tool, map[string]any{"operation": "metadata", "path": "d/e/two.txt"})
	if res["type"] != "file" || res["size"] != int64(2) || res["is_symlink"] != false || res["mode"] != "0644" {
		t.Fatalf("metadata: %v", res)
	}
	res = call(t, tool, map[string]any{"operation": "metadata", "path": "out-file"})
	if res["type"] != "symlink" || res["is_symlink"] != true || res["target"] != nil {
		t.Fatalf("metadata of a link out: %v", res)
	}
	res = call(t, tool, map[string]any{"operation": "exists", "path": "d/e"})
	if res["exists"] != true || res["type"] != "dir" {
		t.Fatalf("exists: %v", res)
	}
	res = call(t, tool, map[string]any{"operation": "exists", "path": "d/nope"})
	if res["exists"] != false || res["type"] != nil {
		t.Fatalf("exists missing: %v", res)
	}

	callErr(t, tool, map[string]any{"operation": "delete", "path": "d"}, tools.TypeValidation)
	res = call(t, tool, map[string]any{"operation": "delete", "path": "d/one.txt"})
	if res["deleted"] != true || res["type"] != "file" || fsExists(b.in("d/one.txt")) {
		t.Fatalf("delete file: %v", res)
	}
	call(t, tool, map[string]any{"operation": "delete", "path": "d", "recursive": true})
	if fsExists(b.in("d")) {
		t.Fatal("folder not deleted")
	}
	// Deleting a link removes the link, not what it points to.
	res = call(t, tool, map[string]any{"operation": "delete", "path": "out-file"})
	if res["type"] != "symlink" || fsExists(b.in("out-file")) || !fsExists(filepath.Join(b.outside, "secret.txt")) {
		t.Fatalf("delete link: %v", res)
	}
	msg := callErr(t, tool, map[string]any{"operation": "delete", "path": ".", "recursive": true}, tools.TypeValidation)
	if !strings.Contains(msg, "refusing") || !fsExists(b.box) {
		t.Fatalf("deleting the base folder: %s", msg)
	}
}

func TestFileOperationsCopyMove(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Operations(b.cfg())
	fsWrite(t, b.in("src/a.txt"), "aaa")
	fsWrite(t, b.in("src/sub/b.txt"), "bb")
	if err := os.Symlink("../a.txt", b.in("src/sub/link")); err != nil {
		t.Fatal(err)
	}

	res := call(t, tool, map[string]any{"operation": "copy", "source_path": "src/a.txt", "target_path": "a2.txt"})
	if res["bytes"] != int64(3) || res["type"] != "file" || fsRead(t, b.in("a2.txt")) != "aaa" {
		t.Fatalf("copy file: %v", res)
	}
	callErr(t, tool, map[string]any{"operation": "copy", "source_path": "src/a.txt", "target_path": "a2.txt", "overwrite": false}, tools.TypeValidation)
	callErr(t, tool, map[string]any{"operation": "copy", "source_path": "src", "target_path": "dst"}, tools.TypeValidation)
	res = call(t, tool, map[string]any{"operation": "copy", "source_path": "src", "target_path": "dst", "recursive": true})
	if res["bytes"] != int64(5) || res["type"] != "dir" || fsRead(t, b.in("dst/sub/b.txt")) != "bb" {
		t.Fatalf("copy folder: %v", res)
	}
	if target, err := os.Readlink(b.in("dst/sub/link")); err != nil || target != "../a.txt" {
		t.Fatalf("copied link: %q %v", target, err)
	}
	callErr(t, tool, map[string]any{"operation": "copy", "source_path": "src", "target_path": "src/inner", "recursive": true}, tools.TypeValidation)
	// The read-only folder may be a copy's source.
	call(t, tool, map[string]any{"operation": "copy", "source_path": "../ro/ro.txt", "target_path": "ro-copy.txt"})

	res = call(t, tool, map[string]any{"operation": "move", "source_path": "a2.txt", "target_path": "moved/a3.txt", "recursive": true})
	if fsExists(b.in("a2.txt")) || fsRead(t, b.in("moved/a3.txt")) != "aaa" || res["type"] != "file" {
		t.Fatalf("move file: %v", res)
	}
	res = call(t, tool, map[string]any{"operation": "move", "source_path": "dst", "target_path": "dst2"})
	if fsExists(b.in("dst")) || fsRead(t, b.in("dst2/a.txt")) != "aaa" || res["type"] != "dir" {
		t.Fatalf("move folder: %v", res)
	}
	callErr(t, tool, map[string]any{"operation": "move", "source_path": "dst2", "target_path": "src"}, tools.TypeValidation)
}

func TestFileOperationsEscapes(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Operations(b.cfg())
	fsWrite(t, b.in("mine.txt"), "mine")
	secret := filepath.Join(b.outside, "secret.txt")
	D := tools.TypePermission
	fsCheckErrs(t, tool, []fsErrCase{
		{"read dot-dot", map[string]any{"operation": "read", "path": "../outside/secret.txt"}, D, []string{`"path"`, "--allow-read"}},
		{"read dot-dot inside path", map[string]any{"operation": "read", "path": "sub/../../outside/secret.txt"}, D, []string{"--allow-read"}},
		{"read absolute", map[string]any{"operation": "read", "path": secret}, D, []string{"--allow-read"}},
		{"read link to file out", map[string]any{"operation": "read", "path": "out-file"}, D, []string{"--allow-read"}},
		{"read through link to folder out", map[string]any{"operation": "read", "path": "out-dir/secret.txt"}, D, []string{"--allow-read"}},
		{"read prefix sibling", map[string]any{"operation": "read", "path": filepath.Join(b.boxfoo, "x.txt")}, D, []string{"boxfoo"}},
		{"read prefix sibling relative", map[string]any{"operation": "read", "path": "../boxfoo/x.txt"}, D, []string{"--allow-read"}},
		{"list outside", map[string]any{"operation": "list_dir", "path": ".."}, D, []string{"--allow-read"}},
		{"list link out", map[string]any{"operation": "list_dir", "path": "out-dir"}, D, []string{"--allow-read"}},
		{"metadata outside", map[string]any{"operation": "metadata", "path": secret}, D, nil},
		{"exists outside", map[string]any{"operation": "exists", "path": "../outside/nothing"}, D, nil},
		{"write dot-dot", map[string]any{"operation": "write", "path": "../outside/new.txt", "input": "x"}, D, []string{"--allow-write"}},
		{"write read-only folder", map[string]any{"operation": "write", "path": "../ro/ro.txt", "input": "x"}, D, []string{"--allow-write"}},
		{"write prefix sibling", map[string]any{"operation": "write", "path": filepath.Join(b.boxfoo, "y.txt"), "input": "x"}, D, []string{"--allow-write"}},
		{"write through link to folder out", map[string]any{"operation": "write", "path": "out-dir/new.txt", "input": "x"}, D, []string{"--allow-write"}},
		{"write through link to file out", map[string]any{"operation": "write", "path": "out-file", "input": "x"}, D, []string{"--allow-write"}},
		{"append through link to file out", map[string]any{"operation": "append", "path": "out-file", "input": "x"}, D, []string{"--allow-write"}},
		{"create_dir outside", map[string]any{"operation": "create_dir", "path": "../outside/d"}, D, []string{"--allow-write"}},
		{"create_dir prefix sibling", map[string]any{"operation": "create_dir", "path": filepath.Join(b.boxfoo, "d")}, D, []string{"--allow-write"}},
		{"delete outside", map[string]any{"operation": "delete", "path": secret}, D, []string{"--allow-write"}},
		{"delete through link to folder out", map[string]any{"operation": "delete", "path": "out-dir/secret.txt"}, D, []string{"--allow-write"}},
		{"delete read-only", map[string]any{"operation": "delete", "path": "../ro/ro.txt"}, D, []string{"--allow-write"}},
		{"delete the write folder from its parent", map[string]any{"operation": "delete", "path": b.root, "recursive": true}, D, nil},
		{"copy source outside", map[string]any{"operation": "copy", "source_path": secret, "target_path": "s.txt"}, D, []string{`"source_path"`}},
		{"copy source link out", map[string]any{"operation": "copy", "source_path": "out-file", "target_path": "s.txt"}, D, []string{`"source_path"`}},
		{"copy target outside", map[string]any{"operation": "copy", "source_path": "mine.txt", "target_path": "../outside/m.txt"}, D, []string{`"target_path"`}},
		{"copy target read-only", map[string]any{"operation": "copy", "source_path": "mine.txt", "target_path": "../ro/m.txt"}, D, []string{`"target_path"`}},
		{"copy target through link out", map[string]any{"operation": "copy", "source_path": "mine.txt", "target_path": "out-dir/m.txt"}, D, []string{`"target_path"`}},
		{"move source read-only", map[string]any{"operation": "move", "source_path": "../ro/ro.txt", "target_path": "r.txt"}, D, []string{`"source_path"`}},
		{"move target prefix sibling", map[string]any{"operation": "move", "source_path": "mine.txt", "target_path": filepath.Join(b.boxfoo, "m.txt")}, D, []string{`"target_path"`}},
	})
	if fsRead(t, secret) != "secret needle\n" || fsRead(t, filepath.Join(b.ro, "ro.txt")) != "read only needle\n" || !fsExists(b.in("mine.txt")) {
		t.Fatal("a refused call changed a file")
	}
	for _, f := range []string{"new.txt", "m.txt", "d"} {
		if fsExists(filepath.Join(b.outside, f)) || fsExists(filepath.Join(b.boxfoo, f)) {
			t.Fatalf("a refused call created %s", f)
		}
	}
	t.Run("no perm set", func(t *testing.T) {
		bare := files.Operations(nil)
		callErr(t, bare, map[string]any{"operation": "read", "path": "x"}, D)
		callErr(t, bare, map[string]any{"operation": "write", "path": "x", "input": "x"}, D)
		callErr(t, bare, map[string]any{"operation": "copy", "source_path": "x", "target_path": "y"}, D)
	})
}

func TestFileOperationsErrors(t *testing.T) {
	b := newFSBox(t, perm.Limits{MaxFileBytes: 16})
	tool := files.Operations(b.cfg())
	fsWrite(t, b.in("big.txt"), strings.Repeat("x", 17))
	fsWrite(t, b.in("small.txt"), strings.Repeat("x", 10))
	fsWrite(t, b.in("latin1.txt"), "caf\xe9")
	fsWrite(t, b.in("sub/f"), "f")
	V, E, L := tools.TypeValidation, tools.TypeExecution, tools.TypeTooLarge
	fsCheckErrs(t, tool, []fsErrCase{
		{"missing operation", map[string]any{"path": "x"}, V, []string{`"operation"`}},
		{"unknown operation", map[string]any{"operation": "chmod", "path": "x"}, V, []string{`"operation"`, "chmod"}},
		{"unknown parameter", map[string]any{"operation": "read", "path": "x", "mode": "r"}, V, []string{`"mode"`}},
		{"path wrong type", map[string]any{"operation": "read", "path": 3}, V, []string{`"path"`}},
		{"missing path", map[string]any{"operation": "read"}, V, []string{`"path"`}},
		{"missing input", map[string]any{"operation": "write", "path": "x"}, V, []string{`"input"`}},
		{"missing target", map[string]any{"operation": "copy", "source_path": "small.txt"}, V, []string{`"target_path"`}},
		{"bad base64", map[string]any{"operation": "write", "path": "x", "input": "!!", "encoding": "base64"}, V, []string{`"input"`, "base64"}},
		{"read folder", map[string]any{"operation": "read", "path": "sub"}, V, []string{"folder"}},
		{"read missing", map[string]any{"operation": "read", "path": "nope"}, E, []string{"nope", "does not exist"}},
		{"read not utf-8", map[string]any{"operation": "read", "path": "latin1.txt", "encoding": "utf-8"}, E, []string{"UTF-8", "offset 3"}},
		{"read over limit", map[string]any{"operation": "read", "path": "big.txt"}, L, []string{"17 bytes", "16-byte"}},
		{"write over limit", map[string]any{"operation": "write", "path": "w.txt", "input": strings.Repeat("y", 17)}, L, []string{"16-byte"}},
		{"append over limit", map[string]any{"operation": "append", "path": "small.txt", "input": strings.Repeat("y", 7)}, L, []string{"16-byte"}},
		{"write into missing folder", map[string]any{"operation": "write", "path": "no/dir/x.txt", "input": "x"}, E, []string{"recursive"}},
		{"write over folder", map[string]any{"operation": "write", "path": "sub", "input": "x"}, V, []string{"folder"}},
		{"create_dir without parents", map[string]any{"operation": "create_dir", "path": "a/b/c"}, E, []string{"recursive"}},
		{"create_dir over file", map[string]any{"operation": "create_dir", "path": "small.txt"}, E, []string{"not a folder"}},
		{"list a file", map[string]any{"operation": "list_dir", "path": "small.txt"}, V, []string{"not a folder"}},
		{"max_depth too deep", map[string]any{"operation": "list_dir", "path": ".", "recursive": true, "max_depth": 101}, V, []string{`"max_depth"`}},
		{"delete missing", map[string]any{"operation": "delete", "path": "nope"}, E, []string{"does not exist"}},
		{"copy missing", map[string]any{"operation": "copy", "source_path": "nope", "target_path": "x"}, E, []string{`"source_path"`}},
		{"copy over limit", map[string]any{"operation": "copy", "source_path": "big.txt", "target_path": "x"}, L, []string{"16-byte"}},
		{"copy onto folder", map[string]any{"operation": "copy", "source_path": "small.txt", "target_path": "sub"}, V, []string{"existing folder"}},
		{"copy onto itself", map[string]any{"operation": "copy", "source_path": "small.txt", "target_path": "./small.txt"}, V, []string{"both"}},
		{"move missing", map[string]any{"operation": "move", "source_path": "nope", "target_path": "x"}, E, []string{`"source_path"`}},
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := tools.Call(ctx, tool, map[string]any{"operation": "read", "path": "small.txt"})
		if tools.TypeOf(err) != tools.TypeCancelled {
			t.Fatalf("got %v, want cancelled", err)
		}
	})
}

func BenchmarkFileOperations(b *testing.B) {
	box := newFSBox(b, perm.Limits{})
	tool := files.Operations(box.cfg())
	content := strings.Repeat("a line of text\n", 256) // 3.8 KiB
	fsWrite(b, box.in("r.txt"), content)
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		params map[string]any
	}{
		{"read", map[string]any{"operation": "read", "path": "r.txt"}},
		{"write", map[string]any{"operation": "write", "path": "w.txt", "input": content}},
		{"metadata", map[string]any{"operation": "metadata", "path": "r.txt"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tools.Call(ctx, tool, bc.params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if !bytes.Equal([]byte(fsRead(b, box.in("w.txt"))), []byte(content)) {
		b.Fatal("write benchmark wrote the wrong content")
	}
}
