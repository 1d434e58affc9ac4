package text

import . "spellhost/tools"
import "spellhost/tools/internal/jsonpath"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
)

// Structural JSON diffs for diff-calculator.

func dfJSONSide(cfg Config, p Params, side string) (any, error) {
	jk, fk := side+"_json", side+"_file"
	switch {
	case p.Has(jk) && p.Has(fk):
		return nil, Invalid("give %q or %q, not both", jk, fk)
	case p.Has(fk):
		data, err := dfReadFile(cfg, fk, p.String(fk))
		if err != nil {
			return nil, err
		}
		return dfParseJSON(fk, data)
	case p.Has(jk):
		v, _ := p.Get(jk)
		if s, ok := v.(string); ok {
			if len(s) > dfMaxBytes {
				return nil, Errorf(TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", jk, len(s), dfMaxBytes)
			}
			return dfParseJSON(jk, []byte(s))
		}
		return v, nil
	}
	return nil, Invalid("missing %q (or %q) for type json", jk, fk)
}

func dfParseJSON(key string, data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, dfJSONError(key, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Invalid("parameter %q: invalid JSON: data after the value at offset %d", key, dec.InputOffset())
	}
	return dfNumbers(key, v)
}

func dfJSONError(key string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return Invalid("parameter %q: invalid JSON at offset %d: %s (to compare plain text use type text)", key, se.Offset, se.Error())
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return Invalid("parameter %q: invalid JSON: unexpected end of input", key)
	}
	return Invalid("parameter %q: invalid JSON: %s", key, err.Error())
}

// dfNumbers replaces json.Numbers by int64 when they are integers that fit
// and by float64 otherwise.
func dfNumbers(key string, v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, Invalid("parameter %q: number %s is out of range", key, string(x))
		}
		return f, nil
	case []any:
		for i, e := range x {
			n, err := dfNumbers(key, e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case map[string]any:
		for k, e := range x {
			n, err := dfNumbers(key, e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	}
	return v, nil
}

// dfJSON walks two JSON values side by side.
type dfJSON struct {
	ctx                      context.Context
	path                     []byte
	added, removed, modified []any
	arena                    []byte // paths of unchanged values, back to back
	unchanged                []int  // end offsets in arena
	nodes                    int
	err                      error
}

func dfJSONDiff(ctx context.Context, a, b any) (any, error) {
	d := dfJSON{ctx: ctx, added: []any{}, removed: []any{}, modified: []any{}}
	identical := d.walk(a, b, 0)
	if d.err != nil {
		return nil, d.err
	}
	unchanged := make([]any, len(d.unchanged))
	start := 0
	for i, end := range d.unchanged {
		unchanged[i] = dfPathString(d.arena[start:end])
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

func dfPathString(p []byte) string {
	if len(p) == 0 {
		return "$"
	}
	return string(p)
}

func (d *dfJSON) here() string { return dfPathString(d.path) }

func (d *dfJSON) same() {
	d.arena = append(d.arena, d.path...)
	if len(d.path) == 0 {
		d.arena = append(d.arena, '$')
	}
	d.unchanged = append(d.unchanged, len(d.arena))
}

// dfKind classifies a JSON value: o object, a array, s string, n number,
// b boolean, z null; 0 for anything else.
func dfKind(v any) byte {
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
	if _, ok := ToFloat(v); ok {
		return 'n'
	}
	return 0
}

// walk compares a and b at d.path and reports whether they are equal.
func (d *dfJSON) walk(a, b any, depth int) bool {
	if d.err != nil {
		return false
	}
	if depth > dfMaxJSONDepth {
		d.err = Invalid("JSON nests deeper than %d levels at %s", dfMaxJSONDepth, d.here())
		return false
	}
	d.nodes++
	if d.nodes > dfMaxJSONNodes {
		d.err = Errorf(TypeTooLarge, "JSON values hold more than %d values together", dfMaxJSONNodes)
		return false
	}
	if d.nodes&0xfff == 0 && d.ctx.Err() != nil {
		d.err = d.ctx.Err()
		return false
	}
	ka, kb := dfKind(a), dfKind(b)
	for _, side := range []struct {
		k    byte
		v    any
		name string
	}{{ka, a, "old"}, {kb, b, "new"}} {
		if side.k == 0 {
			d.err = Invalid("%s value at %s: unsupported type %T", side.name, d.here(), side.v)
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
		for _, k := range dfMergeKeys(ma, mb) {
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
		if !dfScalarEqual(a, b) {
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

func dfMergeKeys(a, b map[string]any) []string {
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

func dfScalarEqual(a, b any) bool {
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
	fa, _ := ToFloat(a)
	fb, _ := ToFloat(b)
	return fa == fb
}
