package metrics_test

import (
	"maps"
	"strings"
	"testing"

	"spellhost/host/metrics"
)

// TestTagsRoundTrip: any key and value survives the canonical string,
// commas, equals signs and backslashes included.
func TestTagsRoundTrip(t *testing.T) {
	for _, m := range []map[string]string{
		nil,
		{"check": "alpha, beta"},
		{"check": "a=b", "scenario": "x"},
		{`k\`: `v\`, "k,2": "=,\\="},
		{"empty": ""},
		{"": "no key"},
		{"check": "ends with a backslash \\", "z": ","},
	} {
		s := metrics.Tags(m)
		got := metrics.ParseTags(s)
		if len(m) == 0 && len(got) == 0 {
			continue
		}
		if !maps.Equal(got, m) {
			t.Errorf("Tags(%q) = %q, parsed back as %q", m, s, got)
		}
	}
}

// TestCheckNameWithComma: a check named "alpha, beta" is one series whose
// check tag is the whole name, shown quoted so a threshold can name it.
func TestCheckNameWithComma(t *testing.T) {
	st := metrics.NewStore()
	checks, _ := st.Def(metrics.Checks)
	s := st.Series(checks, metrics.Tags(map[string]string{"check": "alpha, beta", "scenario": "a"}))
	st.Add(s, 1)
	if got := s.TagMap()["check"]; got != "alpha, beta" {
		t.Fatalf("check tag %q", got)
	}
	if got := s.Name(); got != `checks{check:"alpha, beta",scenario:a}` {
		t.Fatalf("name %q", got)
	}
	q, err := metrics.ParseQuery(s.Name())
	if err != nil {
		t.Fatal(err)
	}
	stats, _, _ := st.Stats(q, 1)
	if stats.Count != 1 {
		t.Fatalf("the query %s of the series' own name selects %d values", q, stats.Count)
	}
}

func TestParseQueryQuoted(t *testing.T) {
	good := map[string]map[string]string{
		`checks{check:"alpha, beta"}`:               {"check": "alpha, beta"},
		`checks{ check : "a:b{c}" , scenario:x }`:   {"check": "a:b{c}", "scenario": "x"},
		`checks{check:"say \"hi\"",scenario:"x"}`:   {"check": `say "hi"`, "scenario": "x"},
		`tool_duration{tool:calculator,outcome:ok}`: {"tool": "calculator", "outcome": "ok"},
	}
	for in, want := range good {
		q, err := metrics.ParseQuery(in)
		if err != nil || !maps.Equal(q.Tags, want) {
			t.Errorf("ParseQuery(%q) = %v, %v; want %v", in, q.Tags, err, want)
		}
	}
	for in, msg := range map[string]string{
		`checks{check:"open}`:       "does not end",
		`checks{check:"a" b}`:       "after the quoted value",
		`checks{check:a,}`:          "want key:value",
		`checks{"check":a}`:         "want key:value",
		`checks{check:a,scenario}`:  "want key:value",
		`checks{check:"a",,b:c}`:    "want key:value",
		`checks{check:"a"`:          "missing '}'",
		`checks{check:"a",b:"c"x}`:  "after the quoted value",
		`checks{check: , b:c}`:      "want key:value",
		`checks{}`:                  "want key:value",
		`checks{check:"a" , b:  }`:  "want key:value",
		`checks{check:"\q"}`:        "does not end",
		`checks{check:"a"}{b:c}`:    "after the quoted value",
		`checks{check:a}trailing}`:  "in double quotes",
		`checks{check:"a"} `:        "",
		`checks{check:"with\nnl"}`:  "",
		`checks{check:"tab\there"}`: "",
	} {
		_, err := metrics.ParseQuery(in)
		switch {
		case msg == "" && err != nil:
			t.Errorf("ParseQuery(%q): %v", in, err)
		case msg != "" && (err == nil || !strings.Contains(err.Error(), msg)):
			t.Errorf("ParseQuery(%q) = %v; want an error with %q", in, err, msg)
		}
	}
}

// FuzzTags: Tags and ParseTags are inverses, and a query rendered by
// String parses back to itself.
func FuzzTags(f *testing.F) {
	for _, s := range [][4]string{{"check", "alpha, beta", "scenario", "x"}, {`a\`, `=`, ",", `\,`}, {"k", `"q"`, "c", "{x:y}"}} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		m := map[string]string{k1: v1, k2: v2}
		if got := metrics.ParseTags(metrics.Tags(m)); !maps.Equal(got, m) {
			t.Fatalf("%q -> %q -> %q", m, metrics.Tags(m), got)
		}
		// Keys a query can hold: non-empty, trimmed, without its syntax.
		for _, k := range []string{k1, k2} {
			if k == "" || strings.TrimSpace(k) != k || strings.ContainsAny(k, ":,\"{}") {
				return
			}
		}
		q := metrics.Query{Metric: "m", Tags: m}
		back, err := metrics.ParseQuery(q.String())
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if !maps.Equal(back.Tags, m) {
			t.Fatalf("%s parsed back as %q", q, back.Tags)
		}
	})
}

// TestBuiltinDocumented: every built-in metric has its line in the
// reference (docs/lua-api.md is generated from BuiltinDoc).
func TestBuiltinDocumented(t *testing.T) {
	for _, d := range metrics.Builtin {
		if metrics.BuiltinDoc[d.Name] == "" {
			t.Errorf("built-in metric %s has no metrics.BuiltinDoc entry", d.Name)
		}
	}
}
