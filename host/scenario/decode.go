package scenario

// A strict decoder for the options table. luavm converts the Lua table to
// plain Go values (nil, bool, float64, string, []any, map[string]any, and
// luavm.Foreign for functions and other values with no Go form); the
// decoder reads them into the structs of options_table.go by their opt
// tags. It is strict: a field no struct declares, a value of the wrong
// type, a number that is not a whole count, are problems, each named by
// its path (options.scenarios.calc.vus). It does not stop at the first:
// every problem is recorded and ParseOptions reports them all at once.

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"spellhost/host/luavm"
)

// decoder records the problems found while decoding.
type decoder struct {
	problems []problem
}

// problem is one thing wrong with the options, at a path such as
// options.scenarios.calc.vus ("" for one that belongs to no field: the
// command line's shortcuts).
type problem struct {
	path, msg string
}

func (p problem) String() string {
	if p.path == "" {
		return p.msg
	}
	return p.path + ": " + p.msg
}

// fail records a problem at path.
func (d *decoder) fail(path, format string, args ...any) {
	d.problems = append(d.problems, problem{path: path, msg: fmt.Sprintf(format, args...)})
}

// has reports whether a problem was recorded at path or inside it, so a
// check that reads a field can stay quiet about one already reported.
func (d *decoder) has(path string) bool {
	for _, p := range d.problems {
		if p.path == path || strings.HasPrefix(p.path, path+".") || strings.HasPrefix(p.path, path+"[") {
			return true
		}
	}
	return false
}

// err returns the problems as one *optionsError, sorted by path (a
// table's own problems before its fields') then message, or nil.
func (d *decoder) err() error {
	if len(d.problems) == 0 {
		return nil
	}
	ps := slices.Clone(d.problems)
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].path != ps[j].path {
			return ps[i].path < ps[j].path
		}
		return ps[i].msg < ps[j].msg
	})
	ps = slices.CompactFunc(ps, func(a, b problem) bool { return a == b })
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.String()
	}
	return &optionsError{problems: msgs}
}

// optionDecoder is a type that decodes itself: durations, sizes, the
// forms a field may take (a name or a list of names). It reports its
// problems to d at path and leaves itself unchanged on one.
type optionDecoder interface {
	decodeOption(d *decoder, path string, v any)
}

var optionDecoderType = reflect.TypeFor[optionDecoder]()

// decode reads v into dst, the settable value of a field, at path. A nil
// v (a field the script left out) leaves dst as it is. A pointer field is
// set only when its value decoded without a problem, so nil means absent
// or already reported.
func (d *decoder) decode(path string, v any, dst reflect.Value) {
	if v == nil {
		return
	}
	if dst.CanAddr() && dst.Addr().Type().Implements(optionDecoderType) {
		dst.Addr().Interface().(optionDecoder).decodeOption(d, path, v)
		return
	}
	switch dst.Kind() {
	case reflect.Pointer:
		n := len(d.problems)
		p := reflect.New(dst.Type().Elem())
		d.decode(path, v, p.Elem())
		if len(d.problems) == n {
			dst.Set(p)
		}
	case reflect.Interface:
		dst.Set(reflect.ValueOf(v))
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			d.fail(path, "want a string, got %s", describe(v))
			return
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.fail(path, "want true or false, got %s", describe(v))
			return
		}
		dst.SetBool(b)
	case reflect.Int:
		n, ok := count(v)
		if !ok {
			d.fail(path, "want a whole number from 0, got %s", describe(v))
			return
		}
		dst.SetInt(int64(n))
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.fail(path, "want a table with named fields, got %s", describe(v))
			return
		}
		d.fields(path, m, dst, nil)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			d.fail(path, "want a table with named entries, got %s", describe(v))
			return
		}
		if dst.IsNil() {
			dst.Set(reflect.MakeMapWithSize(dst.Type(), len(m)))
		}
		for _, k := range sortedKeys(m) {
			e := reflect.New(dst.Type().Elem()).Elem()
			d.decode(key(path, k), m[k], e)
			dst.SetMapIndex(reflect.ValueOf(k), e)
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			d.fail(path, "want a list, got %s", describe(v))
			return
		}
		s := reflect.MakeSlice(dst.Type(), len(list), len(list))
		for i, it := range list {
			d.decode(fmt.Sprintf("%s[%d]", path, i+1), it, s.Index(i))
		}
		dst.Set(s)
	default:
		panic(fmt.Sprintf("scenario: the options decoder has no rule for %s", dst.Type()))
	}
}

// scope narrows the fields of a struct a table may hold to those of one
// kind of it (an executor): the fields every kind takes and its own.
type scope struct {
	name        string
	common, own []string
}

func (s *scope) allows(field string) bool {
	return s == nil || slices.Contains(s.common, field) || slices.Contains(s.own, field)
}

// fields decodes the named fields of a table into the struct dst by its
// opt tags. sc, when not nil, narrows the fields the table may hold: a
// field of the struct outside it is reported as not sc's, with sc's own
// fields.
func (d *decoder) fields(path string, m map[string]any, dst reflect.Value, sc *scope) {
	t := dst.Type()
	index := map[string]int{}
	var known []string
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("opt")
		if name == "" || name == "-" {
			continue
		}
		index[name] = i
		if sc.allows(name) {
			known = append(known, name)
		}
	}
	sort.Strings(known)
	for _, k := range sortedKeys(m) {
		p := key(path, k)
		i, ok := index[k]
		switch {
		case !ok:
			if s := suggest(k, known); s != "" {
				d.fail(p, "unknown field; did you mean %q?", s)
			} else {
				d.fail(p, "unknown field; this table takes %s", strings.Join(known, ", "))
			}
		case !sc.allows(k):
			own := slices.Sorted(slices.Values(sc.own))
			d.fail(p, "not a field of %s (its own fields: %s)", sc.name, strings.Join(own, ", "))
		default:
			d.decode(p, m[k], dst.Field(i))
		}
	}
}

// count reads a whole number from 0 to a billion.
func count(v any) (int, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < 0 || f > 1e9 {
		return 0, false
	}
	return int(f), true
}

// key is the path of field k of the table at path: path.k, or path["k"]
// for a key that is not a plain name.
func key(path, k string) string {
	plain := k != ""
	for i, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '-')) {
			plain = false
			break
		}
	}
	if plain {
		return path + "." + k
	}
	return path + "[" + strconv.Quote(k) + "]"
}

// describe names a value for a message: its Lua type, and the value
// itself when it is short.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		if len(x) > 40 {
			return fmt.Sprintf("string %q... (%d bytes)", x[:40], len(x))
		}
		return fmt.Sprintf("string %q", x)
	case float64:
		return "number " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case []any:
		return "a list"
	case map[string]any:
		if len(x) == 0 {
			return "an empty table"
		}
		return "a table"
	case luavm.Foreign:
		return "a " + x.Type
	}
	return fmt.Sprintf("%T", v)
}

// suggest returns the known name closest to an unknown one, when it is
// close enough to be a slip: the same letters in another case or with _
// or -, or a few letters apart.
func suggest(name string, known []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	n := norm(name)
	best, bestDist := "", math.MaxInt
	for _, k := range known {
		if dist := editDistance(n, norm(k)); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if bestDist <= max(1, min(len(n), 12)/4) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
