package web

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"spellhost/tools"
	"spellhost/tools/internal/linediff"
)

// benchPages returns two versions of an n-line page: the new one has
// about one line in forty removed, replaced or added, at seeded places.
func benchPages(n int) (old, cur []string) {
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
		old, cur := benchPages(n)
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r, err := lineDiff(ctx, old, cur)
				if err != nil || r.added == 0 {
					b.Fatalf("%+v, %v", r, err)
				}
			}
		})
	}
}

// TestWmonDiffFallsBack checks the multiset comparison past the diff's
// limits: more lines than linediff.MaxLines on a side, and changes that need more
// than linediff.MaxWork steps.
func TestWmonDiffFallsBack(t *testing.T) {
	ctx := context.Background()
	long := make([]string, linediff.MaxLines+1)
	for i := range long {
		long[i] = strconv.Itoa(i % 1000)
	}
	r, err := lineDiff(ctx, long, append([]string{"new"}, long[:len(long)-1]...))
	if err != nil || r.added != 1 || r.removed != 1 || len(r.changes) != 2 {
		t.Fatalf("long: %+v %v", r, err)
	}
	// Two shuffles of the same 40,000 lines from 50 values: a shortest
	// edit script is far beyond the step limit; the multiset comparison
	// finds nothing to list, as both hold the same lines.
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := make([]string, 40_000), make([]string, 40_000)
	for i := range a {
		a[i] = strconv.Itoa(i % 50)
	}
	copy(b, a)
	rng.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
	rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	if _, err := linediff.Lines(ctx, a, b, linediff.MaxWork); tools.TypeOf(err) != tools.TypeTooLarge {
		t.Fatalf("the shuffles are within the step limit (%v); the test needs another input", err)
	}
	r, err = lineDiff(ctx, a, b)
	if err != nil || r.added != 0 || r.removed != 0 {
		t.Fatalf("shuffles: %d added, %d removed, %v", r.added, r.removed, err)
	}
}

// TestWmonDiffCancelled checks that a cancelled context stops the diff.
func TestWmonDiffCancelled(t *testing.T) {
	old, cur := benchPages(5000)
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := fmt.Errorf("test over")
	cancel(cause)
	if _, err := lineDiff(ctx, old, cur); err != cause {
		t.Fatalf("err %v, want %v", err, cause)
	}
}
