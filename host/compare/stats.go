package compare

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"spellhost/host/metrics"
)

// test is the outcome of one statistical test: a two-sided p-value and a
// 95% interval of the change (New − Base), NaN where there is none.
type test struct {
	p, lo, hi float64
	method    string
}

var untested = test{p: math.NaN(), lo: math.NaN(), hi: math.NaN(), method: "not tested"}

func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// twoSidedZ is the two-sided p-value of a standard normal statistic.
func twoSidedZ(z float64) float64 {
	if math.IsNaN(z) {
		return math.NaN()
	}
	return math.Min(1, 2*normCDF(-math.Abs(z)))
}

const z975 = 1.959963984540054

// welch compares two means from counts, means and variances.
func welch(n1 int64, m1, v1 float64, n2 int64, m2, v2 float64) test {
	if n1 < 2 || n2 < 2 {
		return untested
	}
	se2 := v1/float64(n1) + v2/float64(n2)
	d := m2 - m1
	if se2 <= 0 {
		if d == 0 {
			return test{p: 1, lo: 0, hi: 0, method: "Welch's t-test"}
		}
		return test{p: 0, lo: d, hi: d, method: "Welch's t-test"}
	}
	se := math.Sqrt(se2)
	t := d / se
	df := se2 * se2 / (sq(v1/float64(n1))/float64(n1-1) + sq(v2/float64(n2))/float64(n2-1))
	p := studentTwoSided(t, df)
	q := studentQuantile975(df)
	return test{p: p, lo: d - q*se, hi: d + q*se, method: "Welch's t-test"}
}

func sq(x float64) float64 { return x * x }

// studentTwoSided is P(|T| ≥ |t|) for Student's t with df degrees.
func studentTwoSided(t, df float64) float64 {
	if math.IsNaN(df) || math.IsInf(df, 1) || df > 1e6 {
		return twoSidedZ(t)
	}
	x := df / (df + t*t)
	return math.Min(1, betaInc(df/2, 0.5, x))
}

// studentQuantile975 is the 97.5th percentile of Student's t, by bisection.
func studentQuantile975(df float64) float64 {
	if math.IsNaN(df) || df > 1e6 {
		return z975
	}
	lo, hi := 0.0, 1000.0
	for range 100 {
		mid := (lo + hi) / 2
		if studentTwoSided(mid, df) > 0.05 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// betaInc is the regularized incomplete beta function I_x(a, b).
func betaInc(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

// betaCF evaluates the continued fraction of the incomplete beta
// function (modified Lentz's method).
func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		aa := fm * (b - fm) * x / ((qam + 2*fm) * (a + 2*fm))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + 2*fm) * (qap + 2*fm))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 3e-14 {
			break
		}
	}
	return h
}

// proportions compares x1 of n1 with x2 of n2: a two-proportion z-test,
// or Fisher's exact test when an expected count is below 5. The interval
// is of p2 − p1 (Wald).
func proportions(x1, n1, x2, n2 int64) test {
	if n1 <= 0 || n2 <= 0 || x1 < 0 || x2 < 0 || x1 > n1 || x2 > n2 {
		return untested
	}
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	d := p2 - p1
	se := math.Sqrt(p1*(1-p1)/float64(n1) + p2*(1-p2)/float64(n2))
	lo, hi := d-z975*se, d+z975*se
	n := n1 + n2
	k := x1 + x2
	minExpected := math.Min(math.Min(float64(n1), float64(n2))*math.Min(float64(k), float64(n-k))/float64(n), math.Inf(1))
	if minExpected < 5 {
		return test{p: fisher(x1, n1, x2, n2), lo: lo, hi: hi, method: "Fisher's exact test"}
	}
	pool := float64(k) / float64(n)
	sp := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if sp == 0 {
		return test{p: 1, lo: lo, hi: hi, method: "two-proportion z-test"}
	}
	return test{p: twoSidedZ(d / sp), lo: lo, hi: hi, method: "two-proportion z-test"}
}

// fisher is the two-sided p-value of Fisher's exact test on the table
// [[x1, n1−x1], [x2, n2−x2]]: the probability of tables at most as likely
// as the one observed.
func fisher(x1, n1, x2, n2 int64) float64 {
	k := x1 + x2
	n := n1 + n2
	lf := func(v int64) float64 { l, _ := math.Lgamma(float64(v) + 1); return l }
	logp := func(a int64) float64 {
		return lf(k) + lf(n-k) + lf(n1) + lf(n2) - lf(n) - lf(a) - lf(k-a) - lf(n1-a) - lf(n2-k+a)
	}
	obs := logp(x1)
	var p float64
	for a := max(0, k-n2); a <= min(k, n1); a++ {
		if lp := logp(a); lp <= obs+1e-7 {
			p += math.Exp(lp)
		}
	}
	return math.Min(1, p)
}

// poisson compares counts c1 over t1 seconds with c2 over t2: the
// conditional binomial test of equal rates (exact for fewer than 1,000
// events). The interval is of the rate's change, New − Base, per second.
func poisson(c1 float64, t1 float64, c2 float64, t2 float64) test {
	if t1 <= 0 || t2 <= 0 || c1 < 0 || c2 < 0 || c1+c2 == 0 {
		return untested
	}
	n1, n2 := math.Round(c1), math.Round(c2)
	n := n1 + n2
	p0 := t2 / (t1 + t2)
	var p float64
	if n < 1000 {
		p = binomTwoSided(int64(n2), int64(n), p0)
	} else {
		p = twoSidedZ((n2 - n*p0) / math.Sqrt(n*p0*(1-p0)))
	}
	r1, r2 := c1/t1, c2/t2
	lo, hi := math.NaN(), math.NaN()
	if n1 > 0 && n2 > 0 {
		s := math.Sqrt(1/n1 + 1/n2)
		ratio := r2 / r1
		lo, hi = r1*(ratio*math.Exp(-z975*s)-1), r1*(ratio*math.Exp(z975*s)-1)
	}
	return test{p: p, lo: lo, hi: hi, method: "Poisson rate test"}
}

// binomTwoSided is the exact two-sided p-value of k successes in n trials
// of probability p: the probability of outcomes at most as likely.
func binomTwoSided(k, n int64, p float64) float64 {
	lf := func(v int64) float64 { l, _ := math.Lgamma(float64(v) + 1); return l }
	logp := func(i int64) float64 {
		return lf(n) - lf(i) - lf(n-i) + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p)
	}
	obs := logp(k)
	var total float64
	for i := int64(0); i <= n; i++ {
		if lp := logp(i); lp <= obs+1e-7 {
			total += math.Exp(lp)
		}
	}
	return math.Min(1, total)
}

// cumDist is a distribution with cumulative counts, for fast rank lookups.
type cumDist struct {
	d   *metrics.Dist
	cum []int64
}

func newCumDist(d *metrics.Dist) *cumDist {
	c := &cumDist{d: d, cum: make([]int64, len(d.Bins))}
	var s int64
	for i, b := range d.Bins {
		s += b.Count
		c.cum[i] = s
	}
	return c
}

func (c *cumDist) atRank(r int64) float64 {
	r = min(max(r, 1), c.d.N)
	i := sort.Search(len(c.cum), func(i int) bool { return c.cum[i] >= r })
	if i >= len(c.d.Bins) {
		i = len(c.d.Bins) - 1
	}
	return c.d.Bins[i].Hi
}

// Resamples is how many bootstrap resamples a percentile's test draws.
const Resamples = 2000

// bootstrapQuantile tests the change of the q-th quantile (0 to 1)
// between two distributions. Each resample's quantile is drawn exactly:
// the k-th smallest of n values drawn from a distribution is the value at
// rank ceil(U·n) with U ~ Beta(k, n+1−k).
func bootstrapQuantile(a, b *metrics.Dist, q float64, rng *rand.Rand) test {
	if a.N < 2 || b.N < 2 {
		return untested
	}
	ca, cb := newCumDist(a), newCumDist(b)
	draw := func(c *cumDist) float64 {
		n := c.d.N
		k := int64(math.Ceil(q * float64(n)))
		k = min(max(k, 1), n)
		u := betaSample(rng, float64(k), float64(n+1-k))
		return c.atRank(int64(math.Ceil(u * float64(n))))
	}
	diffs := make([]float64, Resamples)
	var le, ge int
	for i := range diffs {
		d := draw(cb) - draw(ca)
		diffs[i] = d
		if d <= 0 {
			le++
		}
		if d >= 0 {
			ge++
		}
	}
	slices.Sort(diffs)
	p := math.Min(1, 2*float64(min(le, ge)+1)/float64(Resamples+1))
	return test{p: p, lo: diffs[int(0.025*Resamples)], hi: diffs[int(0.975*Resamples)-1],
		method: "bootstrap of the percentile"}
}

// betaSample draws from Beta(a, b), a, b ≥ 1, as X/(X+Y) of two gamma
// variates.
func betaSample(rng *rand.Rand, a, b float64) float64 {
	x := gammaSample(rng, a)
	y := gammaSample(rng, b)
	if x+y == 0 {
		return 0.5
	}
	return x / (x + y)
}

// gammaSample draws from Gamma(shape, 1), shape ≥ 1 (Marsaglia and Tsang).
func gammaSample(rng *rand.Rand, shape float64) float64 {
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
