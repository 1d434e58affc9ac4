package tools

import "strings"

// MarkdownCell makes text safe inside a Markdown table cell: pipes
// escaped, newlines joined, angle brackets as entities (so <urlset> shows).
func MarkdownCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
