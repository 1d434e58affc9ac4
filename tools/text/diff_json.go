package text

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"

	"spellhost/tools"
	"spellhost/tools/internal/jsonpath"
	"spellhost/tools/perm"
)

// Structural JSON diffs for diff-calculator.

func jsonSide(ps *perm.Set, p tools.Params, side string) (any, error) {
	jk, fk := side+"_json", side+"_file"
	switch {
	case p.Has(jk) && p.Has(fk):
		return nil, tools.Invalid("give %q or %q, not both", jk, fk)
	case p.Has(fk):
		data, err := readFile(ps, fk, p.String(fk))
		if err != nil {
			return nil, err
		}
		return parseJSON(fk, data)
	case p.Has(jk):
		v, _ := p.Get(jk)
		if s, ok := v.(string); ok {
			if len(s) > maxDiffBytes {
				return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", jk, len(s), maxDiffBytes)
			}
			return parseJSON(jk, []byte(s))
		}
		return v, nil
	}
	return nil, tools.Invalid("missing %q (or %q) for type json", jk, fk)
}

func parseJSON(key string, data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(key, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, tools.Invalid("parameter %q: invalid JSON: data after the value at offset %d", key, dec.InputOffset())
	}
	return numbers(key, v)
}

func jsonError(key string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return tools.Invalid("parameter %q: invalid JSON at offset %d: %s (to compare plain text use type text)", key, se.Offset, se.Error())
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return tools.Invalid("parameter %q: invalid JSON: unexpected end of input", key)
	}
	return tools.Invalid("parameter %q: invalid JSON: %s", key, err.Error())
}

// numbers replaces json.Numbers by int64 when they are integers that fit
// and by float64 otherwise.
func numbers(key string, v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, tools.Invalid("parameter %q: number %s is out of range", key, string(x))
		}
		return f, nil
	case []any:
		for i, e := range x {
			n, err := numbers(key, e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case map[string]any:
		for k, e := range x {
			n, err := numbers(key, e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	}
	return v, nil
}

// jsonText walks two JSON values side by side.
type jsonText struct {
	ctx                      context.Context
	path                     []byte
	added, removed, modified []any
	arena                    []byte // paths of unchanged values, back to back
	unchanged                []int  // end offsets in arena
	nodes                    int
	err                      error
}

func jsonDiff(ctx context.Context, a, b any) (any, error) {
	d := jsonText{ctx: ctx, added: []any{}, removed: []any{}, modified: []any{}}
	identical := d.walk(a, b, 0)
	if d.err != nil {
		return nil, d.err
	}
	unchanged := make([]any, len(d.unchanged))
	start := 0
	for i, end := range d.unchanged {
		unchanged[i] = pathString(d.arena[start:end])
		start = end
	}
	return map[string]any{
		"identical": identical,
		"added":     d.added,
		"removed":   d.removed,
		"modified":  d.modified,
		"unchanged": unchanged,
		"stats": map[string]any{
			"added":     len(d.added),
			"removed":   len(d.removed),
			"modified":  len(d.modified),
			"unchanged": len(unchanged),
		},
	}, nil
}

func pathString(p []byte) string {
	if len(p) == 0 {
		return "$"
	}
	return string(p)
}

func (d *jsonText) here() string { return pathString(d.path) }

func (d *jsonText) same() {
	d.arena = append(d.arena, d.path...)
	if len(d.path) == 0 {
		d.arena = append(d.arena, '$')
	}
	d.unchanged = append(d.unchanged, len(d.arena))
}

// kind classifies a JSON value: o object, a array, s string, n number,
// b boolean, z null; 0 for anything else.
func kind(v any) byte {
	switch v.(type) {
	case map[string]any:
		return 'o'
	case []any:
		return 'a'
	case string:
		return 's'
	case bool:
		return 'b'
	case nil:
		return 'z'
	}
	if _, ok := tools.ToFloat(v); ok {
		return 'n'
	}
	return 0
}

// walk compares a and b at d.path and reports whether they are equal.
func (d *jsonText) walk(a, b any, depth int) bool {
	if d.err != nil {
		return false
	}
	if depth > maxJSONDepth {
		d.err = tools.Invalid("JSON nests deeper than %d levels at %s", maxJSONDepth, d.here())
		return false
	}
	d.nodes++
	if d.nodes > maxJSONNodes {
		d.err = tools.Errorf(tools.TypeTooLarge, "JSON values hold more than %d values together", maxJSONNodes)
		return false
	}
	if d.nodes&0xfff == 0 && d.ctx.Err() != nil {
		d.err = d.ctx.Err()
		return false
	}
	ka, kb := kind(a), kind(b)
	for _, side := range []struct {
		k    byte
		v    any
		name string
	}{{ka, a, "old"}, {kb, b, "new"}} {
		if side.k == 0 {
			d.err = tools.Invalid("%s value at %s: unsupported type %T", side.name, d.here(), side.v)
			return false
		}
	}
	if ka != kb {
		d.modified = append(d.modified, map[string]any{"path": d.here(), "old": a, "new": b})
		return false
	}
	mark, arenaMark := len(d.unchanged), len(d.arena)
	equal := true
	plen := len(d.path)
	switch ka {
	case 'o':
		ma, mb := a.(map[string]any), b.(map[string]any)
		for _, k := range mergeKeys(ma, mb) {
			d.path = jsonpath.AppendKey(d.path[:plen], k)
			va, inA := ma[k]
			vb, inB := mb[k]
			switch {
			case !inB:
				d.removed = append(d.removed, d.here())
				equal = false
			case !inA:
				d.added = append(d.added, d.here())
				equal = false
			default:
				if !d.walk(va, vb, depth+1) {
					equal = false
				}
			}
			if d.err != nil {
				return false
			}
		}
	case 'a':
		la, lb := a.([]any), b.([]any)
		for i := 0; i < max(len(la), len(lb)); i++ {
			d.path = append(d.path[:plen], '[')
			d.path = strconv.AppendInt(d.path, int64(i), 10)
			d.path = append(d.path, ']')
			switch {
			case i >= len(lb):
				d.removed = append(d.removed, d.here())
				equal = false
			case i >= len(la):
				d.added = append(d.added, d.here())
				equal = false
			default:
				if !d.walk(la[i], lb[i], depth+1) {
					equal = false
				}
			}
			if d.err != nil {
				return false
			}
		}
	default:
		d.path = d.path[:plen]
		if !scalarEqual(a, b) {
			d.modified = append(d.modified, map[string]any{"path": d.here(), "old": a, "new": b})
			return false
		}
	}
	d.path = d.path[:plen]
	if equal {
		// Report the whole value as unchanged, not its parts.
		d.unchanged, d.arena = d.unchanged[:mark], d.arena[:arenaMark]
		d.same()
	}
	return equal
}

func mergeKeys(a, b map[string]any) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func scalarEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		return x == b.(string)
	case bool:
		return x == b.(bool)
	case nil:
		return true
	case int64:
		if y, ok := b.(int64); ok {
			return x == y
		}
	}
	fa, _ := tools.ToFloat(a)
	fb, _ := tools.ToFloat(b)
	return fa == fb
}
