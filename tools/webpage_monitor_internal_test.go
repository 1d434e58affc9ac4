package tools

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// wmonBenchPages returns two versions of an n-line page: the new one has
// about one line in forty removed, replaced or added, at seeded places.
func wmonBenchPages(n int) (old, cur []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		line := fmt.Sprintf("line %d: some news text that stays the same", i)
		old = append(old, line)
		switch rng.IntN(120) {
		case 0: // removed
		case 1:
			cur = append(cur, fmt.Sprintf("line %d: changed text", i))
		case 2:
			cur = append(cur, line, fmt.Sprintf("inserted after %d", i))
		default:
			cur = append(cur, line)
		}
	}
	return old, cur
}

// BenchmarkWmonDiff diffs two versions of a page.
func BenchmarkWmonDiff(b *testing.B) {
	for _, n := range []int{1500, 5000} {
		old, cur := wmonBenchPages(n)
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r, err := wmonDiff(ctx, old, cur)
				if err != nil || r.added == 0 {
					b.Fatalf("%+v, %v", r, err)
				}
			}
		})
	}
}
