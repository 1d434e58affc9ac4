package citation

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/tools"
)

// citation-formatter limits.
const (
	maxInput   = 1 << 20 // bytes of input
	maxEntries = 5000    // entries of one bibliography
	maxNames   = 1000    // names in one author or editor list
	maxDepth   = 64      // nesting of braces, YAML blocks and JSON values
	// maxExpanded caps the text of all BibTeX values together once
	// @string macros are expanded, so macros cannot multiply the input.
	maxExpanded = 4 * maxInput
)

var (
	styleNames = []string{"apa", "mla", "chicago", "harvard", "ieee"}
	operations = []string{"format_citation", "validate_bibliography", "list_styles"}
)

// styleInfo describes each style for list_styles.
var styleInfo = map[string][2]string{
	"apa":     {"APA 7th edition", "author-date; reference list sorted by author; in-text (Smith & Jones, 2020)"},
	"mla":     {"MLA 9th edition", "works cited sorted by author; in-text (Smith and Jones)"},
	"chicago": {"Chicago 17th edition", "bibliography entries of the notes-bibliography system, sorted by author; in-text in the author-date form (Smith and Jones 2020)"},
	"harvard": {"Harvard (Cite Them Right)", "author-date; reference list sorted by author; in-text (Smith and Jones, 2020)"},
	"ieee":    {"IEEE", "numbered references in citation order; in-text [1]"},
}

// required lists the fields each BibTeX entry type needs; "a|b" is
// satisfied by either. Aliases (journaltitle, date, location, institution
// for a thesis's school) are applied before the check.
var required = map[string][]string{
	"article":       {"author", "title", "journal", "year"},
	"book":          {"author|editor", "title", "publisher", "year"},
	"booklet":       {"title"},
	"inbook":        {"author|editor", "title", "chapter|pages", "publisher", "year"},
	"incollection":  {"author", "title", "booktitle", "publisher", "year"},
	"inproceedings": {"author", "title", "booktitle", "year"},
	"conference":    {"author", "title", "booktitle", "year"},
	"manual":        {"title"},
	"mastersthesis": {"author", "title", "school", "year"},
	"phdthesis":     {"author", "title", "school", "year"},
	"thesis":        {"author", "title", "school", "year"},
	"misc":          {},
	"proceedings":   {"title", "year"},
	"techreport":    {"author", "title", "institution", "year"},
	"report":        {"author", "title", "institution", "year"},
	"unpublished":   {"author", "title", "note"},
	"online":        {"title", "url"},
	"electronic":    {"title", "url"},
	"www":           {"title", "url"},
	"webpage":       {"title", "url"},
}

func citationFormatterSpec() tools.Spec {
	types := make([]string, 0, len(required))
	for t := range required {
		types = append(types, t)
	}
	slices.Sort(types)
	return tools.Spec{
		Inline:   true,
		Name:     "citation-formatter",
		Category: "utility",
		Description: "Formats bibliography entries in the APA, MLA, Chicago, Harvard or IEEE style, checks entries for the " +
			"fields their type needs, and lists the styles. Input is BibTeX (@type{key, field = {value} or \"value\" or " +
			"number or @string macro, joined with #; @string, @preamble and @comment are understood; month macros jan-dec " +
			"are predefined; LaTeX accents, escapes, dashes and \\emph-like commands become plain Unicode text), or a JSON " +
			"or YAML list of entries (fields as in BibTeX, or CSL-JSON and CSL-YAML names: id, type, container-title, issued, page, DOI, " +
			"URL; authors as \"A and B\", a list of names, or a list of {family, given}; YAML is one document, block or flow " +
			"style, with anchors, aliases and << merge keys, its scalars read as written). Entry types: " +
			strings.Join(types, ", ") + "; others are formatted as misc with a warning. Names follow BibTeX: \"First von Last\", " +
			"\"von Last, First\" or \"von Last, Jr, First\"; braces keep an organisation whole; \"and others\" means et al. " +
			"Pure: no files or network. Limits: input 1 MiB (4 MiB of values once @string macros or YAML aliases are " +
			"expanded), 5000 entries (and items of one YAML list), 1000 names per list, nesting 64, 500000 YAML values " +
			"once aliases are expanded.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Default: "format_citation", Enum: operations,
				Description: "format_citation formats every entry; validate_bibliography reports per entry the required fields " +
					"missing for its type and other problems; list_styles lists the styles (input is not needed)"},
			{Name: "input", Type: tools.String,
				Description: "the bibliography: BibTeX, or a JSON or YAML list of entries (see input_format); required " +
					"except for list_styles; at most 1 MiB"},
			{Name: "input_format", Type: tools.String, Default: "auto", Enum: []string{"auto", "bibtex", "json", "yaml"},
				Description: "auto takes input starting with [ or { as JSON, input holding an @type{ or @type( entry as BibTeX, " +
					"and anything else as YAML"},
			{Name: "style", Type: tools.String, Default: "apa", Enum: styleNames,
				Description: "citation style for format_citation: apa (APA 7), mla (MLA 9), chicago (Chicago 17 bibliography), " +
					"harvard (Cite Them Right), ieee"},
			{Name: "order", Type: tools.String, Default: "style", Enum: []string{"style", "input", "author"},
				Description: "order of the formatted entries: style sorts by author, year and title for apa, mla, chicago and " +
					"harvard and keeps input order for ieee (whose numbers follow it); input keeps input order; author sorts"},
			{Name: "markup", Type: tools.String, Default: "plain", Enum: []string{"plain", "markdown", "html"},
				Description: "how italics are written: plain drops them, markdown wraps them in asterisks (escaping asterisks, " +
					"underscores and backslashes in the text), html wraps them in an i element and escapes the text"},
		},
		Returns: "format_citation: {style, count, citations: [{key, type, number (1-based position), citation, in_text}], " +
			"bibliography (the citations, one per line), warnings: [{key, message}] (missing fields, unknown types, " +
			"duplicate keys; the entry is formatted anyway)}. validate_bibliography: {valid (no entry has an error), count, " +
			"error_count, warning_count, entries: [{key, type, valid, missing: [field, or \"a or b\"], errors, warnings}]}. " +
			"list_styles: {styles: [{name, title, description}], count}",
		Example: map[string]any{
			"input": "@article{smith2020, author = {Smith, John and Doe, Jane}, title = {A Study of Things}, " +
				"journal = {Journal of Studies}, year = 2020, volume = 12, number = 3, pages = {45--67}, doi = {10.1000/xyz123}}",
			"style": "apa",
		},
	}
}

// Formatter returns the citation-formatter tool. It does no I/O.
func Formatter() tools.Tool {
	return tools.New(citationFormatterSpec(), formatCitations)
}

func formatCitations(ctx context.Context, p tools.Params) (any, error) {
	op := p.String("operation")
	if op == "list_styles" {
		styles := make([]any, 0, len(styleNames))
		for _, s := range styleNames {
			info := styleInfo[s]
			styles = append(styles, map[string]any{"name": s, "title": info[0], "description": info[1]})
		}
		return map[string]any{"styles": styles, "count": len(styles)}, nil
	}
	if !p.Has("input") {
		return nil, tools.Invalid("missing required parameter %q for operation %s", "input", op)
	}
	input := p.String("input")
	if len(input) > maxInput {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceed the %d-byte limit", "input", len(input), maxInput)
	}
	if !utf8.ValidString(input) {
		return nil, tools.Invalid("parameter %q: not valid UTF-8", "input")
	}
	if strings.TrimSpace(input) == "" {
		return nil, tools.Invalid("parameter %q: empty bibliography", "input")
	}
	entries, err := parse(ctx, input, p.String("input_format"))
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, tools.Invalid("parameter %q: no entries found", "input")
	}
	if op == "validate_bibliography" {
		return validate(entries), nil
	}
	return formatAll(ctx, entries, p.String("style"), p.String("order"), p.String("markup"))
}

// entry is one parsed bibliography entry.
type entry struct {
	key, typ string
	fields   map[string]string // cleaned text, lowercase names
	authors  names
	editors  names
	line     int      // BibTeX: line of the @; list forms: 1-based item index
	problems []string // parse-time warnings (duplicate fields)
}

type names struct {
	names  []name
	others bool // "and others": et al.
}

type name struct {
	first, von, last, jr string
	literal              bool // an organisation or a single braced word: last holds it whole
}

func (e *entry) f(name string) string { return e.fields[name] }

func (e *entry) has(name string) bool {
	switch name {
	case "author":
		return len(e.authors.names) > 0
	case "editor":
		return len(e.editors.names) > 0
	}
	return e.fields[name] != ""
}

// finish applies field aliases after parsing.
func (e *entry) finish() {
	alias := func(to, from string) {
		if e.fields[to] == "" && e.fields[from] != "" {
			e.fields[to] = e.fields[from]
		}
	}
	alias("journal", "journaltitle")
	alias("address", "location")
	alias("number", "issue")
	if strings.HasSuffix(e.typ, "thesis") {
		alias("school", "institution")
	}
	if e.fields["year"] == "" {
		if d := e.fields["date"]; len(d) >= 4 && allDigits(d[:4]) {
			e.fields["year"] = d[:4]
			if len(d) >= 7 && d[4] == '-' && allDigits(d[5:7]) && e.fields["month"] == "" {
				e.fields["month"] = d[5:7]
			}
		}
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parse reads entries in the given or detected format.
func parse(ctx context.Context, input, format string) ([]*entry, error) {
	if format == "auto" {
		t := strings.TrimSpace(input)
		switch {
		case t[0] == '[' || t[0] == '{':
			format = "json"
		case looksBibTeX(t):
			format = "bibtex"
		default:
			format = "yaml"
		}
	}
	switch format {
	case "bibtex":
		bp := bibParser{src: input, ctx: ctx, macros: map[string]string{}}
		return bp.parse()
	case "json":
		var v any
		if err := json.Unmarshal([]byte(input), &v, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)); err != nil {
			return nil, tools.Invalid("parameter %q: JSON: %v", "input", err)
		}
		return fromList(ctx, v)
	default:
		v, err := parseYAML(ctx, input)
		if err != nil {
			return nil, err
		}
		return fromList(ctx, v)
	}
}

// looksBibTeX reports whether s holds "@word{" or "@word(".
func looksBibTeX(s string) bool {
	for i := strings.IndexByte(s, '@'); i >= 0; {
		j := i + 1
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
			j++
		}
		if j > i+1 {
			for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n') {
				j++
			}
			if j < len(s) && (s[j] == '{' || s[j] == '(') {
				return true
			}
		}
		k := strings.IndexByte(s[i+1:], '@')
		if k < 0 {
			break
		}
		i += 1 + k
	}
	return false
}
