package citation

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Validation and formatting for citation-formatter: required fields, the
// citation writer, sorting and in-text citations.

// kindOf groups entry types by how they are formatted.
func kindOf(typ string) string {
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

// check returns e's missing required fields, errors and warnings.
// dup says the key was seen before.
func check(e *entry, dup bool) (missing, errs, warns []string) {
	req, known := required[e.typ]
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
	if y := e.f("year"); y != "" && !(len(y) == 4 && allDigits(y)) {
		warns = append(warns, fmt.Sprintf("year %q is not a four-digit year", y))
	}
	if d := e.f("doi"); d != "" && !strings.HasPrefix(bareDOI(d), "10.") {
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

func validate(entries []*entry) map[string]any {
	seen := map[string]bool{}
	out := make([]any, 0, len(entries))
	nerr, nwarn := 0, 0
	for _, e := range entries {
		missing, errs, warns := check(e, seen[e.key])
		seen[e.key] = true
		nerr += len(errs)
		nwarn += len(warns)
		out = append(out, map[string]any{
			"key":      e.key,
			"type":     e.typ,
			"valid":    len(errs) == 0,
			"missing":  anyStrings(missing),
			"errors":   anyStrings(errs),
			"warnings": anyStrings(warns),
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

func anyStrings(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// ---- formatting ----

// writer writes one citation with markup, tracking the last visible
// character so punctuation is not doubled ("Why?." becomes "Why?").
type writer struct {
	b      strings.Builder
	markup string
	tail   rune
}

func (w *writer) esc(s string) string {
	switch w.markup {
	case "html":
		return html.EscapeString(s)
	case "markdown":
		return mdEscaper.Replace(s)
	}
	return s
}

var mdEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `_`, `\_`)

func (w *writer) note(s string) {
	if r, _ := utf8.DecodeLastRuneInString(s); r != utf8.RuneError {
		w.tail = r
	}
}

// text writes plain text.
func (w *writer) text(s string) {
	if s == "" {
		return
	}
	w.b.WriteString(w.esc(s))
	w.note(s)
}

// ital writes italic text.
func (w *writer) ital(s string) {
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
func (w *writer) punct(p string) {
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
func (w *writer) quoted(s, p string, british bool) {
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
func (w *writer) sep(s string) {
	if p := strings.TrimRight(s, " "); p != "" {
		w.punct(p)
	}
	if strings.HasSuffix(s, " ") {
		w.b.WriteString(" ")
	}
}

func (w *writer) String() string { return strings.TrimSpace(w.b.String()) }

// citeDOI returns the DOI without a resolver prefix.
func bareDOI(d string) string {
	for _, p := range []string{"https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:", "DOI:"} {
		if strings.HasPrefix(d, p) {
			return strings.TrimSpace(d[len(p):])
		}
	}
	return d
}

// ordinal turns an edition "2" into "2nd"; text is kept.
func ordinal(s string) string {
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

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"}

// monthName returns the month's full name, or s as given.
func monthName(s string) string {
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 12 {
		return monthNames[n-1]
	}
	if m, ok := bibMonths[strings.ToLower(s)]; ok {
		return m
	}
	return s
}

// monthAbbr abbreviates a month as MLA and IEEE do: Jan., Feb., ...,
// May, June, July, Sept.
func monthAbbr(s string) string {
	m := monthName(s)
	switch m {
	case "May", "June", "July":
		return m
	case "September":
		return "Sept."
	}
	if slices.Contains(monthNames, m) {
		return m[:3] + "."
	}
	return m
}

// pages says "p. 5" or "pp. 5–9".
func pages(pages string) string {
	if strings.ContainsAny(pages, "–-,") {
		return "pp. " + pages
	}
	return "p. " + pages
}

func (e *entry) pages() string {
	return strings.ReplaceAll(strings.ReplaceAll(e.f("pages"), "--", "–"), "-", "–")
}

// publisher returns the publishing body: publisher, else organization,
// else institution (else school, for a thesis).
func (e *entry) publisher() string {
	for _, k := range []string{"publisher", "organization", "institution", "school"} {
		if v := e.f(k); v != "" {
			return v
		}
	}
	return ""
}

// container is where a web page or misc item appeared.
func (e *entry) container() string {
	for _, k := range []string{"howpublished", "organization", "publisher", "journal"} {
		if v := e.f(k); v != "" && !strings.Contains(v, "://") {
			return v
		}
	}
	return ""
}

func (e *entry) thesisKind(long bool) string {
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
func (e *entry) link() string {
	if d := e.f("doi"); d != "" {
		return "https://doi.org/" + bareDOI(d)
	}
	return e.f("url")
}

func formatAll(ctx context.Context, entries []*entry, style, order, markup string) (any, error) {
	if order == "style" {
		order = "author"
		if style == "ieee" {
			order = "input"
		}
	}
	if order == "author" {
		entries = slices.Clone(entries)
		slices.SortStableFunc(entries, func(a, b *entry) int {
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
		missing, _, warns := check(e, false)
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
		w := &writer{markup: markup}
		n := i + 1
		switch style {
		case "apa":
			apa(w, e)
		case "mla":
			mla(w, e)
		case "chicago":
			chicago(w, e)
		case "harvard":
			harvard(w, e)
		case "ieee":
			ieee(w, e, n)
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
			"in_text":  inText(e, style, n, markup),
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
func (e *entry) sortKey() string {
	if n := e.leadNames(); len(n.names) > 0 {
		m := n.names[0]
		return strings.ToLower(joinNonEmpty(" ", m.last, m.von, m.first))
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
func (e *entry) leadNames() names {
	if len(e.authors.names) > 0 {
		return e.authors
	}
	return e.editors
}

// edLabel is "(Ed.)"-like: one or many.
func edLabel(n names, one, many string) string {
	if len(n.names) > 1 || n.others {
		return many
	}
	return one
}

// title is the title, or "[Untitled]" when there is none.
func (e *entry) title() string {
	return orDefault(e.f("title"), "[Untitled]")
}

// shortTitle is the first words of the title, for in-text citations of
// works without an author.
func (e *entry) shortTitle() string {
	ws := strings.Fields(e.title())
	if len(ws) > 4 {
		ws = ws[:4]
	}
	return strings.TrimRight(strings.Join(ws, " "), ".,:;")
}

func inText(e *entry, style string, n int, markup string) string {
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
			who = joinList(last, "and", false, false)
		}
	default: // chicago
		switch {
		case len(last) >= 4 || names.others:
			who = last[0] + " et al."
		default:
			who = joinList(last, "and", true, false)
		}
	}
	w := &writer{markup: markup}
	switch style {
	case "mla":
		w.text("(" + who + ")")
	case "chicago":
		w.text("(" + joinNonEmpty(" ", who, orDefault(year, "n.d.")) + ")")
	case "harvard":
		w.text("(" + who + ", " + orDefault(year, "no date") + ")")
	default:
		w.text("(" + who + ", " + orDefault(year, "n.d.") + ")")
	}
	return w.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
