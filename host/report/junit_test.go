package report_test

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"spellhost/host/metrics"
	"spellhost/host/report"
)

// node is a generic XML element, to check the document against the
// common JUnit schema without trusting the writer's own types.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []node     `xml:",any"`
	Text    string     `xml:",chardata"`
}

func (n node) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

func (n node) children(name string) []node {
	var out []node
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
	}
	return out
}

// checkJUnit validates the structure the common schema requires and
// returns the test cases by name.
func checkJUnit(t *testing.T, doc []byte) map[string]node {
	t.Helper()
	var root node
	if err := xml.Unmarshal(doc, &root); err != nil {
		t.Fatalf("not XML: %v\n%s", err, doc)
	}
	if root.XMLName.Local != "testsuites" {
		t.Fatalf("root is <%s>", root.XMLName.Local)
	}
	num := func(n node, a string) int {
		v, ok := n.attr(a)
		if !ok {
			t.Fatalf("<%s> lacks %s", n.XMLName.Local, a)
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("<%s %s=%q>: not a number", n.XMLName.Local, a, v)
		}
		return i
	}
	cases := map[string]node{}
	var tests, failures, errors, skipped int
	for _, c := range root.Nodes {
		if c.XMLName.Local != "testsuite" {
			t.Fatalf("<testsuites> holds <%s>", c.XMLName.Local)
		}
	}
	for _, s := range root.children("testsuite") {
		if _, ok := s.attr("name"); !ok {
			t.Fatal("<testsuite> without a name")
		}
		if v, _ := s.attr("time"); v == "" {
			t.Fatal("<testsuite> without a time")
		}
		var st, sf, se, ss int
		for _, c := range s.Nodes {
			switch c.XMLName.Local {
			case "properties":
				for _, p := range c.Nodes {
					if _, ok := p.attr("name"); p.XMLName.Local != "property" || !ok {
						t.Fatalf("bad property %+v", p)
					}
				}
			case "testcase":
				name, ok := c.attr("name")
				if _, ok2 := c.attr("classname"); !ok || !ok2 {
					t.Fatalf("testcase without name or classname: %+v", c.Attrs)
				}
				st++
				outcomes := 0
				for _, k := range c.Nodes {
					switch k.XMLName.Local {
					case "failure", "error":
						if _, ok := k.attr("message"); !ok {
							t.Fatalf("<%s> without a message", k.XMLName.Local)
						}
						if k.XMLName.Local == "failure" {
							sf++
						} else {
							se++
						}
						outcomes++
					case "skipped":
						ss++
						outcomes++
					case "system-out", "system-err":
					default:
						t.Fatalf("testcase holds <%s>", k.XMLName.Local)
					}
				}
				if outcomes > 1 {
					t.Fatalf("testcase %s has %d outcomes", name, outcomes)
				}
				cases[name] = c
			default:
				t.Fatalf("<testsuite> holds <%s>", c.XMLName.Local)
			}
		}
		if num(s, "tests") != st || num(s, "failures") != sf || num(s, "errors") != se || num(s, "skipped") != ss {
			t.Fatalf("suite counts %v do not match its cases (%d %d %d %d)", s.Attrs, st, sf, se, ss)
		}
		tests, failures, errors, skipped = tests+st, failures+sf, errors+se, skipped+ss
	}
	if num(root, "tests") != tests || num(root, "failures") != failures || num(root, "errors") != errors {
		t.Fatalf("totals %v do not match", root.Attrs)
	}
	return cases
}

func TestJUnit(t *testing.T) {
	res := fixture(t, 60)
	res.Checks[1].Name += "\x00\x1b bell"
	var b bytes.Buffer
	if err := report.WriteJUnit(&b, res); err != nil {
		t.Fatal(err)
	}
	cases := checkJUnit(t, b.Bytes())
	// 1 run + 2 thresholds + 2 checks + 1 memory.
	if len(cases) != 6 {
		t.Fatalf("%d cases: %v", len(cases), cases)
	}
	fail := cases["http_req_duration{name:"+hostile+"}: p(95)<1"]
	if f := fail.children("failure"); len(f) != 1 || !strings.Contains(f[0].Text, "value 1.9 ms") {
		t.Errorf("failed threshold: %+v", fail)
	}
	if f := cases["iteration_duration: p(99)<100"].children("failure"); len(f) != 0 {
		t.Error("a passed threshold fails")
	}
	check := cases["status is 200"]
	if cl, _ := check.attr("classname"); cl != "spellhost.checks.steady" || len(check.children("failure")) != 1 {
		t.Errorf("check: %+v", check)
	}
	mem := cases["memory leak verdict"]
	if len(mem.children("failure")) != 0 || !strings.Contains(mem.children("system-out")[0].Text, "verdict no leak") {
		t.Errorf("memory: %+v", mem)
	}
	if run := cases["run"]; len(run.children("error")) != 0 {
		t.Errorf("a finished run is an error: %+v", run)
	}

	// A leak fails its case; a stopped run is an error.
	res.Memory.Leak.Verdict, res.Memory.Leak.Reason = metrics.Leak, "live heap grew 80 MiB"
	res.Status, res.StopReason = "interrupted", "interrupted by a signal"
	b.Reset()
	if err := report.WriteJUnit(&b, res); err != nil {
		t.Fatal(err)
	}
	cases = checkJUnit(t, b.Bytes())
	if f := cases["memory leak verdict"].children("failure"); len(f) != 1 || !strings.Contains(f[0].Text, "heap growth") {
		t.Errorf("leak: %+v", cases["memory leak verdict"])
	}
	if e := cases["run"].children("error"); len(e) != 1 {
		t.Errorf("stopped run: %+v", cases["run"])
	}
}
