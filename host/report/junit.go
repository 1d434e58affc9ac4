package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// JUnit XML in the common (Ant/Jenkins) shape that CI systems read:
// <testsuites> holding one <testsuite> with a <testcase> per threshold
// (classname spellhost.thresholds), per check (classname
// spellhost.checks.SCENARIO: the checks of a scenario form a group), one
// for the leak verdict (spellhost.memory) and one for the run itself
// (spellhost.run: an <error> when a limit, a signal or the script stopped
// it). Failures carry the measured values.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the run as JUnit XML (--out junit=FILE).
func WriteJUnit(w io.Writer, r *result.Run) error {
	secs := fmt.Sprintf("%.3f", r.Duration)
	s := junitSuite{Name: "spellhost run " + r.Script, Time: secs, Timestamp: r.Start.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{{"script", r.Script}, {"seed", fmt.Sprint(r.Seed)}, {"status", r.Status}}}
	if r.StopReason != "" {
		s.Properties = append(s.Properties, junitProperty{"stop_reason", r.StopReason})
	}
	run := junitCase{Name: "run", Classname: "spellhost.run", Time: secs, SystemOut: "status: " + r.Status}
	switch r.Status {
	case "passed", "failed":
	default:
		run.Error = &junitProblem{Type: r.Status, Message: "the run was stopped: " + r.StopReason, Text: r.StopReason}
	}
	s.Cases = append(s.Cases, run)
	for _, t := range r.Thresholds {
		c := junitCase{Name: t.Metric + ": " + t.Expr, Classname: "spellhost.thresholds", Time: "0",
			SystemOut: "value " + Value(t.Value, t.Unit)}
		if t.NoData {
			c.SystemOut += " (no data)"
		}
		if t.Warning != "" {
			c.SystemOut += "\nwarning: " + t.Warning
		}
		if !t.Pass {
			msg := fmt.Sprintf("%s failed: value %s", t.Expr, Value(t.Value, t.Unit))
			if t.Reason != "" {
				msg = fmt.Sprintf("%s failed: %s", t.Expr, t.Reason)
			}
			if t.AbortedRun {
				msg += " (stopped the run)"
			}
			c.Failure = &junitProblem{Type: "threshold", Message: msg, Text: fmt.Sprintf("metric %s\nthreshold %s\nvalue %v %s\n", t.Metric, t.Expr, t.Value, t.Unit)}
		}
		s.Cases = append(s.Cases, c)
	}
	for _, ch := range r.Checks {
		class := "spellhost.checks"
		if ch.Scenario != "" {
			class += "." + ch.Scenario
		}
		total := ch.Passes + ch.Fails
		c := junitCase{Name: ch.Name, Classname: class, Time: "0", SystemOut: fmt.Sprintf("%s of %s passed", Count(ch.Passes), Count(total))}
		if ch.Fails > 0 {
			c.Failure = &junitProblem{Type: "check", Message: fmt.Sprintf("%s of %s failed", Count(ch.Fails), Count(total)),
				Text: fmt.Sprintf("passes %d\nfails %d\n", ch.Passes, ch.Fails)}
		}
		s.Cases = append(s.Cases, c)
	}
	if m := r.Memory; len(m.Samples) > 0 {
		lk := m.Leak
		c := junitCase{Name: "memory leak verdict", Classname: "spellhost.memory", Time: "0",
			SystemOut: fmt.Sprintf("verdict %s: %s\nlive heap %s -> %s, slope %s %s (R² %.2f), peak RSS %s",
				lk.Verdict, lk.Reason, Bytes(lk.StartHeap), Bytes(lk.EndHeap), Bytes(lk.Slope),
				strings.TrimPrefix(lk.SlopeUnit, "bytes "), lk.R2, Bytes(float64(m.Peak.RSS)))}
		switch lk.Verdict {
		case metrics.Leak:
			c.Failure = &junitProblem{Type: "leak", Message: "leak: " + lk.Reason,
				Text: fmt.Sprintf("heap growth %.0f bytes\ngoroutine growth %.0f\nslope %.0f %s\n", lk.HeapGrowth, lk.GoroutineGrowth, lk.Slope, lk.SlopeUnit)}
		case metrics.Insufficient:
			c.Skipped = &junitSkipped{Message: lk.Reason}
		}
		s.Cases = append(s.Cases, c)
	}
	for _, c := range s.Cases {
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
	out := junitSuites{Name: "spellhost", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped,
		Time: secs, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
