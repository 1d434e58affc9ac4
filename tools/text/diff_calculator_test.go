package text_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/text"
)

func dfTool(t *testing.T) (tools.Tool, string) {
	p, dir := testPerm(t)
	return text.DiffCalculator(p), dir
}

const (
	dfOld = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n"
	dfNew = "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk2\nl\nm\n"
)

func TestDiffCalculatorUnifiedExact(t *testing.T) {
	dc, _ := dfTool(t)
	// Expected output is GNU diff -u --label old --label new.
	want := `--- old
+++ new
@@ -1,5 +1,5 @@
 a
-b
+B
 c
 d
 e
@@ -8,5 +8,6 @@
 h
 i
 j
-k
+k2
 l
+m
`
	res := call(t, dc, map[string]any{"old_text": dfOld, "new_text": dfNew})
	if res["diff"] != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", res["diff"], want)
	}
	wantStats := map[string]any{"additions": 3, "deletions": 2, "unchanged": 10, "hunks": 2}
	if !reflect.DeepEqual(res["stats"], wantStats) || res["identical"] != false {
		t.Fatalf("stats %v identical %v", res["stats"], res["identical"])
	}
	// More context merges the hunks.
	res = call(t, dc, map[string]any{"old_text": dfOld, "new_text": dfNew, "context_lines": 4})
	if d := res["diff"].(string); !strings.Contains(d, "@@ -1,12 +1,13 @@\n") || res["stats"].(map[string]any)["hunks"] != 1 {
		t.Fatalf("context 4:\n%s", d)
	}
	// No context.
	res = call(t, dc, map[string]any{"old_text": dfOld, "new_text": dfNew, "context_lines": 0, "old_label": "a/x.txt", "new_label": "b/x.txt"})
	want0 := "--- a/x.txt\n+++ b/x.txt\n@@ -2 +2 @@\n-b\n+B\n@@ -11 +11 @@\n-k\n+k2\n@@ -12,0 +13 @@\n+m\n"
	if res["diff"] != want0 || res["stats"].(map[string]any)["hunks"] != 3 {
		t.Fatalf("context 0:\n%s", res["diff"])
	}
}

func TestDiffCalculatorNoNewline(t *testing.T) {
	dc, _ := dfTool(t)
	cases := []struct{ old, new, want string }{
		{"x\ny", "x\nz", "--- old\n+++ new\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n\\ No newline at end of file\n"},
		{"x\ny", "x\ny\n", "--- old\n+++ new\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+y\n"},
		{"", "one\n", "--- old\n+++ new\n@@ -0,0 +1 @@\n+one\n"},
		{"one\ntwo\n", "", "--- old\n+++ new\n@@ -1,2 +0,0 @@\n-one\n-two\n"},
	}
	for _, c := range cases {
		res := call(t, dc, map[string]any{"old_text": c.old, "new_text": c.new})
		if res["diff"] != c.want {
			t.Errorf("%q -> %q:\n%s\nwant:\n%s", c.old, c.new, res["diff"], c.want)
		}
	}
}

func TestDiffCalculatorFormats(t *testing.T) {
	dc, _ := dfTool(t)
	// Expected context output is GNU diff -c --label old --label new.
	wantContext := `*** old
--- new
***************
*** 1,5 ****
  a
! b
  c
  d
  e
--- 1,5 ----
  a
! B
  c
  d
  e
***************
*** 8,12 ****
  h
  i
  j
! k
  l
--- 8,13 ----
  h
  i
  j
! k2
  l
+ m
`
	res := call(t, dc, map[string]any{"old_text": dfOld, "new_text": dfNew, "format": "context"})
	if res["diff"] != wantContext {
		t.Fatalf("context:\n%s", res["diff"])
	}
	// A pure insertion leaves the old section empty, a pure deletion the new one.
	res = call(t, dc, map[string]any{"old_text": "a\nb\n", "new_text": "a\nx\nb\n", "format": "context"})
	if want := "*** old\n--- new\n***************\n*** 1,2 ****\n--- 1,3 ----\n  a\n+ x\n  b\n"; res["diff"] != want {
		t.Fatalf("context insert:\n%s", res["diff"])
	}
	res = call(t, dc, map[string]any{"old_text": "a\nx\nb\n", "new_text": "a\nb\n", "format": "context"})
	if want := "*** old\n--- new\n***************\n*** 1,3 ****\n  a\n- x\n  b\n--- 1,2 ----\n"; res["diff"] != want {
		t.Fatalf("context delete:\n%s", res["diff"])
	}

	old := "apple\nbanana split\ncherry\n"
	new := "apple\nbanana smoothie\ncherry\ndate\n"
	res = call(t, dc, map[string]any{"old_text": old, "new_text": new, "format": "inline"})
	if want := "@@ -1,3 +1,4 @@\napple\nbanana [-split-]{+smoothie+}\ncherry\n{+date+}\n"; res["diff"] != want {
		t.Fatalf("inline:\n%s", res["diff"])
	}
	res = call(t, dc, map[string]any{"old_text": "x = foo(1, 2)\n", "new_text": "x = bar(1, 3)\n", "format": "inline"})
	if want := "@@ -1 +1 @@\nx = [-foo-]{+bar+}(1, [-2-]{+3+})\n"; res["diff"] != want {
		t.Fatalf("inline words:\n%s", res["diff"])
	}
	res = call(t, dc, map[string]any{"old_text": old, "new_text": new, "format": "simple"})
	if want := "-banana split\n+banana smoothie\n+date\n"; res["diff"] != want {
		t.Fatalf("simple:\n%s", res["diff"])
	}
	for _, f := range []string{"unified", "context", "inline", "simple"} {
		res = call(t, dc, map[string]any{"old_text": old, "new_text": old, "format": f})
		want := map[string]any{"additions": 0, "deletions": 0, "unchanged": 3, "hunks": 0}
		if res["diff"] != "" || res["identical"] != true || !reflect.DeepEqual(res["stats"], want) {
			t.Fatalf("%s identical: %v", f, res)
		}
	}
	// Completely different texts.
	res = call(t, dc, map[string]any{"old_text": "a\nb\n", "new_text": "c\n"})
	if want := "--- old\n+++ new\n@@ -1,2 +1 @@\n-a\n-b\n+c\n"; res["diff"] != want {
		t.Fatalf("disjoint:\n%s", res["diff"])
	}
}

func TestDiffCalculatorExample(t *testing.T) {
	dc, _ := dfTool(t)
	res := call(t, dc, dc.Spec().Example)
	if res["identical"] != false || res["stats"].(map[string]any)["additions"] != 2 {
		t.Fatalf("example: %v", res)
	}
	if err := dc.Spec().Check(); err != nil {
		t.Fatal(err)
	}
}

// dfApplyUnified applies a unified diff to old, checking every context and
// deleted line, as patch does without fuzz.
func dfApplyUnified(old, diff string) (string, error) {
	split := func(s string) []string {
		var out []string
		for len(s) > 0 {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return append(out, s)
			}
			out = append(out, s[:i+1])
			s = s[i+1:]
		}
		return out
	}
	a, d := split(old), split(diff)
	if len(d) == 0 {
		return old, nil
	}
	if len(d) < 2 || !strings.HasPrefix(d[0], "--- ") || !strings.HasPrefix(d[1], "+++ ") {
		return "", errors.New("bad header")
	}
	var out strings.Builder
	pos := 0
	for k := 2; k < len(d); {
		var s1, n1, s2, n2 int
		h := strings.TrimSuffix(d[k], "\n")
		r1, r2, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(h, "@@ -"), " @@"), " +")
		if !ok {
			return "", fmt.Errorf("bad hunk header %q", h)
		}
		parse := func(r string) (int, int) {
			st, n, found := strings.Cut(r, ",")
			a, _ := strconv.Atoi(st)
			if !found {
				return a, 1
			}
			b, _ := strconv.Atoi(n)
			return a, b
		}
		s1, n1 = parse(r1)
		s2, n2 = parse(r2)
		_ = s2
		start := s1 - 1
		if n1 == 0 {
			start = s1
		}
		if start < pos {
			return "", fmt.Errorf("hunk %q overlaps", h)
		}
		for ; pos < start; pos++ {
			out.WriteString(a[pos])
		}
		k++
		seen1, seen2 := 0, 0
		for k < len(d) && !strings.HasPrefix(d[k], "@@") {
			line := d[k][1:]
			if k+1 < len(d) && strings.HasPrefix(d[k+1], "\\") {
				line = strings.TrimSuffix(line, "\n")
			}
			switch d[k][0] {
			case ' ', '-':
				if pos >= len(a) || a[pos] != line {
					return "", fmt.Errorf("line %d: have %q, diff says %q", pos+1, a[pos], line)
				}
				pos++
				seen1++
				if d[k][0] == ' ' {
					out.WriteString(line)
					seen2++
				}
			case '+':
				out.WriteString(line)
				seen2++
			default:
				return "", fmt.Errorf("bad line %q", d[k])
			}
			k++
			if k < len(d) && strings.HasPrefix(d[k], "\\") {
				k++
			}
		}
		if seen1 != n1 || seen2 != n2 {
			return "", fmt.Errorf("hunk %q has %d/%d lines", h, seen1, seen2)
		}
	}
	for ; pos < len(a); pos++ {
		out.WriteString(a[pos])
	}
	return out.String(), nil
}

func dfLCS(a, b []string) int {
	dp := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		prev := 0
		for j := 1; j <= len(b); j++ {
			cur := dp[j]
			if a[i-1] == b[j-1] {
				dp[j] = prev + 1
			} else {
				dp[j] = max(dp[j], dp[j-1])
			}
			prev = cur
		}
	}
	return dp[len(b)]
}

func dfRandomText(r *rand.Rand) ([]string, string) {
	n := r.IntN(25)
	lines := make([]string, n)
	var b strings.Builder
	for i := range lines {
		lines[i] = string(rune('a' + r.IntN(5)))
		b.WriteString(lines[i])
		if i < n-1 || r.IntN(4) > 0 {
			b.WriteByte('\n')
		}
	}
	return lines, b.String()
}

// TestDiffCalculatorRandom checks on seeded random texts that the unified
// diff applies back to the new text and that the edit script is minimal.
func TestDiffCalculatorRandom(t *testing.T) {
	dc, _ := dfTool(t)
	r := rand.New(rand.NewPCG(7, 11))
	for n := 0; n < 1500; n++ {
		la, a := dfRandomText(r)
		lb, b := dfRandomText(r)
		ctxLines := r.IntN(4)
		res := call(t, dc, map[string]any{"old_text": a, "new_text": b, "context_lines": ctxLines})
		got, err := dfApplyUnified(a, res["diff"].(string))
		if err != nil || got != b {
			t.Fatalf("case %d %q -> %q (context %d): applied %q, %v\n%s", n, a, b, ctxLines, got, err, res["diff"])
		}
		st := res["stats"].(map[string]any)
		// Lines compare with their newline, so a last line without one
		// differs from the same letter with one.
		ka, kb := dfKeyed(la, a), dfKeyed(lb, b)
		lcs := dfLCS(ka, kb)
		if st["deletions"] != len(ka)-lcs || st["additions"] != len(kb)-lcs || st["unchanged"] != lcs {
			t.Fatalf("case %d %q -> %q: stats %v, lcs %d", n, a, b, st, lcs)
		}
		if res["identical"] != (a == b) {
			t.Fatalf("case %d: identical %v", n, res["identical"])
		}
		// The other formats agree on the stats; simple lists each changed line once.
		for _, f := range []string{"context", "inline", "simple"} {
			other := call(t, dc, map[string]any{"old_text": a, "new_text": b, "context_lines": ctxLines, "format": f})
			if !reflect.DeepEqual(other["stats"], st) {
				t.Fatalf("case %d %s: stats %v, unified %v", n, f, other["stats"], st)
			}
			if f == "simple" && strings.Count(other["diff"].(string), "\n") != len(ka)+len(kb)-2*lcs {
				t.Fatalf("case %d simple:\n%s", n, other["diff"])
			}
		}
	}
}

func dfKeyed(lines []string, text string) []string {
	out := append([]string(nil), lines...)
	if len(out) > 0 && !strings.HasSuffix(text, "\n") {
		out[len(out)-1] += "<no eol>"
	}
	return out
}

// TestDiffCalculatorPatch feeds unified output to the patch program.
func TestDiffCalculatorPatch(t *testing.T) {
	patch, err := exec.LookPath("patch")
	if err != nil {
		t.Skip("patch not installed")
	}
	dc, dir := dfTool(t)
	r := rand.New(rand.NewPCG(3, 5))
	for n := 0; n < 40; n++ {
		_, a := dfRandomText(r)
		_, b := dfRandomText(r)
		if b == "" {
			b = "z\n" // patch -o treats an empty result as a removed file
		}
		res := call(t, dc, map[string]any{"old_text": a, "new_text": b, "context_lines": 1 + r.IntN(3)})
		if res["identical"] == true {
			continue
		}
		oldPath, diffPath, outPath := filepath.Join(dir, "old"), filepath.Join(dir, "p.diff"), filepath.Join(dir, "out")
		os.WriteFile(oldPath, []byte(a), 0o644)
		os.WriteFile(diffPath, []byte(res["diff"].(string)), 0o644)
		os.Remove(outPath)
		cmd := exec.Command(patch, "-s", "-F0", "-o", outPath, oldPath, diffPath)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("case %d: patch: %v %s\n%s", n, err, out, res["diff"])
		}
		got, _ := os.ReadFile(outPath)
		if string(got) != b {
			t.Fatalf("case %d: patched %q, want %q\n%s", n, got, b, res["diff"])
		}
	}
}

func TestDiffCalculatorLarge(t *testing.T) {
	dc, _ := dfTool(t)
	// 20000 lines with scattered edits: minimal and fast.
	var a, b strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&a, "line %d\n", i)
		switch {
		case i%1000 == 0:
			fmt.Fprintf(&b, "changed %d\n", i)
		case i%1500 == 0:
		default:
			fmt.Fprintf(&b, "line %d\n", i)
		}
	}
	res := call(t, dc, map[string]any{"old_text": a.String(), "new_text": b.String()})
	st := res["stats"].(map[string]any)
	if st["additions"] != 20 || st["deletions"] != 27 {
		t.Fatalf("stats %v", st)
	}
	got, err := dfApplyUnified(a.String(), res["diff"].(string))
	if err != nil || got != b.String() {
		t.Fatalf("apply: %v", err)
	}
}

func TestDiffCalculatorJSON(t *testing.T) {
	dc, _ := dfTool(t)
	old := `{"name":"a","tags":["x","y"],"meta":{"v":1,"old":true},"n":1}`
	new := `{"name":"a","tags":["x","z","w"],"meta":{"v":1.0},"n":"1","extra":null}`
	want := map[string]any{
		"identical": false,
		"added":     []any{"extra", "tags[2]"},
		"removed":   []any{"meta.old"},
		"modified": []any{
			map[string]any{"path": "n", "old": int64(1), "new": "1"},
			map[string]any{"path": "tags[1]", "old": "y", "new": "z"},
		},
		"unchanged": []any{"meta.v", "name", "tags[0]"},
		"stats":     map[string]any{"added": 2, "removed": 1, "modified": 2, "unchanged": 3},
	}
	res := call(t, dc, map[string]any{"type": "json", "old_json": old, "new_json": new})
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("json strings:\n got %v\nwant %v", res, want)
	}
	// The same as values (as from Lua or a JSON request), mixed with a string.
	oldV := map[string]any{"name": "a", "tags": []any{"x", "y"}, "meta": map[string]any{"v": 1, "old": true}, "n": int64(1)}
	res = call(t, dc, map[string]any{"type": "json", "old_json": oldV, "new_json": new})
	if !reflect.DeepEqual(res["added"], want["added"]) || !reflect.DeepEqual(res["unchanged"], want["unchanged"]) ||
		len(res["modified"].([]any)) != 2 {
		t.Fatalf("json values: %v", res)
	}

	cases := []struct {
		name     string
		old, new any
		check    func(map[string]any) bool
	}{
		{"identical", `{"a":[1,2,{"b":null}]}`, map[string]any{"a": []any{1.0, 2, map[string]any{"b": nil}}}, func(r map[string]any) bool {
			return r["identical"] == true && reflect.DeepEqual(r["unchanged"], []any{"$"}) && len(r["modified"].([]any)) == 0
		}},
		{"root scalars", "1", "2", func(r map[string]any) bool {
			return reflect.DeepEqual(r["modified"], []any{map[string]any{"path": "$", "old": int64(1), "new": int64(2)}})
		}},
		{"root type change", `[1]`, `{"0":1}`, func(r map[string]any) bool {
			m := r["modified"].([]any)
			return len(m) == 1 && m[0].(map[string]any)["path"] == "$"
		}},
		{"big integers kept exact", `9007199254740993`, `9007199254740992`, func(r map[string]any) bool {
			return len(r["modified"].([]any)) == 1
		}},
		{"odd keys quoted", `{"a.b":{"x y":1}}`, `{"a.b":{"x y":2}}`, func(r map[string]any) bool {
			return r["modified"].([]any)[0].(map[string]any)["path"] == `["a.b"]["x y"]`
		}},
		{"bare string value", `"abc"`, `"abd"`, func(r map[string]any) bool {
			return reflect.DeepEqual(r["modified"], []any{map[string]any{"path": "$", "old": "abc", "new": "abd"}})
		}},
		{"array shrinks", `[1,2,3]`, []any{1}, func(r map[string]any) bool {
			return reflect.DeepEqual(r["removed"], []any{"[1]", "[2]"}) && reflect.DeepEqual(r["unchanged"], []any{"[0]"})
		}},
	}
	for _, c := range cases {
		res := call(t, dc, map[string]any{"type": "json", "old_json": c.old, "new_json": c.new})
		if !c.check(res) {
			t.Errorf("%s: %v", c.name, res)
		}
	}
}

func TestDiffCalculatorFiles(t *testing.T) {
	dc, dir := dfTool(t)
	os.WriteFile(filepath.Join(dir, "old.txt"), []byte(dfOld), 0o644)
	os.WriteFile(filepath.Join(dir, "new.txt"), []byte(dfNew), 0o644)
	os.WriteFile(filepath.Join(dir, "a.json"), []byte(`{"k": [1, 2]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "bin"), []byte("a\x00b"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"k": `), 0o644)

	res := call(t, dc, map[string]any{"old_file": "old.txt", "new_file": filepath.Join(dir, "new.txt")})
	if d := res["diff"].(string); !strings.HasPrefix(d, "--- old.txt\n+++ "+filepath.Join(dir, "new.txt")+"\n@@ -1,5 +1,5 @@\n") {
		t.Fatalf("file diff:\n%s", d)
	}
	// A file on one side and text on the other.
	res = call(t, dc, map[string]any{"old_file": "old.txt", "new_text": dfOld})
	if res["identical"] != true {
		t.Fatalf("file vs text: %v", res)
	}
	res = call(t, dc, map[string]any{"type": "json", "old_file": "a.json", "new_json": `{"k":[1,3]}`})
	if !reflect.DeepEqual(res["modified"], []any{map[string]any{"path": "k[1]", "old": int64(2), "new": int64(3)}}) {
		t.Fatalf("json file: %v", res)
	}

	cases := []struct {
		params map[string]any
		want   tools.ErrorType
		msg    string
	}{
		{map[string]any{"old_file": "../outside", "new_text": ""}, tools.TypePermission, "outside the readable folders"},
		{map[string]any{"old_text": "", "new_file": "/etc/hostname"}, tools.TypePermission, "outside the readable folders"},
		{map[string]any{"type": "json", "old_file": "/etc/hostname", "new_json": "1"}, tools.TypePermission, "outside the readable folders"},
		{map[string]any{"old_file": "missing.txt", "new_text": ""}, tools.TypeExecution, `parameter "old_file"`},
		{map[string]any{"old_file": "bin", "new_text": ""}, tools.TypeValidation, `parameter "old_file": bin is a binary file`},
		{map[string]any{"type": "json", "old_file": "bad.json", "new_json": "1"}, tools.TypeValidation, `parameter "old_file": invalid JSON`},
	}
	for _, c := range cases {
		msg := callErr(t, dc, c.params, c.want)
		if !strings.Contains(msg, c.msg) {
			t.Errorf("%v: message %q does not contain %q", c.params, msg, c.msg)
		}
	}
}

func TestDiffCalculatorBadInput(t *testing.T) {
	dc, _ := dfTool(t)
	big := strings.Repeat("x", 4<<20+1)
	manyLines := strings.Repeat("\n", 100_001)
	var rev, fwd strings.Builder
	for i := 0; i < 60000; i++ {
		fmt.Fprintf(&fwd, "%d\n", i)
		fmt.Fprintf(&rev, "%d\n", 59999-i)
	}
	deep := strings.Repeat("[", 600) + strings.Repeat("]", 600)
	cases := []struct {
		name   string
		params map[string]any
		want   tools.ErrorType
		msg    string
	}{
		{"missing old", map[string]any{"new_text": "a"}, tools.TypeValidation, `missing "old_text" (or "old_file") for type text`},
		{"missing new", map[string]any{"old_text": "a"}, tools.TypeValidation, `missing "new_text" (or "new_file") for type text`},
		{"missing json", map[string]any{"type": "json", "old_json": 1}, tools.TypeValidation, `missing "new_json" (or "new_file") for type json`},
		{"both text and file", map[string]any{"old_text": "a", "old_file": "x", "new_text": "b"}, tools.TypeValidation, `give "old_text" or "old_file", not both`},
		{"json param for text", map[string]any{"old_json": "1", "new_json": "2"}, tools.TypeValidation, `parameter "old_json" is for type json`},
		{"text param for json", map[string]any{"type": "json", "old_text": "1", "new_json": "2"}, tools.TypeValidation, `parameter "old_text" is for type text`},
		{"wrong type", map[string]any{"old_text": 1, "new_text": "b"}, tools.TypeValidation, `parameter "old_text": expected string, got number`},
		{"unknown type", map[string]any{"type": "xml", "old_text": "a", "new_text": "b"}, tools.TypeValidation, `parameter "type": unknown value "xml"`},
		{"unknown format", map[string]any{"format": "side-by-side", "old_text": "a", "new_text": "b"}, tools.TypeValidation, `parameter "format": unknown value "side-by-side"`},
		{"unknown parameter", map[string]any{"old_text": "a", "new_text": "b", "ignore_case": true}, tools.TypeValidation, `unknown parameter "ignore_case"`},
		{"negative context", map[string]any{"old_text": "a", "new_text": "b", "context_lines": -1}, tools.TypeValidation, `parameter "context_lines": must be 0 or more`},
		{"fractional context", map[string]any{"old_text": "a", "new_text": "b", "context_lines": 1.5}, tools.TypeValidation, `parameter "context_lines": expected integer`},
		{"label newline", map[string]any{"old_text": "a", "new_text": "b", "old_label": "x\ny"}, tools.TypeValidation, `parameter "old_label": must not contain line breaks`},
		{"invalid json", map[string]any{"type": "json", "old_json": `{"a":`, "new_json": "1"}, tools.TypeValidation, `parameter "old_json": invalid JSON`},
		{"plain string json", map[string]any{"type": "json", "old_json": "1", "new_json": "hello"}, tools.TypeValidation, `parameter "new_json": invalid JSON at offset 1`},
		{"trailing json", map[string]any{"type": "json", "old_json": "1 2", "new_json": "1"}, tools.TypeValidation, `parameter "old_json": invalid JSON: data after the value`},
		{"json out of range", map[string]any{"type": "json", "old_json": "1e999", "new_json": "1"}, tools.TypeValidation, `number 1e999 is out of range`},
		{"json too deep", map[string]any{"type": "json", "old_json": deep, "new_json": deep}, tools.TypeValidation, `JSON nests deeper than 512 levels`},
		{"text too big", map[string]any{"old_text": big, "new_text": "b"}, tools.TypeTooLarge, `parameter "old_text": 4194305 bytes exceeds the 4194304-byte limit`},
		{"json too big", map[string]any{"type": "json", "old_json": "1", "new_json": big}, tools.TypeTooLarge, `parameter "new_json": 4194305 bytes`},
		{"too many lines", map[string]any{"old_text": "a", "new_text": manyLines}, tools.TypeTooLarge, `new side: 100001 lines exceeds the 100000-line limit`},
		{"too different", map[string]any{"old_text": fwd.String(), "new_text": rev.String()}, tools.TypeTooLarge, `the texts differ too much`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, dc, c.params, c.want)
			if !strings.Contains(msg, c.msg) {
				t.Fatalf("message %q does not contain %q", msg, c.msg)
			}
		})
	}
}

func TestDiffCalculatorCancelled(t *testing.T) {
	dc, _ := dfTool(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tools.Call(ctx, dc, map[string]any{"old_text": "a\nb\nc\n", "new_text": "b\nc\nd\n"})
	if tools.TypeOf(err) != tools.TypeCancelled {
		t.Fatalf("err = %v (%s)", err, tools.TypeOf(err))
	}
}

func BenchmarkDiffCalculator(b *testing.B) {
	p := text.DiffCalculator(nil)
	var a, c strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&a, "line number %d of the file\n", i)
		if i == 5 || i == 14 {
			fmt.Fprintf(&c, "line number %d was edited\n", i)
		} else {
			fmt.Fprintf(&c, "line number %d of the file\n", i)
		}
	}
	params := map[string]any{"old_text": a.String(), "new_text": c.String()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, p, params); err != nil {
			b.Fatal(err)
		}
	}
}
