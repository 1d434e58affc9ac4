package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Hist is a trend's distribution as the summary JSON carries it: the HDR
// histograms of its values in the V2 compressed encoding, base64, counting
// millionths of the metric's unit (nanoseconds for times). Neg holds the
// negative values, mirrored. spellhost compare reads it back with
// DecodeHist to test whether two runs' distributions differ.
type Hist struct {
	Pos string `json:"pos,omitempty"`
	Neg string `json:"neg,omitempty"`
}

// Hist encodes a trend's distribution; nil for other kinds or no values.
func (s Stats) Hist() *Hist {
	a := s.agg
	if a == nil || a.kind != Trend || a.count == 0 {
		return nil
	}
	var h Hist
	for _, p := range []struct {
		src *hdr.PackedHistogram
		dst *string
	}{{a.pos, &h.Pos}, {a.neg, &h.Neg}} {
		if p.src == nil || p.src.TotalCount() == 0 {
			continue
		}
		b, err := p.src.Encode()
		if err != nil {
			continue
		}
		*p.dst = string(b)
	}
	if h.Pos == "" && h.Neg == "" {
		return nil
	}
	return &h
}

// Bin is one histogram bucket in the metric's unit: Count values in
// [Lo, Hi].
type Bin struct {
	Lo, Hi float64
	Count  int64
}

// Dist is a decoded distribution, its bins ascending.
type Dist struct {
	Bins []Bin
	N    int64
}

// ErrBadHist is the cause of a summary histogram that does not decode.
var ErrBadHist = errors.New("metrics: histogram does not decode")

// DecodeHist reads a Hist back into bins.
func DecodeHist(h *Hist) (*Dist, error) {
	d := &Dist{}
	if h == nil {
		return d, nil
	}
	var neg []Bin
	for _, part := range []struct {
		enc  string
		sign float64
	}{{h.Neg, -1}, {h.Pos, 1}} {
		if part.enc == "" {
			continue
		}
		p, err := hdr.DecodePacked([]byte(part.enc))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadHist, err)
		}
		sig := int(p.SignificantFigures())
		low := p.LowestTrackableValue()
		var bins []Bin
		var bad error
		p.ForEachBucket(func(v, n int64) bool {
			if n < 0 || d.N > math.MaxInt64-n {
				bad = fmt.Errorf("%w: bucket counts overflow", ErrBadHist)
				return false
			}
			d.N += n
			lo, hi := float64(v), float64(v+bucketWidth(v, sig, low)-1)
			if part.sign < 0 {
				lo, hi = -hi, -lo
			}
			bins = append(bins, Bin{Lo: lo / scale, Hi: hi / scale, Count: n})
			return true
		})
		if bad != nil {
			return nil, bad
		}
		if part.sign < 0 {
			// Mirrored: the largest magnitude is the lowest value.
			for i, j := 0, len(bins)-1; i < j; i, j = i+1, j-1 {
				bins[i], bins[j] = bins[j], bins[i]
			}
			neg = bins
			continue
		}
		d.Bins = append(neg, bins...)
	}
	if d.Bins == nil {
		d.Bins = neg
	}
	return d, nil
}

// bucketWidth is how many integer values share v's bucket in an HDR
// histogram of sig significant digits and lowest discernible value low.
func bucketWidth(v int64, sig int, low int64) int64 {
	if sig < 0 || sig > 5 || low < 1 || v < 0 {
		return 1
	}
	subBucketCount := int64(math.Pow(2, math.Ceil(math.Log2(2*math.Pow10(sig)))))
	unitMag := int64(bits.Len64(uint64(low)) - 1)
	halfMag := int64(bits.Len64(uint64(subBucketCount))-1) - 1
	mask := (subBucketCount - 1) << unitMag
	idx := int64(bits.Len64(uint64(v|mask))) - unitMag - (halfMag + 1)
	return int64(1) << (unitMag + max(idx, 0))
}

// Merge returns the union of two distributions.
func (d *Dist) Merge(o *Dist) *Dist {
	out := &Dist{N: d.N + o.N, Bins: make([]Bin, 0, len(d.Bins)+len(o.Bins))}
	out.Bins = append(append(out.Bins, d.Bins...), o.Bins...)
	sort.SliceStable(out.Bins, func(i, j int) bool { return out.Bins[i].Lo < out.Bins[j].Lo })
	j := 0
	for _, b := range out.Bins {
		if j > 0 && out.Bins[j-1].Lo == b.Lo && out.Bins[j-1].Hi == b.Hi {
			out.Bins[j-1].Count += b.Count
			continue
		}
		out.Bins[j] = b
		j++
	}
	out.Bins = out.Bins[:j]
	return out
}

// AtRank returns the upper edge of the bin holding the value of rank r
// (1 to N), as the run's own percentiles do.
func (d *Dist) AtRank(r int64) float64 {
	if d.N == 0 || len(d.Bins) == 0 {
		return math.NaN()
	}
	r = min(max(r, 1), d.N)
	var seen int64
	for _, b := range d.Bins {
		seen += b.Count
		if seen >= r {
			return b.Hi
		}
	}
	return d.Bins[len(d.Bins)-1].Hi
}

// Quantile returns the q-th quantile (0 to 1) as the run's percentiles
// read it: the value of rank ceil(q·N).
func (d *Dist) Quantile(q float64) float64 {
	return d.AtRank(int64(math.Ceil(q * float64(d.N))))
}

// MeanVar returns the mean and variance of the bins' midpoints.
func (d *Dist) MeanVar() (mean, variance float64) {
	if d.N == 0 {
		return math.NaN(), math.NaN()
	}
	for _, b := range d.Bins {
		mean += (b.Lo + b.Hi) / 2 * float64(b.Count)
	}
	mean /= float64(d.N)
	for _, b := range d.Bins {
		x := (b.Lo+b.Hi)/2 - mean
		variance += x * x * float64(b.Count)
	}
	if d.N > 1 {
		variance /= float64(d.N - 1)
	}
	return mean, variance
}
