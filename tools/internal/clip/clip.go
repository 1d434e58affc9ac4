// Package clip cuts text to a size in bytes without splitting a UTF-8
// sequence.
package clip

import "unicode/utf8"

// String cuts s to at most n bytes at a rune boundary.
func String(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
