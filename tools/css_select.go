package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/net/html"
)

// A small CSS selector engine over golang.org/x/net/html trees, shared by
// web-scraper and webpage-monitor.
//
// Supported subset (cssSubset below is the user-facing summary):
//   - type selectors (div, case-insensitive) and the universal selector *
//   - #id and .class (case-sensitive), any number per compound
//   - attribute selectors [attr], [attr=value], and [attr~=v], [attr|=v],
//     [attr^=v], [attr$=v], [attr*=v]; values are identifiers or quoted
//     strings ('..' or "..", no escapes); a trailing " i" compares the
//     value case-insensitively
//   - the structural pseudo-classes :first-child, :last-child,
//     :only-child, :first-of-type, :last-of-type, :only-of-type,
//     :nth-child(an+b), :nth-last-child(an+b), :nth-of-type(an+b),
//     :nth-last-of-type(an+b) (also odd and even), :root and :empty, and
//     :not(compound)
//   - the descendant combinator (white space) and the child combinator >
//   - groups separated by commas
//
// Everything else (other pseudo-classes, pseudo-elements, the + and ~
// combinators, namespaces, backslash escapes) is a validation error naming
// the unsupported part.
//
// Matching is one depth-first pass over the tree: each compound of every
// group gets a bit, and a node's bit i is set when it matches compound i
// and its parent (child combinator) or some ancestor (descendant
// combinator) has bit i-1. That is exact, with no backtracking, in time
// proportional to nodes x compounds.

// Selector limits.
const (
	cssMaxLen       = 4 << 10 // bytes of one selector
	cssMaxCompounds = 64      // compound selectors over all groups of one selector
	cssCacheSize    = 1024    // compiled selectors kept for reuse
)

// cssSubset describes the supported syntax for parameter descriptions and
// error messages.
const cssSubset = `tag, *, #id, .class, tag.class, [attr], [attr=value] (also ~= |= ^= $= *=, and a trailing " i" ` +
	`for case-insensitive values), :first-child, :last-child, :only-child, :nth-child(an+b), :nth-last-child(an+b), ` +
	`:first-of-type, :last-of-type, :only-of-type, :nth-of-type(an+b), :nth-last-of-type(an+b), :root, :empty, ` +
	`:not(compound), descendant "a b", child "a > b" and comma-separated groups`

type cssAttr struct {
	key   string
	op    byte // 0 (present), '=', '~', '|', '^', '$', '*'
	val   string
	icase bool
}

// cssPseudo is a structural pseudo-class: the element's 1-based position
// among its element siblings (of its type with ofType, counted from the
// end with fromEnd) must be a*k+b for some k >= 0. :root and :empty have
// kinds of their own.
type cssPseudo struct {
	kind    byte // 'n' (nth family), 'r' (:root), 'e' (:empty)
	a, b    int
	ofType  bool
	fromEnd bool
}

type cssCompound struct {
	tag     string // lowercase; "" matches any element
	id      string
	classes []string
	attrs   []cssAttr
	pseudos []cssPseudo
	not     []cssCompound // :not(...) arguments; none may match
	comb    byte          // combinator to the previous compound: 0 (first of a group), ' ' or '>'
}

// cssSelector is a compiled selector; it is immutable and safe to share.
type cssSelector struct {
	src   string
	parts []cssCompound
	final uint64 // bits of the last compound of each group
	// What positions the walker must count for the pseudo-classes.
	needTotal, needType bool
}

// cssPos is an element's position among its element siblings, 1-based.
type cssPos struct {
	idx, total         int // among all element siblings
	typeIdx, typeTotal int // among the siblings of its tag
}

var (
	cssCache     sync.Map // string -> *cssSelector
	cssCacheUsed atomic.Int32
)

// cssCompile compiles sel, naming param in errors. Compiled selectors are
// cached.
func cssCompile(param, sel string) (*cssSelector, error) {
	if v, ok := cssCache.Load(sel); ok {
		return v.(*cssSelector), nil
	}
	if len(sel) > cssMaxLen {
		return nil, Errorf(TypeTooLarge, "parameter %q: selector of %d bytes exceeds the %d-byte limit", param, len(sel), cssMaxLen)
	}
	p := cssParser{src: sel, param: param}
	s, err := p.parse()
	if err != nil {
		return nil, err
	}
	if cssCacheUsed.Load() < cssCacheSize {
		if _, loaded := cssCache.LoadOrStore(sel, s); !loaded {
			cssCacheUsed.Add(1)
		}
	}
	return s, nil
}

type cssParser struct {
	src   string
	pos   int
	param string
}

func (p *cssParser) fail(format string, args ...any) error {
	return Invalid("parameter %q: selector %q: "+format, append([]any{p.param, p.src}, args...)...)
}

func (p *cssParser) unsupported(what string) error {
	return p.fail("unsupported syntax %s at offset %d; supported: %s", what, p.pos, cssSubset)
}

func (p *cssParser) skipSpace() bool {
	start := p.pos
	for p.pos < len(p.src) && cssIsSpace(p.src[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

func cssIsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func cssIdentByte(c byte, first bool) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80 || c == '-' ||
		!first && c >= '0' && c <= '9'
}

// ident reads an identifier (no escapes).
func (p *cssParser) ident() string {
	start := p.pos
	for p.pos < len(p.src) && cssIdentByte(p.src[p.pos], p.pos == start) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *cssParser) parse() (*cssSelector, error) {
	s := &cssSelector{src: p.src}
	p.skipSpace()
	if p.pos == len(p.src) {
		return nil, Invalid("parameter %q: empty selector", p.param)
	}
	comb := byte(0)
	for {
		c, err := p.compound()
		if err != nil {
			return nil, err
		}
		if len(s.parts) == cssMaxCompounds {
			return nil, Errorf(TypeTooLarge, "parameter %q: selector %q has more than %d compound selectors", p.param, p.src, cssMaxCompounds)
		}
		c.comb = comb
		s.noteNeeds(&c)
		s.parts = append(s.parts, c)
		space := p.skipSpace()
		if p.pos == len(p.src) {
			s.final |= 1 << (len(s.parts) - 1)
			return s, nil
		}
		switch ch := p.src[p.pos]; ch {
		case ',':
			s.final |= 1 << (len(s.parts) - 1)
			p.pos++
			p.skipSpace()
			if p.pos == len(p.src) {
				return nil, p.fail("expected a selector after ',' at offset %d", p.pos)
			}
			comb = 0
		case '>':
			p.pos++
			p.skipSpace()
			if p.pos == len(p.src) {
				return nil, p.fail("expected a selector after '>' at offset %d", p.pos)
			}
			comb = '>'
		case '+', '~':
			return nil, p.unsupported("combinator \"" + string(ch) + "\"")
		default:
			if !space {
				return nil, p.fail("unexpected %q at offset %d", ch, p.pos)
			}
			comb = ' '
		}
	}
}

// noteNeeds records which sibling counts c's pseudo-classes use.
func (s *cssSelector) noteNeeds(c *cssCompound) {
	for _, ps := range c.pseudos {
		if ps.kind == 'n' {
			s.needTotal = s.needTotal || ps.fromEnd
			s.needType = s.needType || ps.ofType
		}
	}
	for i := range c.not {
		s.noteNeeds(&c.not[i])
	}
}

// compound reads a compound selector: [tag|*] then #id, .class, [attr]
// and pseudo-classes.
func (p *cssParser) compound() (cssCompound, error) {
	return p.compoundIn(false)
}

// compoundIn reads a compound; inNot is set inside :not(), where a
// nested :not is refused.
func (p *cssParser) compoundIn(inNot bool) (cssCompound, error) {
	var c cssCompound
	start := p.pos
	if p.pos < len(p.src) && p.src[p.pos] == '*' {
		p.pos++
		if p.pos < len(p.src) && p.src[p.pos] == '|' {
			return c, p.unsupported("namespace prefix \"*|\"")
		}
	} else if p.pos < len(p.src) && cssIdentByte(p.src[p.pos], true) {
		c.tag = strings.ToLower(p.ident())
		if p.pos < len(p.src) && p.src[p.pos] == '|' {
			return c, p.unsupported("namespace prefix \"" + c.tag + "|\"")
		}
	}
	for p.pos < len(p.src) {
		switch ch := p.src[p.pos]; ch {
		case '#', '.':
			p.pos++
			name := p.ident()
			if name == "" {
				if p.pos < len(p.src) && p.src[p.pos] == '\\' {
					return c, p.unsupported("escape \"\\\"")
				}
				return c, p.fail("expected a name after %q at offset %d", ch, p.pos-1)
			}
			if ch == '#' {
				if c.id != "" && c.id != name {
					c.id = "\x00" // two different ids never match
				} else {
					c.id = name
				}
			} else {
				c.classes = append(c.classes, name)
			}
		case '[':
			a, err := p.attr()
			if err != nil {
				return c, err
			}
			c.attrs = append(c.attrs, a)
		case ':':
			if err := p.pseudo(&c, inNot); err != nil {
				return c, err
			}
		case '\\':
			return c, p.unsupported("escape \"\\\"")
		case '|':
			return c, p.unsupported("namespace separator \"|\"")
		default:
			if p.pos == start {
				if ch == '+' || ch == '~' {
					return c, p.unsupported("combinator \"" + string(ch) + "\"")
				}
				if ch == ',' || ch == '>' {
					return c, p.fail("expected a selector before %q at offset %d", ch, p.pos)
				}
				return c, p.fail("unexpected %q at offset %d", ch, p.pos)
			}
			return c, nil
		}
	}
	return c, nil
}

// pseudo reads a pseudo-class into c.
func (p *cssParser) pseudo(c *cssCompound, inNot bool) error {
	at := p.pos
	p.pos++ // ':'
	if p.pos < len(p.src) && p.src[p.pos] == ':' {
		p.pos++
		p.ident()
		what := p.src[at:p.pos]
		p.pos = at
		return p.unsupported("pseudo-element \"" + what + "\"")
	}
	name := strings.ToLower(p.ident())
	var ps cssPseudo
	ps.kind = 'n'
	switch name {
	case "first-child":
		ps.b = 1
	case "last-child":
		ps.b, ps.fromEnd = 1, true
	case "first-of-type":
		ps.b, ps.ofType = 1, true
	case "last-of-type":
		ps.b, ps.ofType, ps.fromEnd = 1, true, true
	case "only-child":
		c.pseudos = append(c.pseudos, cssPseudo{kind: 'n', b: 1})
		ps.b, ps.fromEnd = 1, true
	case "only-of-type":
		c.pseudos = append(c.pseudos, cssPseudo{kind: 'n', b: 1, ofType: true})
		ps.b, ps.ofType, ps.fromEnd = 1, true, true
	case "root":
		ps.kind = 'r'
	case "empty":
		ps.kind = 'e'
	case "nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type":
		ps.fromEnd = strings.Contains(name, "-last-")
		ps.ofType = strings.HasSuffix(name, "-of-type")
		arg, err := p.parens(at)
		if err != nil {
			return err
		}
		if ps.a, ps.b, err = cssParseNth(arg); err != nil {
			return p.fail(":%s(%s): %v", name, arg, err)
		}
	case "not":
		if inNot {
			p.pos = at
			return p.unsupported("nested \":not\"")
		}
		if p.pos >= len(p.src) || p.src[p.pos] != '(' {
			return p.fail("expected '(' after :not at offset %d", p.pos)
		}
		p.pos++
		p.skipSpace()
		start := p.pos
		inner, err := p.compoundIn(true)
		if err != nil {
			return err
		}
		if p.pos == start {
			return p.fail("expected a selector inside :not( at offset %d", p.pos)
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			if p.pos < len(p.src) && (p.src[p.pos] == ',' || p.src[p.pos] == '>' || cssIdentByte(p.src[p.pos], true)) {
				return p.unsupported("selector list or combinator inside :not()")
			}
			return p.fail("missing ')' for :not( at offset %d", at)
		}
		p.pos++
		c.not = append(c.not, inner)
		return nil
	default:
		what := p.src[at:p.pos]
		p.pos = at
		return p.unsupported("pseudo-class \"" + what + "\"")
	}
	if ps.kind != 'n' || !strings.HasPrefix(name, "nth-") {
		if p.pos < len(p.src) && p.src[p.pos] == '(' {
			return p.fail(":%s takes no argument (offset %d)", name, p.pos)
		}
	}
	c.pseudos = append(c.pseudos, ps)
	return nil
}

// parens reads "(...)" after a functional pseudo-class and returns what is
// inside, trimmed.
func (p *cssParser) parens(at int) (string, error) {
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return "", p.fail("expected '(' after %q at offset %d", p.src[at:p.pos], p.pos)
	}
	end := strings.IndexByte(p.src[p.pos:], ')')
	if end < 0 {
		return "", p.fail("missing ')' for %q at offset %d", p.src[at:p.pos], at)
	}
	arg := strings.TrimSpace(p.src[p.pos+1 : p.pos+end])
	p.pos += end + 1
	return arg, nil
}

// cssParseNth parses the an+b argument of :nth-child and its kin: odd,
// even, an integer b, or a*n with an optional +b or -b ("2n+1", "-n+3",
// "n").
func cssParseNth(s string) (a, b int, err error) {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	switch s {
	case "odd":
		return 2, 1, nil
	case "even":
		return 2, 0, nil
	case "":
		return 0, 0, errors.New("empty argument; want an+b, odd or even")
	}
	i := strings.IndexByte(s, 'n')
	if i < 0 {
		b, err = cssAtoi(s)
		return 0, b, err
	}
	switch as := s[:i]; as {
	case "", "+":
		a = 1
	case "-":
		a = -1
	default:
		if a, err = cssAtoi(as); err != nil {
			return 0, 0, err
		}
	}
	if rest := s[i+1:]; rest != "" {
		if rest[0] != '+' && rest[0] != '-' {
			return 0, 0, fmt.Errorf("unexpected %q; want an+b, odd or even", rest)
		}
		if b, err = cssAtoi(rest); err != nil {
			return 0, 0, err
		}
	}
	return a, b, nil
}

// cssAtoi parses a signed decimal of at most six digits.
func cssAtoi(s string) (int, error) {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || len(digits) > 6 {
		return 0, fmt.Errorf("%q is not an integer of at most six digits", s)
	}
	n := 0
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not an integer; want an+b, odd or even", s)
		}
		n = n*10 + int(c-'0')
	}
	if s[0] == '-' {
		n = -n
	}
	return n, nil
}

// attr reads [name], [name op value] or [name op value i].
func (p *cssParser) attr() (cssAttr, error) {
	var a cssAttr
	open := p.pos
	p.pos++ // '['
	p.skipSpace()
	a.key = strings.ToLower(p.ident())
	if a.key == "" {
		return a, p.fail("expected an attribute name after '[' at offset %d", open)
	}
	p.skipSpace()
	if p.pos >= len(p.src) {
		return a, p.fail("missing ']' for '[' at offset %d", open)
	}
	if p.src[p.pos] == ']' {
		p.pos++
		return a, nil
	}
	switch ch := p.src[p.pos]; ch {
	case '=':
		a.op = '='
		p.pos++
	case '~', '|', '^', '$', '*':
		if p.pos+1 >= len(p.src) || p.src[p.pos+1] != '=' {
			return a, p.fail("expected '=' after %q at offset %d", ch, p.pos)
		}
		a.op = ch
		p.pos += 2
	default:
		return a, p.fail("unexpected %q in attribute selector at offset %d", ch, p.pos)
	}
	p.skipSpace()
	if p.pos >= len(p.src) {
		return a, p.fail("missing value and ']' for '[' at offset %d", open)
	}
	if q := p.src[p.pos]; q == '"' || q == '\'' {
		end := strings.IndexByte(p.src[p.pos+1:], q)
		if end < 0 {
			return a, p.fail("unterminated string at offset %d", p.pos)
		}
		a.val = p.src[p.pos+1 : p.pos+1+end]
		if strings.IndexByte(a.val, '\\') >= 0 {
			return a, p.unsupported("escape \"\\\" in a string")
		}
		p.pos += end + 2
	} else {
		// An identifier; digits may lead, as in [data-n=5], which browsers
		// reject but users write.
		start := p.pos
		for p.pos < len(p.src) && cssIdentByte(p.src[p.pos], false) {
			p.pos++
		}
		a.val = p.src[start:p.pos]
		if a.val == "" {
			return a, p.fail("expected a value after the operator at offset %d", p.pos)
		}
	}
	p.skipSpace()
	if p.pos < len(p.src) && (p.src[p.pos] == 'i' || p.src[p.pos] == 'I') {
		a.icase = true
		p.pos++
		p.skipSpace()
	} else if p.pos < len(p.src) && (p.src[p.pos] == 's' || p.src[p.pos] == 'S') {
		p.pos++
		p.skipSpace()
	}
	if p.pos >= len(p.src) || p.src[p.pos] != ']' {
		return a, p.fail("missing ']' for '[' at offset %d", open)
	}
	p.pos++
	if a.icase {
		a.val = strings.ToLower(a.val)
	}
	return a, nil
}

// matches reports whether element n, at position pos among its siblings,
// satisfies the compound.
func (c *cssCompound) matches(n *html.Node, pos *cssPos) bool {
	if c.tag != "" && n.Data != c.tag && !strings.EqualFold(n.Data, c.tag) {
		return false
	}
	if c.id != "" {
		if v, ok := wfAttr(n, "id"); !ok || v != c.id {
			return false
		}
	}
	if len(c.classes) > 0 {
		v, ok := wfAttr(n, "class")
		if !ok {
			return false
		}
		for _, cl := range c.classes {
			if !cssHasWord(v, cl) {
				return false
			}
		}
	}
	for i := range c.attrs {
		a := &c.attrs[i]
		v, ok := wfAttr(n, a.key)
		if !ok {
			return false
		}
		if a.op == 0 {
			continue
		}
		if a.icase {
			v = strings.ToLower(v)
		}
		switch a.op {
		case '=':
			ok = v == a.val
		case '~':
			ok = cssHasWord(v, a.val)
		case '|':
			ok = v == a.val || strings.HasPrefix(v, a.val+"-")
		case '^':
			ok = a.val != "" && strings.HasPrefix(v, a.val)
		case '$':
			ok = a.val != "" && strings.HasSuffix(v, a.val)
		case '*':
			ok = a.val != "" && strings.Contains(v, a.val)
		}
		if !ok {
			return false
		}
	}
	for _, ps := range c.pseudos {
		if !ps.matches(n, pos) {
			return false
		}
	}
	for i := range c.not {
		if c.not[i].matches(n, pos) {
			return false
		}
	}
	return true
}

func (ps *cssPseudo) matches(n *html.Node, pos *cssPos) bool {
	switch ps.kind {
	case 'r':
		return n.Parent != nil && n.Parent.Type == html.DocumentNode
	case 'e':
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode || c.Type == html.TextNode && c.Data != "" {
				return false
			}
		}
		return true
	}
	idx, total := pos.idx, pos.total
	if ps.ofType {
		idx, total = pos.typeIdx, pos.typeTotal
	}
	if ps.fromEnd {
		idx = total - idx + 1
	}
	if ps.a == 0 {
		return idx == ps.b
	}
	d := idx - ps.b
	return d%ps.a == 0 && d/ps.a >= 0
}

// cssHasWord reports whether the white-space-separated list holds w.
func cssHasWord(list, w string) bool {
	if w == "" {
		return false
	}
	for len(list) > 0 {
		i := 0
		for i < len(list) && cssIsSpace(list[i]) {
			i++
		}
		list = list[i:]
		j := 0
		for j < len(list) && !cssIsSpace(list[j]) {
			j++
		}
		if list[:j] == w {
			return true
		}
		list = list[j:]
	}
	return false
}

// each calls fn for every element below root that matches, in document
// order, until fn returns false. It checks ctx every 1024 elements.
func (s *cssSelector) each(ctx context.Context, root *html.Node, fn func(*html.Node) bool) error {
	w := cssWalker{s: s, ctx: ctx, fn: fn}
	w.walk(root, 0, 0)
	return w.err
}

type cssWalker struct {
	s    *cssSelector
	ctx  context.Context
	fn   func(*html.Node) bool
	n    int
	err  error
	done bool
}

// walk visits the children of parent, whose own bits are pm and whose
// ancestors' bits (parent included) are am. Depth is bounded by the HTML
// parser's nesting limit.
func (w *cssWalker) walk(parent *html.Node, pm, am uint64) {
	var pos cssPos
	var typeIdx, typeTotal map[string]int
	if w.s.needTotal || w.s.needType {
		if w.s.needType {
			typeIdx, typeTotal = map[string]int{}, map[string]int{}
		}
		for n := parent.FirstChild; n != nil; n = n.NextSibling {
			if n.Type == html.ElementNode {
				pos.total++
				if typeTotal != nil {
					typeTotal[n.Data]++
				}
			}
		}
	}
	for n := parent.FirstChild; n != nil && !w.done; n = n.NextSibling {
		if n.Type != html.ElementNode {
			continue
		}
		pos.idx++
		if typeIdx != nil {
			typeIdx[n.Data]++
			pos.typeIdx, pos.typeTotal = typeIdx[n.Data], typeTotal[n.Data]
		}
		w.n++
		if w.n&1023 == 0 {
			if w.ctx.Err() != nil {
				w.err, w.done = context.Cause(w.ctx), true
				return
			}
		}
		var m uint64
		for i := range w.s.parts {
			c := &w.s.parts[i]
			switch c.comb {
			case '>':
				if pm&(1<<(i-1)) == 0 {
					continue
				}
			case ' ':
				if am&(1<<(i-1)) == 0 {
					continue
				}
			}
			if c.matches(n, &pos) {
				m |= 1 << i
			}
		}
		if m&w.s.final != 0 && !w.fn(n) {
			w.done = true
			return
		}
		if n.FirstChild != nil {
			w.walk(n, m, am|m)
		}
	}
}
