package output

import (
	"slices"
	"unicode/utf8"
)

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validRuneAt reports whether s holds a valid encoding at i (ranging over
// a string yields U+FFFD for an invalid byte too).
func validRuneAt(s string, i int) bool {
	r, n := utf8.DecodeRuneInString(s[i:])
	return !(r == utf8.RuneError && n == 1)
}

func runeLen(r rune) int { return utf8.RuneLen(r) }
