package citation_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/citation"
)

const cfBib = `
% comments and stray text outside entries are ignored
@string{jos = "Journal of " # {Studies}}
@preamble{"\newcommand{\noop}[1]{}"}
@comment{ @article{ignored, title = {x}} }

@Article{smith2020,
  Author  = {Smith, John and Doe, Jane},
  title   = "A Study of Things: {Why}?",
  journal = jos,
  year    = 2020, month = mar,
  volume  = 12, number = 3, pages = {45--67},
  doi     = {https://doi.org/10.1000/xyz123},
}
@book(knuth1984,
  author    = {Donald E. Knuth},
  title     = {The {\TeX}book},
  publisher = {Addison-Wesley}, address = {Reading, MA},
  year      = {1984}, edition = {2}
)
@inproceedings{vdb2019,
  author    = {van der Berg, Jean-Paul and M{\"u}ller, J{\"o}rg and Garc\'{\i}a, Ana and {World Health Organization}},
  title     = {On {Neural} Nets},
  booktitle = {Proceedings of the Conference},
  editor    = {Lee, Kim},
  publisher = {ACM}, pages = {1--10}, year = 2019
}
@phdthesis{doe2018, author = "Doe, Jane", title = "Thinking", school = "MIT", year = 2018}
@online{mdn, author = {{Mozilla}}, title = {MDN Web Docs}, url = {https://developer.mozilla.org/},
  urldate = {2024-01-02}, year = 2023, organization = {Mozilla}}
`

func cfCall(t *testing.T, params map[string]any) map[string]any {
	t.Helper()
	return call(t, citation.Formatter(), params)
}

func cfBibliography(t *testing.T, params map[string]any) []string {
	t.Helper()
	res := cfCall(t, params)
	return strings.Split(res["bibliography"].(string), "\n")
}

func TestCitationFormatterSpec(t *testing.T) {
	tool := citation.Formatter()
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "citation-formatter" || !spec.Inline || spec.Example == nil || spec.Returns == "" {
		t.Fatalf("unexpected spec %+v", spec)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
	res := call(t, tool, spec.Example)
	want := "Smith, J., & Doe, J. (2020). A Study of Things. Journal of Studies, 12(3), 45–67. https://doi.org/10.1000/xyz123"
	if res["bibliography"] != want {
		t.Errorf("example:\n got  %q\n want %q", res["bibliography"], want)
	}
}

func TestCitationFormatterStyles(t *testing.T) {
	cases := map[string][]string{
		"apa": {
			"van der Berg, J.-P., Müller, J., García, A., & World Health Organization. (2019). On Neural Nets. In K. Lee (Ed.), Proceedings of the Conference (pp. 1–10). ACM.",
			"Doe, J. (2018). Thinking [Doctoral dissertation, MIT].",
			"Knuth, D. E. (1984). The TeXbook (2nd ed.). Addison-Wesley.",
			"Mozilla. (2023). MDN Web Docs. Mozilla. https://developer.mozilla.org/",
			"Smith, J., & Doe, J. (2020). A Study of Things: Why? Journal of Studies, 12(3), 45–67. https://doi.org/10.1000/xyz123",
		},
		"mla": {
			"van der Berg, Jean-Paul, et al. “On Neural Nets.” Proceedings of the Conference, edited by Kim Lee, ACM, 2019, pp. 1–10.",
			"Doe, Jane. Thinking. 2018. MIT, PhD dissertation.",
			"Knuth, Donald E. The TeXbook. 2nd ed., Addison-Wesley, 1984.",
			"Mozilla. “MDN Web Docs.” Mozilla, 2023, developer.mozilla.org/.",
			"Smith, John, and Jane Doe. “A Study of Things: Why?” Journal of Studies, vol. 12, no. 3, Mar. 2020, pp. 45–67, https://doi.org/10.1000/xyz123.",
		},
		"chicago": {
			"van der Berg, Jean-Paul, Jörg Müller, Ana García, and World Health Organization. “On Neural Nets.” In Proceedings of the Conference, edited by Kim Lee, 1–10. ACM, 2019.",
			"Doe, Jane. “Thinking.” PhD diss., MIT, 2018.",
			"Knuth, Donald E. The TeXbook. 2nd ed. Reading, MA: Addison-Wesley, 1984.",
			"Mozilla. “MDN Web Docs.” Mozilla. 2023. https://developer.mozilla.org/.",
			"Smith, John, and Jane Doe. “A Study of Things: Why?” Journal of Studies 12, no. 3 (March 2020): 45–67. https://doi.org/10.1000/xyz123.",
		},
		"harvard": {
			"van der Berg, J.-P. et al. (2019) ‘On Neural Nets’, in Lee, K. (ed.) Proceedings of the Conference. ACM, pp. 1–10.",
			"Doe, J. (2018) Thinking. PhD thesis. MIT.",
			"Knuth, D.E. (1984) The TeXbook. 2nd edn. Reading, MA: Addison-Wesley.",
			"Mozilla (2023) MDN Web Docs. Available at: https://developer.mozilla.org/ (Accessed: 2024-01-02).",
			"Smith, J. and Doe, J. (2020) ‘A Study of Things: Why?’, Journal of Studies, 12(3), pp. 45–67. Available at: https://doi.org/10.1000/xyz123.",
		},
		"ieee": {
			"[1] J. Smith and J. Doe, “A Study of Things: Why?” Journal of Studies, vol. 12, no. 3, pp. 45–67, Mar. 2020, doi: 10.1000/xyz123.",
			"[2] D. E. Knuth, The TeXbook, 2nd ed. Reading, MA: Addison-Wesley, 1984.",
			"[3] J.-P. van der Berg, J. Müller, A. García, and World Health Organization, “On Neural Nets,” in Proceedings of the Conference, 2019, pp. 1–10.",
			"[4] J. Doe, “Thinking,” Ph.D. dissertation, MIT, 2018.",
			"[5] Mozilla, “MDN Web Docs.” Mozilla. [Online]. Available: https://developer.mozilla.org/ (accessed 2024-01-02)",
		},
	}
	inText := map[string][]any{
		"apa":     {"(van der Berg et al., 2019)", "(Doe, 2018)", "(Knuth, 1984)", "(Mozilla, 2023)", "(Smith & Doe, 2020)"},
		"mla":     {"(van der Berg et al.)", "(Doe)", "(Knuth)", "(Mozilla)", "(Smith and Doe)"},
		"chicago": {"(van der Berg et al. 2019)", "(Doe 2018)", "(Knuth 1984)", "(Mozilla 2023)", "(Smith and Doe 2020)"},
		"harvard": {"(van der Berg et al., 2019)", "(Doe, 2018)", "(Knuth, 1984)", "(Mozilla, 2023)", "(Smith and Doe, 2020)"},
		"ieee":    {"[1]", "[2]", "[3]", "[4]", "[5]"},
	}
	for style, want := range cases {
		t.Run(style, func(t *testing.T) {
			res := cfCall(t, map[string]any{"input": cfBib, "style": style})
			got := strings.Split(res["bibliography"].(string), "\n")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("bibliography\n got  %q\n want %q", got, want)
			}
			if res["style"] != style || res["count"] != 5 || !reflect.DeepEqual(res["warnings"], []any{}) {
				t.Errorf("style %v count %v warnings %v", res["style"], res["count"], res["warnings"])
			}
			var its []any
			for i, c := range res["citations"].([]any) {
				m := c.(map[string]any)
				its = append(its, m["in_text"])
				if m["number"] != i+1 || m["citation"] != want[i] {
					t.Errorf("citation %d: %v", i, m)
				}
			}
			if !reflect.DeepEqual(its, inText[style]) {
				t.Errorf("in_text\n got  %q\n want %q", its, inText[style])
			}
		})
	}
}

func TestCitationFormatterOptions(t *testing.T) {
	// Input order keeps the entries as given; author order sorts IEEE too.
	got := cfBibliography(t, map[string]any{"input": cfBib, "style": "apa", "order": "input"})
	if !strings.HasPrefix(got[0], "Smith, J.") || !strings.HasPrefix(got[4], "Mozilla") {
		t.Errorf("input order: %q", got)
	}
	got = cfBibliography(t, map[string]any{"input": cfBib, "style": "ieee", "order": "author"})
	if !strings.HasPrefix(got[0], "[1] J.-P. van der Berg") || !strings.HasPrefix(got[4], "[5] J. Smith") {
		t.Errorf("ieee by author: %q", got)
	}

	bib := `@book{b, author = {O'Neil, Cathy}, title = {Weapons of Math_Destruction & <More>}, publisher = {Crown}, year = 2016}`
	cases := map[string]string{
		"plain":    "O'Neil, C. (2016). Weapons of Math_Destruction & <More>. Crown.",
		"markdown": `O'Neil, C. (2016). *Weapons of Math\_Destruction & <More>*. Crown.`,
		"html":     "O&#39;Neil, C. (2016). <i>Weapons of Math_Destruction &amp; &lt;More&gt;</i>. Crown.",
	}
	for markup, want := range cases {
		res := cfCall(t, map[string]any{"input": bib, "markup": markup})
		if res["bibliography"] != want {
			t.Errorf("%s:\n got  %q\n want %q", markup, res["bibliography"], want)
		}
	}
}

// TestCitationFormatterLaTeX checks the conversion of LaTeX in values.
func TestCitationFormatterLaTeX(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{\'E}cole et caf\'e`, "École et café"},
		{`na\"{\i}ve {\"O}l \"u`, "naïve Öl ü"},
		{`\v{S}koda \c{c}a \c c \k{a} \r{a} \H{o} \={a} \.{z} \u{g} \~n \^o`, "Škoda ça ç ą å ő ā ż ğ ñ ô"},
		{`Stra{\ss}e \ss{} {\o} \AE{} \AE \l\'od\'z`, "Straße ß ø Æ Æłódź"},
		{`\'x \d{s}`, "x\u0301 s\u0323"},
		{`Pages 1--2 --- done`, "Pages 1–2 — done"},
		{"``Quoted'' text", "“Quoted” text"},
		{`R\&D 50\% \$5 \#1 a\_b \{x\}`, "R&D 50% $5 #1 a_b {x}"},
		{`\emph{Deep} \textbf{Learning} \textit{\textsc{Now}}`, "Deep Learning Now"},
		{`The $\alpha$-$\beta$ model`, "The α-β model"},
		{`See~\url{http://x.org/a_b} and \href{http://y.org}{this}`, "See http://x.org/a_b and this"},
		{`\unknowncmd{Kept} \TeX\ and \LaTeX{} \ldots`, "Kept TeX and LaTeX …"},
		{"  spread \n over\tlines  ", "spread over lines"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			res := cfCall(t, map[string]any{"input": "@misc{k, title = {" + tc.in + "}}", "style": "apa"})
			want := tc.want + ". (n.d.)."
			if res["bibliography"] != want {
				t.Errorf("got  %q\nwant %q", res["bibliography"], want)
			}
		})
	}
}

// TestCitationFormatterNames checks BibTeX name parsing through IEEE's
// "F. Last" form.
func TestCitationFormatterNames(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Knuth, Donald E.", "D. E. Knuth"},
		{"Donald Ervin Knuth", "D. E. Knuth"},
		{"Ludwig van Beethoven", "L. van Beethoven"},
		{"van Beethoven, Ludwig", "L. van Beethoven"},
		{"Martin {Luther King}", "M. Luther King"},
		{"King, Jr., Martin Luther", "M. L. King, Jr."},
		{"Jean-Paul Sartre", "J.-P. Sartre"},
		{"{\\'E}mile Zola", "É. Zola"},
		{"Charles Louis Xavier Joseph de la Vall{\\'e}e Poussin", "C. L. X. J. de la Vallée Poussin"},
		{"{NASA} and {IEEE Computer Society}", "NASA and IEEE Computer Society"},
		{"Plato", "Plato"},
		{"A. Einstein and others", "A. Einstein et al."},
		{"A One AND B Two and C Three", "A. One, B. Two, and C. Three"},
		{"A a and B b and C c and D d and E e and F f and G g", "A. a et al."},
		{"Fran{\\c c}ois Tr{\\\"u}ffaut", "F. Trüffaut"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			res := cfCall(t, map[string]any{"input": "@misc{k, author = {" + tc.in + "}, title = {T}, year = 2000}", "style": "ieee"})
			want := "[1] " + tc.want + ", “T,” 2000."
			if res["bibliography"] != want {
				t.Errorf("got  %q\nwant %q", res["bibliography"], want)
			}
		})
	}
}

func TestCitationFormatterListForms(t *testing.T) {
	yaml := `
# a YAML bibliography
---
references:
  - key: smith2020
    type: article
    author:
    - Smith, John
    - Jane Doe
    title: "A Study: of Things"
    journal: Journal of Studies   # a comment
    year: 2020
    pages: 45-67
    keywords: [a, "b, c", [1, 2]]
    abstract: |
      First line.
      Second line.
  - id: garcia2021
    type: article-journal
    author:
      - family: García
        given: Ana María
      - literal: OpenAI Team
    issued:
      date-parts: [[2021, 5]]
    container-title: 'Nature''s Journal'
    volume: 3
`
	want := []string{
		"García, A. M., & OpenAI Team. (2021). [Untitled]. Nature's Journal, 3.",
		"Smith, J., & Doe, J. (2020). A Study: of Things. Journal of Studies, 45–67.",
	}
	res := cfCall(t, map[string]any{"input": yaml})
	if got := strings.Split(res["bibliography"].(string), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("yaml\n got  %q\n want %q", got, want)
	}
	if w := res["warnings"].([]any); len(w) != 1 || !strings.Contains(w[0].(map[string]any)["message"].(string), "missing required field title") {
		t.Errorf("yaml warnings %v", w)
	}

	json := `[{"id": "x", "type": "book", "author": [{"family": "Doe", "given": "J", "suffix": "Jr."}],
	  "title": "T", "publisher": "P", "issued": {"date-parts": [[1999]]}},
	 {"ID": "y", "ENTRYTYPE": "article", "author": "Last, First and others", "title": "Q", "journal": "J", "year": 2001, "DOI": "10.1/z"}]`
	got := cfBibliography(t, map[string]any{"input": json, "style": "mla"})
	wantMLA := []string{"Doe, J, Jr. T. P, 1999.", "Last, First, et al. “Q.” J, 2001, https://doi.org/10.1/z."}
	if !reflect.DeepEqual(got, wantMLA) {
		t.Errorf("json\n got  %q\n want %q", got, wantMLA)
	}
	// One object alone is one entry; input_format forces a parser.
	got = cfBibliography(t, map[string]any{"input": `{"title": "Solo", "year": "2000"}`, "input_format": "json"})
	if !reflect.DeepEqual(got, []string{"Solo. (2000)."}) {
		t.Errorf("single object: %q", got)
	}
}

func TestCitationFormatterValidate(t *testing.T) {
	bib := `
@article{a1, author = {X, Y}, title = {T}, year = {20x0}, doi = {abc}, url = {ftp://x}}
@book{b1, editor = {E, F}, title = {B}, publisher = {P}, year = 2000}
@book{b2, title = {B}, title = {again}}
@inbook{c1, author = {A, B}, title = {T}, pages = {1--2}, publisher = {P}, year = 2000}
@online{o1, title = {Site}}
@weird{w1, title = {W}}
@article{a1, author = {Z, Z}, title = {T2}, journal = {J}, year = 2001}
@article{a2, author = {Q, Q}, title = {T3}, journaltitle = {J}, date = {2001-04-05}}
`
	res := cfCall(t, map[string]any{"input": bib, "operation": "validate_bibliography"})
	if res["valid"] != false || res["count"] != 8 {
		t.Fatalf("valid %v count %v", res["valid"], res["count"])
	}
	entries := res["entries"].([]any)
	type want struct {
		valid    bool
		missing  []any
		errors   int
		warnings []string
	}
	wants := []want{
		{false, []any{"journal"}, 1, []string{`year "20x0"`, `doi "abc"`, `url "ftp://x"`}},
		{true, []any{}, 0, nil},
		{false, []any{"author or editor", "publisher", "year"}, 3, []string{"field title is repeated"}},
		{true, []any{}, 0, nil},
		{false, []any{"url"}, 1, nil},
		{true, []any{}, 0, []string{`unknown entry type "weird"`}},
		{false, []any{}, 1, nil}, // duplicate key
		{true, []any{}, 0, nil},  // aliases satisfy journal and year
	}
	for i, w := range wants {
		e := entries[i].(map[string]any)
		if e["valid"] != w.valid || !reflect.DeepEqual(e["missing"], w.missing) || len(e["errors"].([]any)) != w.errors {
			t.Errorf("entry %d (%v): valid %v missing %v errors %v", i, e["key"], e["valid"], e["missing"], e["errors"])
		}
		warns := e["warnings"].([]any)
		if len(warns) != len(w.warnings) {
			t.Errorf("entry %d: warnings %v, want %d", i, warns, len(w.warnings))
			continue
		}
		for j, s := range w.warnings {
			if !strings.Contains(warns[j].(string), s) {
				t.Errorf("entry %d warning %d = %q, want %q", i, j, warns[j], s)
			}
		}
	}
	if e := entries[6].(map[string]any); !strings.Contains(e["errors"].([]any)[0].(string), `duplicate key "a1"`) {
		t.Errorf("duplicate key error %v", e["errors"])
	}
	if res["error_count"] != 6 || res["warning_count"] != 5 {
		t.Errorf("error_count %v warning_count %v", res["error_count"], res["warning_count"])
	}

	ok := cfCall(t, map[string]any{"input": cfBib, "operation": "validate_bibliography"})
	if ok["valid"] != true || ok["error_count"] != 0 {
		t.Errorf("clean bibliography: %v", ok)
	}
}

func TestCitationFormatterListStyles(t *testing.T) {
	res := cfCall(t, map[string]any{"operation": "list_styles"})
	styles := res["styles"].([]any)
	if res["count"] != 5 || len(styles) != 5 {
		t.Fatalf("styles %v", res)
	}
	var names []string
	for _, s := range styles {
		m := s.(map[string]any)
		names = append(names, m["name"].(string))
		if m["title"] == "" || m["description"] == "" {
			t.Errorf("style %v lacks a title or description", m)
		}
	}
	if !reflect.DeepEqual(names, []string{"apa", "mla", "chicago", "harvard", "ieee"}) {
		t.Errorf("names %v", names)
	}
}

func TestCitationFormatterErrors(t *testing.T) {
	tool := citation.Formatter()
	cases := []struct {
		name   string
		params map[string]any
		typ    tools.ErrorType
		msg    string
	}{
		{"missing input", map[string]any{}, tools.TypeValidation, `missing required parameter "input" for operation format_citation`},
		{"empty input", map[string]any{"input": " \n "}, tools.TypeValidation, "empty bibliography"},
		{"bad style", map[string]any{"input": "@misc{a}", "style": "vancouver"}, tools.TypeValidation, `unknown value "vancouver"`},
		{"bad operation", map[string]any{"input": "@misc{a}", "operation": "cite"}, tools.TypeValidation, `unknown value "cite"`},
		{"too large", map[string]any{"input": strings.Repeat("x", 1<<20+1)}, tools.TypeTooLarge, "1048576-byte limit"},
		{"not utf-8", map[string]any{"input": "@misc{a, title = {\xff}}"}, tools.TypeValidation, "not valid UTF-8"},
		{"unclosed entry", map[string]any{"input": "\n\n@article{a, title = {T}"}, tools.TypeValidation, "BibTeX line 3"},
		{"unbalanced braces", map[string]any{"input": "@article{a, title = {T, year = 2000}"}, tools.TypeValidation, "is not closed"},
		{"unclosed value", map[string]any{"input": "@article{a, title = {T"}, tools.TypeValidation, "'{' is not closed"},
		{"no key", map[string]any{"input": "@article{, title = {T}}"}, tools.TypeValidation, "has no key"},
		{"no equals", map[string]any{"input": "@article{a, title {T}}"}, tools.TypeValidation, `expected '=' after field "title"`},
		{"undefined macro", map[string]any{"input": "@article{a, journal = nojournal}"}, tools.TypeValidation, `undefined @string macro "nojournal"`},
		{"missing comma", map[string]any{"input": "@article{a, title = {T} year = 2000}"}, tools.TypeValidation, "expected ','"},
		{"unterminated quote", map[string]any{"input": `@article{a, title = "T}`}, tools.TypeValidation, "unbalanced '}'"},
		{"no entries", map[string]any{"input": "@comment{nothing}", "input_format": "bibtex"}, tools.TypeValidation, "no entries found"},
		{"bad json", map[string]any{"input": "[{"}, tools.TypeValidation, "JSON"},
		{"json scalar", map[string]any{"input": "42", "input_format": "json"}, tools.TypeValidation, "expected a list of entries"},
		{"json item", map[string]any{"input": `[1]`}, tools.TypeValidation, "entry 1: expected an object"},
		{"json names", map[string]any{"input": `[{"author": 5}]`}, tools.TypeValidation, "expected a string or a list of names"},
		{"json name object", map[string]any{"input": `[{"author": [{"given": "X"}]}]`}, tools.TypeValidation, "no family or literal"},
		{"yaml tab", map[string]any{"input": "- title: a\n\t year: 1"}, tools.TypeValidation, "YAML line 2"},
		{"yaml bad line", map[string]any{"input": "- title: a\n  just text"}, tools.TypeValidation, "YAML line 2: could not find expected ':'"},
		{"yaml duplicate key", map[string]any{"input": "- title: a\n  title: b"}, tools.TypeValidation, `key "title" is repeated`},
		{"yaml unterminated", map[string]any{"input": `- title: "abc`}, tools.TypeValidation, "found unexpected end of stream"},
		{"yaml two documents", map[string]any{"input": "- title: a\n---\n- title: b"}, tools.TypeValidation, "YAML line 2: a second document"},
		{"yaml unknown alias", map[string]any{"input": "- title: *nope"}, tools.TypeValidation, "unknown anchor 'nope'"},
		{"yaml alias in its anchor", map[string]any{"input": "- &a {title: x, more: [*a]}"}, tools.TypeValidation, "alias *a is inside its own anchor"},
		{"yaml key not scalar", map[string]any{"input": "- {[a]: b}"}, tools.TypeValidation, "a key must be a scalar"},
		{"yaml bad merge", map[string]any{"input": "- <<: [a]\n  title: b"}, tools.TypeValidation, "<< merges a map or a list of maps, got string"},
		{"yaml deep", map[string]any{"input": strings.Repeat("[", 70) + strings.Repeat("]", 70), "input_format": "yaml"}, tools.TypeValidation, "nested deeper than 64"},
		{"yaml long list", map[string]any{"input": "- [" + strings.Repeat("a, ", 5001) + "a]"}, tools.TypeTooLarge, "a list has more than 5000 items"},
		// Aliases of lists of aliases: nine levels of nine make 9^9 values
		// from a few hundred bytes.
		{"yaml alias bomb", map[string]any{"input": citeAliasBomb()}, tools.TypeTooLarge, "YAML holds more than 500000 values (aliases included)"},
		{"yaml alias text bomb", map[string]any{"input": "s: &s " + strings.Repeat("x", 100_000) + "\nl: [" + strings.Repeat("*s, ", 50) + "*s]"},
			tools.TypeTooLarge, "YAML keys and values expand past 4194304 bytes"},
		{"yaml scalar", map[string]any{"input": "just words"}, tools.TypeValidation, "expected a list of entries"},
		{"too many names", map[string]any{"input": "@misc{a, author = {" + strings.Repeat("A B and ", 1001) + "C}}"}, tools.TypeValidation, "more than 1000 names"},
		{"macro expansion", map[string]any{"input": "@string{a = {" + strings.Repeat("x", 1000) + "}}\n" +
			strings.Repeat("@misc{k, title = a # a # a # a # a # a # a # a # a # a}\n", 1000)}, tools.TypeTooLarge, "expand past 4194304 bytes"},
		{"deep braces", map[string]any{"input": "@misc{a, title = " + strings.Repeat("{", 70) + strings.Repeat("}", 70) + "}"}, tools.TypeValidation, "nested deeper"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := callErr(t, tool, tc.params, tc.typ)
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q does not contain %q", msg, tc.msg)
			}
		})
	}
}

// citeAliasBomb returns a YAML "billion laughs": each level is a list of
// nine aliases of the level before.
func citeAliasBomb() string {
	var b strings.Builder
	b.WriteString("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 9), ", "))
	}
	return b.String()
}

// TestCitationFormatterCSLYAML reads CSL-YAML as citation managers write
// it: flow mappings for names and dates, anchors, aliases and merge keys.
func TestCitationFormatterCSLYAML(t *testing.T) {
	in := `---
defaults: &book {type: book, publisher: Addison-Wesley, publisher-place: "Reading, MA"}
references:
- id: knuth1984
  <<: *book
  author: [{family: Knuth, given: Donald E.}]
  title: The TeXbook
  issued: {date-parts: [[1984]]}
  edition: 2
- {id: doe2001, type: article-journal, author: [{family: Doe, given: Jane}, {literal: WHO}],
   title: Flow style, container-title: J, volume: 012, page: 1-9, issued: {date-parts: [[2001, 3]]}}
...
`
	got := cfBibliography(t, map[string]any{"input": in, "style": "apa"})
	want := []string{
		"Doe, J., & WHO. (2001). Flow style. J, 012, 1–9.",
		"Knuth, D. E. (1984). The TeXbook (2nd ed.). Addison-Wesley.",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got  %q\n want %q", got, want)
	}
}

func BenchmarkCitationFormatter(b *testing.B) {
	tool := citation.Formatter()
	params := map[string]any{"input": cfBib, "style": "apa"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzCitationFormatter checks that no input panics and that every failure
// is a validation or too_large error.
func FuzzCitationFormatter(f *testing.F) {
	for _, s := range []string{
		cfBib, "@misc{a, author = {van {D}er B, Jr, {\\'E}} and others}", "- title: x\n  author: [a, b]\n",
		`[{"id": "x", "issued": {"date-parts": [[2020]]}}]`, "@string{x = {y}} @book{b, title = x # \" z\"}",
		"\\'", "@a{b,c=\\v}", "- a: |\n  b\n- c: >-\n   d\n",
	} {
		f.Add(s, "apa")
	}
	tool := citation.Formatter()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, input, style string) {
		switch style {
		case "apa", "mla", "chicago", "harvard", "ieee":
		default:
			style = "ieee"
		}
		for _, op := range []string{"format_citation", "validate_bibliography"} {
			_, err := tools.Call(ctx, tool, map[string]any{"input": input, "style": style, "operation": op})
			if err != nil {
				if typ := tools.TypeOf(err); typ != tools.TypeValidation && typ != tools.TypeTooLarge {
					t.Fatalf("%q: error type %s: %v", input, typ, err)
				}
			}
		}
	})
}
