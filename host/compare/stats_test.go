package compare

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"spellhost/host/metrics"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestKnownValues(t *testing.T) {
	if v := betaInc(2, 3, 0.5); !near(v, 0.6875, 1e-10) {
		t.Errorf("I_0.5(2,3) = %v, want 0.6875", v)
	}
	// Student's t: P(|T| ≥ 2.228) with 10 degrees is 0.05.
	if p := studentTwoSided(2.228, 10); !near(p, 0.05, 2e-4) {
		t.Errorf("t(10) two-sided p at 2.228: %v", p)
	}
	if q := studentQuantile975(10); !near(q, 2.228, 1e-3) {
		t.Errorf("t(10) 97.5%%: %v", q)
	}
	// Fisher's tea tasting table [[3,1],[1,3]]: p = 0.4857.
	if p := fisher(3, 4, 1, 4); !near(p, 0.485714, 1e-5) {
		t.Errorf("fisher: %v", p)
	}
	// Exact binomial: 9 of 10 at p 0.5, two-sided 0.021484375.
	if p := binomTwoSided(9, 10, 0.5); !near(p, 0.021484375, 1e-9) {
		t.Errorf("binomial: %v", p)
	}
	if p := twoSidedZ(1.959963984540054); !near(p, 0.05, 1e-9) {
		t.Errorf("z: %v", p)
	}
}

// dist bins values at a 0.01 resolution.
func dist(vals []float64) *metrics.Dist {
	s := slices.Clone(vals)
	slices.Sort(s)
	d := &metrics.Dist{N: int64(len(s))}
	for _, v := range s {
		lo := math.Floor(v*100) / 100
		if n := len(d.Bins); n > 0 && d.Bins[n-1].Lo == lo {
			d.Bins[n-1].Count++
			continue
		}
		d.Bins = append(d.Bins, metrics.Bin{Lo: lo, Hi: lo + 0.01, Count: 1})
	}
	return d
}

func sample(rng *rand.Rand, n int, scale float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1 + rng.ExpFloat64()*scale
	}
	return out
}

// Under no change each test flags about alpha of the comparisons; under a
// real change it flags most of them.
func TestCalibration(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const trials = 300
	var fpQ, powQ, fpP, powP, fpR, fpW int
	for range trials {
		a, b := dist(sample(rng, 2000, 10)), dist(sample(rng, 2000, 10))
		if bootstrapQuantile(a, b, 0.95, rng).p < 0.05 {
			fpQ++
		}
		c := dist(sample(rng, 2000, 12))
		if bootstrapQuantile(a, c, 0.95, rng).p < 0.05 {
			powQ++
		}
		ma, va := a.MeanVar()
		mb, vb := b.MeanVar()
		if welch(a.N, ma, va, b.N, mb, vb).p < 0.05 {
			fpW++
		}
		x1, x2 := binom(rng, 5000, 0.02), binom(rng, 5000, 0.02)
		if proportions(x1, 5000, x2, 5000).p < 0.05 {
			fpP++
		}
		if proportions(x1, 5000, binom(rng, 5000, 0.03), 5000).p < 0.05 {
			powP++
		}
		if poisson(float64(poissonDraw(rng, 3000)), 60, float64(poissonDraw(rng, 3000)), 60).p < 0.05 {
			fpR++
		}
	}
	rate := func(n int) float64 { return float64(n) / trials }
	for name, r := range map[string]float64{"bootstrap": rate(fpQ), "welch": rate(fpW), "proportions": rate(fpP), "poisson": rate(fpR)} {
		if r < 0.01 || r > 0.10 {
			t.Errorf("%s: false positives %.3f, want about 0.05", name, r)
		}
	}
	if rate(powQ) < 0.8 || rate(powP) < 0.8 {
		t.Errorf("power: bootstrap %.2f, proportions %.2f", rate(powQ), rate(powP))
	}
	t.Logf("false positives: bootstrap %.3f welch %.3f proportions %.3f poisson %.3f; power: bootstrap %.2f proportions %.2f",
		rate(fpQ), rate(fpW), rate(fpP), rate(fpR), rate(powQ), rate(powP))
}

func binom(rng *rand.Rand, n int, p float64) int64 {
	var k int64
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

func poissonDraw(rng *rand.Rand, mean float64) int {
	// Normal approximation, fine at a mean of thousands.
	return int(math.Round(mean + math.Sqrt(mean)*rng.NormFloat64()))
}
