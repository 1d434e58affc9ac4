package citation

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names for citation-formatter: BibTeX name lists and the forms the styles print.

// splitNames splits a BibTeX name list at " and " outside braces and
// parses each name. latex says whether to clean LaTeX from the parts.
func splitNames(s string, latex bool) (names, error) {
	var out names
	for _, raw := range splitAnd(s) {
		if len(out.names) == maxNames {
			return out, fmt.Errorf("more than %d names", maxNames)
		}
		if strings.EqualFold(raw, "others") {
			out.others = true
			continue
		}
		out.names = append(out.names, parseName(raw, latex))
	}
	return out, nil
}

// splitAnd splits at the word "and" (any case) outside braces.
func splitAnd(s string) []string {
	words := words(s, false)
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

// words splits s at white space (and ~ when tilde is set) outside
// braces. Commas stay in the words.
func words(s string, tilde bool) []string {
	var out []string
	depth, start := 0, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{':
			depth++
		case c == '}':
			depth--
		case depth == 0 && (isSpace(c) || tilde && c == '~'):
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

// splitCommas splits s at commas outside braces, trimming the parts.
func splitCommas(s string) []string {
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

// parseName parses "First von Last", "von Last, First" or
// "von Last, Jr, First".
func parseName(raw string, latex bool) name {
	clean := func(ws []string) string {
		s := strings.Join(ws, " ")
		if latex {
			return fromLatex(s)
		}
		return strings.TrimSpace(strings.NewReplacer("{", "", "}", "").Replace(s))
	}
	parts := splitCommas(raw)
	var n name
	switch len(parts) {
	case 1:
		ws := words(parts[0], true)
		if len(ws) == 1 {
			n.last = clean(ws)
			n.literal = strings.HasPrefix(ws[0], "{") && strings.HasSuffix(ws[0], "}")
			return n
		}
		// First: words before the first lowercase word (the last word is
		// always in Last); von: from there to the last lowercase word.
		vonStart, vonEnd := -1, -1
		for i, w := range ws[:len(ws)-1] {
			if lower(w) {
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
		ws := words(parts[0], true)
		i := 0
		for i < len(ws)-1 && lower(ws[i]) {
			i++
		}
		n.von, n.last = clean(ws[:i]), clean(ws[i:])
		if len(parts) == 2 {
			n.first = clean(words(parts[1], true))
		} else {
			n.jr = clean(words(parts[1], true))
			n.first = clean(words(strings.Join(parts[2:], " "), true))
		}
		if n.last == "" && n.von != "" {
			n.last, n.von = n.von, ""
		}
	}
	return n
}

// lower reports whether a word starts lowercase in BibTeX's sense: by
// its first letter outside braces, or inside a brace group that opens with
// a control sequence ({\"u}ber); other brace groups count as uppercase.
func lower(w string) bool {
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
func (n *name) lastFull() string {
	if n.von == "" {
		return n.last
	}
	return n.von + " " + n.last
}

// initials turns "Jean-Paul Marie" into "J.-P. M."; sep goes between the
// initials of separate words.
func initials(first, sep string) string {
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
func (n *name) inverted() string {
	if n.literal || n.first == "" {
		return joinNonEmpty(", ", n.lastFull(), n.jr)
	}
	return joinNonEmpty(", ", n.lastFull(), n.first, n.jr)
}

// natural is "First von Last, Jr" (MLA and Chicago after the first name).
func (n *name) natural() string {
	s := joinNonEmpty(" ", n.first, n.lastFull())
	return joinNonEmpty(", ", s, n.jr)
}

// initialsLast is "von Last, F. M., Jr." (APA) or "Last, F.M." (Harvard).
func (n *name) initialsLast(sep string) string {
	if n.literal || n.first == "" {
		return joinNonEmpty(", ", n.lastFull(), n.jr)
	}
	return joinNonEmpty(", ", n.lastFull(), initials(n.first, sep), n.jr)
}

// initialsFirst is "F. M. von Last, Jr." (IEEE, APA editors).
func (n *name) initialsFirst() string {
	if n.literal || n.first == "" {
		return joinNonEmpty(", ", n.lastFull(), n.jr)
	}
	return joinNonEmpty(", ", initials(n.first, " ")+" "+n.lastFull(), n.jr)
}

func joinNonEmpty(sep string, parts ...string) string {
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

// joinList joins names: "a", "a and b", "a, b and c"; serial puts a comma
// before the last conjunction of three or more (two, with pair2).
func joinList(items []string, conj string, serial, pair2 bool) string {
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
