package luavm

// A Lua 5.1 pattern matcher that can be stopped.
//
// gopher-lua's own matcher (package pm) backtracks without bound and never
// looks at the state's context, so one string.find can hold a VU for
// minutes. This one follows the algorithm of Lua 5.1's lstrlib.c (match,
// max_expand, min_expand, start/end capture, %b, %f, back references)
// item for item, with two additions taken from Lua 5.2: a cap on the
// nesting of match calls ("pattern too complex", MAXCCALLS = 200) and a
// step counter that calls a check function (the VM's context) every
// lpCheckEvery steps and aborts the match with its error.
//
// The pattern is first cut into items (so sets become 256-bit tables and
// classEnd is not recomputed at every backtrack), but errors are not
// raised at that point: a malformed piece becomes an error item that
// raises its message only when the matcher reaches it, exactly as Lua
// reports such errors only when match() gets there.
//
// Differences from Lua 5.1, all deliberate:
//   - a pattern may contain "\0" (5.1 stops reading the pattern there);
//   - nested match calls are capped at 200 ("pattern too complex"), where
//     5.1 recurses until the C stack overflows.

import "errors"

const (
	lpMaxCaptures   = 32   // LUA_MAXCAPTURES
	lpMaxDepth      = 200  // MAXCCALLS of Lua 5.2's lstrlib.c
	lpCheckEvery    = 1024 // steps between two calls of the check function
	lpCapUnfinished = -1
	lpCapPosition   = -2
	lpSpecials      = "^$*+?.([%-" // SPECIALS: a pattern without them is plain
)

// lpError is an error in the pattern or in its use, with Lua's message.
type lpError struct{ msg string }

func (e *lpError) Error() string { return e.msg }

// lpAbort carries an error out of the recursion; search recovers it.
type lpAbort struct{ err error }

// lpSet is a set of bytes.
type lpSet [4]uint64

func (s *lpSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }
func (s *lpSet) add(c byte)      { s[c>>6] |= 1 << (c & 63) }
func (s *lpSet) addRange(lo, hi byte) {
	for c := int(lo); c <= int(hi); c++ {
		s.add(byte(c))
	}
}
func (s *lpSet) invert() {
	for i := range s {
		s[i] = ^s[i]
	}
}

type lpOp uint8

const (
	lpChar      lpOp = iota // one byte equal to c
	lpAny                   // '.'
	lpClass                 // one byte in sets[set]
	lpOpenCap               // '('
	lpPosCap                // '()'
	lpCloseCap              // ')'
	lpBalance               // %bxy
	lpFrontier              // %f[set]
	lpBackref               // %0-%9
	lpEndAnchor             // '$' as the last character of the pattern
	lpFail                  // a malformed piece: raises pattern.err
)

// lpItem is one piece of a compiled pattern.
type lpItem struct {
	op    lpOp
	quant byte  // 0, '?', '*', '+' or '-' (lpChar, lpAny, lpClass only)
	c     byte  // lpChar's byte; lpBalance's opening byte
	e     byte  // lpBalance's closing byte
	n     int32 // lpClass, lpFrontier: index in sets; lpBackref: capture index (0-based, -1 for %0)
}

// lpPattern is a compiled pattern. It holds no '^' anchor: the callers
// that honour one (find, match, gsub) strip it before compiling.
type lpPattern struct {
	items []lpItem
	sets  []lpSet
	err   error // message of the lpFail item, if any
}

// lpCompile cuts a pattern into items. It never fails: a malformed piece
// ends the item list with an lpFail item.
func lpCompile(p string) *lpPattern {
	pat := &lpPattern{}
	fail := func(msg string) *lpPattern {
		pat.err = &lpError{msg}
		pat.items = append(pat.items, lpItem{op: lpFail})
		return pat
	}
	i := 0
	for i < len(p) {
		switch p[i] {
		case '(':
			if i+1 < len(p) && p[i+1] == ')' {
				pat.items = append(pat.items, lpItem{op: lpPosCap})
				i += 2
			} else {
				pat.items = append(pat.items, lpItem{op: lpOpenCap})
				i++
			}
			continue
		case ')':
			pat.items = append(pat.items, lpItem{op: lpCloseCap})
			i++
			continue
		case '$':
			if i+1 == len(p) {
				pat.items = append(pat.items, lpItem{op: lpEndAnchor})
				i++
				continue
			}
		case '%':
			if i+1 < len(p) {
				switch d := p[i+1]; {
				case d == 'b':
					if i+3 >= len(p) {
						return fail("unbalanced pattern")
					}
					pat.items = append(pat.items, lpItem{op: lpBalance, c: p[i+2], e: p[i+3]})
					i += 4
					continue
				case d == 'f':
					i += 2
					if i >= len(p) || p[i] != '[' {
						return fail("missing '[' after '%f' in pattern")
					}
					ep, msg := lpClassEnd(p, i)
					if msg != "" {
						return fail(msg)
					}
					pat.items = append(pat.items, lpItem{op: lpFrontier, n: pat.addSet(lpBracketSet(p, i, ep-1))})
					i = ep
					continue
				case '0' <= d && d <= '9':
					pat.items = append(pat.items, lpItem{op: lpBackref, n: int32(d) - '1'})
					i += 2
					continue
				}
			}
		}
		// A single-character class, maybe with a quantifier.
		ep, msg := lpClassEnd(p, i)
		if msg != "" {
			return fail(msg)
		}
		var it lpItem
		switch p[i] {
		case '.':
			it.op = lpAny
		case '%':
			var s lpSet
			lpAddClass(&s, p[i+1])
			it.op, it.n = lpClass, pat.addSet(s)
		case '[':
			it.op, it.n = lpClass, pat.addSet(lpBracketSet(p, i, ep-1))
		default:
			it.op, it.c = lpChar, p[i]
		}
		if ep < len(p) {
			switch p[ep] {
			case '?', '*', '+', '-':
				it.quant = p[ep]
				ep++
			}
		}
		pat.items = append(pat.items, it)
		i = ep
	}
	return pat
}

func (pat *lpPattern) addSet(s lpSet) int32 {
	pat.sets = append(pat.sets, s)
	return int32(len(pat.sets) - 1)
}

// lpClassEnd is classEnd: the index just past the class starting at p[i],
// or Lua's error message.
func lpClassEnd(p string, i int) (int, string) {
	c := p[i]
	i++
	switch c {
	case '%':
		if i >= len(p) {
			return 0, "malformed pattern (ends with '%')"
		}
		return i + 1, ""
	case '[':
		if i < len(p) && p[i] == '^' {
			i++
		}
		for { // look for a ']'
			if i >= len(p) {
				return 0, "malformed pattern (missing ']')"
			}
			c := p[i]
			i++
			if c == '%' && i < len(p) {
				i++ // skip escapes (e.g. '%]')
			}
			if i < len(p) && p[i] == ']' {
				break
			}
		}
		return i + 1, ""
	}
	return i, ""
}

// lpBracketSet is matchbracketclass turned into a table: p[i] is the '['
// and p[ec] the closing ']'.
func lpBracketSet(p string, i, ec int) lpSet {
	var s lpSet
	neg := false
	if p[i+1] == '^' {
		neg = true
		i++
	}
	for i++; i < ec; i++ {
		switch {
		case p[i] == '%':
			i++
			lpAddClass(&s, p[i])
		case p[i+1] == '-' && i+2 < ec:
			if p[i] <= p[i+2] {
				s.addRange(p[i], p[i+2])
			}
			i += 2
		default:
			s.add(p[i])
		}
	}
	if neg {
		s.invert()
	}
	return s
}

// lpAddClass adds the bytes that match_class accepts for %cl.
func lpAddClass(s *lpSet, cl byte) {
	cs := &lpClassSets[cl]
	for i := range s {
		s[i] |= cs[i]
	}
}

// lpClassSets[cl] is the set of %cl.
var lpClassSets = func() (t [256]lpSet) {
	for cl := 0; cl < 256; cl++ {
		for c := 0; c < 256; c++ {
			if lpMatchClass(byte(c), byte(cl)) {
				t[cl].add(byte(c))
			}
		}
	}
	return t
}()

// lpMatchClass is match_class in the C locale.
func lpMatchClass(c, cl byte) bool {
	lower := cl
	if 'A' <= cl && cl <= 'Z' {
		lower = cl + ('a' - 'A')
	}
	var res bool
	switch lower {
	case 'a':
		res = lpIsAlpha(c)
	case 'c':
		res = c < 0x20 || c == 0x7f
	case 'd':
		res = '0' <= c && c <= '9'
	case 'l':
		res = 'a' <= c && c <= 'z'
	case 'p':
		res = c > 0x20 && c < 0x7f && !lpIsAlpha(c) && !('0' <= c && c <= '9')
	case 's':
		res = c == ' ' || ('\t' <= c && c <= '\r')
	case 'u':
		res = 'A' <= c && c <= 'Z'
	case 'w':
		res = lpIsAlpha(c) || ('0' <= c && c <= '9')
	case 'x':
		res = ('0' <= c && c <= '9') || ('a' <= c|0x20 && c|0x20 <= 'f')
	case 'z':
		res = c == 0
	default:
		return cl == c
	}
	if lower == cl {
		return res
	}
	return !res
}

func lpIsAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// lpMatcher runs one compiled pattern over one subject. It is reusable
// across calls of search (gsub and gmatch search many times).
type lpMatcher struct {
	pat     *lpPattern
	src     string
	level   int // number of captures opened
	capture [lpMaxCaptures]struct{ init, len int }
	depth   int
	budget  int
	check   func() error
}

// newLpMatcher prepares a matcher; check may be nil.
func newLpMatcher(pat *lpPattern, src string, check func() error) *lpMatcher {
	return &lpMatcher{pat: pat, src: src, check: check, budget: lpCheckEvery}
}

// search looks for a match starting at from, from+1, ... len(src) (only
// at from when anchored), as str_find_aux's loop does. It returns the
// match's bounds, or start = -1. After a match, level and capture
// describe its captures.
func (m *lpMatcher) search(from int, anchor bool) (start, end int, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(lpAbort)
			if !ok {
				panic(r)
			}
			start, end, err = -1, -1, a.err
		}
	}()
	for s := from; s <= len(m.src); s++ {
		m.level, m.depth = 0, 0
		if e := m.match(s, 0); e >= 0 {
			return s, e, nil
		}
		if anchor {
			break
		}
		m.tick(1)
	}
	return -1, -1, nil
}

func (m *lpMatcher) tick(n int) {
	m.budget -= n
	if m.budget <= 0 {
		m.slowTick()
	}
}

func (m *lpMatcher) slowTick() {
	m.budget = lpCheckEvery
	if m.check != nil {
		if err := m.check(); err != nil {
			panic(lpAbort{err})
		}
	}
}

func lpRaise(msg string) { panic(lpAbort{&lpError{msg}}) }

// single is singlematch.
func (m *lpMatcher) single(it *lpItem, c byte) bool {
	switch it.op {
	case lpChar:
		return it.c == c
	case lpAny:
		return true
	default:
		return m.pat.sets[it.n].has(c)
	}
}

// match is match(): the end of a match of items[pi:] at s, or -1.
func (m *lpMatcher) match(s, pi int) int {
	m.depth++
	if m.depth > lpMaxDepth {
		lpRaise("pattern too complex")
	}
	r := m.doMatch(s, pi)
	m.depth--
	return r
}

func (m *lpMatcher) doMatch(s, pi int) int {
	items := m.pat.items
	src := m.src
	for {
		m.tick(1)
		if pi == len(items) {
			return s
		}
		it := &items[pi]
		switch it.op {
		case lpOpenCap:
			return m.startCapture(s, pi+1, lpCapUnfinished)
		case lpPosCap:
			return m.startCapture(s, pi+1, lpCapPosition)
		case lpCloseCap:
			return m.endCapture(s, pi+1)
		case lpBalance:
			if s = m.matchBalance(s, it); s < 0 {
				return -1
			}
			pi++
		case lpFrontier:
			var prev, cur byte
			if s > 0 {
				prev = src[s-1]
			}
			if s < len(src) {
				cur = src[s]
			}
			set := &m.pat.sets[it.n]
			if set.has(prev) || !set.has(cur) {
				return -1
			}
			pi++
		case lpBackref:
			if s = m.matchCapture(s, int(it.n)); s < 0 {
				return -1
			}
			pi++
		case lpEndAnchor:
			if s == len(src) {
				return s
			}
			return -1
		case lpFail:
			panic(lpAbort{m.pat.err})
		default:
			ok := s < len(src) && m.single(it, src[s])
			switch it.quant {
			case '?':
				if ok {
					if r := m.match(s+1, pi+1); r >= 0 {
						return r
					}
				}
				pi++
			case '*':
				return m.maxExpand(s, it, pi)
			case '+':
				if !ok {
					return -1
				}
				return m.maxExpand(s+1, it, pi)
			case '-':
				return m.minExpand(s, it, pi)
			default:
				if !ok {
					return -1
				}
				s++
				pi++
			}
		}
	}
}

func (m *lpMatcher) maxExpand(s int, it *lpItem, pi int) int {
	src := m.src
	i := 0
	for s+i < len(src) && m.single(it, src[s+i]) {
		i++
		m.tick(1)
	}
	// try with the most repetitions first
	for ; i >= 0; i-- {
		if r := m.match(s+i, pi+1); r >= 0 {
			return r
		}
	}
	return -1
}

func (m *lpMatcher) minExpand(s int, it *lpItem, pi int) int {
	src := m.src
	for {
		if r := m.match(s, pi+1); r >= 0 {
			return r
		}
		if s < len(src) && m.single(it, src[s]) {
			s++ // try with one more repetition
		} else {
			return -1
		}
	}
}

func (m *lpMatcher) startCapture(s, pi, what int) int {
	if m.level >= lpMaxCaptures {
		lpRaise("too many captures")
	}
	m.capture[m.level].init = s
	m.capture[m.level].len = what
	m.level++
	r := m.match(s, pi)
	if r < 0 {
		m.level-- // undo capture
	}
	return r
}

func (m *lpMatcher) endCapture(s, pi int) int {
	l := -1
	for i := m.level - 1; i >= 0; i-- {
		if m.capture[i].len == lpCapUnfinished {
			l = i
			break
		}
	}
	if l < 0 {
		lpRaise("invalid pattern capture")
	}
	m.capture[l].len = s - m.capture[l].init
	r := m.match(s, pi)
	if r < 0 {
		m.capture[l].len = lpCapUnfinished
	}
	return r
}

func (m *lpMatcher) matchBalance(s int, it *lpItem) int {
	src := m.src
	if s >= len(src) || src[s] != it.c {
		return -1
	}
	cont := 1
	start := s
	for s++; s < len(src); s++ {
		if src[s] == it.e {
			cont--
			if cont == 0 {
				m.tick(s - start)
				return s + 1
			}
		} else if src[s] == it.c {
			cont++
		}
	}
	m.tick(s - start)
	return -1
}

func (m *lpMatcher) matchCapture(s, l int) int {
	if l < 0 || l >= m.level || m.capture[l].len == lpCapUnfinished {
		lpRaise("invalid capture index")
	}
	n := m.capture[l].len
	if n == lpCapPosition || len(m.src)-s < n {
		return -1 // 5.1 compares with (size_t)CAP_POSITION: never matches
	}
	m.tick(n)
	init := m.capture[l].init
	if m.src[init:init+n] == m.src[s:s+n] {
		return s + n
	}
	return -1
}

// lpCapture is one capture of the last match.
type lpCapture struct {
	str   string
	pos   int // 1-based position, for a position capture
	isPos bool
}

// get is push_onecapture: capture i of the match src[s:e]; i = 0 with no
// captures is the whole match.
func (m *lpMatcher) get(i, s, e int) (lpCapture, error) {
	if i >= m.level {
		if i == 0 {
			return lpCapture{str: m.src[s:e]}, nil
		}
		return lpCapture{}, &lpError{"invalid capture index"}
	}
	c := m.capture[i]
	switch c.len {
	case lpCapUnfinished:
		return lpCapture{}, &lpError{"unfinished capture"}
	case lpCapPosition:
		return lpCapture{pos: c.init + 1, isPos: true}, nil
	}
	return lpCapture{str: m.src[c.init : c.init+c.len]}, nil
}

// isLpError tells a pattern error from the check function's error.
func isLpError(err error) bool {
	var e *lpError
	return errors.As(err, &e)
}
