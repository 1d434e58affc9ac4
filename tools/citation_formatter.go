package tools

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// citation-formatter limits.
const (
	citeMaxInput   = 1 << 20 // bytes of input
	citeMaxEntries = 5000    // entries of one bibliography
	citeMaxNames   = 1000    // names in one author or editor list
	citeMaxDepth   = 64      // nesting of braces, YAML blocks and JSON values
	// citeMaxExpanded caps the text of all BibTeX values together once
	// @string macros are expanded, so macros cannot multiply the input.
	citeMaxExpanded = 4 * citeMaxInput
)

var (
	citeStyles     = []string{"apa", "mla", "chicago", "harvard", "ieee"}
	citeOperations = []string{"format_citation", "validate_bibliography", "list_styles"}
)

// citeStyleInfo describes each style for list_styles.
var citeStyleInfo = map[string][2]string{
	"apa":     {"APA 7th edition", "author-date; reference list sorted by author; in-text (Smith & Jones, 2020)"},
	"mla":     {"MLA 9th edition", "works cited sorted by author; in-text (Smith and Jones)"},
	"chicago": {"Chicago 17th edition", "bibliography entries of the notes-bibliography system, sorted by author; in-text in the author-date form (Smith and Jones 2020)"},
	"harvard": {"Harvard (Cite Them Right)", "author-date; reference list sorted by author; in-text (Smith and Jones, 2020)"},
	"ieee":    {"IEEE", "numbered references in citation order; in-text [1]"},
}

// citeRequired lists the fields each BibTeX entry type needs; "a|b" is
// satisfied by either. Aliases (journaltitle, date, location, institution
// for a thesis's school) are applied before the check.
var citeRequired = map[string][]string{
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

func citationFormatterSpec() Spec {
	types := make([]string, 0, len(citeRequired))
	for t := range citeRequired {
		types = append(types, t)
	}
	slices.Sort(types)
	return Spec{
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
		Params: []Param{
			{Name: "operation", Type: String, Default: "format_citation", Enum: citeOperations,
				Description: "format_citation formats every entry; validate_bibliography reports per entry the required fields " +
					"missing for its type and other problems; list_styles lists the styles (input is not needed)"},
			{Name: "input", Type: String,
				Description: "the bibliography: BibTeX, or a JSON or YAML list of entries (see input_format); required " +
					"except for list_styles; at most 1 MiB"},
			{Name: "input_format", Type: String, Default: "auto", Enum: []string{"auto", "bibtex", "json", "yaml"},
				Description: "auto takes input starting with [ or { as JSON, input holding an @type{ or @type( entry as BibTeX, " +
					"and anything else as YAML"},
			{Name: "style", Type: String, Default: "apa", Enum: citeStyles,
				Description: "citation style for format_citation: apa (APA 7), mla (MLA 9), chicago (Chicago 17 bibliography), " +
					"harvard (Cite Them Right), ieee"},
			{Name: "order", Type: String, Default: "style", Enum: []string{"style", "input", "author"},
				Description: "order of the formatted entries: style sorts by author, year and title for apa, mla, chicago and " +
					"harvard and keeps input order for ieee (whose numbers follow it); input keeps input order; author sorts"},
			{Name: "markup", Type: String, Default: "plain", Enum: []string{"plain", "markdown", "html"},
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

// CitationFormatter returns the citation-formatter tool. It does no I/O.
func CitationFormatter() Tool {
	return New(citationFormatterSpec(), formatCitations)
}

func formatCitations(ctx context.Context, p Params) (any, error) {
	op := p.String("operation")
	if op == "list_styles" {
		styles := make([]any, 0, len(citeStyles))
		for _, s := range citeStyles {
			info := citeStyleInfo[s]
			styles = append(styles, map[string]any{"name": s, "title": info[0], "description": info[1]})
		}
		return map[string]any{"styles": styles, "count": len(styles)}, nil
	}
	if !p.Has("input") {
		return nil, Invalid("missing required parameter %q for operation %s", "input", op)
	}
	input := p.String("input")
	if len(input) > citeMaxInput {
		return nil, Errorf(TypeTooLarge, "parameter %q: %d bytes exceed the %d-byte limit", "input", len(input), citeMaxInput)
	}
	if !utf8.ValidString(input) {
		return nil, Invalid("parameter %q: not valid UTF-8", "input")
	}
	if strings.TrimSpace(input) == "" {
		return nil, Invalid("parameter %q: empty bibliography", "input")
	}
	entries, err := citeParse(ctx, input, p.String("input_format"))
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, Invalid("parameter %q: no entries found", "input")
	}
	if op == "validate_bibliography" {
		return citeValidate(entries), nil
	}
	return citeFormatAll(ctx, entries, p.String("style"), p.String("order"), p.String("markup"))
}

// citeEntry is one parsed bibliography entry.
type citeEntry struct {
	key, typ string
	fields   map[string]string // cleaned text, lowercase names
	authors  citeNames
	editors  citeNames
	line     int      // BibTeX: line of the @; list forms: 1-based item index
	problems []string // parse-time warnings (duplicate fields)
}

type citeNames struct {
	names  []citeName
	others bool // "and others": et al.
}

type citeName struct {
	first, von, last, jr string
	literal              bool // an organisation or a single braced word: last holds it whole
}

func (e *citeEntry) f(name string) string { return e.fields[name] }

func (e *citeEntry) has(name string) bool {
	switch name {
	case "author":
		return len(e.authors.names) > 0
	case "editor":
		return len(e.editors.names) > 0
	}
	return e.fields[name] != ""
}

// finish applies field aliases after parsing.
func (e *citeEntry) finish() {
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
		if d := e.fields["date"]; len(d) >= 4 && citeAllDigits(d[:4]) {
			e.fields["year"] = d[:4]
			if len(d) >= 7 && d[4] == '-' && citeAllDigits(d[5:7]) && e.fields["month"] == "" {
				e.fields["month"] = d[5:7]
			}
		}
	}
}

func citeAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// citeParse reads entries in the given or detected format.
func citeParse(ctx context.Context, input, format string) ([]*citeEntry, error) {
	if format == "auto" {
		t := strings.TrimSpace(input)
		switch {
		case t[0] == '[' || t[0] == '{':
			format = "json"
		case citeLooksBibTeX(t):
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
		if err := json.Unmarshal([]byte(input), &v); err != nil {
			return nil, Invalid("parameter %q: JSON: %v", "input", err)
		}
		return citeFromList(ctx, v)
	default:
		v, err := citeParseYAML(ctx, input)
		if err != nil {
			return nil, err
		}
		return citeFromList(ctx, v)
	}
}

// citeLooksBibTeX reports whether s holds "@word{" or "@word(".
func citeLooksBibTeX(s string) bool {
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

// ---- BibTeX ----

type bibParser struct {
	src    string
	pos    int
	ctx    context.Context
	macros map[string]string
	total  int // bytes of all values read, macros expanded
}

var bibMonths = map[string]string{
	"jan": "January", "feb": "February", "mar": "March", "apr": "April", "may": "May", "jun": "June",
	"jul": "July", "aug": "August", "sep": "September", "oct": "October", "nov": "November", "dec": "December",
}

func (p *bibParser) lineAt(pos int) int { return 1 + strings.Count(p.src[:min(pos, len(p.src))], "\n") }

func (p *bibParser) fail(pos int, format string, args ...any) error {
	return Invalid("parameter %q: BibTeX line %d: %s", "input", p.lineAt(pos), fmt.Sprintf(format, args...))
}

func (p *bibParser) skipSpace() {
	for p.pos < len(p.src) && citeIsSpace(p.src[p.pos]) {
		p.pos++
	}
}

func citeIsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func bibNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-:.+/'!?*", c) >= 0
}

func (p *bibParser) ident() string {
	start := p.pos
	for p.pos < len(p.src) && bibNameByte(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *bibParser) parse() ([]*citeEntry, error) {
	var out []*citeEntry
	for {
		i := strings.IndexByte(p.src[p.pos:], '@')
		if i < 0 {
			return out, nil
		}
		if err := p.ctx.Err(); err != nil {
			return nil, err
		}
		at := p.pos + i
		p.pos = at + 1
		p.skipSpace()
		typ := strings.ToLower(p.ident())
		if typ == "" {
			continue // a stray @ in comment text
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '{' && p.src[p.pos] != '(' {
			if typ == "comment" {
				continue // "@comment text" to the end of the line is a comment
			}
			return nil, p.fail(at, "expected '{' or '(' after @%s", typ)
		}
		closer := byte('}')
		if p.src[p.pos] == '(' {
			closer = ')'
		}
		switch typ {
		case "comment", "preamble":
			if err := p.skipGroup(at, closer); err != nil {
				return nil, err
			}
			continue
		case "string":
			p.pos++
			p.skipSpace()
			nameAt := p.pos
			name := strings.ToLower(p.ident())
			if name == "" {
				return nil, p.fail(nameAt, "expected a macro name in @string")
			}
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != '=' {
				return nil, p.fail(p.pos, "expected '=' after @string name %q", name)
			}
			p.pos++
			v, err := p.value(closer)
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != closer {
				return nil, p.fail(at, "@string %s is not closed with %q", name, closer)
			}
			p.pos++
			p.macros[name] = v
			continue
		}
		if len(out) == citeMaxEntries {
			return nil, Errorf(TypeTooLarge, "parameter %q: more than %d entries", "input", citeMaxEntries)
		}
		e, err := p.entry(at, typ, closer)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
}

// skipGroup skips a balanced group starting at p.pos (the opener).
func (p *bibParser) skipGroup(at int, closer byte) error {
	depth := 0
	for ; p.pos < len(p.src); p.pos++ {
		switch p.src[p.pos] {
		case '{', '(':
			if p.src[p.pos] == '{' || closer == ')' {
				depth++
			}
		case '}', ')':
			if p.src[p.pos] == '}' || closer == ')' {
				depth--
			}
			if depth == 0 {
				p.pos++
				return nil
			}
		}
	}
	return p.fail(at, "unbalanced braces: the entry is not closed")
}

func (p *bibParser) entry(at int, typ string, closer byte) (*citeEntry, error) {
	p.pos++ // opener
	p.skipSpace()
	keyAt := p.pos
	for p.pos < len(p.src) && p.src[p.pos] != ',' && p.src[p.pos] != closer && !citeIsSpace(p.src[p.pos]) {
		if p.src[p.pos] == '{' || p.src[p.pos] == '}' || p.src[p.pos] == '=' {
			return nil, p.fail(p.pos, "unexpected %q in the key of @%s", p.src[p.pos], typ)
		}
		p.pos++
	}
	key := p.src[keyAt:p.pos]
	if key == "" {
		return nil, p.fail(at, "@%s entry has no key", typ)
	}
	e := &citeEntry{key: key, typ: typ, fields: map[string]string{}, line: p.lineAt(at)}
	raw := map[string]string{}
	var order []string
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.fail(at, "@%s{%s is not closed with %q", typ, key, closer)
		}
		switch p.src[p.pos] {
		case closer:
			p.pos++
			return e, p.fill(e, raw, order)
		case ',':
			p.pos++
			continue
		}
		nameAt := p.pos
		name := strings.ToLower(p.ident())
		if name == "" {
			return nil, p.fail(nameAt, "unexpected %q in @%s{%s; expected a field name", p.src[p.pos], typ, key)
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '=' {
			return nil, p.fail(nameAt, "expected '=' after field %q of %s", name, key)
		}
		p.pos++
		v, err := p.value(closer)
		if err != nil {
			return nil, err
		}
		if _, dup := raw[name]; dup {
			e.problems = append(e.problems, fmt.Sprintf("field %s is repeated; the first value is used", name))
			continue
		}
		raw[name] = v
		order = append(order, name)
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] != ',' && p.src[p.pos] != closer {
			return nil, p.fail(p.pos, "expected ',' or %q after field %q of %s", closer, name, key)
		}
	}
}

// fill cleans raw field values into e.
func (p *bibParser) fill(e *citeEntry, raw map[string]string, order []string) error {
	for _, name := range order {
		v := raw[name]
		switch name {
		case "author", "editor":
			ns, err := citeSplitNames(v, true)
			if err != nil {
				return Invalid("parameter %q: entry %s field %s: %v", "input", e.key, name, err)
			}
			if name == "author" {
				e.authors = ns
			} else {
				e.editors = ns
			}
		case "url", "doi", "eprint", "file", "urldate":
			e.fields[name] = citeCleanURL(v)
		default:
			e.fields[name] = citeLatex(v)
		}
	}
	e.finish()
	return nil
}

// value reads a field value: parts joined by #.
func (p *bibParser) value(closer byte) (string, error) {
	var b strings.Builder
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			return "", p.fail(p.pos, "missing value at the end of input")
		}
		start := p.pos
		switch c := p.src[p.pos]; {
		case c == '{':
			s, err := p.braced()
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		case c == '"':
			s, err := p.quoted()
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		case c >= '0' && c <= '9':
			for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
				p.pos++
			}
			b.WriteString(p.src[start:p.pos])
		default:
			name := strings.ToLower(p.ident())
			if name == "" {
				return "", p.fail(start, "unexpected %q; expected a value in braces, quotes, a number or a macro name", c)
			}
			v, ok := p.macros[name]
			if !ok {
				v, ok = bibMonths[name]
			}
			if !ok {
				return "", p.fail(start, "undefined @string macro %q", name)
			}
			b.WriteString(v)
		}
		if b.Len() > citeMaxInput || p.total+b.Len() > citeMaxExpanded {
			return "", Errorf(TypeTooLarge, "parameter %q: @string macros expand past %d bytes", "input", citeMaxExpanded)
		}
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == '#' {
			p.pos++
			continue
		}
		p.total += b.Len()
		return b.String(), nil
	}
}

// braced reads {...} with nested braces and returns the inside.
func (p *bibParser) braced() (string, error) {
	open := p.pos
	depth := 0
	for ; p.pos < len(p.src); p.pos++ {
		switch p.src[p.pos] {
		case '\\':
			if p.pos+1 < len(p.src) && (p.src[p.pos+1] == '{' || p.src[p.pos+1] == '}') {
				p.pos++ // an escaped brace does not nest
			}
		case '{':
			depth++
			if depth > citeMaxDepth {
				return "", p.fail(p.pos, "braces nested deeper than %d", citeMaxDepth)
			}
		case '}':
			depth--
			if depth == 0 {
				p.pos++
				return p.src[open+1 : p.pos-1], nil
			}
		}
	}
	return "", p.fail(open, "unbalanced braces: '{' is not closed")
}

// quoted reads "..." (braces inside must balance; a quote inside braces
// does not end the value) and returns the inside.
func (p *bibParser) quoted() (string, error) {
	open := p.pos
	depth := 0
	for p.pos++; p.pos < len(p.src); p.pos++ {
		switch p.src[p.pos] {
		case '\\':
			if p.pos+1 < len(p.src) {
				p.pos++
			}
		case '{':
			depth++
			if depth > citeMaxDepth {
				return "", p.fail(p.pos, "braces nested deeper than %d", citeMaxDepth)
			}
		case '}':
			depth--
			if depth < 0 {
				return "", p.fail(p.pos, "unbalanced '}' in a quoted value")
			}
		case '"':
			if depth == 0 {
				p.pos++
				return p.src[open+1 : p.pos-1], nil
			}
		}
	}
	return "", p.fail(open, "unterminated quoted value")
}

// ---- names ----

// citeSplitNames splits a BibTeX name list at " and " outside braces and
// parses each name. latex says whether to clean LaTeX from the parts.
func citeSplitNames(s string, latex bool) (citeNames, error) {
	var out citeNames
	for _, raw := range citeSplitAnd(s) {
		if len(out.names) == citeMaxNames {
			return out, fmt.Errorf("more than %d names", citeMaxNames)
		}
		if strings.EqualFold(raw, "others") {
			out.others = true
			continue
		}
		out.names = append(out.names, citeParseName(raw, latex))
	}
	return out, nil
}

// citeSplitAnd splits at the word "and" (any case) outside braces.
func citeSplitAnd(s string) []string {
	words := citeWords(s, false)
	var out []string
	var cur []string
	for _, w := range words {
		if strings.EqualFold(w, "and") {
			if len(cur) > 0 {
				out = append(out, strings.Join(cur, " "))
			}
			cur = cur[:0]
			continue
		}
		cur = append(cur, w)
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, " "))
	}
	return out
}

// citeWords splits s at white space (and ~ when tilde is set) outside
// braces. Commas stay in the words.
func citeWords(s string, tilde bool) []string {
	var out []string
	depth, start := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{':
			depth++
		case c == '}':
			depth--
		case depth == 0 && (citeIsSpace(c) || tilde && c == '~'):
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// citeSplitCommas splits s at commas outside braces, trimming the parts.
func citeSplitCommas(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// citeParseName parses "First von Last", "von Last, First" or
// "von Last, Jr, First".
func citeParseName(raw string, latex bool) citeName {
	clean := func(ws []string) string {
		s := strings.Join(ws, " ")
		if latex {
			return citeLatex(s)
		}
		return strings.TrimSpace(strings.NewReplacer("{", "", "}", "").Replace(s))
	}
	parts := citeSplitCommas(raw)
	var n citeName
	switch len(parts) {
	case 1:
		ws := citeWords(parts[0], true)
		if len(ws) == 1 {
			n.last = clean(ws)
			n.literal = strings.HasPrefix(ws[0], "{") && strings.HasSuffix(ws[0], "}")
			return n
		}
		// First: words before the first lowercase word (the last word is
		// always in Last); von: from there to the last lowercase word.
		vonStart, vonEnd := -1, -1
		for i, w := range ws[:len(ws)-1] {
			if citeLower(w) {
				if vonStart < 0 {
					vonStart = i
				}
				vonEnd = i + 1
			}
		}
		if vonStart < 0 {
			n.first, n.last = clean(ws[:len(ws)-1]), clean(ws[len(ws)-1:])
		} else {
			n.first, n.von, n.last = clean(ws[:vonStart]), clean(ws[vonStart:vonEnd]), clean(ws[vonEnd:])
		}
	default:
		ws := citeWords(parts[0], true)
		i := 0
		for i < len(ws)-1 && citeLower(ws[i]) {
			i++
		}
		n.von, n.last = clean(ws[:i]), clean(ws[i:])
		if len(parts) == 2 {
			n.first = clean(citeWords(parts[1], true))
		} else {
			n.jr = clean(citeWords(parts[1], true))
			n.first = clean(citeWords(strings.Join(parts[2:], " "), true))
		}
		if n.last == "" && n.von != "" {
			n.last, n.von = n.von, ""
		}
	}
	return n
}

// citeLower reports whether a word starts lowercase in BibTeX's sense: by
// its first letter outside braces, or inside a brace group that opens with
// a control sequence ({\"u}ber); other brace groups count as uppercase.
func citeLower(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c == '{' {
			if i+1 < len(w) && w[i+1] == '\\' {
				for j := i + 2; j < len(w); j++ {
					if r := rune(w[j]); unicode.IsLetter(r) {
						// Skip the name of a control word used as an accent
						// ({\v s}, {\c c}): its letter follows a space.
						if k := strings.IndexAny(w[j:], " {"); k > 0 && j+k+1 < len(w) && w[j+k] == ' ' {
							return unicode.IsLower(rune(w[j+k+1]))
						}
						return unicode.IsLower(r)
					}
				}
			}
			return false
		}
		r, _ := utf8.DecodeRuneInString(w[i:])
		if unicode.IsLetter(r) {
			return unicode.IsLower(r)
		}
	}
	return false
}

// lastFull is the von part and the last name.
func (n *citeName) lastFull() string {
	if n.von == "" {
		return n.last
	}
	return n.von + " " + n.last
}

// initials turns "Jean-Paul Marie" into "J.-P. M."; sep goes between the
// initials of separate words.
func citeInitials(first, sep string) string {
	var words []string
	for _, w := range strings.Fields(first) {
		var parts []string
		for _, h := range strings.Split(w, "-") {
			r, _ := utf8.DecodeRuneInString(h)
			if r == utf8.RuneError || !unicode.IsLetter(r) {
				continue
			}
			parts = append(parts, string(unicode.ToUpper(r))+".")
		}
		if len(parts) > 0 {
			words = append(words, strings.Join(parts, "-"))
		}
	}
	return strings.Join(words, sep)
}

// inverted is "von Last, First, Jr" (MLA, Chicago).
func (n *citeName) inverted() string {
	if n.literal || n.first == "" {
		return citeJoinNonEmpty(", ", n.lastFull(), n.jr)
	}
	return citeJoinNonEmpty(", ", n.lastFull(), n.first, n.jr)
}

// natural is "First von Last, Jr" (MLA and Chicago after the first name).
func (n *citeName) natural() string {
	s := citeJoinNonEmpty(" ", n.first, n.lastFull())
	return citeJoinNonEmpty(", ", s, n.jr)
}

// initialsLast is "von Last, F. M., Jr." (APA) or "Last, F.M." (Harvard).
func (n *citeName) initialsLast(sep string) string {
	if n.literal || n.first == "" {
		return citeJoinNonEmpty(", ", n.lastFull(), n.jr)
	}
	return citeJoinNonEmpty(", ", n.lastFull(), citeInitials(n.first, sep), n.jr)
}

// initialsFirst is "F. M. von Last, Jr." (IEEE, APA editors).
func (n *citeName) initialsFirst() string {
	if n.literal || n.first == "" {
		return citeJoinNonEmpty(", ", n.lastFull(), n.jr)
	}
	return citeJoinNonEmpty(", ", citeInitials(n.first, " ")+" "+n.lastFull(), n.jr)
}

func citeJoinNonEmpty(sep string, parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p)
	}
	return b.String()
}

// citeList joins names: "a", "a and b", "a, b and c"; serial puts a comma
// before the last conjunction of three or more (two, with pair2).
func citeList(items []string, conj string, serial, pair2 bool) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	case 2:
		if pair2 {
			return items[0] + ", " + conj + " " + items[1]
		}
		return items[0] + " " + conj + " " + items[1]
	}
	sep := " "
	if serial {
		sep = ", "
	}
	return strings.Join(items[:len(items)-1], ", ") + sep + conj + " " + items[len(items)-1]
}

// ---- LaTeX to text ----

// citeAccents maps an accent command to "base composed" rune pairs and
// the combining mark used for other bases.
var citeAccents = map[string]struct {
	pairs string
	mark  rune
}{
	"`":  {"aàeèiìoòuùAÀEÈIÌOÒUÙnǹNǸ", '\u0300'},
	"'":  {"aáeéiíoóuúyýAÁEÉIÍOÓUÚYÝcćCĆnńNŃsśSŚzźZŹlĺLĹrŕRŔgǵGǴ", '\u0301'},
	"^":  {"aâeêiîoôuûAÂEÊIÎOÔUÛcĉCĈgĝGĜhĥHĤjĵJĴsŝSŜwŵWŴyŷYŶ", '\u0302'},
	"~":  {"aãnñoõAÃNÑOÕiĩIĨuũUŨ", '\u0303'},
	"=":  {"aāAĀeēEĒiīIĪoōOŌuūUŪ", '\u0304'},
	"u":  {"aăAĂgğGĞuŭUŬeĕEĔoŏOŎ", '\u0306'},
	".":  {"zżZŻcċCĊeėEĖgġGĠIİ", '\u0307'},
	"\"": {"aäeëiïoöuüyÿAÄEËIÏOÖUÜYŸ", '\u0308'},
	"r":  {"aåAÅuůUŮ", '\u030A'},
	"H":  {"oőOŐuűUŰ", '\u030B'},
	"v":  {"cčCČdďDĎeěEĚnňNŇrřRŘsšSŠtťTŤzžZŽ", '\u030C'},
	"d":  {"", '\u0323'},
	"c":  {"cçCÇsşSŞtţTŢgģGĢkķKĶlļLĻnņNŅrŗRŖ", '\u0327'},
	"k":  {"aąAĄeęEĘiįIĮuųUŲ", '\u0328'},
	"b":  {"", '\u0331'},
}

// citeSymbols are control words that stand for a character.
var citeSymbols = map[string]string{
	"ss": "ß", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å",
	"l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ", "TH": "Þ", "ng": "ŋ", "NG": "Ŋ",
	"textendash": "–", "textemdash": "—", "dots": "…", "ldots": "…", "textellipsis": "…",
	"textquoteleft": "‘", "textquoteright": "’", "textquotedblleft": "“", "textquotedblright": "”",
	"textregistered": "®", "copyright": "©", "textcopyright": "©", "texttrademark": "™", "S": "§", "P": "¶",
	"textsection": "§", "pounds": "£", "euro": "€", "textbackslash": "\\", "textasciitilde": "~",
	"textunderscore": "_", "textbar": "|", "textless": "<", "textgreater": ">", "LaTeX": "LaTeX", "TeX": "TeX",
	"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "mu": "μ", "pi": "π", "sigma": "σ", "lambda": "λ",
	"quad": " ", "qquad": " ", "space": " ", "nobreakspace": " ", "slash": "/", "and": "and",
}

// citeLatex turns a BibTeX value into plain text: accents and symbols to
// Unicode, escaped characters unescaped, braces and formatting commands
// (\emph, \textbf, ...) dropped with their argument kept, -- and --- to
// dashes, doubled backquotes and apostrophes to curly quotes, ~ to a
// space, and white space
// collapsed.
func citeLatex(s string) string {
	if !strings.ContainsAny(s, "\\{}~-$`'\n\t\r") {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '{', '}', '$':
			i++
		case '~':
			b.WriteByte(' ')
			i++
		case '-':
			switch {
			case strings.HasPrefix(s[i:], "---"):
				b.WriteString("—")
				i += 3
			case strings.HasPrefix(s[i:], "--"):
				b.WriteString("–")
				i += 2
			default:
				b.WriteByte('-')
				i++
			}
		case '`':
			if strings.HasPrefix(s[i:], "``") {
				b.WriteString("“")
				i += 2
			} else {
				b.WriteString("‘")
				i++
			}
		case '\'':
			if strings.HasPrefix(s[i:], "''") {
				b.WriteString("”")
				i += 2
			} else {
				b.WriteByte('\'')
				i++
			}
		case '\\':
			i = citeCommand(s, i, &b)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// citeCommand writes the text of the control sequence at s[i] ('\') and
// returns the index after it.
func citeCommand(s string, i int, b *strings.Builder) int {
	i++ // '\'
	if i >= len(s) {
		return i
	}
	c := s[i]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		i++
		if acc, ok := citeAccents[string(c)]; ok {
			return citeAccent(s, i, acc.pairs, acc.mark, b)
		}
		switch c {
		case '\\', ' ', ',', ';', ':', '!':
			b.WriteByte(' ')
		case '-', '/':
			// a discretionary hyphen or a break point: nothing
		default:
			b.WriteByte(c) // \& \% \$ \# \_ \{ \}
		}
		return i
	}
	start := i
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	name := s[start:i]
	j := i
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++ // TeX drops the space after a control word
	}
	if acc, ok := citeAccents[name]; ok && len(name) == 1 {
		return citeAccent(s, j, acc.pairs, acc.mark, b)
	}
	if sym, ok := citeSymbols[name]; ok {
		b.WriteString(sym)
		if j < len(s) && s[j] == '{' && j+1 < len(s) && s[j+1] == '}' {
			j += 2 // \ss{} and the like
		}
		return j
	}
	if name == "url" || name == "href" {
		// \url{x} keeps x verbatim; \href{x}{text} keeps text.
		if j < len(s) && s[j] == '{' {
			end := citeGroupEnd(s, j)
			arg := s[j+1 : end-1]
			if name == "href" && end < len(s) && s[end] == '{' {
				return end // the text group follows and is read as text
			}
			b.WriteString(arg)
			return end
		}
	}
	// A formatting or unknown command: drop it and keep its argument, which
	// the caller reads as text.
	return j
}

// citeGroupEnd returns the index after the brace group opening at s[i].
func citeGroupEnd(s string, i int) int {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// citeAccent writes the accented form of the base at s[i] ("x", "{x}",
// "{\i}" or "\i") and returns the index after it.
func citeAccent(s string, i int, pairs string, mark rune, b *strings.Builder) int {
	braced := i < len(s) && s[i] == '{'
	j := i
	if braced {
		j++
	}
	var base rune
	switch {
	case j < len(s) && s[j] == '\\' && j+1 < len(s) && (s[j+1] == 'i' || s[j+1] == 'j'):
		base = rune(s[j+1])
		j += 2
	case j < len(s):
		r, size := utf8.DecodeRuneInString(s[j:])
		base = r
		j += size
	default:
		return j
	}
	if braced {
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j < len(s) && s[j] == '}' {
			j++
		}
	}
	for k := 0; k < len(pairs); {
		r, n := utf8.DecodeRuneInString(pairs[k:])
		comp, m := utf8.DecodeRuneInString(pairs[k+n:])
		if r == base {
			b.WriteRune(comp)
			return j
		}
		k += n + m
	}
	b.WriteRune(base)
	b.WriteRune(mark)
	return j
}

// citeCleanURL removes braces and TeX escapes from a URL-like field.
func citeCleanURL(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "\\url{"), "}")
	r := strings.NewReplacer("{", "", "}", "", `\_`, "_", `\%`, "%", `\&`, "&", `\#`, "#", `\~`, "~", `\$`, "$")
	return strings.Join(strings.Fields(r.Replace(s)), "")
}

// ---- JSON and YAML list forms ----

// citeCSLTypes maps CSL types to BibTeX types.
var citeCSLTypes = map[string]string{
	"article-journal": "article", "article-magazine": "article", "article-newspaper": "article", "article": "article",
	"book": "book", "chapter": "incollection", "paper-conference": "inproceedings", "thesis": "phdthesis",
	"report": "techreport", "webpage": "online", "post-weblog": "online", "post": "online", "manuscript": "unpublished",
	"pamphlet": "booklet", "dataset": "misc", "software": "misc",
}

// citeCSLFields maps CSL field names to BibTeX ones.
var citeCSLFields = map[string]string{
	"doi": "doi", "url": "url", "page": "pages", "publisher-place": "address", "collection-title": "series",
	"issue": "number", "isbn": "isbn", "issn": "issn", "abstract": "abstract", "accessed": "urldate",
	"edition": "edition", "volume": "volume", "publisher": "publisher", "title": "title", "note": "note",
}

// citeFromList reads entries from a decoded JSON or YAML value: a list of
// entries, one entry, or an object holding the list under references,
// entries, bibliography or items.
func citeFromList(ctx context.Context, v any) ([]*citeEntry, error) {
	var list []any
	switch t := v.(type) {
	case []any:
		list = t
	case map[string]any:
		for _, k := range []string{"references", "entries", "bibliography", "items"} {
			if l, ok := t[k].([]any); ok {
				list = l
				break
			}
		}
		if list == nil {
			list = []any{t}
		}
	default:
		return nil, Invalid("parameter %q: expected a list of entries, got %s", "input", KindOf(v))
	}
	if len(list) > citeMaxEntries {
		return nil, Errorf(TypeTooLarge, "parameter %q: %d entries exceed the limit of %d", "input", len(list), citeMaxEntries)
	}
	out := make([]*citeEntry, 0, len(list))
	for i, item := range list {
		if i&63 == 63 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		m, ok := item.(map[string]any)
		if !ok {
			return nil, Invalid("parameter %q: entry %d: expected an object, got %s", "input", i+1, KindOf(item))
		}
		e, err := citeFromMap(m, i+1)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func citeFromMap(m map[string]any, idx int) (*citeEntry, error) {
	e := &citeEntry{fields: map[string]string{}, line: idx}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	csl := false
	for _, k := range keys {
		v := m[k]
		lk := strings.ToLower(k)
		switch lk {
		case "key", "id", "citation_key", "citation-key", "citationkey":
			if e.key == "" {
				e.key = citeScalar(v)
			}
			continue
		case "type", "entry_type", "entrytype":
			e.typ = strings.ToLower(strings.TrimSpace(citeScalar(v)))
			continue
		case "author", "editor":
			ns, err := citeNamesFrom(v)
			if err != nil {
				return nil, Invalid("parameter %q: entry %d field %s: %v", "input", idx, k, err)
			}
			if lk == "author" {
				e.authors = ns
			} else {
				e.editors = ns
			}
			continue
		case "issued":
			csl = true
			y, mo := citeCSLDate(v)
			if y != "" {
				e.fields["year"] = y
			}
			if mo != "" {
				e.fields["month"] = mo
			}
			continue
		case "container-title":
			csl = true
			e.fields["container"] = citeScalar(v)
			continue
		}
		switch v.(type) {
		case map[string]any, []any:
			if lk == "accessed" {
				if y, mo := citeCSLDate(v); y != "" {
					e.fields["urldate"] = citeJoinNonEmpty("-", y, mo)
				}
			}
			continue // other structured values carry nothing we format
		}
		if to, ok := citeCSLFields[lk]; ok && lk != to {
			csl = true
			lk = to
		}
		s := strings.TrimSpace(citeScalar(v))
		if lk == "pages" {
			s = strings.ReplaceAll(strings.ReplaceAll(s, "--", "–"), "-", "–")
		}
		if _, dup := e.fields[lk]; dup && s != "" {
			e.problems = append(e.problems, fmt.Sprintf("field %s is given twice; the first value is used", lk))
			continue
		}
		e.fields[lk] = s
	}
	if t, ok := citeCSLTypes[e.typ]; ok && (csl || e.typ != t) {
		e.typ = t
	}
	if e.typ == "" {
		e.typ = "misc"
	}
	if c := e.fields["container"]; c != "" {
		delete(e.fields, "container")
		if e.typ == "article" {
			e.fields["journal"] = c
		} else if e.typ == "online" {
			e.fields["howpublished"] = c
		} else {
			e.fields["booktitle"] = c
		}
	}
	if e.key == "" {
		e.key = fmt.Sprintf("entry%d", idx)
	}
	e.finish()
	return e, nil
}

// citeScalar renders a JSON or YAML scalar as text.
func citeScalar(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// citeCSLDate reads {"date-parts": [[year, month, day]]} or a string.
func citeCSLDate(v any) (year, month string) {
	switch t := v.(type) {
	case map[string]any:
		if parts, ok := t["date-parts"].([]any); ok && len(parts) > 0 {
			if first, ok := parts[0].([]any); ok {
				if len(first) > 0 {
					year = citeScalar(first[0])
				}
				if len(first) > 1 {
					month = citeScalar(first[1])
				}
			}
		} else if s, ok := t["raw"].(string); ok {
			return citeCSLDate(s)
		} else if s, ok := t["literal"].(string); ok {
			return citeCSLDate(s)
		}
	case string:
		s := strings.TrimSpace(t)
		if len(s) >= 4 && citeAllDigits(s[:4]) {
			year = s[:4]
			if len(s) >= 7 && s[4] == '-' && citeAllDigits(s[5:7]) {
				month = s[5:7]
			}
		}
	case float64:
		year = citeScalar(t)
	}
	return year, month
}

// citeNamesFrom reads an author or editor list: a BibTeX name string, a
// list of name strings, or a list of {family, given, literal, ...}.
func citeNamesFrom(v any) (citeNames, error) {
	switch t := v.(type) {
	case string:
		return citeSplitNames(t, false)
	case []any:
		if len(t) > citeMaxNames {
			return citeNames{}, fmt.Errorf("%d names exceed the limit of %d", len(t), citeMaxNames)
		}
		var out citeNames
		for i, item := range t {
			switch n := item.(type) {
			case string:
				if strings.EqualFold(strings.TrimSpace(n), "others") {
					out.others = true
					continue
				}
				out.names = append(out.names, citeParseName(n, false))
			case map[string]any:
				var nm citeName
				if lit := citeScalar(n["literal"]); lit != "" {
					nm.last, nm.literal = lit, true
				} else {
					nm.last = strings.TrimSpace(citeScalar(n["family"]))
					nm.first = strings.TrimSpace(citeScalar(n["given"]))
					nm.von = strings.TrimSpace(citeJoinNonEmpty(" ", citeScalar(n["dropping-particle"]), citeScalar(n["non-dropping-particle"])))
					nm.jr = strings.TrimSpace(citeScalar(n["suffix"]))
				}
				if nm.last == "" {
					return out, fmt.Errorf("name %d has no family or literal name", i+1)
				}
				out.names = append(out.names, nm)
			default:
				return out, fmt.Errorf("name %d: expected a string or an object, got %s", i+1, KindOf(item))
			}
		}
		return out, nil
	case nil:
		return citeNames{}, nil
	}
	return citeNames{}, fmt.Errorf("expected a string or a list of names, got %s", KindOf(v))
}

// ---- YAML ----

// citeMaxYAMLValues caps the values (scalars, lists and maps) of a YAML
// bibliography once its aliases are expanded; the text of its keys and
// scalars is capped at citeMaxExpanded, as for BibTeX macros. Together they
// keep an alias bomb (aliases of lists of aliases) from multiplying a small
// input into gigabytes.
const citeMaxYAMLValues = 500_000

// citeParseYAML reads a YAML bibliography (one document) with the YAML
// library and converts it to the values citeFromList reads. Scalars stay
// text as written ("2020", "012", "1.10"), so numbers keep their digits;
// null and ~ are nil. Aliases are expanded within the limits above,
// merge keys (<<) are applied, repeated keys are an error.
func citeParseYAML(ctx context.Context, src string) (any, error) {
	dec := yaml.NewDecoder(strings.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Invalid("parameter %q: empty YAML document", "input")
		}
		return nil, citeYAMLError(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, Invalid("parameter %q: YAML line %d: a second document; give one document holding the list", "input", next.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, citeYAMLError(err)
	}
	c := citeYAMLConv{ctx: ctx, active: map[*yaml.Node]bool{}}
	return c.value(&doc, 0)
}

// citeYAMLError turns a YAML library error ("yaml: line 3: ...") into a
// validation error of the input parameter.
func citeYAMLError(err error) error {
	msg, _ := strings.CutPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		return Invalid("parameter %q: YAML %s", "input", msg)
	}
	return Invalid("parameter %q: YAML: %s", "input", msg)
}

// citeYAMLConv converts a YAML node tree to plain values, counting what
// it produces.
type citeYAMLConv struct {
	ctx    context.Context
	values int                 // values produced, aliases expanded
	text   int                 // bytes of keys and scalars produced
	active map[*yaml.Node]bool // anchored nodes being expanded, to catch an alias inside its own anchor
}

func (c *citeYAMLConv) fail(n *yaml.Node, format string, args ...any) error {
	return Invalid("parameter %q: YAML line %d: %s", "input", n.Line, fmt.Sprintf(format, args...))
}

func (c *citeYAMLConv) addText(n int) error {
	c.text += n
	if c.text > citeMaxExpanded {
		return Errorf(TypeTooLarge, "parameter %q: YAML keys and values expand past %d bytes (aliases included)", "input", citeMaxExpanded)
	}
	return nil
}

func (c *citeYAMLConv) value(n *yaml.Node, depth int) (any, error) {
	if depth > citeMaxDepth {
		return nil, c.fail(n, "nested deeper than %d", citeMaxDepth)
	}
	c.values++
	if c.values > citeMaxYAMLValues {
		return nil, Errorf(TypeTooLarge, "parameter %q: YAML holds more than %d values (aliases included)", "input", citeMaxYAMLValues)
	}
	if c.values&4095 == 0 && c.ctx.Err() != nil {
		return nil, context.Cause(c.ctx)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth)
	case yaml.AliasNode:
		if c.active[n.Alias] {
			return nil, c.fail(n, "alias *%s is inside its own anchor", wfTrunc(n.Value, 60))
		}
		c.active[n.Alias] = true
		v, err := c.value(n.Alias, depth)
		delete(c.active, n.Alias)
		return v, err
	case yaml.ScalarNode:
		if err := c.addText(len(n.Value)); err != nil {
			return nil, err
		}
		if n.ShortTag() == "!!null" {
			return nil, nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		if len(n.Content) > citeMaxEntries {
			return nil, Errorf(TypeTooLarge, "parameter %q: YAML line %d: a list has more than %d items", "input", n.Line, citeMaxEntries)
		}
		if n.Anchor != "" {
			c.active[n] = true
			defer delete(c.active, n)
		}
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		if n.Anchor != "" {
			c.active[n] = true
			defer delete(c.active, n)
		}
		return c.mapping(n, depth)
	}
	return nil, c.fail(n, "unexpected YAML node kind %d", n.Kind)
}

// mapping converts a mapping: keys must be scalars and appear once; the
// mappings a merge key (<<) names fill in the keys not given.
func (c *citeYAMLConv) mapping(n *yaml.Node, depth int) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, c.fail(k, "a key must be a scalar, not a list or a map")
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if _, dup := out[k.Value]; dup {
			return nil, c.fail(k, "key %q is repeated", wfTrunc(k.Value, 60))
		}
		if err := c.addText(len(k.Value)); err != nil {
			return nil, err
		}
		val, err := c.value(v, depth+1)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	for _, m := range merges {
		v, err := c.value(m, depth+1)
		if err != nil {
			return nil, err
		}
		srcs, ok := v.([]any)
		if !ok {
			srcs = []any{v}
		}
		for _, s := range srcs {
			sm, ok := s.(map[string]any)
			if !ok {
				return nil, c.fail(m, "<< merges a map or a list of maps, got %s", KindOf(s))
			}
			for k, val := range sm {
				if _, set := out[k]; !set {
					out[k] = val
				}
			}
		}
	}
	return out, nil
}

// ---- validation ----

// citeKind groups entry types by how they are formatted.
func citeKind(typ string) string {
	switch typ {
	case "article":
		return "article"
	case "book", "booklet", "manual", "proceedings":
		return "book"
	case "inbook", "incollection":
		return "chapter"
	case "inproceedings", "conference":
		return "paper"
	case "phdthesis", "mastersthesis", "thesis":
		return "thesis"
	case "techreport", "report":
		return "report"
	case "online", "electronic", "www", "webpage":
		return "web"
	}
	return "misc"
}

// citeCheck returns e's missing required fields, errors and warnings.
// dup says the key was seen before.
func citeCheck(e *citeEntry, dup bool) (missing, errs, warns []string) {
	req, known := citeRequired[e.typ]
	if !known {
		warns = append(warns, fmt.Sprintf("unknown entry type %q; checked and formatted as misc", e.typ))
	}
	for _, r := range req {
		alts := strings.Split(r, "|")
		if !slices.ContainsFunc(alts, e.has) {
			missing = append(missing, strings.Join(alts, " or "))
		}
	}
	for _, m := range missing {
		errs = append(errs, "missing required field "+m)
	}
	if dup {
		errs = append(errs, fmt.Sprintf("duplicate key %q", e.key))
	}
	if y := e.f("year"); y != "" && !(len(y) == 4 && citeAllDigits(y)) {
		warns = append(warns, fmt.Sprintf("year %q is not a four-digit year", y))
	}
	if d := e.f("doi"); d != "" && !strings.HasPrefix(citeBareDOI(d), "10.") {
		warns = append(warns, fmt.Sprintf("doi %q does not start with 10.", d))
	}
	if u := e.f("url"); u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		warns = append(warns, fmt.Sprintf("url %q is not an http or https URL", u))
	}
	if e.authors.others && len(e.authors.names) == 0 {
		warns = append(warns, "author is only \"others\"")
	}
	warns = append(warns, e.problems...)
	return missing, errs, warns
}

func citeValidate(entries []*citeEntry) map[string]any {
	seen := map[string]bool{}
	out := make([]any, 0, len(entries))
	nerr, nwarn := 0, 0
	for _, e := range entries {
		missing, errs, warns := citeCheck(e, seen[e.key])
		seen[e.key] = true
		nerr += len(errs)
		nwarn += len(warns)
		out = append(out, map[string]any{
			"key":      e.key,
			"type":     e.typ,
			"valid":    len(errs) == 0,
			"missing":  citeAnyStrings(missing),
			"errors":   citeAnyStrings(errs),
			"warnings": citeAnyStrings(warns),
		})
	}
	return map[string]any{
		"valid":         nerr == 0,
		"count":         len(entries),
		"error_count":   nerr,
		"warning_count": nwarn,
		"entries":       out,
	}
}

func citeAnyStrings(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// ---- formatting ----

// citeW writes one citation with markup, tracking the last visible
// character so punctuation is not doubled ("Why?." becomes "Why?").
type citeW struct {
	b      strings.Builder
	markup string
	tail   rune
}

func (w *citeW) esc(s string) string {
	switch w.markup {
	case "html":
		return html.EscapeString(s)
	case "markdown":
		return citeMDEscaper.Replace(s)
	}
	return s
}

var citeMDEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `_`, `\_`)

func (w *citeW) note(s string) {
	if r, _ := utf8.DecodeLastRuneInString(s); r != utf8.RuneError {
		w.tail = r
	}
}

// text writes plain text.
func (w *citeW) text(s string) {
	if s == "" {
		return
	}
	w.b.WriteString(w.esc(s))
	w.note(s)
}

// ital writes italic text.
func (w *citeW) ital(s string) {
	if s == "" {
		return
	}
	switch w.markup {
	case "html":
		w.b.WriteString("<i>" + w.esc(s) + "</i>")
	case "markdown":
		w.b.WriteString("*" + w.esc(s) + "*")
	default:
		w.b.WriteString(s)
	}
	w.note(s)
}

// punct writes p unless the text already ends in a mark that stands for
// it: a period after . ? !, a comma or colon after ? !.
func (w *citeW) punct(p string) {
	switch {
	case p == "." && strings.ContainsRune(".?!", w.tail):
		return
	case (p == "," || p == ":" || p == ";") && strings.ContainsRune("?!", w.tail):
		return
	}
	w.text(p)
}

// quoted writes “s” with p inside the quotes (American style) or, with
// british, ‘s’ and no punctuation.
func (w *citeW) quoted(s, p string, british bool) {
	if british {
		w.text("‘" + s + "’")
		return
	}
	w.text("“" + s)
	w.punct(p)
	inner := w.tail
	w.text("”")
	w.tail = inner // a following period is not doubled after “Why?”
}

// sep writes s (", " or ". ") as a separator: its punctuation is skipped
// as punct would, the space kept.
func (w *citeW) sep(s string) {
	if p := strings.TrimRight(s, " "); p != "" {
		w.punct(p)
	}
	if strings.HasSuffix(s, " ") {
		w.b.WriteString(" ")
	}
}

func (w *citeW) String() string { return strings.TrimSpace(w.b.String()) }

// citeDOI returns the DOI without a resolver prefix.
func citeBareDOI(d string) string {
	for _, p := range []string{"https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:", "DOI:"} {
		if strings.HasPrefix(d, p) {
			return strings.TrimSpace(d[len(p):])
		}
	}
	return d
}

// citeOrdinal turns an edition "2" into "2nd"; text is kept.
func citeOrdinal(s string) string {
	n, err := strconv.Atoi(s)
	if err != nil {
		return s
	}
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return s + suffix
}

var citeMonthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"}

// citeMonth returns the month's full name, or s as given.
func citeMonth(s string) string {
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 12 {
		return citeMonthNames[n-1]
	}
	if m, ok := bibMonths[strings.ToLower(s)]; ok {
		return m
	}
	return s
}

// citeMonthAbbr abbreviates a month as MLA and IEEE do: Jan., Feb., ...,
// May, June, July, Sept.
func citeMonthAbbr(s string) string {
	m := citeMonth(s)
	switch m {
	case "May", "June", "July":
		return m
	case "September":
		return "Sept."
	}
	if slices.Contains(citeMonthNames, m) {
		return m[:3] + "."
	}
	return m
}

// citePages says "p. 5" or "pp. 5–9".
func citePages(pages string) string {
	if strings.ContainsAny(pages, "–-,") {
		return "pp. " + pages
	}
	return "p. " + pages
}

func (e *citeEntry) pages() string {
	return strings.ReplaceAll(strings.ReplaceAll(e.f("pages"), "--", "–"), "-", "–")
}

// publisher returns the publishing body: publisher, else organization,
// else institution (else school, for a thesis).
func (e *citeEntry) publisher() string {
	for _, k := range []string{"publisher", "organization", "institution", "school"} {
		if v := e.f(k); v != "" {
			return v
		}
	}
	return ""
}

// container is where a web page or misc item appeared.
func (e *citeEntry) container() string {
	for _, k := range []string{"howpublished", "organization", "publisher", "journal"} {
		if v := e.f(k); v != "" && !strings.Contains(v, "://") {
			return v
		}
	}
	return ""
}

func (e *citeEntry) thesisKind(long bool) string {
	if e.typ == "mastersthesis" || strings.Contains(strings.ToLower(e.f("type")), "master") ||
		strings.EqualFold(e.f("type"), "mathesis") {
		if long {
			return "Master's thesis"
		}
		return "MA thesis"
	}
	if long {
		return "Doctoral dissertation"
	}
	return "PhD dissertation"
}

// link is the DOI as a URL, or the URL.
func (e *citeEntry) link() string {
	if d := e.f("doi"); d != "" {
		return "https://doi.org/" + citeBareDOI(d)
	}
	return e.f("url")
}

func citeFormatAll(ctx context.Context, entries []*citeEntry, style, order, markup string) (any, error) {
	if order == "style" {
		order = "author"
		if style == "ieee" {
			order = "input"
		}
	}
	if order == "author" {
		entries = slices.Clone(entries)
		slices.SortStableFunc(entries, func(a, b *citeEntry) int {
			return cmp.Or(strings.Compare(a.sortKey(), b.sortKey()), strings.Compare(a.f("year"), b.f("year")),
				strings.Compare(strings.ToLower(a.f("title")), strings.ToLower(b.f("title"))))
		})
	}
	seen := map[string]bool{}
	citations := make([]any, 0, len(entries))
	warnings := []any{}
	var bib strings.Builder
	for i, e := range entries {
		if i&63 == 63 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		missing, _, warns := citeCheck(e, false)
		if seen[e.key] {
			warnings = append(warnings, map[string]any{"key": e.key, "message": fmt.Sprintf("duplicate key %q", e.key)})
		}
		seen[e.key] = true
		if len(missing) > 0 {
			warnings = append(warnings, map[string]any{"key": e.key, "message": "missing required field " + strings.Join(missing, ", ")})
		}
		for _, w := range warns {
			warnings = append(warnings, map[string]any{"key": e.key, "message": w})
		}
		w := &citeW{markup: markup}
		n := i + 1
		switch style {
		case "apa":
			citeAPA(w, e)
		case "mla":
			citeMLA(w, e)
		case "chicago":
			citeChicago(w, e)
		case "harvard":
			citeHarvard(w, e)
		case "ieee":
			citeIEEE(w, e, n)
		}
		c := w.String()
		if bib.Len() > 0 {
			bib.WriteByte('\n')
		}
		bib.WriteString(c)
		citations = append(citations, map[string]any{
			"key":      e.key,
			"type":     e.typ,
			"number":   n,
			"citation": c,
			"in_text":  citeInText(e, style, n, markup),
		})
	}
	return map[string]any{
		"style":        style,
		"count":        len(citations),
		"citations":    citations,
		"bibliography": bib.String(),
		"warnings":     warnings,
	}, nil
}

// sortKey orders entries by first author (or editor, or title without a
// leading article).
func (e *citeEntry) sortKey() string {
	if n := e.leadNames(); len(n.names) > 0 {
		m := n.names[0]
		return strings.ToLower(citeJoinNonEmpty(" ", m.last, m.von, m.first))
	}
	t := strings.ToLower(e.f("title"))
	for _, a := range []string{"the ", "a ", "an "} {
		if strings.HasPrefix(t, a) {
			return t[len(a):]
		}
	}
	return t
}

// leadNames are the authors, or the editors when there are none.
func (e *citeEntry) leadNames() citeNames {
	if len(e.authors.names) > 0 {
		return e.authors
	}
	return e.editors
}

// edLabel is "(Ed.)"-like: one or many.
func citeEdLabel(n citeNames, one, many string) string {
	if len(n.names) > 1 || n.others {
		return many
	}
	return one
}

// title is the title, or "[Untitled]" when there is none.
func (e *citeEntry) title() string {
	return citeOr(e.f("title"), "[Untitled]")
}

// shortTitle is the first words of the title, for in-text citations of
// works without an author.
func (e *citeEntry) shortTitle() string {
	ws := strings.Fields(e.title())
	if len(ws) > 4 {
		ws = ws[:4]
	}
	return strings.TrimRight(strings.Join(ws, " "), ".,:;")
}

func citeInText(e *citeEntry, style string, n int, markup string) string {
	if style == "ieee" {
		return fmt.Sprintf("[%d]", n)
	}
	names := e.leadNames()
	var last []string
	for _, m := range names.names {
		last = append(last, m.lastFull())
	}
	year := e.f("year")
	var who string
	switch {
	case len(last) == 0:
		who = "“" + e.shortTitle() + "”"
	case style == "apa":
		switch {
		case len(last) >= 3 || names.others:
			who = last[0] + " et al."
		case len(last) == 2:
			who = last[0] + " & " + last[1]
		default:
			who = last[0]
		}
	case style == "mla" || style == "harvard":
		switch {
		case len(last) >= 3 && style == "mla", len(last) >= 4, names.others:
			who = last[0] + " et al."
		default:
			who = citeList(last, "and", false, false)
		}
	default: // chicago
		switch {
		case len(last) >= 4 || names.others:
			who = last[0] + " et al."
		default:
			who = citeList(last, "and", true, false)
		}
	}
	w := &citeW{markup: markup}
	switch style {
	case "mla":
		w.text("(" + who + ")")
	case "chicago":
		w.text("(" + citeJoinNonEmpty(" ", who, citeOr(year, "n.d.")) + ")")
	case "harvard":
		w.text("(" + who + ", " + citeOr(year, "no date") + ")")
	default:
		w.text("(" + who + ", " + citeOr(year, "n.d.") + ")")
	}
	return w.String()
}

func citeOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// citeAPANames: "Smith, J., Doe, A., & Lee, K."; 21 or more: the first
// 19, an ellipsis and the last.
func citeAPANames(n citeNames) string {
	items := make([]string, len(n.names))
	for i := range n.names {
		items[i] = n.names[i].initialsLast(" ")
	}
	if len(items) >= 21 {
		return strings.Join(items[:19], ", ") + ", . . . " + items[len(items)-1]
	}
	if n.others {
		return strings.Join(items, ", ") + ", et al."
	}
	if len(items) == 2 {
		return items[0] + ", & " + items[1]
	}
	return citeList(items, "&", true, false)
}

// citeAPAEditors: "A. Editor & B. Editor (Eds.)".
func citeAPAEditors(n citeNames) string {
	items := make([]string, len(n.names))
	for i := range n.names {
		items[i] = n.names[i].initialsFirst()
	}
	s := citeList(items, "&", true, false)
	if n.others {
		s += " et al."
	}
	return s + " " + citeEdLabel(n, "(Ed.)", "(Eds.)")
}

func citeAPA(w *citeW, e *citeEntry) {
	kind := citeKind(e.typ)
	year := citeOr(e.f("year"), "n.d.")
	title := e.title()
	italTitle := kind == "book" || kind == "thesis" || kind == "report" || kind == "web" || kind == "misc"
	writeTitle := func() {
		if italTitle {
			w.ital(title)
		} else {
			w.text(title)
		}
		switch kind {
		case "book":
			if ed := e.f("edition"); ed != "" {
				w.text(" (" + citeOrdinal(ed) + " ed.)")
			}
		case "thesis":
			w.text(" [" + citeJoinNonEmpty(", ", e.thesisKind(true), e.f("school")) + "]")
		case "report":
			if num := e.f("number"); num != "" {
				w.text(" (Report No. " + num + ")")
			}
		}
	}
	switch {
	case len(e.authors.names) > 0:
		w.text(citeAPANames(e.authors))
		w.sep(". ")
		w.text("(" + year + "). ")
		writeTitle()
		w.sep(". ")
	case len(e.editors.names) > 0 && (kind == "book" || kind == "misc"):
		w.text(citeAPANames(e.editors) + " " + citeEdLabel(e.editors, "(Ed.)", "(Eds.)") + ". ")
		w.text("(" + year + "). ")
		writeTitle()
		w.sep(". ")
	default:
		writeTitle()
		w.sep(". ")
		w.text("(" + year + "). ")
	}
	switch kind {
	case "article":
		if j := e.f("journal"); j != "" {
			w.ital(j)
			if v := e.f("volume"); v != "" {
				w.text(", ")
				w.ital(v)
				if num := e.f("number"); num != "" {
					w.text("(" + num + ")")
				}
			}
			if pg := e.pages(); pg != "" {
				w.text(", " + pg)
			}
			w.sep(". ")
		}
	case "chapter", "paper":
		if bt := e.f("booktitle"); bt != "" {
			w.text("In ")
			if len(e.editors.names) > 0 {
				w.text(citeAPAEditors(e.editors) + ", ")
			}
			w.ital(bt)
			if pg := e.pages(); pg != "" {
				w.text(" (" + citePages(pg) + ")")
			}
			w.sep(". ")
		}
		if pub := e.publisher(); pub != "" {
			w.text(pub)
			w.sep(". ")
		}
	case "book", "report":
		if pub := e.publisher(); pub != "" {
			w.text(pub)
			w.sep(". ")
		}
	case "web", "misc":
		if c := e.container(); c != "" {
			w.text(c)
			w.sep(". ")
		}
	}
	if l := e.link(); l != "" {
		w.text(l)
	}
}

// citeMLANames: "Smith, John", "Smith, John, and Jane Doe", "Smith, John, et al."
func citeMLANames(n citeNames) string {
	switch {
	case len(n.names) == 0:
		return ""
	case len(n.names) >= 3 || n.others:
		return n.names[0].inverted() + ", et al."
	case len(n.names) == 2:
		return n.names[0].inverted() + ", and " + n.names[1].natural()
	}
	return n.names[0].inverted()
}

func citeNaturalList(n citeNames, serial bool) string {
	items := make([]string, len(n.names))
	for i := range n.names {
		items[i] = n.names[i].natural()
	}
	s := citeList(items, "and", serial, false)
	if n.others {
		s += " et al."
	}
	return s
}

// citeNoScheme drops http:// and https:// (MLA prints URLs without them).
func citeNoScheme(u string) string {
	return strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
}

func citeMLA(w *citeW, e *citeEntry) {
	kind := citeKind(e.typ)
	if len(e.authors.names) > 0 {
		w.text(citeMLANames(e.authors))
		w.sep(". ")
	} else if len(e.editors.names) > 0 && kind == "book" {
		w.text(citeMLANames(e.editors) + ", " + citeEdLabel(e.editors, "editor", "editors"))
		w.sep(". ")
	}
	title := e.title()
	quotedTitle := kind == "article" || kind == "chapter" || kind == "paper" || kind == "web" && e.container() != ""
	if quotedTitle {
		w.quoted(title, ".", false)
		w.text(" ")
	} else {
		w.ital(title)
		w.sep(". ")
	}
	// The container and its elements, separated by commas.
	var elems []func()
	add := func(f func()) { elems = append(elems, f) }
	addText := func(s string) {
		if s != "" {
			add(func() { w.text(s) })
		}
	}
	switch kind {
	case "article":
		if j := e.f("journal"); j != "" {
			add(func() { w.ital(j) })
		}
		if v := e.f("volume"); v != "" {
			addText("vol. " + v)
		}
		if num := e.f("number"); num != "" {
			addText("no. " + num)
		}
		addText(citeJoinNonEmpty(" ", citeMonthAbbrIf(e.f("month")), e.f("year")))
		if pg := e.pages(); pg != "" {
			addText(citePages(pg))
		}
	case "chapter", "paper":
		if bt := e.f("booktitle"); bt != "" {
			add(func() { w.ital(bt) })
		}
		if len(e.editors.names) > 0 {
			addText("edited by " + citeNaturalList(e.editors, true))
		}
		if ed := e.f("edition"); ed != "" {
			addText(citeOrdinal(ed) + " ed.")
		}
		addText(e.publisher())
		addText(e.f("year"))
		if pg := e.pages(); pg != "" {
			addText(citePages(pg))
		}
	case "book", "report", "misc":
		if ed := e.f("edition"); ed != "" {
			addText(citeOrdinal(ed) + " ed.")
		}
		if kind == "misc" {
			addText(e.container())
		} else {
			addText(e.publisher())
		}
		addText(e.f("year"))
	case "thesis":
		addText(e.f("year"))
	case "web":
		if c := e.container(); c != "" {
			add(func() { w.ital(c) })
		}
		addText(citeJoinNonEmpty(" ", citeMonthAbbrIf(e.f("month")), e.f("year")))
	}
	if d := e.f("doi"); d != "" {
		addText("https://doi.org/" + citeBareDOI(d))
	} else if u := e.f("url"); u != "" {
		addText(citeNoScheme(u))
	}
	for i, f := range elems {
		if i > 0 {
			w.sep(", ")
		}
		f()
	}
	if len(elems) > 0 {
		w.punct(".")
	}
	if kind == "thesis" {
		w.text(" " + citeJoinNonEmpty(", ", e.f("school"), e.thesisKind(false)))
		w.punct(".")
	}
}

// citeChicagoNames: "Smith, John, Jane Doe, and Kim Lee"; more than ten:
// the first seven and et al.
func citeChicagoNames(n citeNames) string {
	k := len(n.names)
	if k == 0 {
		return ""
	}
	items := []string{n.names[0].inverted()}
	limit := k
	if k > 10 {
		limit = 7
	}
	for i := 1; i < limit; i++ {
		items = append(items, n.names[i].natural())
	}
	if k > 10 || n.others {
		return strings.Join(items, ", ") + ", et al."
	}
	if len(items) == 2 {
		return items[0] + ", and " + items[1]
	}
	return citeList(items, "and", true, false)
}

func citeChicago(w *citeW, e *citeEntry) {
	kind := citeKind(e.typ)
	if len(e.authors.names) > 0 {
		w.text(citeChicagoNames(e.authors))
		w.sep(". ")
	} else if len(e.editors.names) > 0 && kind == "book" {
		w.text(citeChicagoNames(e.editors) + ", " + citeEdLabel(e.editors, "ed", "eds"))
		w.sep(". ")
	}
	title := e.title()
	if kind == "article" || kind == "chapter" || kind == "paper" || kind == "thesis" || kind == "web" {
		w.quoted(title, ".", false)
		w.text(" ")
	} else {
		w.ital(title)
		w.sep(". ")
	}
	place := func(pub string) {
		// "Address: Publisher, Year."
		addr := e.f("address")
		switch {
		case addr != "" && pub != "":
			w.text(addr + ": " + pub)
		default:
			w.text(addr + pub)
		}
		if y := e.f("year"); y != "" {
			if addr != "" || pub != "" {
				w.text(", ")
			}
			w.text(y)
		}
		w.sep(". ")
	}
	switch kind {
	case "article":
		if j := e.f("journal"); j != "" {
			w.ital(j)
			if v := e.f("volume"); v != "" {
				w.text(" " + v)
			}
			if num := e.f("number"); num != "" {
				w.text(", no. " + num)
			}
			if y := e.f("year"); y != "" {
				w.text(" (" + citeJoinNonEmpty(" ", citeMonthIfAny(e.f("month")), y) + ")")
			}
			if pg := e.pages(); pg != "" {
				w.text(": " + pg)
			}
			w.sep(". ")
		}
	case "chapter", "paper":
		if bt := e.f("booktitle"); bt != "" {
			w.text("In ")
			w.ital(bt)
			if len(e.editors.names) > 0 {
				w.text(", edited by " + citeNaturalList(e.editors, true))
			}
			if pg := e.pages(); pg != "" {
				w.text(", " + pg)
			}
			w.sep(". ")
		}
		place(e.publisher())
	case "book", "report":
		if ed := e.f("edition"); ed != "" {
			w.text(citeOrdinal(ed) + " ed. ")
		}
		if num := e.f("number"); kind == "report" && num != "" {
			w.text("Report " + num + ". ")
		}
		place(e.publisher())
	case "thesis":
		deg := "PhD diss."
		if e.thesisKind(false) == "MA thesis" {
			deg = "Master’s thesis"
		}
		w.text(citeJoinNonEmpty(", ", deg, e.f("school"), e.f("year")))
		w.sep(". ")
	case "web", "misc":
		if c := e.container(); c != "" {
			w.text(c)
			w.sep(". ")
		}
		if y := e.f("year"); y != "" {
			w.text(citeJoinNonEmpty(" ", citeMonthIfAny(e.f("month")), y))
			w.sep(". ")
		}
	}
	if l := e.link(); l != "" {
		w.text(l)
		w.punct(".")
	}
}

func citeMonthIfAny(s string) string {
	if s == "" {
		return ""
	}
	return citeMonth(s)
}

// citeHarvardNames: "Smith, J.", "Smith, J. and Doe, A.", "Smith, J., Doe,
// A. and Lee, K."; four or more: "Smith, J. et al."
func citeHarvardNames(n citeNames) string {
	k := len(n.names)
	switch {
	case k == 0:
		return ""
	case k >= 4 || n.others:
		return n.names[0].initialsLast("") + " et al."
	}
	items := make([]string, k)
	for i := range n.names {
		items[i] = n.names[i].initialsLast("")
	}
	return citeList(items, "and", false, false)
}

func citeHarvard(w *citeW, e *citeEntry) {
	kind := citeKind(e.typ)
	year := citeOr(e.f("year"), "no date")
	title := e.title()
	quotedTitle := kind == "article" || kind == "chapter" || kind == "paper"
	switch {
	case len(e.authors.names) > 0:
		w.text(citeHarvardNames(e.authors) + " (" + year + ") ")
	case len(e.editors.names) > 0 && kind == "book":
		w.text(citeHarvardNames(e.editors) + " (" + citeEdLabel(e.editors, "ed.", "eds.") + ") (" + year + ") ")
	default:
		if quotedTitle {
			w.quoted(title, "", true)
		} else {
			w.ital(title)
		}
		w.text(" (" + year + ") ")
		title = ""
	}
	if title != "" {
		if quotedTitle {
			w.quoted(title, "", true)
			w.text(", ")
		} else {
			w.ital(title)
			w.sep(". ")
		}
	} else if quotedTitle {
		w.text(", ")
	}
	place := func(pub string) {
		addr := e.f("address")
		if addr != "" && pub != "" {
			w.text(addr + ": " + pub)
		} else {
			w.text(addr + pub)
		}
	}
	switch kind {
	case "article":
		if j := e.f("journal"); j != "" {
			w.ital(j)
			if v := e.f("volume"); v != "" {
				w.text(", " + v)
				if num := e.f("number"); num != "" {
					w.text("(" + num + ")")
				}
			}
			if pg := e.pages(); pg != "" {
				w.text(", " + citePages(pg))
			}
			w.sep(". ")
		}
	case "chapter", "paper":
		if bt := e.f("booktitle"); bt != "" {
			w.text("in ")
			if len(e.editors.names) > 0 {
				w.text(citeHarvardNames(e.editors) + " (" + citeEdLabel(e.editors, "ed.", "eds.") + ") ")
			}
			w.ital(bt)
			w.sep(". ")
		}
		if pub := e.publisher(); pub != "" || e.f("address") != "" {
			place(pub)
			if pg := e.pages(); pg != "" {
				w.text(", " + citePages(pg))
			}
			w.sep(". ")
		} else if pg := e.pages(); pg != "" {
			w.text(citePages(pg))
			w.sep(". ")
		}
	case "book", "report":
		if ed := e.f("edition"); ed != "" {
			w.text(citeOrdinal(ed) + " edn. ")
		}
		if num := e.f("number"); kind == "report" && num != "" {
			w.text("Report " + num + ". ")
		}
		if pub := e.publisher(); pub != "" || e.f("address") != "" {
			place(pub)
			w.sep(". ")
		}
	case "thesis":
		deg := "PhD thesis. "
		if e.thesisKind(false) == "MA thesis" {
			deg = "MA thesis. "
		}
		w.text(deg)
		if s := e.f("school"); s != "" {
			w.text(s)
			w.sep(". ")
		}
	case "misc":
		if c := e.container(); c != "" {
			w.text(c)
			w.sep(". ")
		}
	}
	if l := e.link(); l != "" {
		w.text("Available at: " + l)
		if d := e.f("urldate"); d != "" && e.f("doi") == "" {
			w.text(" (Accessed: " + d + ")")
		}
		w.punct(".")
	}
}

// citeIEEENames: "J. Smith, A. Doe, and K. Lee"; seven or more: "J. Smith et al."
func citeIEEENames(n citeNames) string {
	k := len(n.names)
	if k == 0 {
		return ""
	}
	if k >= 7 || n.others {
		return n.names[0].initialsFirst() + " et al."
	}
	items := make([]string, k)
	for i := range n.names {
		items[i] = n.names[i].initialsFirst()
	}
	return citeList(items, "and", true, false)
}

func citeIEEE(w *citeW, e *citeEntry, num int) {
	kind := citeKind(e.typ)
	w.text(fmt.Sprintf("[%d] ", num))
	if len(e.authors.names) > 0 {
		w.text(citeIEEENames(e.authors))
		w.sep(", ")
	} else if len(e.editors.names) > 0 && kind == "book" {
		w.text(citeIEEENames(e.editors) + ", " + citeEdLabel(e.editors, "Ed.", "Eds."))
		w.sep(", ")
	}
	title := e.title()
	var elems []string
	date := citeJoinNonEmpty(" ", citeMonthAbbrIf(e.f("month")), e.f("year"))
	switch kind {
	case "book":
		w.ital(title)
		if ed := e.f("edition"); ed != "" {
			w.text(", " + citeOrdinal(ed) + " ed")
		}
		w.sep(". ")
		pub := e.publisher()
		if a := e.f("address"); a != "" && pub != "" {
			w.text(a + ": " + pub)
		} else {
			w.text(a + pub)
		}
		if date != "" {
			if pub != "" || e.f("address") != "" {
				w.text(", ")
			}
			w.text(date)
		}
		w.punct(".")
	case "web":
		w.quoted(title, ".", false)
		if c := e.container(); c != "" {
			w.text(" " + c)
			w.punct(".")
		}
		if u := e.f("url"); u != "" {
			w.text(" [Online]. Available: " + u)
		}
		if d := e.f("urldate"); d != "" {
			w.text(" (accessed " + d + ")")
		}
		if w.tail != '.' && w.tail != ')' {
			w.punct(".")
		}
		return
	default:
		w.quoted(title, ",", false)
		w.text(" ")
		switch kind {
		case "article":
			elems = append(elems, "\x00"+e.f("journal"))
			if v := e.f("volume"); v != "" {
				elems = append(elems, "vol. "+v)
			}
			if n := e.f("number"); n != "" {
				elems = append(elems, "no. "+n)
			}
			if pg := e.pages(); pg != "" {
				elems = append(elems, citePages(pg))
			}
			elems = append(elems, date)
		case "chapter", "paper":
			if bt := e.f("booktitle"); bt != "" {
				elems = append(elems, "in\x00"+bt)
			}
			if len(e.editors.names) > 0 && kind == "chapter" {
				elems = append(elems, citeIEEENames(e.editors)+", "+citeEdLabel(e.editors, "Ed.", "Eds."))
			}
			elems = append(elems, e.f("address"))
			if kind == "chapter" {
				elems = append(elems, e.publisher())
			}
			elems = append(elems, date)
			if pg := e.pages(); pg != "" {
				elems = append(elems, citePages(pg))
			}
		case "thesis":
			deg := "Ph.D. dissertation"
			if e.thesisKind(false) == "MA thesis" {
				deg = "M.S. thesis"
			}
			elems = append(elems, deg, e.f("school"), e.f("address"), date)
		case "report":
			elems = append(elems, e.publisher(), e.f("address"))
			if n := e.f("number"); n != "" {
				elems = append(elems, "Tech. Rep. "+n)
			} else {
				elems = append(elems, "Tech. Rep.")
			}
			elems = append(elems, date)
		default:
			elems = append(elems, e.container(), date)
		}
	}
	first := true
	for _, el := range elems {
		if el == "" || el == "\x00" || el == "in\x00" {
			continue
		}
		if !first {
			w.sep(", ")
		}
		first = false
		if pre, it, ok := strings.Cut(el, "\x00"); ok {
			if pre != "" {
				w.text(pre + " ")
			}
			w.ital(it)
			continue
		}
		w.text(el)
	}
	if d := e.f("doi"); d != "" {
		if !first {
			w.sep(", ")
		}
		w.text("doi: " + citeBareDOI(d))
		first = false
	}
	if !first {
		w.punct(".")
	}
	if u := e.f("url"); u != "" && e.f("doi") == "" {
		w.text(" [Online]. Available: " + u)
	}
}

func citeMonthAbbrIf(s string) string {
	if s == "" {
		return ""
	}
	return citeMonthAbbr(s)
}
