package data

import (
	"context"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"spellhost/tools"
	"spellhost/tools/internal/jsonpath"
)

// Evaluating compiled rules against the input.

// evaluation is one evaluation of compiled rules against the input.
type evaluation struct {
	ctx       context.Context
	path      []byte
	errs      []any
	truncated bool
	stop      bool
	checked   int
	work      int
	err       error
}

func (r *evaluation) spend(n int) bool {
	if r.stop {
		return false
	}
	r.work += n
	if r.work > maxWork {
		r.err = tools.Errorf(tools.TypeTooLarge, "validation needs more than %d checks; validate a smaller input or fewer rules", maxWork)
		r.stop = true
		return false
	}
	if r.work&0x3ff < n {
		if err := r.ctx.Err(); err != nil {
			r.err, r.stop = err, true
			return false
		}
	}
	return true
}

func (r *evaluation) fail(rule *rule, ruleName string, v any, format string, args ...any) {
	if r.stop {
		return
	}
	if len(r.errs) == maxErrors {
		r.truncated, r.stop = true, true
		return
	}
	msg := rule.message
	if msg == "" {
		msg = fmt.Sprintf(format, args...)
	}
	field := "$"
	if len(r.path) > 0 {
		field = string(r.path)
	}
	r.errs = append(r.errs, map[string]any{"field": field, "value": show(v), "rule": ruleName, "message": msg})
}

// apply checks v against rules; present is false for a missing field.
func (r *evaluation) apply(rules []rule, v any, present bool) {
	for i := range rules {
		if r.stop {
			return
		}
		rule := &rules[i]
		if !rule.hasField {
			r.check(rule, v, present)
			continue
		}
		mark := len(r.path)
		r.path = jsonpath.AppendKey(r.path, rule.field)
		var fv any
		var ok bool
		switch x := v.(type) {
		case map[string]any:
			fv, ok = x[rule.field]
		case nil:
		case []any:
			if len(x) > 0 {
				r.spend(1)
				r.checked++
				r.fail(rule, kindNames[rule.kind], nil, "cannot read field %q of an array", rule.field)
				r.path = r.path[:mark]
				continue
			}
		default:
			r.spend(1)
			r.checked++
			r.fail(rule, kindNames[rule.kind], nil, "cannot read field %q of a %s", rule.field, tools.KindOf(v))
			r.path = r.path[:mark]
			continue
		}
		r.check(rule, fv, ok)
		r.path = r.path[:mark]
	}
}

func (r *evaluation) check(rule *rule, v any, present bool) {
	if !r.spend(1) {
		return
	}
	name := kindNames[rule.kind]
	switch rule.kind {
	case requiredRule:
		r.checked++
		if !present || v == nil {
			r.fail(rule, name, v, "is required")
		}
		return
	case typeRule:
		if !present {
			return
		}
		r.checked++
		if kindOf(v)&rule.types == 0 {
			r.fail(rule, name, v, "expected %s, got %s", rule.typeNames, tools.KindOf(v))
		}
		return
	case enum:
		if !present {
			return
		}
		r.checked++
		for _, want := range rule.values {
			if !r.spend(1) {
				return
			}
			eq, ok := r.equal(v, want, 0)
			if !ok {
				return
			}
			if eq {
				return
			}
		}
		r.fail(rule, name, v, "is not one of the allowed values: %s", listRule(rule.values))
		return
	}
	if !present || v == nil {
		return
	}
	r.checked++
	switch rule.kind {
	case length:
		var n int
		switch x := v.(type) {
		case string:
			n = utf8.RuneCountInString(x)
		case []any:
			n = len(x)
		case map[string]any:
			if len(x) > 0 {
				r.fail(rule, name, v, "expected string or array, got object")
				return
			}
		default:
			r.fail(rule, name, v, "expected string or array, got %s", tools.KindOf(v))
			return
		}
		unit := "characters"
		if _, ok := v.(string); !ok {
			unit = "items"
		}
		if rule.hasMin && float64(n) < rule.min {
			r.fail(rule, name, v, "has %d %s, fewer than the minimum %v", n, unit, rule.min)
		} else if rule.hasMax && float64(n) > rule.max {
			r.fail(rule, name, v, "has %d %s, more than the maximum %v", n, unit, rule.max)
		}
	case rangeRule:
		f, ok := tools.ToFloat(v)
		switch {
		case !ok:
			r.fail(rule, name, v, "expected number, got %s", tools.KindOf(v))
		case math.IsNaN(f):
			r.fail(rule, name, v, "is not a number")
		case rule.hasMin && f < rule.min:
			r.fail(rule, name, v, "%v is less than the minimum %v", v, rule.min)
		case rule.hasMax && f > rule.max:
			r.fail(rule, name, v, "%v is greater than the maximum %v", v, rule.max)
		}
	case pattern:
		s, ok := r.str(rule, v)
		if ok && !rule.re.MatchString(s) {
			r.fail(rule, name, v, "does not match pattern %q", rule.re.String())
		}
	case email:
		if s, ok := r.str(rule, v); ok {
			if msg := emailProblem(s); msg != "" {
				r.fail(rule, name, v, "is not a valid email address: %s", msg)
			}
		}
	case urlRule:
		if s, ok := r.str(rule, v); ok {
			if msg := urlProblem(s, rule.schemes); msg != "" {
				r.fail(rule, name, v, "is not a valid URL: %s", msg)
			}
		}
	case dateRule:
		if s, ok := r.str(rule, v); ok {
			for _, l := range rule.layouts {
				if _, err := time.Parse(l, s); err == nil {
					return
				}
			}
			r.fail(rule, name, v, "is not a date in the format %s", rule.format)
		}
	case array:
		r.array(rule, v)
	case object:
		r.object(rule, v)
	}
}

func (r *evaluation) str(rule *rule, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		r.fail(rule, kindNames[rule.kind], v, "expected string, got %s", tools.KindOf(v))
	}
	return s, ok
}

func emailProblem(s string) string {
	if s == "" {
		return "empty"
	}
	if strings.ContainsAny(s, "<>()") || strings.TrimSpace(s) != s {
		return "want a bare address such as name@example.com, without a display name, brackets or spaces"
	}
	if !strings.Contains(s, "@") {
		return "missing @"
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return strings.TrimPrefix(err.Error(), "mail: ")
	}
	if a.Name != "" {
		return "display names are not allowed"
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return "missing local part or domain"
	}
	return ""
}

func urlProblem(s string, schemes []string) string {
	u, err := url.Parse(s)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			return ue.Err.Error()
		}
		return err.Error()
	}
	if u.Scheme == "" {
		return "no scheme; want an absolute URL such as https://example.com/"
	}
	if u.Host == "" || u.Hostname() == "" {
		return "no host"
	}
	if len(schemes) > 0 && !slices.Contains(schemes, strings.ToLower(u.Scheme)) {
		return "scheme " + strconv.Quote(u.Scheme) + " is not one of " + strings.Join(schemes, ", ")
	}
	return ""
}

func (r *evaluation) array(rule *rule, v any) {
	l, ok := v.([]any)
	if !ok {
		if m, isMap := v.(map[string]any); !isMap || len(m) > 0 {
			r.fail(rule, "array", v, "expected array, got %s", tools.KindOf(v))
		}
		return
	}
	if rule.unique && len(l) > 1 {
		seen := make(map[string]int, len(l))
		var key []byte
		for i, item := range l {
			key = key[:0]
			var ok bool
			if key, ok = r.canon(key, item, 0); !ok {
				return
			}
			if j, dup := seen[string(key)]; dup {
				mark := len(r.path)
				r.path = append(r.path, '[')
				r.path = strconv.AppendInt(r.path, int64(i), 10)
				r.path = append(r.path, ']')
				r.fail(rule, "unique", item, "duplicate of item %d", j)
				r.path = r.path[:mark]
				if r.stop {
					return
				}
				continue
			}
			seen[string(key)] = i
		}
	}
	if len(rule.items) == 0 {
		return
	}
	mark := len(r.path)
	for i, item := range l {
		if r.stop {
			return
		}
		r.path = append(r.path, '[')
		r.path = strconv.AppendInt(r.path, int64(i), 10)
		r.path = append(r.path, ']')
		r.apply(rule.items, item, true)
		r.path = r.path[:mark]
	}
}

func (r *evaluation) object(rule *rule, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		if l, isList := v.([]any); !isList || len(l) > 0 {
			r.fail(rule, "object", v, "expected object, got %s", tools.KindOf(v))
			return
		}
	}
	mark := len(r.path)
	for _, name := range rule.required {
		if x, ok := m[name]; !ok || x == nil {
			r.path = jsonpath.AppendKey(r.path, name)
			r.fail(rule, "required", x, "is required")
			r.path = r.path[:mark]
		}
	}
	for i := range rule.props {
		if r.stop {
			return
		}
		p := &rule.props[i]
		x, ok := m[p.name]
		r.path = jsonpath.AppendKey(r.path, p.name)
		r.apply(p.rules, x, ok)
		r.path = r.path[:mark]
	}
	if !rule.closed || r.stop {
		return
	}
	var extra []string
	for k := range m {
		if _, found := slices.BinarySearchFunc(rule.props, k, func(p prop, k string) int { return strings.Compare(p.name, k) }); !found {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		r.path = jsonpath.AppendKey(r.path, k)
		r.fail(rule, "additional_properties", m[k], "is not an allowed property")
		r.path = r.path[:mark]
	}
}

// canon appends a canonical encoding of v to b: equal JSON values (1 and
// 1.0 included) encode the same.
func (r *evaluation) canon(b []byte, v any, depth int) ([]byte, bool) {
	if !r.spend(1) {
		return b, false
	}
	if depth > maxDepth {
		r.err, r.stop = tools.Invalid("parameter \"input\": nests deeper than %d levels", maxDepth), true
		return b, false
	}
	switch x := v.(type) {
	case nil:
		return append(b, 'n'), true
	case bool:
		if x {
			return append(b, 't'), true
		}
		return append(b, 'f'), true
	case string:
		b = append(b, 's')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		return append(b, x...), true
	case []any:
		if len(x) == 0 {
			return append(b, "{}"...), true
		}
		b = append(b, '[')
		for _, e := range x {
			var ok bool
			if b, ok = r.canon(b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		if len(x) == 0 {
			return append(b, "{}"...), true
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for _, k := range keys {
			b = strconv.AppendInt(b, int64(len(k)), 10)
			b = append(b, ':')
			b = append(b, k...)
			var ok bool
			if b, ok = r.canon(b, x[k], depth+1); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	if f, ok := tools.ToFloat(v); ok {
		b = append(b, 'd')
		if f == 0 {
			f = 0 // -0 equals 0
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64), true
	}
	b = append(b, '?')
	return append(b, tools.KindOf(v)...), true
}

// equal compares two JSON values; ok is false when the work or depth
// limit stopped it.
func (r *evaluation) equal(a, b any, depth int) (eq, ok bool) {
	if depth > maxDepth {
		r.err, r.stop = tools.Invalid("parameter \"input\": nests deeper than %d levels", maxDepth), true
		return false, false
	}
	switch x := a.(type) {
	case nil:
		return b == nil, true
	case string:
		y, isStr := b.(string)
		return isStr && x == y, true
	case bool:
		y, isBool := b.(bool)
		return isBool && x == y, true
	case []any:
		y, isList := b.([]any)
		if !isList {
			m, isMap := b.(map[string]any)
			return isMap && len(m) == 0 && len(x) == 0, true
		}
		if len(x) != len(y) {
			return false, true
		}
		for i := range x {
			if !r.spend(1) {
				return false, false
			}
			if eq, ok := r.equal(x[i], y[i], depth+1); !eq || !ok {
				return false, ok
			}
		}
		return true, true
	case map[string]any:
		y, isMap := b.(map[string]any)
		if !isMap {
			l, isList := b.([]any)
			return isList && len(l) == 0 && len(x) == 0, true
		}
		if len(x) != len(y) {
			return false, true
		}
		for k, xv := range x {
			if !r.spend(1) {
				return false, false
			}
			yv, found := y[k]
			if !found {
				return false, true
			}
			if eq, ok := r.equal(xv, yv, depth+1); !eq || !ok {
				return false, ok
			}
		}
		return true, true
	}
	fa, okA := tools.ToFloat(a)
	fb, okB := tools.ToFloat(b)
	return okA && okB && fa == fb, true
}

// show returns v for an error entry, abbreviating what would bloat the
// result.
func show(v any) any {
	switch x := v.(type) {
	case string:
		if len(x) > 256 {
			cut := 256
			for cut > 0 && !utf8.RuneStart(x[cut]) {
				cut--
			}
			return x[:cut] + "..."
		}
	case []any:
		if budget := 64; !small(x, &budget) {
			return "array of " + strconv.Itoa(len(x)) + " items"
		}
	case map[string]any:
		if budget := 64; !small(x, &budget) {
			return "object of " + strconv.Itoa(len(x)) + " keys"
		}
	}
	return v
}

// small reports whether v holds at most *budget values, none of them a
// long string.
func small(v any, budget *int) bool {
	*budget--
	if *budget < 0 {
		return false
	}
	switch x := v.(type) {
	case string:
		return len(x) <= 256
	case []any:
		for _, e := range x {
			if !small(e, budget) {
				return false
			}
		}
	case map[string]any:
		for _, e := range x {
			if !small(e, budget) {
				return false
			}
		}
	}
	return true
}

// listRule formats allowed values for a message, at most 10 of them.
func listRule(vals []any) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 10 {
			b.WriteString("... (" + strconv.Itoa(len(vals)) + " in all)")
			break
		}
		switch x := v.(type) {
		case string:
			b.WriteString(strconv.Quote(x))
		case nil:
			b.WriteString("null")
		case []any, map[string]any:
			b.WriteString(tools.KindOf(x))
		default:
			b.WriteString(fmt.Sprintf("%v", x))
		}
	}
	return b.String()
}
