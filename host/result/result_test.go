package result_test

import (
	"testing"

	"spellhost/host/result"
)

func TestFailed(t *testing.T) {
	for _, c := range []struct {
		ths  []result.Threshold
		want bool
	}{
		{nil, false},
		{[]result.Threshold{{Pass: true}, {Pass: true, NoData: true}}, false},
		{[]result.Threshold{{Pass: true}, {Pass: false}}, true},
	} {
		if got := (&result.Run{Thresholds: c.ths}).Failed(); got != c.want {
			t.Errorf("%+v: Failed() = %v, want %v", c.ths, got, c.want)
		}
	}
}

func TestArrivalRate(t *testing.T) {
	for exec, want := range map[string]bool{
		result.SharedIterations: false, result.PerVUIterations: false, result.ConstantVUs: false, result.RampingVUs: false,
		result.ConstantArrivalRate: true, result.RampingArrivalRate: true, "": false,
	} {
		if got := (&result.Scenario{Executor: exec}).ArrivalRate(); got != want {
			t.Errorf("%q: ArrivalRate() = %v, want %v", exec, got, want)
		}
	}
}
