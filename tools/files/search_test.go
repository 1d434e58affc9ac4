package files_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/files"
	"spellhost/tools/perm"
)

// fsrTree fills box with a small source tree.
func fsrTree(t testing.TB, b fsBox) {
	t.Helper()
	fsWrite(t, b.in("main.go"), "package main\n\n// Needle here\nfunc main() {\n\tprintln(\"needle\")\n}\n")
	fsWrite(t, b.in("README.md"), "# Title\nno match\nA NEEDLE in caps\n")
	fsWrite(t, b.in("sub/deep/notes.txt"), "line one\r\nneedle in crlf\r\nlast\r\n")
	fsWrite(t, b.in(".git/config"), "needle in git\n")
	fsWrite(t, b.in("node_modules/x/index.js"), "needle in deps\n")
	fsWrite(t, b.in("data.bin"), "needle\x00binary")
	fsWrite(t, b.in("unicode.txt"), "ééé needle\n")
	if err := os.Symlink(b.in("main.go"), b.in("sub/main-link.go")); err != nil {
		t.Fatal(err)
	}
}

func fsrFiles(res map[string]any) []string {
	var out []string
	for _, m := range res["matches"].([]any) {
		out = append(out, filepath.Base(m.(map[string]any)["file_path"].(string))+fmt.Sprintf(":%d", m.(map[string]any)["line_number"]))
	}
	return out
}

func TestFileSearchSpec(t *testing.T) {
	spec := files.Search(nil).Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "file_search" || spec.Returns == "" {
		t.Fatalf("incomplete spec %+v", spec)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
	b := newFSBox(t, perm.Limits{})
	call(t, files.Search(b.cfg()), spec.Example)
}

func TestFileSearchFind(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	fsrTree(t, b)
	tool := files.Search(b.cfg())

	res := call(t, tool, map[string]any{"pattern": "needle", "path": "."})
	want := []string{"README.md:3", "main.go:3", "main.go:5", "notes.txt:2", "main-link.go:3", "main-link.go:5", "unicode.txt:1"}
	if got := fsrFiles(res); !slices.Equal(got, want) {
		t.Fatalf("matches %v, want %v", got, want)
	}
	sum := res["summary"].(map[string]any)
	if sum["skipped_binary"] != 1 || sum["skipped_outside"] != 2 || sum["truncated"] != false || sum["matches"] != 7 || sum["files_matched"] != 5 {
		t.Fatalf("summary %v", sum)
	}
	first := res["matches"].([]any)[0].(map[string]any)
	if first["file_path"] != b.in("README.md") || first["column"] != 3 || first["line"] != "A NEEDLE in caps" || first["match"] != "NEEDLE" {
		t.Fatalf("first match %v", first)
	}
	uni := res["matches"].([]any)[6].(map[string]any)
	if uni["column"] != 5 {
		t.Fatalf("column counts characters: %v", uni)
	}
	crlf := res["matches"].([]any)[3].(map[string]any)
	if crlf["line"] != "needle in crlf" {
		t.Fatalf("carriage return kept: %q", crlf["line"])
	}

	cases := []struct {
		name   string
		params map[string]any
		want   []string
	}{
		{"case sensitive", map[string]any{"case_sensitive": true, "pattern": "Needle"}, []string{"main.go:3", "main-link.go:3"}},
		{"regex", map[string]any{"use_regex": true, "pattern": `^\s*println\("n.+"\)$`}, []string{"main.go:5", "main-link.go:5"}},
		{"regex across crlf", map[string]any{"use_regex": true, "pattern": `crlf$`}, []string{"notes.txt:2"}},
		{"regex case-insensitive", map[string]any{"use_regex": true, "pattern": `a needle`}, []string{"README.md:3"}},
		{"non-ascii ignoring case", map[string]any{"pattern": "ÉÉ"}, []string{"unicode.txt:1"}},
		{"extensions", map[string]any{"include_extensions": []any{"md", ".TXT"}}, []string{"README.md:3", "notes.txt:2", "unicode.txt:1"}},
		{"not recursive", map[string]any{"recursive": false}, []string{"README.md:3", "main.go:3", "main.go:5", "unicode.txt:1"}},
		{"max depth 1", map[string]any{"max_depth": 1}, []string{"README.md:3", "main.go:3", "main.go:5", "main-link.go:3", "main-link.go:5", "unicode.txt:1"}},
		{"max depth 0", map[string]any{"max_depth": 0}, []string{"README.md:3", "main.go:3", "main.go:5", "unicode.txt:1"}},
		{"exclude nothing", map[string]any{"exclude_dirs": []any{}}, []string{"config:1", "README.md:3", "main.go:3", "main.go:5",
			"index.js:1", "notes.txt:2", "main-link.go:3", "main-link.go:5", "unicode.txt:1"}},
		{"exclude glob replaces the default", map[string]any{"exclude_dirs": []any{"s*", "node_*"}}, []string{"config:1", "README.md:3", "main.go:3", "main.go:5", "unicode.txt:1"}},
		{"single file", map[string]any{"path": "sub/deep/notes.txt"}, []string{"notes.txt:2"}},
		{"max results", map[string]any{"max_results": 2}, []string{"README.md:3", "main.go:3"}},
		{"no match", map[string]any{"pattern": "haystack"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			params := map[string]any{"pattern": "needle", "path": "."}
			for k, v := range c.params {
				params[k] = v
			}
			res := call(t, tool, params)
			if got := fsrFiles(res); !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			if c.name == "max results" && res["summary"].(map[string]any)["truncated"] != true {
				t.Fatal("truncated not set")
			}
		})
	}

	t.Run("context lines", func(t *testing.T) {
		res := call(t, tool, map[string]any{"pattern": "func", "path": "main.go", "context_lines": 2, "case_sensitive": true})
		m := res["matches"].([]any)[0].(map[string]any)
		if !reflect.DeepEqual(m["context_before"], []any{"", "// Needle here"}) || !reflect.DeepEqual(m["context_after"], []any{"\tprintln(\"needle\")", "}"}) {
			t.Fatalf("context %q / %q", m["context_before"], m["context_after"])
		}
	})
	t.Run("large files skipped", func(t *testing.T) {
		fsWrite(t, b.in("big/big.txt"), strings.Repeat("x", 100)+"needle\n")
		res := call(t, tool, map[string]any{"pattern": "needle", "path": "big", "max_file_size": 50})
		if len(res["matches"].([]any)) != 0 || res["summary"].(map[string]any)["skipped_large"] != 1 {
			t.Fatalf("got %v", res)
		}
	})
	t.Run("long lines cut", func(t *testing.T) {
		fsWrite(t, b.in("long/l.txt"), "needle"+strings.Repeat("é", 1000)+"\n")
		res := call(t, tool, map[string]any{"pattern": "needle", "path": "long"})
		line := res["matches"].([]any)[0].(map[string]any)["line"].(string)
		if len(line) > 1000 || !strings.HasPrefix(line, "needle") || strings.ContainsRune(line, '\uFFFD') {
			t.Fatalf("line of %d bytes: %q", len(line), line[len(line)-4:])
		}
	})
}

func TestFileSearchEscapes(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	fsrTree(t, b)
	tool := files.Search(b.cfg())
	D := tools.TypePermission
	fsCheckErrs(t, tool, []fsErrCase{
		{"dot-dot", map[string]any{"pattern": "needle", "path": "../outside"}, D, []string{`"path"`, "--allow-read"}},
		{"absolute", map[string]any{"pattern": "needle", "path": b.outside}, D, []string{"--allow-read"}},
		{"root", map[string]any{"pattern": "needle", "path": "/"}, D, []string{"--allow-read"}},
		{"link to folder out", map[string]any{"pattern": "needle", "path": "out-dir"}, D, []string{"--allow-read"}},
		{"link to file out", map[string]any{"pattern": "needle", "path": "out-file"}, D, []string{"--allow-read"}},
		{"prefix sibling", map[string]any{"pattern": "needle", "path": b.boxfoo}, D, []string{"boxfoo"}},
		{"prefix sibling relative", map[string]any{"pattern": "needle", "path": "../boxfoo"}, D, nil},
	})
	callErr(t, files.Search(nil), map[string]any{"pattern": "needle", "path": "."}, D)

	// Searching the box never reports a file outside it, though links lead there.
	res := call(t, tool, map[string]any{"pattern": "needle", "path": ".", "exclude_dirs": []any{}})
	for _, m := range res["matches"].([]any) {
		if p := m.(map[string]any)["file_path"].(string); !strings.HasPrefix(p, b.box+string(filepath.Separator)) {
			t.Fatalf("match outside the sandbox: %s", p)
		}
	}
	// The read-only folder can be searched.
	res = call(t, tool, map[string]any{"pattern": "needle", "path": "../ro"})
	if got := fsrFiles(res); !slices.Equal(got, []string{"ro.txt:1"}) {
		t.Fatalf("ro search %v", got)
	}
}

func TestFileSearchErrors(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	fsrTree(t, b)
	tool := files.Search(b.cfg())
	V, E := tools.TypeValidation, tools.TypeExecution
	fsCheckErrs(t, tool, []fsErrCase{
		{"missing pattern", map[string]any{"path": "."}, V, []string{`"pattern"`}},
		{"missing path", map[string]any{"pattern": "x"}, V, []string{`"path"`}},
		{"empty pattern", map[string]any{"pattern": "", "path": "."}, V, []string{`"pattern"`, "empty"}},
		{"pattern with newline", map[string]any{"pattern": "a\nb", "path": "."}, V, []string{"line break"}},
		{"bad regex", map[string]any{"pattern": "a(b", "path": ".", "use_regex": true}, V, []string{`"pattern"`, "missing closing )"}},
		{"pattern too long", map[string]any{"pattern": strings.Repeat("a", 4097), "path": "."}, tools.TypeTooLarge, []string{"4096"}},
		{"context too big", map[string]any{"pattern": "x", "path": ".", "context_lines": 11}, V, []string{`"context_lines"`}},
		{"negative depth", map[string]any{"pattern": "x", "path": ".", "max_depth": -1}, V, []string{`"max_depth"`}},
		{"zero results", map[string]any{"pattern": "x", "path": ".", "max_results": 0}, V, []string{`"max_results"`}},
		{"zero file size", map[string]any{"pattern": "x", "path": ".", "max_file_size": 0}, V, []string{`"max_file_size"`}},
		{"bad extension", map[string]any{"pattern": "x", "path": ".", "include_extensions": []any{"a/b"}}, V, []string{`"include_extensions"`}},
		{"extension not string", map[string]any{"pattern": "x", "path": ".", "include_extensions": []any{3}}, V, []string{`"include_extensions"`}},
		{"bad exclude glob", map[string]any{"pattern": "x", "path": ".", "exclude_dirs": []any{"["}}, V, []string{`"exclude_dirs"`}},
		{"recursive wrong type", map[string]any{"pattern": "x", "path": ".", "recursive": "yes"}, V, []string{`"recursive"`}},
		{"missing path on disk", map[string]any{"pattern": "x", "path": "nope"}, E, []string{"does not exist"}},
		{"single file too large", map[string]any{"pattern": "x", "path": "main.go", "max_file_size": 10}, tools.TypeTooLarge, []string{"max_file_size"}},
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := tools.Call(ctx, tool, map[string]any{"pattern": "needle", "path": "."})
		if tools.TypeOf(err) != tools.TypeCancelled {
			t.Fatalf("got %v, want cancelled", err)
		}
	})
}

func BenchmarkFileSearch(b *testing.B) {
	box := newFSBox(b, perm.Limits{})
	var sb strings.Builder
	for i := range 200 {
		fmt.Fprintf(&sb, "line %d of some source text with words in it\n", i)
	}
	sb.WriteString("the needle is here\n")
	for i := range 50 {
		fsWrite(b, box.in(fmt.Sprintf("d%d/f%d.txt", i%5, i)), sb.String())
	}
	tool := files.Search(box.cfg())
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		params map[string]any
	}{
		{"literal", map[string]any{"pattern": "needle", "path": "."}},
		{"regex", map[string]any{"pattern": `need(le|ful)`, "path": ".", "use_regex": true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := tools.Call(ctx, tool, bc.params)
				if err != nil {
					b.Fatal(err)
				}
				if n := len(res.(map[string]any)["matches"].([]any)); n != 50 {
					b.Fatalf("%d matches", n)
				}
			}
		})
	}
}
