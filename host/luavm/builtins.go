package luavm

// Standard library functions that build many values or bytes, replaced
// so each is capped (MaxResults values, MaxStringBytes bytes) before it
// builds anything, runs in time linear in what it returns, and checks the
// state's context in its loops.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// checkEvery is how many loop steps a builtin takes between two looks at
// its state's context.
const checkEvery = 1 << 12

// checkCtx raises the context's error when the state's context ended.
func checkCtx(L *lua.LState) {
	if ctx := L.Context(); ctx != nil && ctx.Err() != nil {
		L.RaiseError("%s", ctxErrText(ctx))
	}
}

// pushValues pushes n values, vals(k) for k in 0..n-1, after checking n
// against the results limit. The stack grows once, not once per value
// (growing per value made a large range quadratic).
func (vm *VM) pushValues(L *lua.LState, what string, n int, vals func(k int) lua.LValue) int {
	if n <= 0 {
		return 0
	}
	if n > vm.env.Limits.MaxResults {
		L.RaiseError("%s: %d results exceed the limit of %d", what, n, vm.env.Limits.MaxResults)
	}
	top := L.GetTop()
	L.SetTop(top + n)
	for k := range n {
		L.Replace(top+1+k, vals(k))
	}
	return n
}

// unpack is Lua's unpack with a cap on the number of results.
func (vm *VM) unpack(L *lua.LState) int {
	t := L.CheckTable(1)
	i := L.OptInt(2, 1)
	j := L.OptInt(3, t.Len())
	if i > j {
		return 0
	}
	n := int64(j) - int64(i) + 1
	if n > int64(vm.env.Limits.MaxResults) {
		L.RaiseError("unpack: %d results exceed the limit of %d", n, vm.env.Limits.MaxResults)
	}
	return vm.pushValues(L, "unpack", int(n), func(k int) lua.LValue { return t.RawGetInt(i + k) })
}

// strByte is Lua 5.1's string.byte(s [, i [, j]]): j defaults to i, and
// the range is clipped to the string before the results are counted.
func (vm *VM) strByte(L *lua.LState) int {
	s := L.CheckString(1)
	i := lstrPosrelat(lstrOptInt(L, 2, 1), len(s))
	j := lstrPosrelat(lstrOptInt(L, 3, i), len(s))
	if i <= 0 {
		i = 1
	}
	if j > len(s) {
		j = len(s)
	}
	if i > j {
		return 0
	}
	return vm.pushValues(L, "string.byte", j-i+1, func(k int) lua.LValue { return lua.LNumber(s[i-1+k]) })
}

// tableConcat is table.concat with the string size limit checked before
// anything is built.
func (vm *VM) tableConcat(L *lua.LState) int {
	t := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, t.Len())
	if i > j {
		L.Push(lua.LString(""))
		return 1
	}
	max := vm.env.Limits.MaxStringBytes
	if int64(j)-int64(i) > int64(max) {
		L.RaiseError("table.concat: %d items exceed the %d-byte string limit", int64(j)-int64(i)+1, max)
	}
	total := 0
	for k := i; k <= j; k++ {
		if (k-i)%checkEvery == 0 {
			checkCtx(L)
		}
		switch v := t.RawGetInt(k).(type) {
		case lua.LString:
			total += len(v)
		case lua.LNumber:
			total += 24
		default:
			L.RaiseError("table.concat: invalid value (at index %d) in table for 'concat'", k)
		}
		if k < j {
			total += len(sep)
		}
		if total > max {
			L.RaiseError("table.concat: result exceeds the %d-byte string limit", max)
		}
	}
	var b strings.Builder
	release := reserveMemory(L, total, "table.concat")
	defer release()
	b.Grow(total)
	for k := i; k <= j; k++ {
		if (k-i)%checkEvery == 0 {
			checkCtx(L)
		}
		b.WriteString(lua.LVAsString(t.RawGetInt(k)))
		if k < j {
			b.WriteString(sep)
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// tableSort is table.sort: it sorts a copy of the sequence and writes it
// back, checking the context every few thousand comparisons (a comparator
// written in Go never looks at it). A comparator that raises stops the
// sort with its error; one that answers inconsistently leaves the values
// in some order, every value still there once.
func (vm *VM) tableSort(L *lua.LState) int {
	t := L.CheckTable(1)
	var cmp *lua.LFunction
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		cmp = L.CheckFunction(2)
	}
	n := t.Len()
	s := &luaSorter{L: L, cmp: cmp, vals: make([]lua.LValue, n)}
	for k := range n {
		s.vals[k] = t.RawGetInt(k + 1)
	}
	sort.Sort(s)
	for k, v := range s.vals {
		t.RawSetInt(k+1, v)
	}
	return 0
}

type luaSorter struct {
	L     *lua.LState
	cmp   *lua.LFunction
	vals  []lua.LValue
	count int
}

func (s *luaSorter) Len() int      { return len(s.vals) }
func (s *luaSorter) Swap(i, j int) { s.vals[i], s.vals[j] = s.vals[j], s.vals[i] }
func (s *luaSorter) Less(i, j int) bool {
	s.count++
	if s.count%checkEvery == 0 {
		checkCtx(s.L)
	}
	if s.cmp == nil {
		return s.L.LessThan(s.vals[i], s.vals[j])
	}
	s.L.Push(s.cmp)
	s.L.Push(s.vals[i])
	s.L.Push(s.vals[j])
	s.L.Call(2, 1)
	r := s.L.Get(-1)
	s.L.Pop(1)
	return lua.LVAsBool(r)
}

// maxInsertGap is how far past a table's end table.insert may put a
// value. gopher-lua fills the gap with nils one at a time, so
// table.insert(t, 6e7, x) on an empty table would take seconds and
// gigabytes in one call.
const maxInsertGap = 1 << 20

// tableInsert is table.insert(t, [pos,] value).
func (vm *VM) tableInsert(L *lua.LState) int {
	t := L.CheckTable(1)
	switch L.GetTop() {
	case 2:
		t.Append(L.Get(2))
	case 3:
		pos, v := L.CheckInt(2), L.CheckAny(3)
		if n := t.MaxN(); pos > n+maxInsertGap {
			L.RaiseError("table.insert: position %d is more than %d past the end of the table (%d)", pos, maxInsertGap, n)
		}
		t.Insert(pos, v)
	default:
		L.RaiseError("wrong number of arguments to 'insert'")
	}
	return 0
}

// osDate is os.date([format [, time]]) with the C library's conversions
// (in the C locale). The result's size is known before it is built and
// checked against the string limit; the loops check the context.
func (vm *VM) osDate(L *lua.LState) int {
	format := L.OptString(1, "%c")
	t := time.Now()
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		t = time.Unix(L.CheckInt64(2), 0)
	}
	if strings.HasPrefix(format, "!") {
		format = format[1:]
		t = t.UTC()
	}
	if strings.HasPrefix(format, "*t") {
		tt := L.CreateTable(0, 9)
		for _, kv := range []struct {
			k string
			v int
		}{{"year", t.Year()}, {"month", int(t.Month())}, {"day", t.Day()}, {"hour", t.Hour()}, {"min", t.Minute()},
			{"sec", t.Second()}, {"wday", int(t.Weekday()) + 1}, {"yday", t.YearDay()}} {
			tt.RawSetString(kv.k, lua.LNumber(kv.v))
		}
		tt.RawSetString("isdst", lua.LBool(t.IsDST()))
		L.Push(tt)
		return 1
	}
	var conv [256]string
	var have [256]bool
	expand := func(c byte) string {
		if !have[c] {
			conv[c], have[c] = strftimeConv(t, c), true
		}
		return conv[c]
	}
	// First pass: the size of the result.
	max := vm.env.Limits.MaxStringBytes
	total, steps := 0, 0
	for i := 0; i < len(format); {
		j := strings.IndexByte(format[i:], '%')
		if j < 0 {
			total += len(format) - i
			break
		}
		total += j
		i += j + 1
		if i < len(format) {
			total += len(expand(format[i]))
			i++
		} else {
			total++ // a lone '%' at the end stays
		}
		if total > max {
			L.RaiseError("os.date: result of at least %d bytes exceeds the %d-byte string limit", total, max)
		}
		if steps++; steps%checkEvery == 0 {
			checkCtx(L)
		}
	}
	var b strings.Builder
	b.Grow(total)
	for i := 0; i < len(format); {
		j := strings.IndexByte(format[i:], '%')
		if j < 0 {
			b.WriteString(format[i:])
			break
		}
		b.WriteString(format[i : i+j])
		i += j + 1
		if i < len(format) {
			b.WriteString(expand(format[i]))
			i++
		} else {
			b.WriteByte('%')
		}
		if steps--; steps%checkEvery == 0 {
			checkCtx(L)
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}

var (
	weekdays = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months   = [...]string{"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"}
)

// strftimeConv is one strftime conversion of t in the C locale; an
// unknown one stays as written.
func strftimeConv(t time.Time, c byte) string {
	two := func(n int) string { return fmt.Sprintf("%02d", n) }
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	switch c {
	case 'a':
		return weekdays[t.Weekday()][:3]
	case 'A':
		return weekdays[t.Weekday()]
	case 'b', 'h':
		return months[t.Month()-1][:3]
	case 'B':
		return months[t.Month()-1]
	case 'c':
		return fmt.Sprintf("%s %s %2d %02d:%02d:%02d %d", weekdays[t.Weekday()][:3], months[t.Month()-1][:3],
			t.Day(), t.Hour(), t.Minute(), t.Second(), t.Year())
	case 'd':
		return two(t.Day())
	case 'e':
		return fmt.Sprintf("%2d", t.Day())
	case 'D', 'x':
		return fmt.Sprintf("%02d/%02d/%02d", int(t.Month()), t.Day(), t.Year()%100)
	case 'F':
		return fmt.Sprintf("%d-%02d-%02d", t.Year(), int(t.Month()), t.Day())
	case 'H':
		return two(t.Hour())
	case 'I':
		return two(hour12)
	case 'j':
		return fmt.Sprintf("%03d", t.YearDay())
	case 'm':
		return two(int(t.Month()))
	case 'M':
		return two(t.Minute())
	case 'n':
		return "\n"
	case 'p':
		if t.Hour() < 12 {
			return "AM"
		}
		return "PM"
	case 'R':
		return fmt.Sprintf("%02d:%02d", t.Hour(), t.Minute())
	case 'S':
		return two(t.Second())
	case 't':
		return "\t"
	case 'T', 'X':
		return fmt.Sprintf("%02d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
	case 'U':
		return two((t.YearDay() + 6 - int(t.Weekday())) / 7)
	case 'w':
		return strconv.Itoa(int(t.Weekday()))
	case 'W':
		return two((t.YearDay() + 6 - (int(t.Weekday())+6)%7) / 7)
	case 'y':
		return two(t.Year() % 100)
	case 'Y':
		return strconv.Itoa(t.Year())
	case 'z':
		return t.Format("-0700")
	case 'Z':
		return t.Format("MST")
	case '%':
		return "%"
	}
	return "%" + string(c)
}
