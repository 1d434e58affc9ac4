package fault_test

import (
	"testing"

	"spellhost/host/fault"
)

// BenchmarkEval is the cost a tool call pays for fault injection: with no
// rule, with rules for other tools, and with a rule that fires half the
// time.
func BenchmarkEval(b *testing.B) {
	for _, c := range []struct {
		name  string
		rules map[string]string
	}{
		{"none", nil},
		{"one_rule_other_tool", map[string]string{"tool:http_request": "error"}},
		{"one_rule_not_firing", map[string]string{"tool:calculator": "error;after=1000000000"}},
		{"other_tools", map[string]string{"tool:http_*": "error", "task:*": "delay(1ms)", "protocol:decode": "corrupt"}},
		{"matching_50pct", map[string]string{"tool:calculator": "50%error(unavailable)"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := fault.New(1)
			defer s.Close()
			for t, terms := range c.rules {
				if _, err := s.EnableText(t, terms); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				s.Eval("tool:calculator")
			}
		})
	}
}
