package text_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"spellhost/tools"
	"spellhost/tools/text"
)

func TestTextManipulatorSpec(t *testing.T) {
	tool := text.Manipulator()
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "text_manipulator" {
		t.Fatalf("name %q", spec.Name)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
	res := call(t, tool, spec.Example)
	if res["result"] != "hello_world_wide_web" {
		t.Fatalf("example: %v", res)
	}
}

func TestTextManipulatorOperations(t *testing.T) {
	tool := text.Manipulator()
	type opts = map[string]any
	cases := []struct {
		name   string
		input  string
		op     string
		opts   map[string]any
		want   any
		inLen  int
		outLen int
		extra  map[string]any
	}{
		{"upper ascii", "Hello, World 123 [az]{AZ}@`", "uppercase", nil, "HELLO, WORLD 123 [AZ]{AZ}@`", 27, 27, nil},
		{"upper unicode", "straße ñ", "uppercase", nil, "STRAßE Ñ", 8, 8, nil},
		{"upper empty", "", "uppercase", nil, "", 0, 0, nil},
		{"lower ascii", "Hello, WORLD [AZ]@", "lowercase", nil, "hello, world [az]@", 18, 18, nil},
		{"lower unicode", "ÀÉÎ Ω", "lowercase", nil, "àéî ω", 5, 5, nil},
		{"reverse ascii", "abc def", "reverse", nil, "fed cba", 7, 7, nil},
		{"reverse runes", "héllo→😀", "reverse", nil, "😀→olléh", 7, 7, nil},
		{"trim", " \t hi there \n", "trim", nil, "hi there", 13, 8, nil},
		{"trim chars", "--==hi==--", "trim", opts{"chars": "-="}, "hi", 10, 2, nil},
		{"replace all", "a.b.c", "replace", opts{"from": ".", "to": "::"}, "a::b::c", 5, 7, map[string]any{"replacements": 2}},
		{"replace count", "a.b.c", "replace", opts{"from": ".", "to": "-", "count": 1}, "a-b.c", 5, 5, map[string]any{"replacements": 1}},
		{"replace delete", "a.b.c", "replace", opts{"from": "."}, "abc", 5, 3, nil},
		{"replace none", "abc", "replace", opts{"from": "x", "to": "y"}, "abc", 3, 3, map[string]any{"replacements": 0}},
		{"substring", "héllo world", "substring", opts{"start": 1, "end": 5}, "éllo", 11, 4, nil},
		{"substring no end", "héllo world", "substring", opts{"start": 6}, "world", 11, 5, nil},
		{"substring negative", "héllo world", "substring", opts{"start": -5, "end": -1}, "worl", 11, 4, nil},
		{"substring clamp", "abc", "substring", opts{"start": -10, "end": 99}, "abc", 3, 3, nil},
		{"substring empty", "abc", "substring", opts{"start": 2, "end": 1}, "", 3, 0, nil},
		{"substring float int", "abcdef", "substring", opts{"start": 2.0, "end": int64(4)}, "cd", 6, 2, nil},
		{"split whitespace", "  a b\t\nc  ", "split", nil, []any{"a", "b", "c"}, 10, 3, map[string]any{"count": 3}},
		{"split delim", "a,b,,c", "split", opts{"delimiter": ","}, []any{"a", "b", "", "c"}, 6, 4, nil},
		{"split chars", "hé😀", "split", opts{"delimiter": ""}, []any{"h", "é", "😀"}, 3, 3, nil},
		{"split empty", "", "split", opts{"delimiter": ","}, []any{""}, 0, 1, nil},
		{"join lines", "a\r\nb\nc\n", "join", opts{"delimiter": ", "}, "a, b, c", 7, 7, nil},
		{"join default", "a\nb", "join", nil, "a b", 3, 3, nil},
		{"join items", "", "join", opts{"items": []any{"x", "yé", "z"}, "delimiter": "-"}, "x-yé-z", 4, 6, nil},
		{"join empty items", "", "join", opts{"items": []any{}}, "", 0, 0, nil},
		{"snake", "HTTPServer userID2Go foo-bar", "snake_case", nil, "http_server_user_id2_go_foo_bar", 28, 31, nil},
		{"snake apostrophe", "Don't stop", "snake_case", nil, "dont_stop", 10, 9, nil},
		{"snake unicode", "ÜberCool straße", "snake_case", nil, "über_cool_straße", 15, 16, nil},
		{"kebab", "helloWorld  Again", "kebab_case", nil, "hello-world-again", 17, 17, nil},
		{"camel", "hello_world-HTTP api", "camel_case", nil, "helloWorldHttpApi", 20, 17, nil},
		{"pascal", "hello world v2Api v3go", "pascal_case", nil, "HelloWorldV2ApiV3go", 22, 19, nil},
		{"ident empty", "--- !!", "snake_case", nil, "", 6, 0, nil},
		{"title", "hello wORLD\tit's (ok) 2nd", "title_case", nil, "Hello World\tIt's (Ok) 2nd", 25, 25, nil},
		{"sanitize", "a\x00b\u200bc\u202ed\r\ne\rf\u2028g\u200dh\tI\xff", "sanitize", nil, "abcd\ne\nf\ng\u200dh\tI", 19, 14,
			map[string]any{"removed": 5}},
		{"sanitize html", "<b>\"x\" & 'y'</b>", "sanitize", opts{"escape_html": true},
			"&lt;b&gt;&#34;x&#34; &amp; &#39;y&#39;&lt;/b&gt;", 16, 48, map[string]any{"removed": 0}},
		{"truncate", "hello wonderful world", "truncate", opts{"max_length": 9}, "hello...", 21, 8, map[string]any{"truncated": true}},
		{"truncate fits", "hello", "truncate", opts{"max_length": 5}, "hello", 5, 5, map[string]any{"truncated": false}},
		{"truncate suffix", "héllo world", "truncate", opts{"max_length": 4, "suffix": "…"}, "hél…", 11, 4, nil},
		{"truncate zero", "abc", "truncate", opts{"max_length": 0, "suffix": ""}, "", 3, 0, nil},
		{"indent", "a\n\n  \nb\r\nc", "indent", nil, "    a\n\n  \n    b\r\n    c", 10, 22, nil},
		{"indent spaces", "a\nb\n", "indent", opts{"spaces": 2}, "  a\n  b\n", 4, 8, nil},
		{"indent prefix", "a\nb", "indent", opts{"prefix": "> "}, "> a\n> b", 3, 7, nil},
		{"dedent", "    a\n      b\n   \n    c\n", "dedent", nil, "a\n  b\n\nc\n", 24, 9, nil},
		{"dedent tabs", "\tx\n\t\ty", "dedent", nil, "x\n\ty", 6, 4, nil},
		{"dedent mixed", "  x\n\ty", "dedent", nil, "  x\n\ty", 6, 6, nil},
		{"normalize", "  a \t b\n\n c  ", "normalize_whitespace", nil, "a b c", 13, 5, nil},
		{"wrap", "the quick brown fox jumps over the lazy dog", "word_wrap", opts{"width": 10},
			"the quick\nbrown fox\njumps over\nthe lazy\ndog", 43, 43, nil},
		{"wrap keeps lines", "aa bb\n\ncc", "word_wrap", opts{"width": 2}, "aa\nbb\n\ncc", 9, 9, nil},
		{"wrap long word", "abcdefghij xy", "word_wrap", opts{"width": 4}, "abcdefghij\nxy", 13, 13, nil},
		{"wrap break long", "abcdefghij xy", "word_wrap", opts{"width": 4, "break_long_words": true}, "abcd\nefgh\nij\nxy", 13, 15, nil},
		{"count", "héllo world\nbye\n", "count", nil, map[string]any{"characters": 16, "bytes": 17, "words": 3, "lines": 2}, 16, 16, nil},
		{"count empty", "", "count", nil, map[string]any{"characters": 0, "bytes": 0, "words": 0, "lines": 0}, 0, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			params := map[string]any{"input": c.input, "operation": c.op}
			if c.opts != nil {
				params["options"] = c.opts
			}
			res := call(t, tool, params)
			if !reflect.DeepEqual(res["result"], c.want) {
				t.Errorf("result %#v, want %#v", res["result"], c.want)
			}
			if res["operation"] != c.op || res["original_length"] != c.inLen || res["result_length"] != c.outLen {
				t.Errorf("operation %v original_length %v result_length %v, want %s %d %d",
					res["operation"], res["original_length"], res["result_length"], c.op, c.inLen, c.outLen)
			}
			for k, v := range c.extra {
				if res[k] != v {
					t.Errorf("%s = %v, want %v", k, res[k], v)
				}
			}
		})
	}
}

// TestTextManipulatorLargeASCII checks the 1 MB payload path: exact bytes
// back, for every length modulo the 8-byte word.
func TestTextManipulatorLargeASCII(t *testing.T) {
	tool := text.Manipulator()
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		b.WriteByte(byte(i*7%95 + 32)) // all printable ASCII
	}
	big := b.String()
	for _, n := range []int{1 << 20, 1<<20 - 1, 1<<20 - 7, 9} {
		in := big[:n]
		res := call(t, tool, map[string]any{"input": in, "operation": "uppercase"})
		if res["result"] != strings.ToUpper(in) {
			t.Fatalf("uppercase of %d bytes differs", n)
		}
		if res["original_length"] != n || res["result_length"] != n {
			t.Fatalf("lengths %v %v, want %d", res["original_length"], res["result_length"], n)
		}
		res = call(t, tool, map[string]any{"input": in, "operation": "lowercase"})
		if res["result"] != strings.ToLower(in) {
			t.Fatalf("lowercase of %d bytes differs", n)
		}
	}
	// Every byte value below 0x80, at every offset in a word.
	var all []byte
	for i := 0; i < 3; i++ {
		for c := 0; c < 0x80; c++ {
			all = append(all, byte(c))
		}
		all = append(all, 'x')
	}
	res := call(t, tool, map[string]any{"input": string(all), "operation": "uppercase"})
	if res["result"] != strings.ToUpper(string(all)) {
		t.Fatal("uppercase of all ASCII bytes differs")
	}
	res = call(t, tool, map[string]any{"input": string(all), "operation": "lowercase"})
	if res["result"] != strings.ToLower(string(all)) {
		t.Fatal("lowercase of all ASCII bytes differs")
	}
	// A non-ASCII byte late in a big input takes the Unicode path.
	in := big[:4096] + "é"
	res = call(t, tool, map[string]any{"input": in, "operation": "uppercase"})
	if res["result"] != strings.ToUpper(in) || res["original_length"] != 4097 {
		t.Fatal("uppercase with a late non-ASCII rune differs")
	}
	// Reverse of invalid UTF-8 keeps the bytes.
	res = call(t, tool, map[string]any{"input": "a\xffb", "operation": "reverse"})
	if res["result"] != "b\xffa" {
		t.Fatalf("reverse: %q", res["result"])
	}
}

func TestTextManipulatorErrors(t *testing.T) {
	tool := text.Manipulator()
	type opts = map[string]any
	big := strings.Repeat("a", 16<<20+1)
	cases := []struct {
		name   string
		params map[string]any
		typ    tools.ErrorType
		want   string
	}{
		{"missing input", map[string]any{"operation": "uppercase"}, tools.TypeValidation, `"input"`},
		{"missing operation", map[string]any{"input": "x"}, tools.TypeValidation, `"operation"`},
		{"input wrong type", map[string]any{"input": 5, "operation": "uppercase"}, tools.TypeValidation, `"input": expected string`},
		{"unknown operation", map[string]any{"input": "x", "operation": "rot13"}, tools.TypeValidation, `unknown value "rot13"`},
		{"unknown parameter", map[string]any{"input": "x", "operation": "trim", "mode": 1}, tools.TypeValidation, `unknown parameter "mode"`},
		{"options wrong type", map[string]any{"input": "x", "operation": "trim", "options": "y"}, tools.TypeValidation, `"options": expected object`},
		{"option for optionless op", map[string]any{"input": "x", "operation": "uppercase", "options": opts{"x": 1}},
			tools.TypeValidation, `unknown option "x"; operation uppercase takes no options`},
		{"unknown option", map[string]any{"input": "x", "operation": "replace", "options": opts{"from": "a", "form": "b"}},
			tools.TypeValidation, `unknown option "form" for operation replace; allowed: from, to, count`},
		{"replace no from", map[string]any{"input": "x", "operation": "replace", "options": opts{"to": "b"}},
			tools.TypeValidation, `operation replace needs option "from"`},
		{"replace empty from", map[string]any{"input": "x", "operation": "replace", "options": opts{"from": ""}},
			tools.TypeValidation, `option "from" of operation replace: must not be empty`},
		{"replace from type", map[string]any{"input": "x", "operation": "replace", "options": opts{"from": 3}},
			tools.TypeValidation, `option "from" of operation replace: expected string, got number`},
		{"replace bad count", map[string]any{"input": "x", "operation": "replace", "options": opts{"from": "x", "count": 0}},
			tools.TypeValidation, `option "count" of operation replace: 0 is out of range`},
		{"replace fractional count", map[string]any{"input": "x", "operation": "replace", "options": opts{"from": "x", "count": 1.5}},
			tools.TypeValidation, `option "count" of operation replace: expected integer, got 1.5`},
		{"replace too large", map[string]any{"input": strings.Repeat("a", 1<<20), "operation": "replace",
			"options": opts{"from": "a", "to": strings.Repeat("b", 40)}}, tools.TypeTooLarge, "replace: result of"},
		{"substring no start", map[string]any{"input": "x", "operation": "substring", "options": opts{"end": 1}},
			tools.TypeValidation, `operation substring needs option "start"`},
		{"substring no options", map[string]any{"input": "x", "operation": "substring"},
			tools.TypeValidation, `operation substring needs option "start"`},
		{"substring start type", map[string]any{"input": "x", "operation": "substring", "options": opts{"start": "1"}},
			tools.TypeValidation, `option "start" of operation substring: expected integer, got string`},
		{"split delimiter type", map[string]any{"input": "x", "operation": "split", "options": opts{"delimiter": true}},
			tools.TypeValidation, `option "delimiter" of operation split: expected string, got boolean`},
		{"split too many", map[string]any{"input": strings.Repeat(",", 1<<20), "operation": "split", "options": opts{"delimiter": ","}},
			tools.TypeTooLarge, "split: more than 1048576 items"},
		{"split fields too many", map[string]any{"input": strings.Repeat("a ", 1<<20+1), "operation": "split"},
			tools.TypeTooLarge, "split: more than 1048576 items"},
		{"join items with input", map[string]any{"input": "x", "operation": "join", "options": opts{"items": []any{"a"}}},
			tools.TypeValidation, `parameter "input": must be "" when options.items is given`},
		{"join items type", map[string]any{"input": "", "operation": "join", "options": opts{"items": "a,b"}},
			tools.TypeValidation, `option "items" of operation join: expected array of strings, got string`},
		{"join item type", map[string]any{"input": "", "operation": "join", "options": opts{"items": []any{"a", 2}}},
			tools.TypeValidation, `option "items" of operation join: item 2: expected string, got number`},
		{"join too large", map[string]any{"input": strings.Repeat("a\n", 1<<20), "operation": "join",
			"options": opts{"delimiter": strings.Repeat("-", 40)}}, tools.TypeTooLarge, "join: result of"},
		{"truncate no max", map[string]any{"input": "x", "operation": "truncate", "options": opts{"suffix": "."}},
			tools.TypeValidation, `operation truncate needs option "max_length"`},
		{"truncate negative", map[string]any{"input": "x", "operation": "truncate", "options": opts{"max_length": -1}},
			tools.TypeValidation, `option "max_length" of operation truncate: -1 is out of range`},
		{"truncate suffix too long", map[string]any{"input": "xxxxx", "operation": "truncate", "options": opts{"max_length": 2}},
			tools.TypeValidation, `option "max_length" of operation truncate: 2 is shorter than the suffix (3 characters)`},
		{"indent both", map[string]any{"input": "x", "operation": "indent", "options": opts{"spaces": 2, "prefix": "#"}},
			tools.TypeValidation, "spaces or prefix, not both"},
		{"indent too many spaces", map[string]any{"input": "x", "operation": "indent", "options": opts{"spaces": 1001}},
			tools.TypeValidation, `option "spaces" of operation indent: 1001 is out of range 0 to 1000`},
		{"indent prefix too long", map[string]any{"input": "x", "operation": "indent", "options": opts{"prefix": strings.Repeat("#", 1001)}},
			tools.TypeTooLarge, `option "prefix" of 1001 bytes`},
		{"indent too large", map[string]any{"input": strings.Repeat("a\n", 1<<20), "operation": "indent", "options": opts{"spaces": 1000}},
			tools.TypeTooLarge, "indent: result of"},
		{"wrap zero width", map[string]any{"input": "x", "operation": "word_wrap", "options": opts{"width": 0}},
			tools.TypeValidation, `option "width" of operation word_wrap: 0 is out of range 1 to 100000`},
		{"wrap bool type", map[string]any{"input": "x", "operation": "word_wrap", "options": opts{"break_long_words": "yes"}},
			tools.TypeValidation, `option "break_long_words" of operation word_wrap: expected boolean, got string`},
		{"sanitize bool type", map[string]any{"input": "x", "operation": "sanitize", "options": opts{"escape_html": 1}},
			tools.TypeValidation, `option "escape_html" of operation sanitize: expected boolean, got number`},
		{"input too large", map[string]any{"input": big, "operation": "uppercase"}, tools.TypeTooLarge,
			`parameter "input": 16777217 bytes exceeds the 16777216-byte limit`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, tool, c.params, c.typ)
			if !strings.Contains(msg, c.want) {
				t.Fatalf("message %q does not contain %q", msg, c.want)
			}
		})
	}
}

func TestTextManipulatorCancelled(t *testing.T) {
	tool := text.Manipulator()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tools.Call(ctx, tool, map[string]any{"input": "a b", "operation": "split"})
	if tools.TypeOf(err) != tools.TypeCancelled {
		t.Fatalf("error %v, want cancelled", err)
	}
}

// TestTextManipulatorLimitsAtEdge: an input of exactly the limit is accepted.
func TestTextManipulatorLimitsAtEdge(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	tool := text.Manipulator()
	in := strings.Repeat("Ab cD\n", 16<<20/6)
	in += strings.Repeat("x", 16<<20-len(in)) // exactly the limit
	for _, op := range []string{"uppercase", "snake_case"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := tools.Call(ctx, tool, map[string]any{"input": in, "operation": op})
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if res.(map[string]any)["original_length"] != len(in) {
			t.Fatalf("%s: original_length %v", op, res.(map[string]any)["original_length"])
		}
	}
}

func BenchmarkTextManipulator(b *testing.B) {
	tool := text.Manipulator()
	params := map[string]any{"input": "Hello World, this is a Typical input", "operation": "snake_case"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTextManipulatorUpper1MB(b *testing.B) {
	tool := text.Manipulator()
	params := map[string]any{"input": strings.Repeat("hello world 0123456789 ", 1<<20/23+1)[:1<<20], "operation": "uppercase"}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(1 << 20)
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTextManipulatorUpper1MBUnchanged: an input with nothing to
// convert comes back without a copy, so this measures the scan alone.
func BenchmarkTextManipulatorUpper1MBUnchanged(b *testing.B) {
	tool := text.Manipulator()
	params := map[string]any{"input": strings.Repeat("HELLO WORLD 0123456789 ", 1<<20/23+1)[:1<<20], "operation": "uppercase"}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(1 << 20)
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzTextManipulator: no input makes any operation panic, and results
// are strings (arrays for split, a map for count) with consistent lengths.
func FuzzTextManipulator(f *testing.F) {
	f.Add("Hello World", 3, 5, "o")
	f.Add("héllo\r\n\twörld\xff\u202e", -2, 40, "")
	f.Add("  a\n    b\n", 0, 1, "\n")
	tool := text.Manipulator()
	ops := tool.Spec().Params[1].Enum
	f.Fuzz(func(t *testing.T, in string, a, b int, s string) {
		for _, op := range ops {
			var opts map[string]any
			switch op {
			case "replace":
				opts = map[string]any{"from": s, "to": in}
			case "substring":
				opts = map[string]any{"start": a, "end": b}
			case "split":
				opts = map[string]any{"delimiter": s}
			case "truncate":
				opts = map[string]any{"max_length": b, "suffix": s}
			case "word_wrap":
				opts = map[string]any{"width": a, "break_long_words": b%2 == 0}
			case "indent":
				opts = map[string]any{"prefix": s}
			}
			params := map[string]any{"input": in, "operation": op}
			if opts != nil {
				params["options"] = opts
			}
			res, err := tools.Call(context.Background(), tool, params)
			if err != nil {
				if tools.TypeOf(err) != tools.TypeValidation && tools.TypeOf(err) != tools.TypeTooLarge {
					t.Fatalf("%s: %v", op, err)
				}
				continue
			}
			m := res.(map[string]any)
			if out, ok := m["result"].(string); ok && m["result_length"] != utf8.RuneCountInString(out) {
				t.Fatalf("%s: result_length %v for %q", op, m["result_length"], out)
			}
		}
	})
}
