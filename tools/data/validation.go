package data

import (
	"context"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"spellhost/tools"
	"spellhost/tools/internal/jsonpath"
)

// Data validation limits.
const (
	maxDepth      = 64        // nesting of array/object rules, and of values compared or hashed
	maxRules      = 10_000    // rule objects in one call, nested ones included
	maxErrors     = 100       // errors listed; more set truncated
	maxWork       = 1_000_000 // rule checks plus values compared or hashed, per call
	maxPatternLen = 4096      // bytes of one pattern
	patternCache  = 256       // compiled patterns kept across calls
)

func dataValidationSpec() tools.Spec {
	return tools.Spec{
		Inline:   true,
		Name:     "data_validation",
		Category: "utility",
		Description: "Checks a value against a list of rules (required, type, length, range, pattern, enum, " +
			"email, url, date, array, object) and lists every failure with the path of the failing value. " +
			"A value that fails its rules is a successful call with valid false; a malformed rule is a validation error.",
		Params: []tools.Param{
			{Name: "input", Type: tools.Any, Required: true,
				Description: "the value to check: any JSON value (object, array, string, number, boolean)"},
			{Name: "rules", Type: tools.Array, Required: true,
				Description: "rules applied in order; each is an object {\"type\": kind, ...} or, for a rule with no settings, just its name. " +
					"Every rule takes optional \"field\" (apply it to that key of an object value instead of the value itself) " +
					"and \"message\" (replaces the default failure message). Kinds: " +
					"required (present and not null); " +
					"type {expected: string|number|integer|boolean|object|array|null, or a list of them} - " +
					"{\"type\":\"string\"} and the like are shorthands; " +
					"length {min, max} (characters of a string, items of an array); " +
					"range {min, max} (inclusive, numbers); " +
					"pattern {pattern} (Go RE2 syntax, unanchored: use ^...$ to match the whole string); " +
					"enum {values: [...]} (JSON equality, 1 equals 1.0); " +
					"email (a bare address, no display name); " +
					"url {schemes?} (absolute, with scheme and host); " +
					"date {format?} (RFC 3339 or 2006-01-02 by default; format is rfc3339, date, time, datetime, " +
					"a Go layout or a strftime pattern such as %Y-%m-%d); " +
					"array {items: [rules], unique: bool}; " +
					"object {properties: {name: [rules]}, required: [names], additional_properties: bool}. " +
					"Only required and type look at a missing or null value; the other rules skip it. " +
					"A rule for one kind of value (length, range, pattern, email, url, date, array, object) fails on another kind. " +
					"An empty list and an empty object count as both array and object, since Lua cannot tell them apart. " +
					"Limits: 64 levels of nested array/object rules, 10000 rules, 1000000 checks per call."},
		},
		Returns: "{valid, errors: [{field, value, rule, message}], checked, truncated}: field is the path of the failing value " +
			"(\"users[2].email\"; \"$\" for the input itself); value is the failing value (long strings and large arrays or " +
			"objects are abbreviated); rule is the rule kind, or unique, required or additional_properties for those parts of " +
			"array and object rules; checked counts the rules applied to a value; errors stop at 100 with truncated true",
		Example: map[string]any{
			"input": map[string]any{"name": "Ada", "age": 36, "email": "ada@example.com", "tags": []any{"math", "code"}},
			"rules": []any{
				map[string]any{"type": "object", "required": []any{"name", "email"}, "properties": map[string]any{
					"name": []any{map[string]any{"type": "string"}, map[string]any{"type": "length", "min": 1, "max": 100}},
					"tags": []any{map[string]any{"type": "array", "unique": true, "items": []any{map[string]any{"type": "string"}}}},
				}},
				map[string]any{"field": "age", "type": "range", "min": 0, "max": 150},
				map[string]any{"field": "email", "type": "email"},
			},
		},
	}
}

// Validation returns the data_validation tool.
func Validation() tools.Tool { return tools.New(dataValidationSpec(), dataValidate) }

func dataValidate(ctx context.Context, p tools.Params) (any, error) {
	input, _ := p.Get("input")
	c := compiler{path: make([]byte, 0, 64)}
	c.path = append(c.path, "rules"...)
	rules, err := c.list(p.List("rules"), 0)
	if err != nil {
		return nil, err
	}
	r := evaluation{ctx: ctx, errs: []any{}}
	r.apply(rules, input, true)
	if r.err != nil {
		return nil, r.err
	}
	return map[string]any{
		"valid":     len(r.errs) == 0,
		"errors":    r.errs,
		"checked":   r.checked,
		"truncated": r.truncated,
	}, nil
}

type ruleKind uint8

const (
	requiredRule ruleKind = iota + 1
	typeRule
	length
	rangeRule
	pattern
	enum
	email
	urlRule
	dateRule
	array
	object
)

var kindNames = [...]string{
	requiredRule: "required", typeRule: "type", length: "length", rangeRule: "range", pattern: "pattern",
	enum: "enum", email: "email", urlRule: "url", dateRule: "date", array: "array", object: "object",
}

const kindList = "required, type, length, range, pattern, enum, email, url, date, array, object"

// Value kinds, as bits, for the type rule.
const (
	bitString uint8 = 1 << iota
	bitNumber
	bitInteger
	bitBoolean
	bitObject
	bitArray
	bitNull
)

var typeNames = []struct {
	name string
	bit  uint8
}{
	{"string", bitString}, {"number", bitNumber}, {"integer", bitInteger}, {"boolean", bitBoolean},
	{"object", bitObject}, {"array", bitArray}, {"null", bitNull},
}

func typeBit(name string) uint8 {
	for _, t := range typeNames {
		if t.name == name {
			return t.bit
		}
	}
	return 0
}

// kindOf returns the type bits v satisfies.
func kindOf(v any) uint8 {
	switch x := v.(type) {
	case nil:
		return bitNull
	case string:
		return bitString
	case bool:
		return bitBoolean
	case map[string]any:
		if len(x) == 0 {
			return bitObject | bitArray
		}
		return bitObject
	case []any:
		if len(x) == 0 {
			return bitObject | bitArray
		}
		return bitArray
	}
	if f, ok := tools.ToFloat(v); ok {
		if f == math.Trunc(f) && !math.IsInf(f, 0) {
			return bitNumber | bitInteger
		}
		return bitNumber
	}
	return 0
}

type rule struct {
	kind     ruleKind
	hasField bool
	field    string
	message  string

	types     uint8  // type: accepted kinds
	typeNames string // type: "string or null"

	hasMin, hasMax bool // length, range
	min, max       float64

	re      *regexp.Regexp // pattern
	values  []any          // enum
	schemes []string       // url
	layouts []string       // date
	format  string         // date, for messages

	items  []rule // array
	unique bool

	props    []prop // object, sorted by name
	required []string
	closed   bool // additional_properties false
}

type prop struct {
	name  string
	rules []rule
}

// compiler turns the rules parameter into dvRules, reporting the first
// malformed rule by its path in the parameter ("rules[1].items[0]").
type compiler struct {
	path []byte
	n    int
}

func (c *compiler) fail(format string, args ...any) error {
	return tools.Invalid("parameter \"rules\": "+string(c.path)+": "+format, args...)
}

func (c *compiler) list(l []any, depth int) ([]rule, error) {
	if len(l) == 0 {
		return nil, nil
	}
	out := make([]rule, len(l))
	mark := len(c.path)
	for i, v := range l {
		c.path = append(c.path, '[')
		c.path = strconv.AppendInt(c.path, int64(i), 10)
		c.path = append(c.path, ']')
		r, err := c.rule(v, depth)
		if err != nil {
			return nil, err
		}
		out[i] = r
		c.path = c.path[:mark]
	}
	return out, nil
}

// ruleList accepts a list of rules or a single rule.
func (c *compiler) ruleList(key string, v any, depth int) ([]rule, error) {
	switch x := v.(type) {
	case []any:
		return c.list(x, depth)
	case map[string]any:
		if len(x) == 0 {
			return nil, nil
		}
		r, err := c.rule(x, depth)
		if err != nil {
			return nil, err
		}
		return []rule{r}, nil
	case string:
		r, err := c.rule(x, depth)
		if err != nil {
			return nil, err
		}
		return []rule{r}, nil
	}
	return nil, c.fail("%s: expected a list of rules, got %s", key, tools.KindOf(v))
}

func (c *compiler) rule(v any, depth int) (rule, error) {
	var r rule
	c.n++
	if c.n > maxRules {
		return r, tools.Errorf(tools.TypeTooLarge, "parameter \"rules\": more than %d rules", maxRules)
	}
	var m map[string]any
	var kindName string
	switch x := v.(type) {
	case string:
		kindName = x
	case map[string]any:
		m = x
		t, ok := m["type"]
		if !ok || t == nil {
			return r, c.fail("missing \"type\" (one of %s)", kindList)
		}
		s, ok := t.(string)
		if !ok {
			return r, c.fail("\"type\": expected string, got %s", tools.KindOf(t))
		}
		kindName = s
	default:
		return r, c.fail("expected a rule object or rule name, got %s", tools.KindOf(v))
	}
	for k, name := range kindNames {
		if name == kindName && k != 0 {
			r.kind = ruleKind(k)
		}
	}
	if r.kind == 0 {
		bit := typeBit(kindName)
		if bit == 0 {
			return r, c.fail("unknown rule type %q; known: %s (or a type name: string, number, integer, boolean, null)", kindName, kindList)
		}
		// {"type": "string"} is short for {"type": "type", "expected": "string"}.
		r.kind, r.types, r.typeNames = typeRule, bit, kindName
		if _, ok := m["expected"]; ok {
			return r, c.fail("\"expected\" needs \"type\": \"type\", not %q", kindName)
		}
	}
	for k := range m {
		if !allowedKey(r.kind, k) {
			return r, c.fail("unknown key %q for a %s rule", k, kindNames[r.kind])
		}
	}
	if f, ok := m["field"]; ok && f != nil {
		s, ok := f.(string)
		if !ok {
			return r, c.fail("\"field\": expected string, got %s", tools.KindOf(f))
		}
		r.hasField, r.field = true, s
	}
	if msg, ok := m["message"]; ok && msg != nil {
		s, ok := msg.(string)
		if !ok {
			return r, c.fail("\"message\": expected string, got %s", tools.KindOf(msg))
		}
		r.message = s
	}
	var err error
	switch r.kind {
	case typeRule:
		if r.types == 0 {
			err = c.typeRule(&r, m["expected"])
		}
	case length, rangeRule:
		err = c.bounds(&r, m)
	case pattern:
		err = c.pattern(&r, m["pattern"])
	case enum:
		vals, ok := m["values"].([]any)
		switch {
		case m["values"] == nil:
			err = c.fail("enum needs \"values\", a list of allowed values")
		case !ok:
			err = c.fail("\"values\": expected array, got %s", tools.KindOf(m["values"]))
		case len(vals) == 0:
			err = c.fail("\"values\" is empty; nothing would be allowed")
		}
		r.values = vals
	case urlRule:
		if s, ok := m["schemes"]; ok && s != nil {
			r.schemes, err = c.strings("schemes", s)
			for i := range r.schemes {
				r.schemes[i] = strings.ToLower(r.schemes[i])
			}
		}
	case dateRule:
		err = c.date(&r, m["format"])
	case array:
		if u, ok := m["unique"]; ok && u != nil {
			b, ok := u.(bool)
			if !ok {
				return r, c.fail("\"unique\": expected boolean, got %s", tools.KindOf(u))
			}
			r.unique = b
		}
		if it, ok := m["items"]; ok && it != nil {
			if depth+1 >= maxDepth {
				return r, c.fail("rules nest deeper than %d levels", maxDepth)
			}
			mark := len(c.path)
			c.path = append(c.path, ".items"...)
			r.items, err = c.ruleList("items", it, depth+1)
			c.path = c.path[:mark]
		}
	case object:
		err = c.object(&r, m, depth)
	}
	return r, err
}

func allowedKey(k ruleKind, key string) bool {
	switch key {
	case "type", "field", "message":
		return true
	}
	switch k {
	case typeRule:
		return key == "expected"
	case length, rangeRule:
		return key == "min" || key == "max"
	case pattern:
		return key == "pattern"
	case enum:
		return key == "values"
	case urlRule:
		return key == "schemes"
	case dateRule:
		return key == "format"
	case array:
		return key == "items" || key == "unique"
	case object:
		return key == "properties" || key == "required" || key == "additional_properties"
	}
	return false
}

func (c *compiler) typeRule(r *rule, v any) error {
	var names []string
	switch x := v.(type) {
	case nil:
		return c.fail("type needs \"expected\": string, number, integer, boolean, object, array or null")
	case string:
		names = []string{x}
	case []any:
		var err error
		if names, err = c.strings("expected", x); err != nil {
			return err
		}
		if len(names) == 0 {
			return c.fail("\"expected\" is empty")
		}
	default:
		return c.fail("\"expected\": expected a type name or a list of them, got %s", tools.KindOf(v))
	}
	for _, n := range names {
		bit := typeBit(n)
		if bit == 0 {
			return c.fail("\"expected\": unknown type %q; known: string, number, integer, boolean, object, array, null", n)
		}
		r.types |= bit
	}
	r.typeNames = strings.Join(names, " or ")
	return nil
}

func (c *compiler) strings(key string, v any) ([]string, error) {
	l, ok := v.([]any)
	if !ok {
		if m, isMap := v.(map[string]any); isMap && len(m) == 0 {
			return nil, nil
		}
		return nil, c.fail("%q: expected array of strings, got %s", key, tools.KindOf(v))
	}
	out := make([]string, len(l))
	for i, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, c.fail("%q: item %d: expected string, got %s", key, i, tools.KindOf(x))
		}
		out[i] = s
	}
	return out, nil
}

func (c *compiler) bounds(r *rule, m map[string]any) error {
	name := kindNames[r.kind]
	for _, key := range []string{"min", "max"} {
		v, ok := m[key]
		if !ok || v == nil {
			continue
		}
		f, ok := tools.ToFloat(v)
		if !ok || math.IsNaN(f) {
			return c.fail("%q: expected number, got %s", key, tools.KindOf(v))
		}
		if r.kind == length && (f < 0 || f != math.Trunc(f)) {
			return c.fail("%q: expected a non-negative integer, got %v", key, v)
		}
		if key == "min" {
			r.hasMin, r.min = true, f
		} else {
			r.hasMax, r.max = true, f
		}
	}
	if !r.hasMin && !r.hasMax {
		return c.fail("%s needs \"min\", \"max\" or both", name)
	}
	if r.hasMin && r.hasMax && r.min > r.max {
		return c.fail("%s: min %v is greater than max %v", name, r.min, r.max)
	}
	return nil
}

func (c *compiler) pattern(r *rule, v any) error {
	s, ok := v.(string)
	if !ok {
		if v == nil {
			return c.fail("pattern needs \"pattern\", a regular expression")
		}
		return c.fail("\"pattern\": expected string, got %s", tools.KindOf(v))
	}
	if len(s) > maxPatternLen {
		return tools.Errorf(tools.TypeTooLarge, "parameter \"rules\": %s: pattern of %d bytes exceeds the %d-byte limit", c.path, len(s), maxPatternLen)
	}
	re, err := compileRegexp(s)
	if err != nil {
		return c.fail("invalid pattern %q: %s", s, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	r.re = re
	return nil
}

// patterns caches compiled patterns across calls. When it grows past
// patternCache entries it is emptied, so it stays small whatever the
// callers send.
var patterns struct {
	m sync.Map // string -> *regexp.Regexp
	n atomic.Int64
}

func compileRegexp(s string) (*regexp.Regexp, error) {
	if re, ok := patterns.m.Load(s); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, err
	}
	if patterns.n.Add(1) > patternCache {
		patterns.m.Clear()
		patterns.n.Store(1)
	}
	patterns.m.Store(s, re)
	return re, nil
}

// Named date formats.
var dateFormats = map[string][]string{
	"rfc3339":  {time.RFC3339},
	"datetime": {time.RFC3339},
	"iso8601":  {time.RFC3339},
	"date":     {time.DateOnly},
	"time":     {time.TimeOnly},
}

var strftimeLayouts = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03", 'M': "04", 'S': "05",
	'f': "000000", 'p': "PM", 'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday",
	'z': "-0700", 'Z': "MST", 'j': "002", 'F': "2006-01-02", 'T': "15:04:05", '%': "%",
}

func (c *compiler) date(r *rule, v any) error {
	if v == nil {
		r.layouts, r.format = []string{time.RFC3339, time.DateOnly}, "RFC 3339 or 2006-01-02"
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return c.fail("\"format\": expected string, got %s", tools.KindOf(v))
	}
	if s == "" {
		return c.fail("\"format\" is empty")
	}
	r.format = s
	if l, ok := dateFormats[strings.ToLower(s)]; ok {
		r.layouts = l
		return nil
	}
	if !strings.Contains(s, "%") {
		r.layouts = []string{s}
		return nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			return c.fail("\"format\": %q ends with a lone %%", s)
		}
		l, ok := strftimeLayouts[s[i]]
		if !ok {
			return c.fail("\"format\": unsupported directive %%%c in %q", s[i], s)
		}
		b.WriteString(l)
	}
	r.layouts = []string{b.String()}
	return nil
}

func (c *compiler) object(r *rule, m map[string]any, depth int) error {
	if req, ok := m["required"]; ok && req != nil {
		var err error
		if r.required, err = c.strings("required", req); err != nil {
			return err
		}
	}
	if a, ok := m["additional_properties"]; ok && a != nil {
		b, ok := a.(bool)
		if !ok {
			return c.fail("\"additional_properties\": expected boolean, got %s", tools.KindOf(a))
		}
		r.closed = !b
	}
	pv, ok := m["properties"]
	if !ok || pv == nil {
		return nil
	}
	props, ok := pv.(map[string]any)
	if !ok {
		if l, isList := pv.([]any); isList && len(l) == 0 {
			return nil
		}
		return c.fail("\"properties\": expected object of property name to rules, got %s", tools.KindOf(pv))
	}
	if depth+1 >= maxDepth {
		return c.fail("rules nest deeper than %d levels", maxDepth)
	}
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	slices.Sort(names)
	r.props = make([]prop, len(names))
	mark := len(c.path)
	for i, name := range names {
		c.path = append(c.path, ".properties"...)
		c.path = jsonpath.AppendKey(c.path, name)
		rules, err := c.ruleList(name, props[name], depth+1)
		if err != nil {
			return err
		}
		r.props[i] = prop{name, rules}
		c.path = c.path[:mark]
	}
	return nil
}
