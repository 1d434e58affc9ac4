package builtin_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"spellhost/tools"
	"spellhost/tools/builtin"
	"spellhost/tools/internal/tooltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBuiltinSpecsAreValidAndExamplesRun(t *testing.T) {
	p, _ := tooltest.Perm(t)
	reg, err := builtin.NewRegistry(builtin.Config{Perm: p})
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range reg.List("") {
		if spec.Example == nil {
			continue
		}
		tool, _ := reg.Lookup(spec.Name)
		if _, err := tools.Call(context.Background(), tool, spec.Example); err != nil {
			t.Errorf("%s: documented example fails: %v", spec.Name, err)
		}
	}
}
