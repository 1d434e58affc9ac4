package text

import (
	"context"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"spellhost/tools"
	"spellhost/tools/internal/linediff"
)

// Text diffs for diff-calculator: lines, hunks and the unified, context,
// simple and inline formats.

// diffLines splits s into lines, each keeping its "\n"; a last line without
// one is kept as is, so it differs from the same text with a newline.
func diffLines(s string) []string {
	if s == "" {
		return nil
	}
	n := strings.Count(s, "\n")
	if s[len(s)-1] != '\n' {
		n++
	}
	if n > linediff.MaxLines {
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

func countLines(s string) int {
	if s == "" {
		return 0
	}
	n := strings.Count(s, "\n")
	if s[len(s)-1] != '\n' {
		n++
	}
	return n
}

func textDiff(ctx context.Context, at, bt, aLabel, bLabel, format string, ctxLines int) (any, error) {
	for i, s := range []string{at, bt} {
		if n := countLines(s); n > linediff.MaxLines {
			key := [2]string{"old", "new"}[i]
			return nil, tools.Errorf(tools.TypeTooLarge, "%s side: %d lines exceeds the %d-line limit", key, n, linediff.MaxLines)
		}
	}
	a, b := diffLines(at), diffLines(bt)
	var changes []linediff.Change
	if at != bt {
		var err error
		if changes, err = linediff.Lines(ctx, a, b, linediff.MaxWork); err != nil {
			return nil, err
		}
	}
	adds, dels := 0, 0
	for _, c := range changes {
		dels += c.I2 - c.I1
		adds += c.J2 - c.J1
	}
	hunks := hunks(changes, ctxLines)
	var out strings.Builder
	if len(changes) > 0 {
		out.Grow(len(at)/4 + len(bt)/4 + 64)
		switch format {
		case "context":
			contextFormat(&out, a, b, changes, hunks, aLabel, bLabel)
		case "inline":
			inline(&out, linediff.New(ctx, maxWordWork), a, b, changes, hunks)
		case "simple":
			simple(&out, a, b, changes)
		default:
			unified(&out, a, b, changes, hunks, aLabel, bLabel)
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

// hunk is a group of changes shown together, and the line ranges it
// covers with its context: a[i1:i2], b[j1:j2].
type hunk struct {
	changes        []linediff.Change
	i1, i2, j1, j2 int
}

func hunks(changes []linediff.Change, ctxLines int) []hunk {
	var hunks []hunk
	for k := 0; k < len(changes); {
		e := k + 1
		for e < len(changes) && changes[e].I1-changes[e-1].I2 <= 2*ctxLines {
			e++
		}
		first, last := changes[k], changes[e-1]
		h := hunk{changes: changes[k:e]}
		h.i1 = max(0, first.I1-ctxLines)
		h.j1 = first.J1 - (first.I1 - h.i1)
		h.i2 = last.I2 + ctxLines
		h.j2 = last.J2 + ctxLines
		hunks = append(hunks, h)
		k = e
	}
	return hunks
}

// clip bounds a hunk's trailing context to the ends of the texts.
func (h *hunk) clip(na int) {
	if h.i2 > na {
		h.j2 -= h.i2 - na
		h.i2 = na
	}
}

// writeLine writes prefix and line, ending it with a newline; a last line
// without one gets diff's "\ No newline at end of file" marker.
func writeLine(w *strings.Builder, prefix, line string) {
	w.WriteString(prefix)
	w.WriteString(line)
	if !strings.HasSuffix(line, "\n") {
		w.WriteString("\n\\ No newline at end of file\n")
	}
}

func unifiedRange(w *strings.Builder, start, end int) {
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

func unified(w *strings.Builder, a, b []string, changes []linediff.Change, hunks []hunk, aLabel, bLabel string) {
	w.WriteString("--- " + aLabel + "\n+++ " + bLabel + "\n")
	for _, h := range hunks {
		h.clip(len(a))
		w.WriteString("@@ -")
		unifiedRange(w, h.i1, h.i2)
		w.WriteString(" +")
		unifiedRange(w, h.j1, h.j2)
		w.WriteString(" @@\n")
		i := h.i1
		for _, c := range h.changes {
			for ; i < c.I1; i++ {
				writeLine(w, " ", a[i])
			}
			for ; i < c.I2; i++ {
				writeLine(w, "-", a[i])
			}
			for j := c.J1; j < c.J2; j++ {
				writeLine(w, "+", b[j])
			}
		}
		for ; i < h.i2; i++ {
			writeLine(w, " ", a[i])
		}
	}
}

func contextRange(w *strings.Builder, start, end int) {
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

func contextFormat(w *strings.Builder, a, b []string, changes []linediff.Change, hunks []hunk, aLabel, bLabel string) {
	w.WriteString("*** " + aLabel + "\n--- " + bLabel + "\n")
	for _, h := range hunks {
		h.clip(len(a))
		hasDel, hasIns := false, false
		for _, c := range h.changes {
			hasDel = hasDel || c.I2 > c.I1
			hasIns = hasIns || c.J2 > c.J1
		}
		w.WriteString("***************\n*** ")
		contextRange(w, h.i1, h.i2)
		w.WriteString(" ****\n")
		if hasDel {
			i := h.i1
			for _, c := range h.changes {
				for ; i < c.I1; i++ {
					writeLine(w, "  ", a[i])
				}
				mark := "- "
				if c.J2 > c.J1 {
					mark = "! "
				}
				for ; i < c.I2; i++ {
					writeLine(w, mark, a[i])
				}
			}
			for ; i < h.i2; i++ {
				writeLine(w, "  ", a[i])
			}
		}
		w.WriteString("--- ")
		contextRange(w, h.j1, h.j2)
		w.WriteString(" ----\n")
		if hasIns {
			j := h.j1
			for _, c := range h.changes {
				for ; j < c.J1; j++ {
					writeLine(w, "  ", b[j])
				}
				mark := "+ "
				if c.I2 > c.I1 {
					mark = "! "
				}
				for ; j < c.J2; j++ {
					writeLine(w, mark, b[j])
				}
			}
			for ; j < h.j2; j++ {
				writeLine(w, "  ", b[j])
			}
		}
	}
}

func simple(w *strings.Builder, a, b []string, changes []linediff.Change) {
	for _, c := range changes {
		for i := c.I1; i < c.I2; i++ {
			w.WriteByte('-')
			w.WriteString(strings.TrimSuffix(a[i], "\n"))
			w.WriteByte('\n')
		}
		for j := c.J1; j < c.J2; j++ {
			w.WriteByte('+')
			w.WriteString(strings.TrimSuffix(b[j], "\n"))
			w.WriteByte('\n')
		}
	}
}

// inline writes hunks whose unchanged lines appear as they are and whose
// changed lines are diffed word by word, like git diff --word-diff=plain.
func inline(w *strings.Builder, m *linediff.Myers, a, b []string, changes []linediff.Change, hunks []hunk) {
	for _, h := range hunks {
		h.clip(len(a))
		w.WriteString("@@ -")
		unifiedRange(w, h.i1, h.i2)
		w.WriteString(" +")
		unifiedRange(w, h.j1, h.j2)
		w.WriteString(" @@\n")
		i := h.i1
		for _, c := range h.changes {
			for ; i < c.I1; i++ {
				w.WriteString(strings.TrimSuffix(a[i], "\n"))
				w.WriteByte('\n')
			}
			wordDiff(w, m, a[c.I1:c.I2], b[c.J1:c.J2])
			i = c.I2
		}
		for ; i < h.i2; i++ {
			w.WriteString(strings.TrimSuffix(a[i], "\n"))
			w.WriteByte('\n')
		}
	}
}

// wordDiff writes one change region with its words marked: [-removed-]
// and {+added+}. Past the word-diff work limit, whole lines are marked.
func wordDiff(w *strings.Builder, m *linediff.Myers, del, ins []string) {
	if len(del) == 0 || len(ins) == 0 || m.Err() != nil {
		wholeLines(w, del, ins)
		return
	}
	ta := tokens(strings.Join(del, ""))
	tb := tokens(strings.Join(ins, ""))
	ids := make(map[string]int32, len(ta)+len(tb))
	ia, ib := linediff.Intern(ids, ta), linediff.Intern(ids, tb)
	ops, err := m.Script(ia, ib)
	if err != nil {
		wholeLines(w, del, ins)
		return
	}
	var line strings.Builder // the output line being built
	i, j := 0, 0
	for _, op := range ops {
		switch op.Kind {
		case '=':
			for _, t := range ta[i : i+op.N] {
				line.WriteString(t)
			}
			i += op.N
			j += op.N
		case '-':
			marked(&line, "[-", "-]", ta[i:i+op.N])
			i += op.N
		case '+':
			marked(&line, "{+", "+}", tb[j:j+op.N])
			j += op.N
		}
	}
	s := line.String()
	w.WriteString(s)
	if !strings.HasSuffix(s, "\n") {
		w.WriteByte('\n')
	}
}

// marked writes tokens wrapped in open and close markers, closing and
// reopening them around line breaks.
func marked(w *strings.Builder, open, close string, toks []string) {
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

func wholeLines(w *strings.Builder, del, ins []string) {
	for _, l := range del {
		w.WriteString("[-" + strings.TrimSuffix(l, "\n") + "-]\n")
	}
	for _, l := range ins {
		w.WriteString("{+" + strings.TrimSuffix(l, "\n") + "+}\n")
	}
}

// tokens splits s into words (letters, digits, '_'), runs of spaces,
// line breaks and single other characters.
func tokens(s string) []string {
	var out []string
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		n := size
		switch {
		case r == '\n':
		case wordRune(r):
			for n < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[n:])
				if !wordRune(r2) {
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

func wordRune(r rune) bool {
	return r == '_' || r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') ||
		r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
