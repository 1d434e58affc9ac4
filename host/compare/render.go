package compare

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"spellhost/host/report"
	"spellhost/tools"
)

// Value renders a stat's value in its unit.
func Value(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case unit == "ratio":
		return fmt.Sprintf("%.3f%%", 100*v)
	case unit == "/s":
		return report.Rate(v)
	}
	return report.Value(v, unit)
}

// ChangeText renders a row's change: relative for most stats, in
// percentage points for ratios.
func (r Row) ChangeText() string {
	switch {
	case math.IsNaN(r.Change):
		return "-"
	case r.Unit == "ratio":
		return fmt.Sprintf("%+.3fpp", 100*r.Change)
	case math.IsNaN(r.Rel):
		return signed(r.Change, r.Unit)
	}
	return fmt.Sprintf("%+.1f%%", 100*r.Rel)
}

// IntervalText renders the 95% interval of the change in the change's
// terms.
func (r Row) IntervalText() string {
	if math.IsNaN(r.Lo) || math.IsNaN(r.Hi) {
		return "-"
	}
	switch {
	case r.Unit == "ratio":
		return fmt.Sprintf("[%+.3f, %+.3f]pp", 100*r.Lo, 100*r.Hi)
	case !math.IsNaN(r.Rel) && r.Base != 0:
		return fmt.Sprintf("[%+.1f%%, %+.1f%%]", 100*r.Lo/math.Abs(r.Base), 100*r.Hi/math.Abs(r.Base))
	}
	return "[" + signed(r.Lo, r.Unit) + ", " + signed(r.Hi, r.Unit) + "]"
}

func signed(v float64, unit string) string {
	s := Value(math.Abs(v), unit)
	if v < 0 {
		return "-" + s
	}
	return "+" + s
}

// PText renders a p-value.
func (r Row) PText() string {
	switch {
	case math.IsNaN(r.P):
		return "-"
	case r.P < 0.001:
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", r.P)
}

func (r *Result) header(w io.Writer) {
	fmt.Fprintf(w, "spellhost compare\n  BASE %s  (%s, %s, %s, %s)\n  NEW  %s  (%s, %s, %s, %s)\n",
		r.Base.Path, r.Base.Script, r.Base.Start, report.Ms(r.Base.Duration*1000), r.Base.Status,
		r.New.Path, r.New.Script, r.New.Start, report.Ms(r.New.Duration*1000), r.New.Status)
}

// WriteTable writes the comparison for a terminal: the headline rows, the
// rows with a real change and the tolerances; all prints every row.
func (r *Result) WriteTable(w io.Writer, all bool) error {
	var b strings.Builder
	r.header(&b)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  metric\tstat\tbase\tnew\tchange\t95% interval\tp\tverdict\t")
	hidden := 0
	for _, row := range r.Rows {
		if !all && !row.Headline && row.Verdict != Real {
			hidden++
			continue
		}
		note := row.Verdict
		if row.Note != "" {
			note += " (" + row.Note + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", row.Query, row.Stat, Value(row.Base, row.Unit), Value(row.New, row.Unit),
			row.ChangeText(), row.IntervalText(), row.PText(), note)
	}
	tw.Flush()
	if hidden > 0 {
		fmt.Fprintf(&b, "  %d more rows without a real change (--all shows them)\n", hidden)
	}
	if len(r.Checks) > 0 {
		b.WriteString("\n  tolerances\n")
		for _, c := range r.Checks {
			mark := "✓"
			if c.Exceeded {
				mark = "✗"
			}
			fmt.Fprintf(&b, "    %s %s: %s %s %s (%s, p %s): %s\n", mark, c.Tolerance.Source, c.Row.Query, c.Row.Stat,
				c.Row.ChangeText(), c.Row.Verdict, c.Row.PText(), c.Note)
		}
	}
	fmt.Fprintf(&b, "\n  %s\n", wrap(r.Method(), 100, "  "))
	_, err := io.WriteString(w, b.String())
	return err
}

func wrap(s string, width int, indent string) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if len(line)+len(w)+1 > width && line != "" {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"+indent)
}

// WriteMarkdown writes the comparison as Markdown: every row, the
// tolerances and the method.
func (r *Result) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	esc := tools.MarkdownCell
	fmt.Fprintf(&b, "# spellhost compare\n\n| | summary | script | start | duration | status |\n|---|---|---|---|---|---|\n")
	for _, s := range []struct {
		label string
		s     *Summary
	}{{"BASE", r.Base}, {"NEW", r.New}} {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", s.label, esc(s.s.Path), esc(s.s.Script), esc(s.s.Start), report.Ms(s.s.Duration*1000), esc(s.s.Status))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n> %s\n", esc(n))
	}
	if len(r.Checks) > 0 {
		b.WriteString("\n## Tolerances\n\n| | rule | change | verdict | p | outcome |\n|---|---|---|---|---|---|\n")
		for _, c := range r.Checks {
			mark := "✅"
			if c.Exceeded {
				mark = "❌"
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s |\n", mark, esc(c.Tolerance.Source), c.Row.ChangeText(), c.Row.Verdict, c.Row.PText(), esc(c.Note))
		}
	}
	b.WriteString("\n## Changes\n\n| metric | stat | base | new | change | 95% interval | p | verdict |\n|---|---|---|---|---|---|---|---|\n")
	for _, row := range r.Rows {
		v := row.Verdict
		if row.Verdict == Real {
			v = "**" + v + "**"
		}
		if row.Note != "" {
			v += " (" + esc(row.Note) + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", esc(row.Query), row.Stat, Value(row.Base, row.Unit), Value(row.New, row.Unit),
			row.ChangeText(), row.IntervalText(), row.PText(), v)
	}
	fmt.Fprintf(&b, "\n**Method.** %s\n", r.Method())
	_, err := io.WriteString(w, b.String())
	return err
}
