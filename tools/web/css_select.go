package web

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"

	"spellhost/tools"
)

// CSS selectors for web-scraper and webpage-monitor, read and matched by
// github.com/andybalholm/cascadia over golang.org/x/net/html trees.
//
// cascadia matches a selector such as "div p > a" from the right and, at a
// descendant or general-sibling combinator, tries each ancestor or earlier
// sibling in turn: with k such combinators one element can cost depth^k
// tests, so a selector of twenty compounds on a deeply nested page would
// never finish. This adapter keeps matching linear. It splits each
// selector of a group into its compounds and combinators, has cascadia
// compile and match each compound alone, and joins them in one depth-first
// pass: each compound of every group gets a bit, and an element's bit i is
// set when it matches compound i and its parent (>), some ancestor ( ),
// its previous element sibling (+) or some earlier one (~) has bit i-1.
// The pass costs elements x compounds and checks the context every 64
// elements. For the same reason:
//   - :nth-child(an+b), :nth-last-child, :nth-of-type and
//     :nth-last-of-type in a compound are evaluated from positions counted
//     once per parent (cascadia counts the siblings for every element it
//     tests, which is quadratic on a long list or table);
//   - inside :not(), :has() and :haschild(), where cascadia matches whole
//     selectors itself, only the child (>) and adjacent-sibling (+)
//     combinators are allowed, and :has() holds no :has(), :contains() or
//     :matches(), so testing one element costs at most a walk of its
//     subtree.

// Selector limits.
const (
	cssMaxLen       = 4 << 10 // bytes of one selector
	cssMaxCompounds = 64      // compound selectors over all groups of one selector
	cssCacheSize    = 1024    // compiled selectors kept for reuse
)

// cssSubset describes the supported syntax for parameter descriptions and
// error messages.
const cssSubset = `tag, *, #id, .class, [attr], [attr=value] (also ~= |= ^= $= *=, != and #= for a regular ` +
	`expression, and a trailing " i" for case-insensitive values), backslash escapes, the combinators descendant "a b", ` +
	`child "a > b", adjacent "a + b" and sibling "a ~ b", comma-separated groups, and the pseudo-classes :first-child, ` +
	`:last-child, :only-child, :first-of-type, :last-of-type, :only-of-type, :nth-child(an+b), :nth-last-child(an+b), ` +
	`:nth-of-type(an+b), :nth-last-of-type(an+b), :root, :empty, :link, :checked, :enabled, :disabled, :input, ` +
	`:lang(x), :contains("text"), :containsown("text"), :matches(regexp), :matchesown(regexp), :not(s), :has(s) and ` +
	`:haschild(s) (inside the last three only the > and + combinators, and no :has, :contains or :matches inside ` +
	`:has); :hover, :active, :focus, :visited and :target match nothing; pseudo-elements are refused`

// cssSelector is a compiled selector; it is immutable and safe to share.
type cssSelector struct {
	src   string
	norm  string // src with attribute values quoted, as cascadia read it
	steps []cssStep
	final uint64 // bits of the last compound of each group
	// What positions the walker must count for the :nth-* pseudo-classes.
	needTotal, needType bool
}

// cssStep is one compound and the combinator that joins it to the
// compound before it.
type cssStep struct {
	comb byte             // 0 (first of a group), ' ', '>', '+' or '~'
	sel  cascadia.Matcher // the compound less its :nth-* pseudo-classes; nil matches every element
	nth  []cssNth
}

// cssNth is a :nth-* pseudo-class: the element's 1-based position among
// its element siblings (of its type with ofType, counted from the end with
// last) must be a*k+b for some k >= 0.
type cssNth struct {
	a, b         int
	last, ofType bool
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
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: selector of %d bytes exceeds the %d-byte limit", param, len(sel), cssMaxLen)
	}
	if strings.TrimSpace(sel) == "" {
		return nil, tools.Invalid("parameter %q: empty selector", param)
	}
	s, err := cssBuild(param, sel)
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

// cssBuild reads sel with cascadia, splits it into compounds, checks the
// rules above and compiles each compound.
func cssBuild(param, sel string) (*cssSelector, error) {
	fail := func(format string, args ...any) error {
		return tools.Invalid("parameter %q: selector %q: %s", param, sel, fmt.Sprintf(format, args...))
	}
	// Quote attribute values such as the 4 of [data-n=4]: cascadia wants
	// an identifier or a string there, and users write numbers.
	pre := cssScanner{s: sel}
	pre.list("", false)
	norm := pre.quoted()
	whole, err := cascadia.ParseGroup(norm)
	if err != nil {
		return nil, fail("%v", err)
	}
	sc := cssScanner{s: norm}
	groups := sc.list("", false)
	if sc.err != nil {
		return nil, fail("%v", sc.err)
	}
	n := 0
	for _, g := range groups {
		n += len(g)
	}
	if n > cssMaxCompounds {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: selector %q has more than %d compound selectors", param, sel, cssMaxCompounds)
	}
	s := &cssSelector{src: sel, norm: norm}
	rebuilt := make([]string, 0, len(groups))
	for _, g := range groups {
		if len(g) == 0 {
			return nil, fail("an empty selector in the group")
		}
		var text strings.Builder
		for i, part := range g {
			full, err := cascadia.Parse(part.text)
			if err != nil {
				return nil, fail("%q: %v", part.text, err)
			}
			if i > 0 {
				fmt.Fprintf(&text, " %c ", part.comb)
			}
			text.WriteString(full.String())
			step := cssStep{comb: part.comb}
			rest := part.text
			for k := len(part.nth) - 1; k >= 0; k-- {
				span := part.nth[k]
				nth, err := cssReadNth(part.text[span[0]:span[1]])
				if err != nil {
					return nil, fail("%v", err)
				}
				step.nth = append(step.nth, nth)
				s.needTotal = s.needTotal || nth.last
				s.needType = s.needType || nth.ofType
				rest = rest[:span[0]] + rest[span[1]:]
			}
			if rest != "" && rest != "*" {
				if step.sel, err = cascadia.Parse(rest); err != nil {
					return nil, fail("%q: %v", rest, err)
				}
			}
			s.steps = append(s.steps, step)
		}
		s.final |= 1 << (len(s.steps) - 1)
		rebuilt = append(rebuilt, text.String())
	}
	// The split must mean what cascadia read: compare the two readings in
	// cascadia's own notation.
	if got, want := strings.Join(rebuilt, ", "), whole.String(); got != want {
		return nil, fail("could not be split into compound selectors (%q, not %q)", got, want)
	}
	return s, nil
}

// cssReadNth reads one :nth-*(an+b) pseudo-class through cascadia, which
// writes it back as :nth-child(2n+1) or, for 0n+1, as :first-child.
func cssReadNth(src string) (cssNth, error) {
	sel, err := cascadia.Parse(src)
	if err != nil {
		return cssNth{}, fmt.Errorf("%s: %w", src, err)
	}
	text := sel.String()
	var t cssNth
	name, arg, ok := strings.Cut(strings.TrimPrefix(text, ":"), "(")
	switch {
	case !ok:
		t.b = 1 // :first-child and its kin
		t.last = strings.HasPrefix(name, "last-")
	case strings.HasPrefix(name, "nth-"):
		if _, err := fmt.Sscanf(arg, "%dn%d)", &t.a, &t.b); err != nil {
			return cssNth{}, fmt.Errorf("%s: cannot read %q: %w", src, text, err)
		}
		t.last = strings.HasPrefix(name, "nth-last-")
	default:
		return cssNth{}, fmt.Errorf("%s: cannot read %q", src, text)
	}
	t.ofType = strings.HasSuffix(name, "-of-type")
	return t, nil
}

func (t *cssNth) matches(pos *cssPos) bool {
	idx, total := pos.idx, pos.total
	if t.ofType {
		idx, total = pos.typeIdx, pos.typeTotal
	}
	if t.last {
		idx = total - idx + 1
	}
	d := idx - t.b
	if t.a == 0 {
		return d == 0
	}
	return d%t.a == 0 && d/t.a >= 0
}

// each calls fn for every element below root that matches, in document
// order, until fn returns false. It checks ctx every 64 elements.
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
	var prev, earlier uint64 // bits of the previous element sibling, and of all earlier ones
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
		if w.n&63 == 0 && w.ctx.Err() != nil {
			w.err, w.done = context.Cause(w.ctx), true
			return
		}
		m := w.match(n, &pos, pm, am, prev, earlier)
		if m&w.s.final != 0 && !w.fn(n) {
			w.done = true
			return
		}
		if n.FirstChild != nil {
			w.walk(n, m, am|m)
		}
		prev = m
		earlier |= m
	}
}

// match returns the bits of element n: bit i is set when n matches
// compound i and the element its combinator names has bit i-1.
func (w *cssWalker) match(n *html.Node, pos *cssPos, pm, am, prev, earlier uint64) uint64 {
	var m uint64
	for i := range w.s.steps {
		st := &w.s.steps[i]
		var ctxBits uint64
		switch st.comb {
		case '>':
			ctxBits = pm
		case ' ':
			ctxBits = am
		case '+':
			ctxBits = prev
		case '~':
			ctxBits = earlier
		}
		if st.comb != 0 && ctxBits&(1<<(i-1)) == 0 {
			continue
		}
		ok := true
		for k := range st.nth {
			if !st.nth[k].matches(pos) {
				ok = false
				break
			}
		}
		if ok && (st.sel == nil || st.sel.Match(n)) {
			m |= 1 << i
		}
	}
	return m
}

// cssPart is one compound of a complex selector as written.
type cssPart struct {
	comb byte
	text string
	nth  [][2]int // spans in text of the :nth-*() pseudo-classes at its top level
}

// cssScanner splits a selector into groups and compounds, following
// cascadia's reading of strings, escapes, comments, brackets and the
// arguments of pseudo-classes; it notes what the arguments of :not(),
// :has() and :haschild() may not hold, and the attribute values to quote.
type cssScanner struct {
	s     string
	i     int
	err   error    // the first rule broken
	quote [][2]int // unquoted attribute values that are not identifiers
}

func (c *cssScanner) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// quoted returns the selector with the values in c.quote quoted.
func (c *cssScanner) quoted() string {
	if len(c.quote) == 0 {
		return c.s
	}
	var b strings.Builder
	last := 0
	for _, q := range c.quote {
		b.WriteString(c.s[last:q[0]])
		b.WriteByte('"')
		b.WriteString(c.s[q[0]:q[1]])
		b.WriteByte('"')
		last = q[1]
	}
	b.WriteString(c.s[last:])
	return b.String()
}

// list reads a comma-separated list of selectors up to the end (at the top)
// or to the ')' closing the pseudo-class inner; inHas is set inside :has().
// At the top it returns the groups.
func (c *cssScanner) list(inner string, inHas bool) [][]cssPart {
	var groups [][]cssPart
	var cur []cssPart
	for {
		space := c.space()
		if c.i == len(c.s) || c.s[c.i] == ')' && inner != "" {
			break
		}
		ch := c.s[c.i]
		if ch == ',' {
			groups = append(groups, cur)
			cur = nil
			c.i++
			continue
		}
		comb := byte(0)
		if len(cur) > 0 {
			switch {
			case ch == '>' || ch == '+' || ch == '~':
				comb = ch
				c.i++
				c.space()
			case space:
				comb = ' '
			}
		}
		if inner != "" && (comb == ' ' || comb == '~') {
			what := "descendant"
			if comb == '~' {
				what = `sibling "~"`
			}
			c.fail("the %s combinator is not allowed inside :%s() (offset %d); use > or +", what, inner, c.i)
		}
		start := c.i
		nth := c.compound(inner, inHas)
		if c.i == start {
			if c.i == len(c.s) {
				c.fail("expected a selector at the end")
				break
			}
			c.fail("unexpected %q at offset %d", c.s[c.i], c.i)
			c.i++
			continue
		}
		for k := range nth {
			nth[k][0] -= start
			nth[k][1] -= start
		}
		cur = append(cur, cssPart{comb: comb, text: c.s[start:c.i], nth: nth})
	}
	return append(groups, cur)
}

// compound reads one compound and returns the spans of its :nth-*()
// pseudo-classes (at the top level only).
func (c *cssScanner) compound(inner string, inHas bool) [][2]int {
	var nth [][2]int
	for c.i < len(c.s) {
		switch ch := c.s[c.i]; {
		case ch == '\\':
			c.escape()
		case ch == '"' || ch == '\'':
			c.str()
		case ch == '[':
			c.bracket()
		case ch == ':':
			at := c.i
			if name := c.pseudo(inHas); inner == "" && strings.HasPrefix(name, "nth-") {
				nth = append(nth, [2]int{at, c.i})
			}
		case cssIsSpace(ch) || ch == ',' || ch == '>' || ch == '+' || ch == '~' || ch == ')' ||
			ch == '/' && strings.HasPrefix(c.s[c.i:], "/*"):
			return nth
		default:
			c.i++
		}
	}
	return nth
}

// pseudo reads a pseudo-class and its argument, returning its name.
func (c *cssScanner) pseudo(inHas bool) string {
	at := c.i
	c.i++ // ':'
	if c.i < len(c.s) && c.s[c.i] == ':' {
		c.i++
	}
	name := strings.ToLower(c.ident())
	if c.i >= len(c.s) || c.s[c.i] != '(' {
		return name
	}
	if inHas && (name == "has" || name == "contains" || name == "matches") {
		c.fail(":%s() is not allowed inside :has() (offset %d)", name, at)
	}
	c.i++ // '('
	switch name {
	case "not", "has", "haschild":
		c.list(name, inHas || name == "has")
	case "matches", "matchesown":
		// A regular expression ends at the first ')' or ']' that closes
		// nothing; quotes and backslashes are its own.
		for open := 0; c.i < len(c.s); c.i++ {
			if ch := c.s[c.i]; ch == '(' || ch == '[' {
				open++
			} else if ch == ')' || ch == ']' {
				if open--; open < 0 {
					break
				}
			}
		}
	default:
	scan:
		for depth := 0; c.i < len(c.s); {
			switch ch := c.s[c.i]; ch {
			case '\\':
				c.escape()
				continue
			case '"', '\'':
				c.str()
				continue
			case '(':
				depth++
			case ')':
				if depth == 0 {
					break scan
				}
				depth--
			}
			c.i++
		}
	}
	if c.i < len(c.s) && c.s[c.i] == ')' {
		c.i++
	}
	return name
}

// ident reads a name, decoding escapes, so an escaped name is seen as
// the pseudo-class cascadia will read.
func (c *cssScanner) ident() string {
	var b strings.Builder
	for c.i < len(c.s) {
		ch := c.s[c.i]
		switch {
		case cssNameByte(ch):
			b.WriteByte(ch)
			c.i++
		case ch == '\\':
			start := c.i
			c.escape()
			b.WriteString(cssUnescape(c.s[start:c.i]))
		default:
			return b.String()
		}
	}
	return b.String()
}

// escape skips a backslash escape: up to six hex digits and one white
// space, or one character.
func (c *cssScanner) escape() {
	c.i++
	if c.i >= len(c.s) {
		return
	}
	if !cssHex(c.s[c.i]) {
		_, n := utf8.DecodeRuneInString(c.s[c.i:])
		c.i += n
		return
	}
	for end := c.i + 6; c.i < len(c.s) && c.i < end && cssHex(c.s[c.i]); c.i++ {
	}
	if strings.HasPrefix(c.s[c.i:], "\r\n") {
		c.i += 2
	} else if c.i < len(c.s) && cssIsSpace(c.s[c.i]) {
		c.i++
	}
}

// cssUnescape decodes one escape as escape skips it.
func cssUnescape(e string) string {
	e = e[1:]
	if e == "" || !cssHex(e[0]) {
		return e
	}
	e = strings.TrimRight(e, " \t\r\n\f")
	var r rune
	for i := 0; i < len(e); i++ {
		r = r<<4 | rune(strings.IndexByte("0123456789abcdef", e[i]|0x20))
	}
	return string(r)
}

func cssNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80
}

func cssHex(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }

func cssIsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// str skips a quoted string and its escapes.
func (c *cssScanner) str() {
	q := c.s[c.i]
	for c.i++; c.i < len(c.s); c.i++ {
		switch c.s[c.i] {
		case '\\':
			if c.i+1 < len(c.s) {
				c.i++
			}
		case q:
			c.i++
			return
		}
	}
}

// bracket skips an attribute selector; a #= value is a regular expression
// that ends at the first ')' or ']' closing nothing.
func (c *cssScanner) bracket() {
	for c.i++; c.i < len(c.s); {
		switch ch := c.s[c.i]; {
		case ch == '\\':
			c.escape()
		case ch == '"' || ch == '\'':
			c.str()
		case ch == '#' && strings.HasPrefix(c.s[c.i:], "#="):
			c.i += 2
			for open := 0; c.i < len(c.s); c.i++ {
				if ch := c.s[c.i]; ch == '(' || ch == '[' {
					open++
				} else if ch == ')' || ch == ']' {
					if open--; open < 0 {
						break
					}
				}
			}
		case ch == '=':
			c.i++
			for c.i < len(c.s) && cssIsSpace(c.s[c.i]) {
				c.i++
			}
			start := c.i
			for c.i < len(c.s) && cssNameByte(c.s[c.i]) {
				c.i++
			}
			if v := strings.TrimLeft(c.s[start:c.i], "-"); v != "" && v[0] >= '0' && v[0] <= '9' {
				c.quote = append(c.quote, [2]int{start, c.i})
			}
		case ch == ']':
			c.i++
			return
		default:
			c.i++
		}
	}
}

// space skips white space and closed /* comments */, reporting whether
// there was any.
func (c *cssScanner) space() bool {
	start := c.i
	for c.i < len(c.s) {
		if cssIsSpace(c.s[c.i]) {
			c.i++
			continue
		}
		if strings.HasPrefix(c.s[c.i:], "/*") {
			if end := strings.Index(c.s[c.i+2:], "*/"); end >= 0 {
				c.i += end + 4
				continue
			}
		}
		break
	}
	return c.i > start
}
