// Package jsonpath writes the paths that tools use to name a place in a
// JSON value (a.b["odd key"][2]), so data_validation and diff_calculator
// name places alike.
package jsonpath

import "strconv"

// AppendKey appends .key to a path, or ["key"] when the key is not a
// plain name; at the start of a path the dot is left out.
func AppendKey(path []byte, key string) []byte {
	plain := key != ""
	for i := 0; i < len(key) && plain; i++ {
		ch := key[i]
		plain = ch == '_' || ch == '-' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' && i > 0 ||
			ch >= 0x80
	}
	if !plain {
		path = append(path, '[')
		path = strconv.AppendQuote(path, key)
		return append(path, ']')
	}
	if len(path) > 0 {
		path = append(path, '.')
	}
	return append(path, key...)
}
