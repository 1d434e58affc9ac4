// Package tools is the core every tool and the host share: Tool, Spec,
// Params, the Registry, and the error vocabulary (Error, ErrorType and the
// sentinels) that protocol replies and Lua errors carry. Each tool declares
// one Spec (name, category, parameters) that drives validation, help
// (`spellhost tools info`) and the generated docs (docs/tools.md); the
// registry validates every call against it before the tool runs.
//
// The tools themselves live in one package per family below this one
// (web, files, media, text, data, system, citation); package builtin
// registers them all. Nothing heavy is imported here, so the host's
// packages link the core without linking any tool.
package tools

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
)

// Type is the type of a parameter value. Values arrive from JSON or Lua, so
// the types are JSON's, with integer split from number.
type Type string

// The parameter types.
const (
	String  Type = "string"
	Integer Type = "integer" // a number with no fractional part
	Number  Type = "number"
	Boolean Type = "boolean"
	Object  Type = "object" // map[string]any
	Array   Type = "array"  // []any
	Any     Type = "any"
)

// Param declares one parameter of a tool. The registry checks every call
// against it before the tool runs.
type Param struct {
	Name     string `json:"name"`
	Type     Type   `json:"type"`
	Required bool   `json:"required"`
	// Default is used when the caller omits the parameter. A required
	// parameter has none. It is a scalar (string, int64, float64, bool).
	Default any `json:"default,omitempty"`
	// Enum lists the allowed values of a string parameter; empty allows any.
	Enum        []string `json:"enum,omitempty"`
	Description string   `json:"description"`
}

// Spec declares a tool: what it is called, what it does and what it takes.
// One spec drives parameter validation, `spellhost tools info`, the Lua
// Tool.get() and docs/tools.md.
type Spec struct {
	Name        string  `json:"name"`
	Category    string  `json:"category"`
	Description string  `json:"description"`
	Params      []Param `json:"parameters"`
	// Returns describes the result, for help and docs.
	Returns string `json:"returns,omitempty"`
	// Example is a parameter set that works offline on a fresh machine,
	// shown in the docs; tests invoke it so it cannot rot. Nil when the
	// tool needs a server, a file or a permission to do anything.
	Example map[string]any `json:"example,omitempty"`
	// Inline marks a tool that does no I/O and, within its input limits,
	// finishes in microseconds: the kernel runs it on the caller's
	// goroutine (checking the deadline before and after) instead of
	// starting one per call. Tools that read files or the network, sleep
	// or wait must leave it false so a timeout is answered on time.
	Inline bool `json:"-"`
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Check reports what is wrong with a spec, if anything.
func (s *Spec) Check() error {
	if !nameRE.MatchString(s.Name) {
		return fmt.Errorf("tool name %q: want lowercase letters, digits, '_' or '-'", s.Name)
	}
	if s.Category == "" || s.Description == "" {
		return fmt.Errorf("tool %s: category and description are required", s.Name)
	}
	seen := make(map[string]bool, len(s.Params))
	for _, p := range s.Params {
		if p.Name == "" || seen[p.Name] {
			return fmt.Errorf("tool %s: parameter name %q is empty or repeated", s.Name, p.Name)
		}
		seen[p.Name] = true
		switch p.Type {
		case String, Integer, Number, Boolean, Object, Array, Any:
		default:
			return fmt.Errorf("tool %s: parameter %s has unknown type %q", s.Name, p.Name, p.Type)
		}
		if len(p.Enum) > 0 && p.Type != String {
			return fmt.Errorf("tool %s: parameter %s: enum needs type string", s.Name, p.Name)
		}
		if p.Default != nil {
			if p.Required {
				return fmt.Errorf("tool %s: required parameter %s has a default", s.Name, p.Name)
			}
			if err := p.check(p.Default); err != nil {
				return fmt.Errorf("tool %s: default of %w", s.Name, err)
			}
		}
	}
	return nil
}

// Param returns the named parameter's declaration.
func (s *Spec) Param(name string) (*Param, bool) {
	for i := range s.Params {
		if s.Params[i].Name == name {
			return &s.Params[i], true
		}
	}
	return nil, false
}

// Bind checks values against the spec and returns them as Params, which
// fill defaults on read. The error is a validation error naming the
// parameter and what was wrong with it.
func (s *Spec) Bind(values map[string]any) (Params, error) {
	for name := range values {
		if _, ok := s.Param(name); !ok {
			return Params{}, s.unknown(values)
		}
	}
	for i := range s.Params {
		p := &s.Params[i]
		v, ok := values[p.Name]
		if !ok || v == nil {
			if p.Required {
				return Params{}, Invalid("missing required parameter %q", p.Name)
			}
			continue
		}
		if err := p.check(v); err != nil {
			return Params{}, &Error{Type: TypeValidation, Err: err}
		}
	}
	return Params{values: values, spec: s}, nil
}

func (s *Spec) unknown(values map[string]any) error {
	var bad, known []string
	for name := range values {
		if _, ok := s.Param(name); !ok {
			bad = append(bad, fmt.Sprintf("%q", name))
		}
	}
	for _, p := range s.Params {
		known = append(known, p.Name)
	}
	slices.Sort(bad)
	word := "parameter"
	if len(bad) > 1 {
		word = "parameters"
	}
	if len(known) == 0 {
		return Invalid("unknown %s %s; the tool takes none", word, strings.Join(bad, ", "))
	}
	return Invalid("unknown %s %s; known: %s", word, strings.Join(bad, ", "), strings.Join(known, ", "))
}

// check reports whether v is a valid value of p.
func (p *Param) check(v any) error {
	got := KindOf(v)
	switch p.Type {
	case Any:
		return nil
	case Integer:
		f, ok := ToFloat(v)
		if !ok {
			break
		}
		if f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
			return fmt.Errorf("parameter %q: expected integer, got %v", p.Name, v)
		}
		return nil
	case Number:
		if f, ok := ToFloat(v); ok {
			if math.IsNaN(f) {
				return fmt.Errorf("parameter %q: expected number, got NaN", p.Name)
			}
			return nil
		}
	case Object:
		if _, ok := v.(map[string]any); ok {
			return nil
		}
		if a, ok := v.([]any); ok && len(a) == 0 { // an empty Lua table
			return nil
		}
	case Array:
		if _, ok := v.([]any); ok {
			return nil
		}
		if m, ok := v.(map[string]any); ok && len(m) == 0 {
			return nil
		}
	case String:
		s, ok := v.(string)
		if !ok {
			break
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			return fmt.Errorf("parameter %q: unknown value %q; allowed: %s", p.Name, s, strings.Join(p.Enum, ", "))
		}
		return nil
	case Boolean:
		if _, ok := v.(bool); ok {
			return nil
		}
	}
	return fmt.Errorf("parameter %q: expected %s, got %s", p.Name, p.Type, got)
}

// KindOf names the JSON kind of a Go value, for error messages.
func KindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, float32, int, int64, int32, uint, uint64, uint32:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// ToFloat converts a JSON-like number (float64, or any Go integer or
// float type a Lua or Go caller may pass) to a float64; ok is false for
// anything else.
func ToFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// Params are a tool call's checked parameters. Reads fall back to the
// parameter's default, then to the type's zero value. Bind has checked the
// types, so the accessors do not fail.
type Params struct {
	values map[string]any
	spec   *Spec
}

// Get returns the value of name, or its default; ok is false when neither
// exists.
func (p Params) Get(name string) (v any, ok bool) {
	if v, ok = p.values[name]; ok && v != nil {
		return v, true
	}
	if p.spec != nil {
		if d, found := p.spec.Param(name); found && d.Default != nil {
			return d.Default, true
		}
	}
	return nil, false
}

// Has reports whether the caller gave name (a default does not count).
func (p Params) Has(name string) bool {
	v, ok := p.values[name]
	return ok && v != nil
}

// String returns a string parameter.
func (p Params) String(name string) string {
	v, _ := p.Get(name)
	s, _ := v.(string)
	return s
}

// Int returns an integer parameter.
func (p Params) Int(name string) int {
	v, _ := p.Get(name)
	f, _ := ToFloat(v)
	return int(f)
}

// Float returns a number parameter.
func (p Params) Float(name string) float64 {
	v, _ := p.Get(name)
	f, _ := ToFloat(v)
	return f
}

// Bool returns a boolean parameter.
func (p Params) Bool(name string) bool {
	v, _ := p.Get(name)
	b, _ := v.(bool)
	return b
}

// Map returns an object parameter (nil when absent).
func (p Params) Map(name string) map[string]any {
	v, _ := p.Get(name)
	m, _ := v.(map[string]any)
	return m
}

// List returns an array parameter (nil when absent).
func (p Params) List(name string) []any {
	v, _ := p.Get(name)
	l, _ := v.([]any)
	return l
}

// Strings returns an array parameter whose items must be strings.
func (p Params) Strings(name string) ([]string, error) {
	l := p.List(name)
	out := make([]string, 0, len(l))
	for i, v := range l {
		s, ok := v.(string)
		if !ok {
			return nil, Invalid("parameter %q: item %d: expected string, got %s", name, i+1, KindOf(v))
		}
		out = append(out, s)
	}
	return out, nil
}

// Tool is one entry of the registry.
type Tool interface {
	// Spec returns the tool's declaration. It must not change after
	// registration.
	Spec() *Spec
	// Invoke runs the tool with checked parameters. It honours ctx's
	// deadline and cancellation, returns a JSON-like value (maps with
	// string keys, slices, strings, numbers, booleans, nil) and reports
	// failure as an error, never as a successful result with a failure
	// inside.
	Invoke(ctx context.Context, p Params) (any, error)
}

// Func is the signature of a tool's work.
type Func func(ctx context.Context, p Params) (any, error)

type funcTool struct {
	spec Spec
	fn   Func
}

func (t *funcTool) Spec() *Spec                                       { return &t.spec }
func (t *funcTool) Invoke(ctx context.Context, p Params) (any, error) { return t.fn(ctx, p) }

// New makes a Tool from a spec and a function.
func New(spec Spec, fn Func) Tool { return &funcTool{spec: spec, fn: fn} }

// Call binds values to t's spec and invokes it in the calling goroutine,
// with the tool's name as the error's origin. The kernel adds timeouts and
// panic recovery on top; tests and in-process callers use Call directly.
func Call(ctx context.Context, t Tool, values map[string]any) (any, error) {
	spec := t.Spec()
	p, err := spec.Bind(values)
	if err != nil {
		return nil, WithOp("tool "+spec.Name, err)
	}
	res, err := t.Invoke(ctx, p)
	if err != nil {
		return nil, WithOp("tool "+spec.Name, err)
	}
	return res, nil
}
