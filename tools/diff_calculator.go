package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Diff limits.
const (
	dfMaxBytes     = 4 << 20    // bytes of one side (text, JSON text or file)
	dfMaxLines     = 100_000    // lines of one side
	dfMaxWork      = 50_000_000 // steps of Myers' algorithm per call: about (lines of both) x (lines changed)
	dfMaxWordWork  = 2_000_000  // steps of the word diff of the inline format, per call; past it lines are shown whole
	dfMaxJSONDepth = 512        // nesting of a JSON value
	dfMaxJSONNodes = 2_000_000  // values in both JSON documents together
	dfMaxContext   = 1 << 20    // context_lines above this are treated as this
)

func diffCalculatorSpec() Spec {
	return Spec{
		Name:     "diff_calculator",
		Category: "utility",
		Description: "Compares two texts line by line (Myers' algorithm, a shortest edit script) and prints a unified, " +
			"context, inline (word-level) or simple diff, or compares two JSON values and lists the paths " +
			"added, removed, modified and unchanged. Each side comes from a parameter or a file.",
		Params: []Param{
			{Name: "type", Type: String, Default: "text", Enum: []string{"text", "json"},
				Description: "text compares lines (old_text/new_text or old_file/new_file); json compares structure " +
					"(old_json/new_json or old_file/new_file)"},
			{Name: "old_text", Type: String, Description: "type text: the original text"},
			{Name: "new_text", Type: String, Description: "type text: the changed text"},
			{Name: "old_json", Type: Any, Description: "type json: the original value, either a JSON value (object, array, number...) " +
				"or a string holding JSON text, which is parsed; to compare a bare JSON string, pass it encoded, e.g. \"\\\"abc\\\"\", and null as \"null\""},
			{Name: "new_json", Type: Any, Description: "type json: the changed value, as for old_json"},
			{Name: "old_file", Type: String, Description: "path of a file holding the original side (instead of old_text or old_json); " +
				"relative paths resolve against the base folder; needs read permission"},
			{Name: "new_file", Type: String, Description: "path of a file holding the changed side (instead of new_text or new_json)"},
			{Name: "format", Type: String, Default: "unified", Enum: []string{"unified", "context", "inline", "simple"},
				Description: "type text: unified is diff -u output that patch applies (---/+++ headers, @@ -a,b +c,d @@ hunks); " +
					"context is diff -c output; inline shows hunks with changed words marked [-removed-]{+added+}; " +
					"simple lists only the removed (-) and added (+) lines. Ignored for type json"},
			{Name: "context_lines", Type: Integer, Default: 3, Description: "type text: unchanged lines shown around each change (0 or more)"},
			{Name: "old_label", Type: String, Description: "type text: name of the original in the diff header (default: old_file, or \"old\")"},
			{Name: "new_label", Type: String, Description: "type text: name of the changed side in the diff header (default: new_file, or \"new\")"},
		},
		Returns: "type text: {diff, stats: {additions, deletions, unchanged, hunks}, identical} - additions, deletions and " +
			"unchanged count lines, hunks counts hunks at context_lines of context, diff is \"\" when identical. " +
			"type json: {added, removed, modified, unchanged, stats: {added, removed, modified, unchanged}, identical} - " +
			"added, removed and unchanged list paths such as \"a.b[2]\" (\"$\" is the whole value; unchanged lists the largest " +
			"equal parts), modified lists {path, old, new}; object keys are compared in sorted order and arrays index by index. " +
			"Limits: 4 MiB and 100000 lines per side; texts that differ too much for 50000000 steps of the algorithm " +
			"(about 100000 lines times lines changed) are too_large; JSON nests at most 512 levels",
		Example: map[string]any{
			"old_text": "apple\nbanana\ncherry\n",
			"new_text": "apple\nblueberry\ncherry\ndate\n",
		},
	}
}

// DiffCalculator returns the diff_calculator tool. Files are read through
// cfg.Perm.
func DiffCalculator(cfg Config) Tool {
	return New(diffCalculatorSpec(), func(ctx context.Context, p Params) (any, error) {
		return diffCalculate(ctx, cfg, p)
	})
}

func diffCalculate(ctx context.Context, cfg Config, p Params) (any, error) {
	if p.String("type") == "json" {
		for _, k := range []string{"old_text", "new_text", "old_label", "new_label"} {
			if p.Has(k) {
				return nil, Invalid("parameter %q is for type text; for type json give old_json and new_json (values or JSON text) or old_file and new_file", k)
			}
		}
		a, err := dfJSONSide(cfg, p, "old")
		if err != nil {
			return nil, err
		}
		b, err := dfJSONSide(cfg, p, "new")
		if err != nil {
			return nil, err
		}
		return dfJSONDiff(ctx, a, b)
	}
	for _, k := range []string{"old_json", "new_json"} {
		if p.Has(k) {
			return nil, Invalid("parameter %q is for type json; for type text give old_text and new_text or old_file and new_file", k)
		}
	}
	ctxLines := p.Int("context_lines")
	if ctxLines < 0 {
		return nil, Invalid("parameter \"context_lines\": must be 0 or more, got %d", ctxLines)
	}
	ctxLines = min(ctxLines, dfMaxContext)
	a, aLabel, err := dfTextSide(cfg, p, "old")
	if err != nil {
		return nil, err
	}
	b, bLabel, err := dfTextSide(cfg, p, "new")
	if err != nil {
		return nil, err
	}
	return dfTextDiff(ctx, a, b, aLabel, bLabel, p.String("format"), ctxLines)
}

func dfReadFile(cfg Config, key, path string) ([]byte, error) {
	if cfg.Perm == nil {
		return nil, Failed("parameter %q: file access is not configured", key)
	}
	data, _, err := cfg.Perm.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %w", key, err)
	}
	if len(data) > dfMaxBytes {
		return nil, Errorf(TypeTooLarge, "parameter %q: %s is %d bytes, over the %d-byte limit", key, path, len(data), dfMaxBytes)
	}
	return data, nil
}

// dfTextSide returns one side of a text diff and its label.
func dfTextSide(cfg Config, p Params, side string) (string, string, error) {
	tk, fk, lk := side+"_text", side+"_file", side+"_label"
	label := side
	if p.Has(lk) {
		label = p.String(lk)
		if strings.ContainsAny(label, "\r\n") {
			return "", "", Invalid("parameter %q: must not contain line breaks", lk)
		}
	}
	var text string
	switch {
	case p.Has(tk) && p.Has(fk):
		return "", "", Invalid("give %q or %q, not both", tk, fk)
	case p.Has(fk):
		path := p.String(fk)
		data, err := dfReadFile(cfg, fk, path)
		if err != nil {
			return "", "", err
		}
		if bytes.IndexByte(data, 0) >= 0 {
			return "", "", Invalid("parameter %q: %s is a binary file (it contains NUL bytes)", fk, path)
		}
		text = string(data)
		if !p.Has(lk) && !strings.ContainsAny(path, "\r\n") {
			label = path
		}
	case p.Has(tk):
		text = p.String(tk)
		if len(text) > dfMaxBytes {
			return "", "", Errorf(TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", tk, len(text), dfMaxBytes)
		}
	default:
		return "", "", Invalid("missing %q (or %q) for type text", tk, fk)
	}
	return text, label, nil
}

// ---- text ----

// dfSplit splits s into lines, each keeping its "\n"; a last line without
// one is kept as is, so it differs from the same text with a newline.
func dfSplit(s string) []string {
	if s == "" {
		return nil
	}
	n := strings.Count(s, "\n")
	if s[len(s)-1] != '\n' {
		n++
	}
	if n > dfMaxLines {
		return nil
	}
	lines := make([]string, 0, n)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

func dfCountLines(s string) int {
	if s == "" {
		return 0
	}
	n := strings.Count(s, "\n")
	if s[len(s)-1] != '\n' {
		n++
	}
	return n
}

// dfChange is a run of deleted lines a[i1:i2] replaced by inserted lines
// b[j1:j2], between unchanged lines.
type dfChange struct{ i1, i2, j1, j2 int }

func dfTextDiff(ctx context.Context, at, bt, aLabel, bLabel, format string, ctxLines int) (any, error) {
	for i, s := range []string{at, bt} {
		if n := dfCountLines(s); n > dfMaxLines {
			key := [2]string{"old", "new"}[i]
			return nil, Errorf(TypeTooLarge, "%s side: %d lines exceeds the %d-line limit", key, n, dfMaxLines)
		}
	}
	a, b := dfSplit(at), dfSplit(bt)
	var changes []dfChange
	if at != bt {
		var err error
		if changes, err = dfLineDiff(ctx, a, b, dfMaxWork); err != nil {
			return nil, err
		}
	}
	adds, dels := 0, 0
	for _, c := range changes {
		dels += c.i2 - c.i1
		adds += c.j2 - c.j1
	}
	hunks := dfHunks(changes, ctxLines)
	var out strings.Builder
	if len(changes) > 0 {
		out.Grow(len(at)/4 + len(bt)/4 + 64)
		switch format {
		case "context":
			dfContext(&out, a, b, changes, hunks, aLabel, bLabel)
		case "inline":
			w := dfMyers{ctx: ctx, limit: dfMaxWordWork}
			dfInline(&out, &w, a, b, changes, hunks)
		case "simple":
			dfSimple(&out, a, b, changes)
		default:
			dfUnified(&out, a, b, changes, hunks, aLabel, bLabel)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return map[string]any{
		"diff": out.String(),
		"stats": map[string]any{
			"additions": adds,
			"deletions": dels,
			"unchanged": len(a) - dels,
			"hunks":     len(hunks),
		},
		"identical": len(changes) == 0,
	}, nil
}

// dfLineDiff returns the change regions of a shortest edit script from
// lines a to lines b, found by Myers' algorithm over interned lines within
// limit steps. Past the limit the error is too_large; a cancelled ctx
// gives its error. webpage-monitor uses it too.
func dfLineDiff(ctx context.Context, a, b []string, limit int) ([]dfChange, error) {
	ids := make(map[string]int32, len(a)+len(b))
	ai := dfIntern(ids, a)
	onlyA := int32(len(ids))
	bi := dfIntern(ids, b)
	m := dfMyers{ctx: ctx, limit: limit}
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
	return dfChanges(m.ops), nil
}

func dfIntern(ids map[string]int32, lines []string) []int32 {
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

// dfOp is a run of n equal ('='), deleted ('-') or inserted ('+') items.
type dfOp struct {
	kind byte
	n    int
}

// dfMyers computes a shortest edit script with Myers' O(ND) algorithm in
// its linear-space form: find the middle snake of the two sequences by
// searching from both ends at once, then solve the halves on either side.
type dfMyers struct {
	ctx    context.Context
	v1, v2 []int
	ops    []dfOp
	work   int
	limit  int
	err    error
}

func (m *dfMyers) add(kind byte, n int) {
	if n <= 0 {
		return
	}
	if k := len(m.ops); k > 0 && m.ops[k-1].kind == kind {
		m.ops[k-1].n += n
		return
	}
	m.ops = append(m.ops, dfOp{kind, n})
}

func (m *dfMyers) diff(a, b []int32) {
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

func dfFill(buf *[]int, n int) []int {
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
func (m *dfMyers) bisect(a, b []int32) (x, y int, ok bool) {
	if m.err != nil {
		return 0, 0, false
	}
	n, mm := len(a), len(b)
	maxD := (n + mm + 1) / 2
	off := maxD
	vlen := 2*maxD + 2
	v1, v2 := dfFill(&m.v1, vlen), dfFill(&m.v2, vlen)
	v1[off+1], v2[off+1] = 0, 0
	delta := n - mm
	front := delta&1 != 0
	k1start, k1end, k2start, k2end := 0, 0, 0, 0
	for d := 0; d < maxD; d++ {
		if m.work > m.limit {
			m.err = Errorf(TypeTooLarge, "the texts differ too much: the diff needs more than %d steps; compare smaller pieces", m.limit)
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

// dfChanges turns an edit script into change regions.
func dfChanges(ops []dfOp) []dfChange {
	var out []dfChange
	i, j := 0, 0
	open := false
	for _, op := range ops {
		switch op.kind {
		case '=':
			open = false
			i += op.n
			j += op.n
			continue
		case '-':
			if !open {
				out = append(out, dfChange{i, i, j, j})
			}
			i += op.n
		case '+':
			if !open {
				out = append(out, dfChange{i, i, j, j})
			}
			j += op.n
		}
		open = true
		out[len(out)-1].i2, out[len(out)-1].j2 = i, j
	}
	return out
}

// dfHunk is a group of changes shown together, and the line ranges it
// covers with its context: a[i1:i2], b[j1:j2].
type dfHunk struct {
	changes        []dfChange
	i1, i2, j1, j2 int
}

func dfHunks(changes []dfChange, ctxLines int) []dfHunk {
	var hunks []dfHunk
	for k := 0; k < len(changes); {
		e := k + 1
		for e < len(changes) && changes[e].i1-changes[e-1].i2 <= 2*ctxLines {
			e++
		}
		first, last := changes[k], changes[e-1]
		h := dfHunk{changes: changes[k:e]}
		h.i1 = max(0, first.i1-ctxLines)
		h.j1 = first.j1 - (first.i1 - h.i1)
		h.i2 = last.i2 + ctxLines
		h.j2 = last.j2 + ctxLines
		hunks = append(hunks, h)
		k = e
	}
	return hunks
}

// clip bounds a hunk's trailing context to the ends of the texts.
func (h *dfHunk) clip(na int) {
	if h.i2 > na {
		h.j2 -= h.i2 - na
		h.i2 = na
	}
}

// dfLine writes prefix and line, ending it with a newline; a last line
// without one gets diff's "\ No newline at end of file" marker.
func dfLine(w *strings.Builder, prefix, line string) {
	w.WriteString(prefix)
	w.WriteString(line)
	if !strings.HasSuffix(line, "\n") {
		w.WriteString("\n\\ No newline at end of file\n")
	}
}

func dfUnifiedRange(w *strings.Builder, start, end int) {
	n := end - start
	switch n {
	case 0:
		w.WriteString(strconv.Itoa(start))
		w.WriteString(",0")
	case 1:
		w.WriteString(strconv.Itoa(start + 1))
	default:
		w.WriteString(strconv.Itoa(start + 1))
		w.WriteByte(',')
		w.WriteString(strconv.Itoa(n))
	}
}

func dfUnified(w *strings.Builder, a, b []string, changes []dfChange, hunks []dfHunk, aLabel, bLabel string) {
	w.WriteString("--- " + aLabel + "\n+++ " + bLabel + "\n")
	for _, h := range hunks {
		h.clip(len(a))
		w.WriteString("@@ -")
		dfUnifiedRange(w, h.i1, h.i2)
		w.WriteString(" +")
		dfUnifiedRange(w, h.j1, h.j2)
		w.WriteString(" @@\n")
		i := h.i1
		for _, c := range h.changes {
			for ; i < c.i1; i++ {
				dfLine(w, " ", a[i])
			}
			for ; i < c.i2; i++ {
				dfLine(w, "-", a[i])
			}
			for j := c.j1; j < c.j2; j++ {
				dfLine(w, "+", b[j])
			}
		}
		for ; i < h.i2; i++ {
			dfLine(w, " ", a[i])
		}
	}
}

func dfContextRange(w *strings.Builder, start, end int) {
	switch n := end - start; {
	case n == 0:
		w.WriteString(strconv.Itoa(start))
	case n == 1:
		w.WriteString(strconv.Itoa(start + 1))
	default:
		w.WriteString(strconv.Itoa(start + 1))
		w.WriteByte(',')
		w.WriteString(strconv.Itoa(end))
	}
}

func dfContext(w *strings.Builder, a, b []string, changes []dfChange, hunks []dfHunk, aLabel, bLabel string) {
	w.WriteString("*** " + aLabel + "\n--- " + bLabel + "\n")
	for _, h := range hunks {
		h.clip(len(a))
		hasDel, hasIns := false, false
		for _, c := range h.changes {
			hasDel = hasDel || c.i2 > c.i1
			hasIns = hasIns || c.j2 > c.j1
		}
		w.WriteString("***************\n*** ")
		dfContextRange(w, h.i1, h.i2)
		w.WriteString(" ****\n")
		if hasDel {
			i := h.i1
			for _, c := range h.changes {
				for ; i < c.i1; i++ {
					dfLine(w, "  ", a[i])
				}
				mark := "- "
				if c.j2 > c.j1 {
					mark = "! "
				}
				for ; i < c.i2; i++ {
					dfLine(w, mark, a[i])
				}
			}
			for ; i < h.i2; i++ {
				dfLine(w, "  ", a[i])
			}
		}
		w.WriteString("--- ")
		dfContextRange(w, h.j1, h.j2)
		w.WriteString(" ----\n")
		if hasIns {
			j := h.j1
			for _, c := range h.changes {
				for ; j < c.j1; j++ {
					dfLine(w, "  ", b[j])
				}
				mark := "+ "
				if c.i2 > c.i1 {
					mark = "! "
				}
				for ; j < c.j2; j++ {
					dfLine(w, mark, b[j])
				}
			}
			for ; j < h.j2; j++ {
				dfLine(w, "  ", b[j])
			}
		}
	}
}

func dfSimple(w *strings.Builder, a, b []string, changes []dfChange) {
	for _, c := range changes {
		for i := c.i1; i < c.i2; i++ {
			w.WriteByte('-')
			w.WriteString(strings.TrimSuffix(a[i], "\n"))
			w.WriteByte('\n')
		}
		for j := c.j1; j < c.j2; j++ {
			w.WriteByte('+')
			w.WriteString(strings.TrimSuffix(b[j], "\n"))
			w.WriteByte('\n')
		}
	}
}

// dfInline writes hunks whose unchanged lines appear as they are and whose
// changed lines are diffed word by word, like git diff --word-diff=plain.
func dfInline(w *strings.Builder, m *dfMyers, a, b []string, changes []dfChange, hunks []dfHunk) {
	for _, h := range hunks {
		h.clip(len(a))
		w.WriteString("@@ -")
		dfUnifiedRange(w, h.i1, h.i2)
		w.WriteString(" +")
		dfUnifiedRange(w, h.j1, h.j2)
		w.WriteString(" @@\n")
		i := h.i1
		for _, c := range h.changes {
			for ; i < c.i1; i++ {
				w.WriteString(strings.TrimSuffix(a[i], "\n"))
				w.WriteByte('\n')
			}
			dfWords(w, m, a[c.i1:c.i2], b[c.j1:c.j2])
			i = c.i2
		}
		for ; i < h.i2; i++ {
			w.WriteString(strings.TrimSuffix(a[i], "\n"))
			w.WriteByte('\n')
		}
	}
}

// dfWords writes one change region with its words marked: [-removed-]
// and {+added+}. Past the word-diff work limit, whole lines are marked.
func dfWords(w *strings.Builder, m *dfMyers, del, ins []string) {
	if len(del) == 0 || len(ins) == 0 || m.err != nil {
		dfWholeLines(w, del, ins)
		return
	}
	ta := dfTokens(strings.Join(del, ""))
	tb := dfTokens(strings.Join(ins, ""))
	ids := make(map[string]int32, len(ta)+len(tb))
	ia, ib := dfIntern(ids, ta), dfIntern(ids, tb)
	m.ops = m.ops[:0]
	m.diff(ia, ib)
	if m.err != nil {
		dfWholeLines(w, del, ins)
		return
	}
	var line strings.Builder // the output line being built
	i, j := 0, 0
	for k := 0; k < len(m.ops); k++ {
		op := m.ops[k]
		switch op.kind {
		case '=':
			for _, t := range ta[i : i+op.n] {
				line.WriteString(t)
			}
			i += op.n
			j += op.n
		case '-':
			dfMarked(&line, "[-", "-]", ta[i:i+op.n])
			i += op.n
		case '+':
			dfMarked(&line, "{+", "+}", tb[j:j+op.n])
			j += op.n
		}
	}
	s := line.String()
	w.WriteString(s)
	if !strings.HasSuffix(s, "\n") {
		w.WriteByte('\n')
	}
}

// dfMarked writes tokens wrapped in open and close markers, closing and
// reopening them around line breaks.
func dfMarked(w *strings.Builder, open, close string, toks []string) {
	inside := false
	for _, t := range toks {
		if t == "\n" {
			if inside {
				w.WriteString(close)
				inside = false
			}
			w.WriteByte('\n')
			continue
		}
		if !inside {
			w.WriteString(open)
			inside = true
		}
		w.WriteString(t)
	}
	if inside {
		w.WriteString(close)
	}
}

func dfWholeLines(w *strings.Builder, del, ins []string) {
	for _, l := range del {
		w.WriteString("[-" + strings.TrimSuffix(l, "\n") + "-]\n")
	}
	for _, l := range ins {
		w.WriteString("{+" + strings.TrimSuffix(l, "\n") + "+}\n")
	}
}

// dfTokens splits s into words (letters, digits, '_'), runs of spaces,
// line breaks and single other characters.
func dfTokens(s string) []string {
	var out []string
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		n := size
		switch {
		case r == '\n':
		case dfWordRune(r):
			for n < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[n:])
				if !dfWordRune(r2) {
					break
				}
				n += sz
			}
		case r == ' ' || r == '\t' || r == '\r':
			for n < len(s) && (s[n] == ' ' || s[n] == '\t' || s[n] == '\r') {
				n++
			}
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

func dfWordRune(r rune) bool {
	return r == '_' || r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') ||
		r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// ---- json ----

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
	if _, ok := toFloat(v); ok {
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
			d.path = dvAppendKey(d.path[:plen], k)
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
	fa, _ := toFloat(a)
	fb, _ := toFloat(b)
	return fa == fb
}
