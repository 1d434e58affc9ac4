package citation

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Names for citation-formatter: BibTeX name lists and the forms the styles print.

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
