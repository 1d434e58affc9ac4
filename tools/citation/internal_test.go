package citation

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// benchYAML builds a CSL-YAML bibliography of n entries in block style.
func benchYAML(n int) string {
	var b strings.Builder
	b.WriteString("references:\n")
	for i := range n {
		fmt.Fprintf(&b, `- id: ref%d
  type: article-journal
  title: "A study of things, part %d"
  author:
    - family: Smith
      given: John
    - family: Doe
      given: Jane Q.
    - literal: The Working Group %d
  container-title: Journal of Studies
  volume: %d
  issue: 3
  page: 45-67
  issued:
    date-parts: [[%d, 5]]
  DOI: 10.1000/xyz%d
  abstract: |
    First line of the abstract.
    Second line.
`, i, i, i, i%40, 1990+i%30, i)
	}
	return b.String()
}

// BenchmarkCiteYAML200 parses a 200-entry CSL-YAML file.
func BenchmarkCiteYAML200(b *testing.B) {
	in := benchYAML(200)
	ctx := context.Background()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		entries, err := parse(ctx, in, "yaml")
		if err != nil || len(entries) != 200 {
			b.Fatalf("%d entries, %v", len(entries), err)
		}
	}
}
