package citation

import (
	"context"
	"fmt"
	"strings"

	"spellhost/tools"
)

// BibTeX input of citation-formatter: entries, @string macros, values.

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
	return tools.Invalid("parameter %q: BibTeX line %d: %s", "input", p.lineAt(pos), fmt.Sprintf(format, args...))
}

func (p *bibParser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool {
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

func (p *bibParser) parse() ([]*entry, error) {
	var out []*entry
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
		if len(out) == maxEntries {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: more than %d entries", "input", maxEntries)
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

func (p *bibParser) entry(at int, typ string, closer byte) (*entry, error) {
	p.pos++ // opener
	p.skipSpace()
	keyAt := p.pos
	for p.pos < len(p.src) && p.src[p.pos] != ',' && p.src[p.pos] != closer && !isSpace(p.src[p.pos]) {
		if p.src[p.pos] == '{' || p.src[p.pos] == '}' || p.src[p.pos] == '=' {
			return nil, p.fail(p.pos, "unexpected %q in the key of @%s", p.src[p.pos], typ)
		}
		p.pos++
	}
	key := p.src[keyAt:p.pos]
	if key == "" {
		return nil, p.fail(at, "@%s entry has no key", typ)
	}
	e := &entry{key: key, typ: typ, fields: map[string]string{}, line: p.lineAt(at)}
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
func (p *bibParser) fill(e *entry, raw map[string]string, order []string) error {
	for _, name := range order {
		v := raw[name]
		switch name {
		case "author", "editor":
			ns, err := splitNames(v, true)
			if err != nil {
				return tools.Invalid("parameter %q: entry %s field %s: %v", "input", e.key, name, err)
			}
			if name == "author" {
				e.authors = ns
			} else {
				e.editors = ns
			}
		case "url", "doi", "eprint", "file", "urldate":
			e.fields[name] = cleanURL(v)
		default:
			e.fields[name] = fromLatex(v)
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
		if b.Len() > maxInput || p.total+b.Len() > maxExpanded {
			return "", tools.Errorf(tools.TypeTooLarge, "parameter %q: @string macros expand past %d bytes", "input", maxExpanded)
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
			if depth > maxDepth {
				return "", p.fail(p.pos, "braces nested deeper than %d", maxDepth)
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
			if depth > maxDepth {
				return "", p.fail(p.pos, "braces nested deeper than %d", maxDepth)
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
