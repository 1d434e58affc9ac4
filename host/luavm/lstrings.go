package luavm

// Replacements for gopher-lua's string.find, match, gmatch, gsub, rep and
// format. They behave as Lua 5.1's lstrlib.c does, but match with the
// stoppable matcher of lpattern.go (which aborts when the state's context
// ends) and refuse to build a string larger than the VM's string limit.
//
// Where they depart from Lua 5.1 (on purpose):
//   - numbers turn into strings as gopher-lua's tostring does (%s, %q,
//     values returned to gsub), not with 5.1's "%.14g";
//   - format's %c of 0 and %s of a string holding "\0" keep the zero byte
//     (5.1's sprintf cuts there);
//   - format's %#g keeps the precision's digits when rounding carries into
//     a new exponent (%#.2g of 99.999 is "1.0e+02", as C says; glibc
//     prints "1.e+02");
//   - rep takes any count up to the limit (5.1 casts it to a C int);
//   - gmatch returns the iterator alone, as 5.1 does (gopher-lua's also
//     returned its state).

import (
	"math"
	"strconv"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// stringOverrides returns the functions to put in the string table in
// place of gopher-lua's. maxBytes caps the length of a string that rep,
// gsub and format build (DefaultMaxStringBytes if maxBytes <= 0).
func stringOverrides(maxBytes int) map[string]lua.LGFunction {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxStringBytes
	}
	o := &lstrOps{max: maxBytes}
	return map[string]lua.LGFunction{
		"find":   o.find,
		"match":  o.match,
		"gmatch": o.gmatch,
		"gfind":  o.gmatch, // gopher-lua's alias of gmatch: replace it too
		"gsub":   o.gsub,
		"rep":    o.rep,
		"format": o.format,
	}
}

type lstrOps struct{ max int }

// lstrCheck is the matcher's check: the state's context, if it has one.
func lstrCheck(L *lua.LState) func() error {
	if ctx := L.Context(); ctx != nil {
		return ctx.Err
	}
	return nil
}

// lstrRaise raises a pattern error, or the context's error, as a Lua error.
func lstrRaise(L *lua.LState, err error) {
	L.RaiseError("%s", err.Error())
}

// lstrOptInt is luaL_optinteger: numbers and numeric strings, truncated.
func lstrOptInt(L *lua.LState, n, def int) int {
	if L.Get(n) == lua.LNil {
		return def
	}
	return int(L.CheckNumber(n))
}

// lstrPosrelat is posrelat: a relative string position, 0 if before the start.
func lstrPosrelat(pos, n int) int {
	if pos < 0 {
		pos += n + 1
	}
	if pos >= 0 {
		return pos
	}
	return 0
}

func (o *lstrOps) find(L *lua.LState) int  { return o.findAux(L, true) }
func (o *lstrOps) match(L *lua.LState) int { return o.findAux(L, false) }

// findAux is str_find_aux.
func (o *lstrOps) findAux(L *lua.LState, find bool) int {
	s := L.CheckString(1)
	p := L.CheckString(2)
	init := lstrPosrelat(lstrOptInt(L, 3, 1), len(s)) - 1
	if init < 0 {
		init = 0
	} else if init > len(s) {
		init = len(s)
	}
	if find && (lua.LVAsBool(L.Get(4)) || !strings.ContainsAny(p, lpSpecials)) {
		// plain search
		if i := strings.Index(s[init:], p); i >= 0 {
			L.Push(lua.LNumber(init + i + 1))
			L.Push(lua.LNumber(init + i + len(p)))
			return 2
		}
		L.Push(lua.LNil)
		return 1
	}
	anchor := len(p) > 0 && p[0] == '^'
	if anchor {
		p = p[1:]
	}
	m := newLpMatcher(lpCompile(p), s, lstrCheck(L))
	start, end, err := m.search(init, anchor)
	if err != nil {
		lstrRaise(L, err)
	}
	if start < 0 {
		L.Push(lua.LNil)
		return 1
	}
	if find {
		L.Push(lua.LNumber(start + 1))
		L.Push(lua.LNumber(end))
		return lstrPushCaptures(L, m, start, end, false) + 2
	}
	return lstrPushCaptures(L, m, start, end, true)
}

// lstrPushCaptures is push_captures; whole says that a match without
// captures yields the whole match (match, gmatch) rather than nothing (find).
func lstrPushCaptures(L *lua.LState, m *lpMatcher, s, e int, whole bool) int {
	n := m.level
	if n == 0 && whole {
		n = 1
	}
	for i := 0; i < n; i++ {
		L.Push(lstrCaptureValue(L, m, i, s, e))
	}
	return n
}

// lstrCaptureValue is push_onecapture's value.
func lstrCaptureValue(L *lua.LState, m *lpMatcher, i, s, e int) lua.LValue {
	c, err := m.get(i, s, e)
	if err != nil {
		lstrRaise(L, err)
	}
	if c.isPos {
		return lua.LNumber(c.pos)
	}
	return lua.LString(c.str)
}

// gmatch is gmatch and gmatch_aux: the iterator searches lazily from
// where the last match ended. As in Lua 5.1, '^' is not an anchor here.
func (o *lstrOps) gmatch(L *lua.LState) int {
	s := L.CheckString(1)
	p := L.CheckString(2)
	pat := lpCompile(p)
	pos := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if pos > len(s) {
			return 0
		}
		m := newLpMatcher(pat, s, lstrCheck(L))
		start, end, err := m.search(pos, false)
		if err != nil {
			lstrRaise(L, err)
		}
		if start < 0 {
			pos = len(s) + 1
			return 0
		}
		pos = end
		if end == start {
			pos++ // empty match: go at least one position
		}
		return lstrPushCaptures(L, m, start, end, true)
	}))
	return 1
}

// lstrBuf builds a result string no longer than max bytes; what names the
// function in the error.
type lstrBuf struct {
	b    []byte
	max  int
	what string
}

func (b *lstrBuf) grow(L *lua.LState, n int) {
	need := len(b.b) + n
	if need > b.max || need < 0 {
		L.RaiseError("%s: result of at least %d bytes exceeds the %d-byte string limit", b.what, need, b.max)
	}
	if need > cap(b.b) {
		c := 2 * cap(b.b)
		if c < need {
			c = need
		}
		if c < 64 {
			c = 64
		}
		if c > b.max {
			c = b.max
		}
		release := reserveMemory(L, c, b.what)
		nb := make([]byte, len(b.b), c)
		copy(nb, b.b)
		b.b = nb
		release()
	}
}

func (b *lstrBuf) add(L *lua.LState, s string) {
	b.grow(L, len(s))
	b.b = append(b.b, s...)
}

func (b *lstrBuf) addByte(L *lua.LState, c byte) {
	b.grow(L, 1)
	b.b = append(b.b, c)
}

// string returns the result without copying it; b must not be used after.
func (b *lstrBuf) string() string {
	if len(b.b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b.b), len(b.b))
}

// lstrReplPiece is a piece of a gsub replacement string: literal text, or
// (ref >= 0) capture ref - 1 in push_onecapture's sense, 0 being %0.
type lstrReplPiece struct {
	lit string
	ref int
}

// lstrParseRepl cuts a replacement string as add_s reads it: "%d" is a
// capture, "%" before anything else stands for that character (so "%%"
// is "%"), and a "%" at the end stands for "\0" (5.1 reads the string's
// terminating zero there).
func lstrParseRepl(r string) []lstrReplPiece {
	var out []lstrReplPiece
	lit := 0 // start of the pending literal
	for i := 0; i < len(r); i++ {
		if r[i] != '%' {
			continue
		}
		if i > lit {
			out = append(out, lstrReplPiece{lit: r[lit:i], ref: -1})
		}
		i++
		var d byte
		if i < len(r) {
			d = r[i]
		}
		if '0' <= d && d <= '9' {
			out = append(out, lstrReplPiece{ref: int(d - '0')})
		} else {
			out = append(out, lstrReplPiece{lit: string([]byte{d}), ref: -1})
		}
		lit = i + 1
	}
	if lit < len(r) {
		out = append(out, lstrReplPiece{lit: r[lit:], ref: -1})
	}
	return out
}

// gsub is str_gsub.
func (o *lstrOps) gsub(L *lua.LState) int {
	src := L.CheckString(1)
	p := L.CheckString(2)
	repl := L.Get(3)
	var pieces []lstrReplPiece
	switch repl.Type() {
	case lua.LTString, lua.LTNumber:
		pieces = lstrParseRepl(lua.LVAsString(repl))
	case lua.LTFunction, lua.LTTable:
	default:
		L.ArgError(3, "string/function/table expected")
	}
	maxN := lstrOptInt(L, 4, len(src)+1)
	anchor := len(p) > 0 && p[0] == '^'
	if anchor {
		p = p[1:]
	}
	m := newLpMatcher(lpCompile(p), src, lstrCheck(L))
	b := lstrBuf{max: o.max, what: "string.gsub"}
	b.grow(L, min(len(src), o.max))
	pos, n := 0, 0
	for n < maxN {
		start, e, err := m.search(pos, anchor)
		if err != nil {
			lstrRaise(L, err)
		}
		if start < 0 {
			break
		}
		b.add(L, src[pos:start])
		n++
		o.addValue(L, m, &b, pieces, repl, start, e)
		if e > start { // non-empty match: skip it
			pos = e
		} else if start < len(src) {
			b.addByte(L, src[start])
			pos = start + 1
		} else {
			pos = start
			break
		}
		if anchor {
			break
		}
	}
	b.add(L, src[pos:])
	L.Push(lua.LString(b.string()))
	L.Push(lua.LNumber(n))
	return 2
}

// addValue is add_value: the replacement of the match src[s:e].
func (o *lstrOps) addValue(L *lua.LState, m *lpMatcher, b *lstrBuf, pieces []lstrReplPiece, repl lua.LValue, s, e int) {
	var v lua.LValue
	switch r := repl.(type) {
	case *lua.LFunction:
		L.Push(r)
		n := lstrPushCaptures(L, m, s, e, true)
		L.Call(n, 1)
		v = L.Get(-1)
		L.Pop(1)
	case *lua.LTable:
		v = L.GetTable(r, lstrCaptureValue(L, m, 0, s, e))
	default:
		for _, pc := range pieces {
			switch {
			case pc.ref < 0:
				b.add(L, pc.lit)
			case pc.ref == 0:
				b.add(L, m.src[s:e])
			default:
				c, err := m.get(pc.ref-1, s, e)
				if err != nil {
					lstrRaise(L, err)
				}
				if c.isPos {
					b.add(L, strconv.Itoa(c.pos))
				} else {
					b.add(L, c.str)
				}
			}
		}
		return
	}
	switch v.Type() {
	case lua.LTNil:
		b.add(L, m.src[s:e]) // keep the original text
	case lua.LTBool:
		if v == lua.LFalse {
			b.add(L, m.src[s:e])
		} else {
			L.RaiseError("invalid replacement value (a %s)", v.Type().String())
		}
	case lua.LTString, lua.LTNumber:
		b.add(L, lua.LVAsString(v))
	default:
		L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	}
}

// rep is str_rep, refusing results over the limit before allocating.
func (o *lstrOps) rep(L *lua.LState) int {
	s := L.CheckString(1)
	n := math.Trunc(float64(L.CheckNumber(2)))
	if !(n > 0) || len(s) == 0 {
		L.Push(lua.LString(""))
		return 1
	}
	if total := float64(len(s)) * n; total > float64(o.max) {
		if total < 1e18 {
			L.RaiseError("string.rep: result of %d bytes exceeds the %d-byte string limit", int64(total), o.max)
		}
		L.RaiseError("string.rep: result of %g bytes exceeds the %d-byte string limit", total, o.max)
	}
	release := reserveMemory(L, len(s)*int(n), "string.rep")
	L.Push(lua.LString(strings.Repeat(s, int(n))))
	release()
	return 1
}

// lstrSpec is a conversion's flags, width and precision.
type lstrSpec struct {
	minus, plus, space, sharp, zero bool
	width, prec                     int
	hasPrec                         bool
}

// lstrScanFormat is scanformat: the spec starting at f[i] (after the
// '%'), its conversion character (0 at the end of f) and the index after it.
func lstrScanFormat(L *lua.LState, f string, i int) (lstrSpec, byte, int) {
	var sp lstrSpec
	st := i
	for ; i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0; i++ {
		switch f[i] {
		case '-':
			sp.minus = true
		case '+':
			sp.plus = true
		case ' ':
			sp.space = true
		case '#':
			sp.sharp = true
		case '0':
			sp.zero = true
		}
	}
	if i-st >= 6 {
		L.RaiseError("invalid format (repeated flags)")
	}
	digits := func(v *int) {
		for k := 0; k < 2 && i < len(f) && '0' <= f[i] && f[i] <= '9'; k++ {
			*v = *v*10 + int(f[i]-'0')
			i++
		}
	}
	digits(&sp.width)
	if i < len(f) && f[i] == '.' {
		i++
		sp.hasPrec = true
		digits(&sp.prec)
	}
	if i < len(f) && '0' <= f[i] && f[i] <= '9' {
		L.RaiseError("invalid format (width or precision too long)")
	}
	if i >= len(f) {
		return sp, 0, i
	}
	return sp, f[i], i + 1
}

// pad lays out prefix+body in the width, with zeros after the prefix if
// zeros is set (and the '0' flag given), else spaces.
func (sp *lstrSpec) pad(b *lstrBuf, L *lua.LState, prefix, body string, zeros bool) {
	n := sp.width - len(prefix) - len(body)
	switch {
	case n <= 0:
		b.add(L, prefix)
		b.add(L, body)
	case sp.minus:
		b.add(L, prefix)
		b.add(L, body)
		b.add(L, strings.Repeat(" ", n))
	case sp.zero && zeros:
		b.add(L, prefix)
		b.add(L, strings.Repeat("0", n))
		b.add(L, body)
	default:
		b.add(L, strings.Repeat(" ", n))
		b.add(L, prefix)
		b.add(L, body)
	}
}

// format is str_format, with C's printf conversions done here.
func (o *lstrOps) format(L *lua.LState) int {
	f := L.CheckString(1)
	top := L.GetTop()
	arg := 1
	b := lstrBuf{max: o.max, what: "string.format"}
	for i := 0; i < len(f); {
		if f[i] != '%' {
			j := strings.IndexByte(f[i:], '%')
			if j < 0 {
				j = len(f) - i
			}
			b.add(L, f[i:i+j])
			i += j
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			b.addByte(L, '%')
			i++
			continue
		}
		arg++
		if arg > top {
			L.ArgError(arg, "no value")
		}
		sp, conv, next := lstrScanFormat(L, f, i)
		i = next
		switch conv {
		case 'c':
			c := byte(int(L.CheckNumber(arg)))
			sp.pad(&b, L, "", string([]byte{c}), false)
		case 'd', 'i':
			v := int64(float64(L.CheckNumber(arg)))
			mag := uint64(v)
			if v < 0 {
				mag = -mag
			}
			lstrFmtInt(&b, L, &sp, v < 0, mag, 10, false, true)
		case 'o', 'u', 'x', 'X':
			x := float64(L.CheckNumber(arg))
			var u uint64
			if x < 0 {
				u = uint64(int64(x))
			} else {
				u = uint64(x)
			}
			base := 16
			switch conv {
			case 'o':
				base = 8
			case 'u':
				base = 10
			}
			lstrFmtInt(&b, L, &sp, false, u, base, conv == 'X', false)
		case 'e', 'E', 'f', 'g', 'G':
			lstrFmtFloat(&b, L, &sp, conv, float64(L.CheckNumber(arg)))
		case 'q':
			lstrAddQuoted(&b, L, L.CheckString(arg))
		case 's':
			s := L.CheckString(arg)
			if !sp.hasPrec && len(s) >= 100 {
				b.add(L, s) // too long to be formatted: keep it whole
				continue
			}
			if sp.hasPrec && len(s) > sp.prec {
				s = s[:sp.prec]
			}
			sp.pad(&b, L, "", s, false)
		case 0:
			L.RaiseError("%s", "invalid option '%' to 'format'")
		default:
			L.RaiseError("invalid option '%%%c' to 'format'", conv)
		}
	}
	L.Push(lua.LString(b.string()))
	return 1
}

// lstrFmtInt is printf's %d %i %o %u %x %X.
func lstrFmtInt(b *lstrBuf, L *lua.LState, sp *lstrSpec, neg bool, mag uint64, base int, upper, signed bool) {
	digits := strconv.FormatUint(mag, base)
	if upper {
		digits = strings.ToUpper(digits)
	}
	if sp.hasPrec {
		if sp.prec == 0 && mag == 0 {
			digits = ""
		}
		if n := sp.prec - len(digits); n > 0 {
			digits = strings.Repeat("0", n) + digits
		}
	}
	prefix := ""
	switch {
	case signed && neg:
		prefix = "-"
	case signed && sp.plus:
		prefix = "+"
	case signed && sp.space:
		prefix = " "
	}
	if sp.sharp {
		switch {
		case base == 16 && mag != 0 && upper:
			prefix = "0X"
		case base == 16 && mag != 0:
			prefix = "0x"
		case base == 8 && (digits == "" || digits[0] != '0'):
			digits = "0" + digits
		}
	}
	sp.pad(b, L, prefix, digits, !sp.hasPrec)
}

// lstrFmtFloat is printf's %e %E %f %g %G.
func lstrFmtFloat(b *lstrBuf, L *lua.LState, sp *lstrSpec, conv byte, v float64) {
	prefix := ""
	switch {
	case math.Signbit(v):
		prefix = "-"
	case sp.plus:
		prefix = "+"
	case sp.space:
		prefix = " "
	}
	upper := conv == 'E' || conv == 'G'
	if math.IsInf(v, 0) || math.IsNaN(v) {
		body := "inf"
		if math.IsNaN(v) {
			body = "nan"
		}
		if upper {
			body = strings.ToUpper(body)
		}
		sp.pad(b, L, prefix, body, false)
		return
	}
	a := math.Abs(v)
	prec := 6
	if sp.hasPrec {
		prec = sp.prec
	}
	var body string
	switch conv {
	case 'f':
		body = strconv.FormatFloat(a, 'f', prec, 64)
		if sp.sharp && prec == 0 {
			body += "."
		}
	case 'e', 'E':
		body = strconv.FormatFloat(a, 'e', prec, 64)
		if sp.sharp && prec == 0 {
			body = strings.Replace(body, "e", ".e", 1)
		}
	default: // 'g', 'G'
		if prec == 0 {
			prec = 1
		}
		body = strconv.FormatFloat(a, 'e', prec-1, 64)
		x, _ := strconv.Atoi(body[strings.IndexByte(body, 'e')+1:])
		if x >= -4 && x < prec {
			body = strconv.FormatFloat(a, 'f', prec-1-x, 64)
		}
		mant, exp := body, ""
		if k := strings.IndexByte(body, 'e'); k >= 0 {
			mant, exp = body[:k], body[k:]
		}
		if sp.sharp {
			if !strings.Contains(mant, ".") {
				mant += "."
			}
		} else if strings.Contains(mant, ".") {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		body = mant + exp
	}
	if upper {
		body = strings.ToUpper(body)
	}
	sp.pad(b, L, prefix, body, true)
}

// lstrAddQuoted is addquoted (%q).
func lstrAddQuoted(b *lstrBuf, L *lua.LState, s string) {
	b.addByte(L, '"')
	lit := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '\n':
			esc = "\\\n"
		case '\r':
			esc = `\r`
		case 0:
			esc = `\000`
		default:
			continue
		}
		b.add(L, s[lit:i])
		b.add(L, esc)
		lit = i + 1
	}
	b.add(L, s[lit:])
	b.addByte(L, '"')
}
