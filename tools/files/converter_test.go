package files_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/files"
	"spellhost/tools/perm"
)

func TestFileConverterSpec(t *testing.T) {
	spec := files.Converter(nil).Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "file_converter" || spec.Returns == "" {
		t.Fatalf("incomplete spec %+v", spec)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
}

func TestFileConverterEncoding(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Converter(b.cfg())
	text := "héllo €\n𝄞 clef\n" // a character outside the BMP needs a UTF-16 surrogate pair
	utf16le := []byte{'h', 0, 0xE9, 0, 'l', 0, 'l', 0, 'o', 0, ' ', 0, 0xAC, 0x20, '\n', 0,
		0x34, 0xD8, 0x1E, 0xDD, ' ', 0, 'c', 0, 'l', 0, 'e', 0, 'f', 0, '\n', 0}
	swap := func(in []byte) []byte {
		out := bytes.Clone(in)
		for i := 0; i+1 < len(out); i += 2 {
			out[i], out[i+1] = out[i+1], out[i]
		}
		return out
	}
	cases := []struct {
		name   string
		src    []byte
		params map[string]any
		want   []byte
		from   string
		bom    bool
	}{
		{"utf-8 to utf-16le", []byte(text), map[string]any{"to_encoding": "utf-16le"}, utf16le, "utf-8", false},
		{"utf-8 to utf-16be with bom", []byte(text), map[string]any{"to_encoding": "utf-16be", "bom": true}, append([]byte{0xFE, 0xFF}, swap(utf16le)...), "utf-8", true},
		{"utf-16le named to utf-8", utf16le, map[string]any{"from_encoding": "utf-16le", "to_encoding": "utf-8"}, []byte(text), "utf-16le", false},
		{"utf-16le bom detected, kept in utf-8", append([]byte{0xFF, 0xFE}, utf16le...), map[string]any{"to_encoding": "utf-8"}, append([]byte{0xEF, 0xBB, 0xBF}, text...), "utf-16le", true},
		{"utf-16be bom dropped", append([]byte{0xFE, 0xFF}, swap(utf16le)...), map[string]any{"to_encoding": "utf-8", "bom": false}, []byte(text), "utf-16be", false},
		{"utf-8 bom detected", []byte("\xEF\xBB\xBFcafé"), map[string]any{"to_encoding": "latin1"}, []byte("caf\xe9"), "utf-8", false},
		{"latin1 to utf-8", []byte("caf\xe9 \xa3\xff"), map[string]any{"from_encoding": "latin1", "to_encoding": "utf-8"}, []byte("café £ÿ"), "latin1", false},
		{"windows-1252 to utf-8", []byte("\x80 \x93q\x94 \x9f"), map[string]any{"from_encoding": "windows-1252", "to_encoding": "utf-8"}, []byte("€ “q” Ÿ"), "windows-1252", false},
		{"utf-8 to windows-1252", []byte("€ “q” é"), map[string]any{"to_encoding": "windows-1252"}, []byte("\x80 \x93q\x94 \xe9"), "utf-8", false},
		{"ascii replace", []byte("naïve €"), map[string]any{"to_encoding": "ascii", "unmappable": "replace"}, []byte("na?ve ?"), "utf-8", false},
		{"latin1 replace", []byte("café €"), map[string]any{"to_encoding": "latin1", "unmappable": "replace"}, []byte("caf\xe9 ?"), "utf-8", false},
		{"ascii to utf-8", []byte("plain"), map[string]any{"from_encoding": "ascii", "to_encoding": "utf-8"}, []byte("plain"), "ascii", false},
		{"empty file", nil, map[string]any{"to_encoding": "utf-16le"}, []byte{}, "utf-8", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(b.in("src"), c.src, 0o644); err != nil {
				t.Fatal(err)
			}
			params := map[string]any{"operation": "encoding", "path": "src", "target_path": "dst"}
			for k, v := range c.params {
				params[k] = v
			}
			res := call(t, tool, params)
			got, _ := os.ReadFile(b.in("dst"))
			if !bytes.Equal(got, c.want) {
				t.Fatalf("wrote % x, want % x", got, c.want)
			}
			if res["from_encoding"] != c.from || res["bom"] != c.bom || res["bytes_written"] != int64(len(c.want)) ||
				res["input_path"] != b.in("src") || res["output_path"] != b.in("dst") || res["bytes_read"] != int64(len(c.src)) {
				t.Fatalf("result %v", res)
			}
		})
	}

	t.Run("round trips", func(t *testing.T) {
		fsWrite(t, b.in("rt.txt"), text)
		for _, enc := range []string{"utf-16le", "utf-16be", "utf-8"} {
			for _, bom := range []bool{false, true} {
				call(t, tool, map[string]any{"operation": "encoding", "path": "rt.txt", "target_path": "rt.enc", "to_encoding": enc, "bom": bom})
				from := enc
				if bom {
					from = "auto"
				}
				call(t, tool, map[string]any{"operation": "encoding", "path": "rt.enc", "target_path": "rt.back", "from_encoding": from, "to_encoding": "utf-8", "bom": false})
				if got := fsRead(t, b.in("rt.back")); got != text {
					t.Fatalf("%s bom %v: got %q", enc, bom, got)
				}
			}
		}
	})

	t.Run("in place, unchanged is not written", func(t *testing.T) {
		fsWrite(t, b.in("same.txt"), "already utf-8\n")
		old := time.Now().Add(-time.Hour).Truncate(time.Second)
		if err := os.Chtimes(b.in("same.txt"), old, old); err != nil {
			t.Fatal(err)
		}
		res := call(t, tool, map[string]any{"operation": "encoding", "path": "same.txt", "to_encoding": "utf-8"})
		fi, _ := os.Stat(b.in("same.txt"))
		if res["changed"] != false || res["written"] != false || !fi.ModTime().Equal(old) {
			t.Fatalf("result %v, mtime %v", res, fi.ModTime())
		}
		res = call(t, tool, map[string]any{"operation": "encoding", "path": "same.txt", "to_encoding": "utf-16le"})
		if res["changed"] != true || res["written"] != true || len(fsRead(t, b.in("same.txt"))) != 28 {
			t.Fatalf("in place: %v", res)
		}
	})
}

func TestFileConverterLineEndings(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Converter(b.cfg())
	src := "a\r\nb\nc\rd\r\n\r\ne"
	for _, c := range []struct{ ending, want string }{
		{"lf", "a\nb\nc\nd\n\ne"},
		{"crlf", "a\r\nb\r\nc\r\nd\r\n\r\ne"},
		{"cr", "a\rb\rc\rd\r\re"},
	} {
		t.Run(c.ending, func(t *testing.T) {
			fsWrite(t, b.in("le.txt"), src)
			res := call(t, tool, map[string]any{"operation": "line_endings", "path": "le.txt", "line_ending": c.ending})
			if got := fsRead(t, b.in("le.txt")); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			if !reflect.DeepEqual(res["found"], map[string]any{"lf": int64(1), "crlf": int64(3), "cr": int64(1)}) ||
				res["line_ending"] != c.ending || res["to_encoding"] != "utf-8" {
				t.Fatalf("result %v", res)
			}
		})
	}
	t.Run("utf-16 with bom stays utf-16", func(t *testing.T) {
		// "x\r\ny" in UTF-16LE with a byte order mark.
		if err := os.WriteFile(b.in("w.txt"), []byte{0xFF, 0xFE, 'x', 0, '\r', 0, '\n', 0, 'y', 0}, 0o644); err != nil {
			t.Fatal(err)
		}
		res := call(t, tool, map[string]any{"operation": "line_endings", "path": "w.txt", "target_path": "u.txt"})
		got, _ := os.ReadFile(b.in("u.txt"))
		if !bytes.Equal(got, []byte{0xFF, 0xFE, 'x', 0, '\n', 0, 'y', 0}) || res["to_encoding"] != "utf-16le" || res["bom"] != true {
			t.Fatalf("wrote % x, result %v", got, res)
		}
	})
}

func TestFileConverterIndentation(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Converter(b.cfg())
	src := "top\n\tone\tinner tab\n  \ttwo-ish\r\n        eight\n   three\n\n"
	cases := []struct {
		style   string
		size    int
		want    string
		changed int
	}{
		{"spaces", 4, "top\n    one\tinner tab\n    two-ish\r\n        eight\n   three\n\n", 2},
		{"tabs", 4, "top\n\tone\tinner tab\n\ttwo-ish\r\n\t\teight\n   three\n\n", 2},
		{"spaces", 2, "top\n  one\tinner tab\n    two-ish\r\n        eight\n   three\n\n", 2},
		{"tabs", 2, "top\n\tone\tinner tab\n\t\ttwo-ish\r\n\t\t\t\teight\n\t three\n\n", 3},
	}
	for _, c := range cases {
		t.Run(c.style+string(rune('0'+c.size)), func(t *testing.T) {
			fsWrite(t, b.in("in.txt"), src)
			res := call(t, tool, map[string]any{"operation": "indentation", "path": "in.txt", "target_path": "out.txt",
				"indent_style": c.style, "tab_size": c.size})
			if got := fsRead(t, b.in("out.txt")); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			if res["lines_changed"] != c.changed || res["indent_style"] != c.style || res["tab_size"] != c.size {
				t.Fatalf("result %v", res)
			}
		})
	}
}

func TestFileConverterEscapes(t *testing.T) {
	b := newFSBox(t, perm.Limits{})
	tool := files.Converter(b.cfg())
	fsWrite(t, b.in("mine.txt"), "mine\r\n")
	D := tools.TypePermission
	enc := func(path, target string) map[string]any {
		p := map[string]any{"operation": "encoding", "path": path, "to_encoding": "utf-16le"}
		if target != "" {
			p["target_path"] = target
		}
		return p
	}
	fsCheckErrs(t, tool, []fsErrCase{
		{"source dot-dot", enc("../outside/secret.txt", "x.txt"), D, []string{`"path"`, "--allow-read"}},
		{"source absolute", enc(filepath.Join(b.outside, "secret.txt"), "x.txt"), D, []string{"--allow-read"}},
		{"source link out", enc("out-file", "x.txt"), D, []string{"--allow-read"}},
		{"source prefix sibling", enc(filepath.Join(b.boxfoo, "x.txt"), "x.txt"), D, []string{"--allow-read"}},
		{"target dot-dot", enc("mine.txt", "../outside/x.txt"), D, []string{`"target_path"`, "--allow-write"}},
		{"target through link out", enc("mine.txt", "out-dir/x.txt"), D, []string{`"target_path"`}},
		{"target link to file out", enc("mine.txt", "out-file"), D, []string{`"target_path"`}},
		{"target prefix sibling", enc("mine.txt", filepath.Join(b.boxfoo, "x.txt")), D, []string{`"target_path"`}},
		{"in place in the read-only folder", enc("../ro/ro.txt", ""), D, []string{`"target_path"`, "--allow-write"}},
		{"line endings in place read-only", map[string]any{"operation": "line_endings", "path": "../ro/ro.txt"}, D, []string{"--allow-write"}},
	})
	if fsRead(t, filepath.Join(b.outside, "secret.txt")) != "secret needle\n" || fsRead(t, filepath.Join(b.ro, "ro.txt")) != "read only needle\n" {
		t.Fatal("a refused call changed a file")
	}
	if fsExists(filepath.Join(b.outside, "x.txt")) || fsRead(t, filepath.Join(b.boxfoo, "x.txt")) != "boxfoo needle\n" {
		t.Fatal("a refused call wrote outside the writable folder")
	}
	// From the read-only folder into the box is allowed.
	call(t, tool, enc("../ro/ro.txt", "ro16.txt"))
	callErr(t, files.Converter(nil), enc("mine.txt", ""), D)
}

func TestFileConverterErrors(t *testing.T) {
	b := newFSBox(t, perm.Limits{MaxFileBytes: 32})
	tool := files.Converter(b.cfg())
	fsWrite(t, b.in("latin1.txt"), "caf\xe9\n")
	fsWrite(t, b.in("text.txt"), "ok\nsecond line ✓\n")
	fsWrite(t, b.in("odd16.txt"), "abc")
	fsWrite(t, b.in("surrogate16.txt"), "\x00\xd8a\x00")
	fsWrite(t, b.in("big.txt"), strings.Repeat("x", 33))
	fsWrite(t, b.in("grows.txt"), strings.Repeat("x", 20))
	fsWrite(t, b.in("cp.txt"), "\x81")
	if err := os.Mkdir(b.in("sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	V, E, L := tools.TypeValidation, tools.TypeExecution, tools.TypeTooLarge
	fsCheckErrs(t, tool, []fsErrCase{
		{"missing operation", map[string]any{"path": "text.txt"}, V, []string{`"operation"`}},
		{"unknown operation", map[string]any{"operation": "compress", "path": "text.txt"}, V, []string{`"operation"`}},
		{"missing path", map[string]any{"operation": "line_endings"}, V, []string{`"path"`}},
		{"encoding without to_encoding", map[string]any{"operation": "encoding", "path": "text.txt"}, V, []string{`"to_encoding"`}},
		{"unknown encoding", map[string]any{"operation": "encoding", "path": "text.txt", "to_encoding": "ebcdic"}, V, []string{`"to_encoding"`}},
		{"unknown line ending", map[string]any{"operation": "line_endings", "path": "text.txt", "line_ending": "nel"}, V, []string{`"line_ending"`}},
		{"tab size zero", map[string]any{"operation": "indentation", "path": "text.txt", "tab_size": 0}, V, []string{`"tab_size"`}},
		{"tab size big", map[string]any{"operation": "indentation", "path": "text.txt", "tab_size": 17}, V, []string{`"tab_size"`}},
		{"bom for latin1", map[string]any{"operation": "encoding", "path": "text.txt", "to_encoding": "latin1", "bom": true, "unmappable": "replace"}, V, []string{`"bom"`}},
		{"not utf-8, not named", map[string]any{"operation": "encoding", "path": "latin1.txt", "to_encoding": "utf-16le"}, E, []string{`"from_encoding"`, "offset 3", "latin1"}},
		{"named utf-8 but invalid", map[string]any{"operation": "encoding", "path": "latin1.txt", "from_encoding": "utf-8", "to_encoding": "latin1"}, E, []string{"offset 3"}},
		{"not ascii", map[string]any{"operation": "encoding", "path": "latin1.txt", "from_encoding": "ascii", "to_encoding": "utf-8"}, E, []string{"0xE9", "offset 3"}},
		{"undefined in windows-1252", map[string]any{"operation": "encoding", "path": "cp.txt", "from_encoding": "windows-1252", "to_encoding": "utf-8"}, E, []string{"0x81"}},
		{"odd utf-16", map[string]any{"operation": "encoding", "path": "odd16.txt", "from_encoding": "utf-16le", "to_encoding": "utf-8"}, E, []string{"odd number"}},
		{"unpaired surrogate", map[string]any{"operation": "encoding", "path": "surrogate16.txt", "from_encoding": "utf-16le", "to_encoding": "utf-8"}, E, []string{"surrogate", "0xD800"}},
		{"unmappable", map[string]any{"operation": "encoding", "path": "text.txt", "to_encoding": "latin1", "target_path": "o"}, E, []string{"U+2713", "line 2, column 13", "unmappable"}},
		{"missing file", map[string]any{"operation": "line_endings", "path": "nope.txt"}, E, []string{"nope.txt"}},
		{"folder", map[string]any{"operation": "line_endings", "path": "sub", "target_path": "o"}, V, []string{"folder"}},
		{"target folder missing", map[string]any{"operation": "line_endings", "path": "text.txt", "target_path": "no/such/dir.txt"}, E, []string{`"target_path"`, "does not exist"}},
		{"target is a folder", map[string]any{"operation": "line_endings", "path": "text.txt", "target_path": "sub"}, V, []string{"folder"}},
		{"source over limit", map[string]any{"operation": "line_endings", "path": "big.txt"}, L, []string{"33 bytes", "32-byte"}},
		{"result over limit", map[string]any{"operation": "encoding", "path": "grows.txt", "to_encoding": "utf-16le", "target_path": "o"}, L, []string{"40 bytes", "32-byte"}},
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := tools.Call(ctx, tool, map[string]any{"operation": "line_endings", "path": "text.txt"})
		if tools.TypeOf(err) != tools.TypeCancelled {
			t.Fatalf("got %v, want cancelled", err)
		}
	})
}

func BenchmarkFileConverter(b *testing.B) {
	box := newFSBox(b, perm.Limits{})
	tool := files.Converter(box.cfg())
	fsWrite(b, box.in("src.txt"), strings.Repeat("\tindented line with text é\r\n", 2048)) // 58 KiB
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		params map[string]any
	}{
		{"line_endings", map[string]any{"operation": "line_endings", "path": "src.txt", "target_path": "out.txt"}},
		{"utf16", map[string]any{"operation": "encoding", "path": "src.txt", "target_path": "out16.txt", "to_encoding": "utf-16le"}},
		{"indentation", map[string]any{"operation": "indentation", "path": "src.txt", "target_path": "outi.txt"}},
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
}
