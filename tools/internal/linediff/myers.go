package linediff

import (
	"context"
	"slices"

	"spellhost/tools"
)

// Limits callers apply.
const (
	MaxLines = 100_000    // lines of one side
	MaxWork  = 50_000_000 // steps of Myers' algorithm per call: about (lines of both) x (lines changed)
)

// Change is a run of deleted lines a[I1:I2] replaced by inserted lines
// b[J1:J2], between unchanged lines.
type Change struct{ I1, I2, J1, J2 int }

// Lines returns the change regions of a shortest edit script from
// lines a to lines b, found by Myers' algorithm over interned lines within
// limit steps. Past the limit the error is too_large; a cancelled ctx
// gives its error.
func Lines(ctx context.Context, a, b []string, limit int) ([]Change, error) {
	ids := make(map[string]int32, len(a)+len(b))
	ai := Intern(ids, a)
	onlyA := int32(len(ids))
	bi := Intern(ids, b)
	m := Myers{ctx: ctx, limit: limit}
	if slices.ContainsFunc(bi, func(id int32) bool { return id < onlyA }) {
		m.diff(ai, bi)
		if m.err != nil {
			return nil, m.err
		}
	} else {
		// No line in common: replace the lot without searching.
		m.add('-', len(a))
		m.add('+', len(b))
	}
	return changes(m.ops), nil
}

func Intern(ids map[string]int32, lines []string) []int32 {
	out := make([]int32, len(lines))
	for i, l := range lines {
		id, ok := ids[l]
		if !ok {
			id = int32(len(ids))
			ids[l] = id
		}
		out[i] = id
	}
	return out
}

// Op is a run of n equal ('='), deleted ('-') or inserted ('+') items.
type Op struct {
	Kind byte
	N    int
}

// Myers computes a shortest edit script with Myers' O(ND) algorithm in
// its linear-space form: find the middle snake of the two sequences by
// searching from both ends at once, then solve the halves on either side.
type Myers struct {
	ctx    context.Context
	v1, v2 []int
	ops    []Op
	work   int
	limit  int
	err    error
}

// New returns an engine for edit scripts whose calls share a budget of
// limit steps; a cancelled ctx stops it.
func New(ctx context.Context, limit int) *Myers { return &Myers{ctx: ctx, limit: limit} }

// Script returns a shortest edit script from a to b, reusing m's buffers
// (the result is valid until the next call). Once the budget is spent, or
// ctx is cancelled, this and every later call fails with Err.
func (m *Myers) Script(a, b []int32) ([]Op, error) {
	m.ops = m.ops[:0]
	m.diff(a, b)
	return m.ops, m.err
}

// Err returns the error that stopped m, if any.
func (m *Myers) Err() error { return m.err }

func (m *Myers) add(kind byte, n int) {
	if n <= 0 {
		return
	}
	if k := len(m.ops); k > 0 && m.ops[k-1].Kind == kind {
		m.ops[k-1].N += n
		return
	}
	m.ops = append(m.ops, Op{kind, n})
}

func (m *Myers) diff(a, b []int32) {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	m.add('=', p)
	a, b = a[p:], b[p:]
	s := 0
	for s < len(a) && s < len(b) && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	a, b = a[:len(a)-s], b[:len(b)-s]
	switch {
	case len(a) == 0:
		m.add('+', len(b))
	case len(b) == 0:
		m.add('-', len(a))
	default:
		x, y, ok := m.bisect(a, b)
		if !ok || x == 0 && y == 0 || x == len(a) && y == len(b) {
			// No common item (or the work limit hit): replace the lot.
			m.add('-', len(a))
			m.add('+', len(b))
		} else {
			m.diff(a[:x], b[:y])
			m.diff(a[x:], b[y:])
		}
	}
	m.add('=', s)
}

func fill(buf *[]int, n int) []int {
	if cap(*buf) < n {
		*buf = make([]int, n)
	}
	v := (*buf)[:n]
	for i := range v {
		v[i] = -1
	}
	return v
}

// bisect finds the middle snake of a and b, which share no prefix or
// suffix, and returns the point to split them at; ok is false when they
// have nothing in common or the work limit was reached (m.err set).
func (m *Myers) bisect(a, b []int32) (x, y int, ok bool) {
	if m.err != nil {
		return 0, 0, false
	}
	n, mm := len(a), len(b)
	maxD := (n + mm + 1) / 2
	off := maxD
	vlen := 2*maxD + 2
	v1, v2 := fill(&m.v1, vlen), fill(&m.v2, vlen)
	v1[off+1], v2[off+1] = 0, 0
	delta := n - mm
	front := delta&1 != 0
	k1start, k1end, k2start, k2end := 0, 0, 0, 0
	for d := 0; d < maxD; d++ {
		if m.work > m.limit {
			m.err = tools.Errorf(tools.TypeTooLarge, "the texts differ too much: the diff needs more than %d steps; compare smaller pieces", m.limit)
			return 0, 0, false
		}
		if d&31 == 0 && m.ctx.Err() != nil {
			m.err = m.ctx.Err()
			return 0, 0, false
		}
		for k1 := -d + k1start; k1 <= d-k1end; k1 += 2 {
			k1o := off + k1
			var x1 int
			if k1 == -d || k1 != d && v1[k1o-1] < v1[k1o+1] {
				x1 = v1[k1o+1]
			} else {
				x1 = v1[k1o-1] + 1
			}
			y1 := x1 - k1
			x0 := x1
			for x1 < n && y1 < mm && a[x1] == b[y1] {
				x1++
				y1++
			}
			m.work += 1 + x1 - x0
			v1[k1o] = x1
			switch {
			case x1 > n:
				k1end += 2 // ran off the right edge
			case y1 > mm:
				k1start += 2 // ran off the bottom
			case front:
				k2o := off + delta - k1
				if k2o >= 0 && k2o < vlen && v2[k2o] != -1 && x1 >= n-v2[k2o] {
					return x1, y1, true
				}
			}
		}
		for k2 := -d + k2start; k2 <= d-k2end; k2 += 2 {
			k2o := off + k2
			var x2 int
			if k2 == -d || k2 != d && v2[k2o-1] < v2[k2o+1] {
				x2 = v2[k2o+1]
			} else {
				x2 = v2[k2o-1] + 1
			}
			y2 := x2 - k2
			x0 := x2
			for x2 < n && y2 < mm && a[n-x2-1] == b[mm-y2-1] {
				x2++
				y2++
			}
			m.work += 1 + x2 - x0
			v2[k2o] = x2
			switch {
			case x2 > n:
				k2end += 2
			case y2 > mm:
				k2start += 2
			case !front:
				k1o := off + delta - k2
				if k1o >= 0 && k1o < vlen && v1[k1o] != -1 {
					x1 := v1[k1o]
					if x1 >= n-x2 {
						return x1, off + x1 - k1o, true
					}
				}
			}
		}
	}
	return 0, 0, false
}

// changes turns an edit script into change regions.
func changes(ops []Op) []Change {
	var out []Change
	i, j := 0, 0
	open := false
	for _, op := range ops {
		switch op.Kind {
		case '=':
			open = false
			i += op.N
			j += op.N
			continue
		case '-':
			if !open {
				out = append(out, Change{i, i, j, j})
			}
			i += op.N
		case '+':
			if !open {
				out = append(out, Change{i, i, j, j})
			}
			j += op.N
		}
		open = true
		out[len(out)-1].I2, out[len(out)-1].J2 = i, j
	}
	return out
}
