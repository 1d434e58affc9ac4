package text

import (
	"context"
	"html"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"spellhost/tools"
)

// Words, case and lines: the operations that look at words or lines.

func isApostrophe(r rune) bool { return r == '\'' || r == '\u2019' }

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isUpper(r rune) bool {
	if r < utf8.RuneSelf {
		return 'A' <= r && r <= 'Z'
	}
	return unicode.IsUpper(r)
}

func isLower(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z'
	}
	return unicode.IsLower(r)
}

func isDigit(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9'
	}
	return unicode.IsDigit(r)
}

// splitWords calls fn with the byte range of each word of s: a run of letters
// and digits (apostrophes between letters included), split where a lower
// case letter or digit meets an upper case one ("fooBar", "v2Api") and
// before the last capital of an acronym ("HTTPServer"). It stops early,
// returning ctx's error, when ctx ends.
func splitWords(ctx context.Context, s string, fn func(w string)) error {
	start := -1
	var prev rune
	for i, n := 0, 0; i < len(s); n++ {
		if n&0xffff == 0xffff && ctx.Err() != nil {
			return ctx.Err()
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case isWordRune(r):
			if start < 0 {
				start = i
			} else if isUpper(r) {
				split := isLower(prev) || isDigit(prev)
				if !split && isUpper(prev) {
					next, _ := utf8.DecodeRuneInString(s[i+size:])
					split = isLower(next)
				}
				if split {
					fn(s[start:i])
					start = i
				}
			}
			prev = r
		case start >= 0 && isApostrophe(r) && unicode.IsLetter(prev):
			next, _ := utf8.DecodeRuneInString(s[i+size:])
			if !unicode.IsLetter(next) {
				fn(s[start:i])
				start = -1
			}
		default:
			if start >= 0 {
				fn(s[start:i])
				start = -1
			}
		}
		i += size
	}
	if start >= 0 {
		fn(s[start:])
	}
	return nil
}

// appendCased appends w lowercased, with its first rune upper cased when
// capital is set, leaving out apostrophes.
func appendCased(b []byte, w string, capital bool) []byte {
	first := true
	for _, r := range w {
		if isApostrophe(r) {
			continue
		}
		if first && capital {
			r = unicode.ToUpper(r)
		} else if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
		} else {
			r = unicode.ToLower(r)
		}
		first = false
		b = utf8.AppendRune(b, r)
	}
	return b
}

// ident joins the words of s: with sep between them (snake, kebab) or
// none (camel, pascal), capitalising every word (pascal) or all but the
// first (camel) when caps is set.
func ident(ctx context.Context, s string, sep byte, capFirst, caps bool) (string, error) {
	b := make([]byte, 0, len(s))
	n := 0
	err := splitWords(ctx, s, func(w string) {
		if n > 0 && sep != 0 {
			b = append(b, sep)
		}
		b = appendCased(b, w, caps && (n > 0 || capFirst))
		n++
	})
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func title(s string) string {
	b := make([]byte, 0, len(s))
	start := true
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			start = true
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if start {
				r = unicode.ToTitle(r)
			} else {
				r = unicode.ToLower(r)
			}
			start = false
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}

// --- sanitize, truncate, whitespace ---

// dropRune reports whether sanitize removes r: control characters other
// than tab and newline, invisible format characters other than ZWNJ and
// ZWJ, and noncharacters.
func dropRune(r rune) bool {
	switch {
	case r < 0x20:
		return r != '\t' && r != '\n'
	case r < 0x7f:
		return false
	case r <= 0x9f:
		return true
	case r == 0x200c || r == 0x200d:
		return false
	case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

func sanitize(s string, o opts, res map[string]any) (string, error) {
	escape, err := o.boolean("escape_html")
	if err != nil {
		return "", err
	}
	b := make([]byte, 0, len(s))
	removed := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			removed++
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				removed++ // the \n that follows is kept
				continue
			}
			b = append(b, '\n')
		case r == 0x2028 || r == 0x2029:
			b = append(b, '\n')
		case dropRune(r):
			removed++
		case r < utf8.RuneSelf:
			b = append(b, byte(r))
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	res["removed"] = removed
	if escape {
		return html.EscapeString(string(b)), nil
	}
	return string(b), nil
}

func truncate(s string, n int, o opts, res map[string]any) (string, error) {
	if err := o.require("max_length"); err != nil {
		return "", err
	}
	limit, err := o.integer("max_length", 0, 0, math.MaxInt32)
	if err != nil {
		return "", err
	}
	suffix, err := o.str("suffix", "...")
	if err != nil {
		return "", err
	}
	sn := runeCount(suffix)
	if sn > limit {
		return "", o.bad("max_length", "%d is shorter than the suffix (%d characters)", limit, sn)
	}
	if n <= limit {
		res["truncated"] = false
		return s, nil
	}
	res["truncated"] = true
	kept := s[:byteOffset(s, limit-sn, n == len(s))]
	return strings.TrimRightFunc(kept, unicode.IsSpace) + suffix, nil
}

func normalizeSpace(s string) string {
	b := make([]byte, 0, len(s))
	for f := range strings.FieldsSeq(s) {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, f...)
	}
	return string(b)
}

// eachLine calls fn for each line of s with its text (no "\n", no
// trailing "\r") and its ending ("\r\n", "\n" or "" for the last line).
func eachLine(ctx context.Context, s string, fn func(line, end string)) error {
	for n := 0; len(s) > 0; n++ {
		if n&0xfff == 0xfff && ctx.Err() != nil {
			return ctx.Err()
		}
		line, end := s, ""
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s, end = s[:i], s[i+1:], "\n"
		} else {
			s = ""
		}
		if strings.HasSuffix(line, "\r") {
			line, end = line[:len(line)-1], "\r"+end
		}
		fn(line, end)
	}
	return nil
}

func blank(line string) bool { return strings.TrimSpace(line) == "" }

func indent(ctx context.Context, s string, o opts) (string, error) {
	if o.has("spaces") && o.has("prefix") {
		return "", tools.Invalid("parameter \"options\": operation indent takes spaces or prefix, not both")
	}
	spaces, err := o.integer("spaces", 4, 0, maxTextIndent)
	if err != nil {
		return "", err
	}
	prefix, err := o.str("prefix", strings.Repeat(" ", spaces))
	if err != nil {
		return "", err
	}
	if len(prefix) > maxTextIndent {
		return "", tools.Errorf(tools.TypeTooLarge, "parameter \"options\": option \"prefix\" of %d bytes exceeds the %d-byte limit",
			len(prefix), maxTextIndent)
	}
	if size := int64(len(s)) + int64(strings.Count(s, "\n")+1)*int64(len(prefix)); size > maxTextOutput {
		return "", tools.Errorf(tools.TypeTooLarge, "indent: result of %d bytes exceeds the %d-byte limit", size, maxTextOutput)
	}
	b := make([]byte, 0, len(s)+len(prefix)*(1+len(s)/40))
	err = eachLine(ctx, s, func(line, end string) {
		if !blank(line) {
			b = append(b, prefix...)
		}
		b = append(b, line...)
		b = append(b, end...)
	})
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func dedent(ctx context.Context, s string) (string, error) {
	margin, found := "", false
	err := eachLine(ctx, s, func(line, _ string) {
		if blank(line) {
			return
		}
		lead := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		if !found {
			margin, found = lead, true
			return
		}
		n := 0
		for n < len(margin) && n < len(lead) && margin[n] == lead[n] {
			n++
		}
		margin = margin[:n]
	})
	if err != nil {
		return "", err
	}
	b := make([]byte, 0, len(s))
	err = eachLine(ctx, s, func(line, end string) {
		if !blank(line) {
			b = append(b, line[len(margin):]...)
		}
		b = append(b, end...)
	})
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func wrap(ctx context.Context, s string, o opts) (string, error) {
	width, err := o.integer("width", 80, 1, maxTextWidth)
	if err != nil {
		return "", err
	}
	breakLong, err := o.boolean("break_long_words")
	if err != nil {
		return "", err
	}
	b := make([]byte, 0, len(s)+len(s)/width+16)
	err = eachLine(ctx, s, func(line, end string) {
		col := 0 // code points on the current output line
		for w := range strings.FieldsSeq(line) {
			wn := runeCount(w)
			switch {
			case col == 0:
			case col+1+wn <= width:
				b = append(b, ' ')
				col++
			default:
				b = append(b, '\n')
				col = 0
			}
			for breakLong && wn > width-col {
				cut := byteOffset(w, width-col, wn == len(w))
				b = append(b, w[:cut]...)
				b = append(b, '\n')
				w, wn, col = w[cut:], wn-(width-col), 0
			}
			b = append(b, w...)
			col += wn
		}
		if end != "" {
			b = append(b, '\n')
		}
	})
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func countText(s string, n int) map[string]any {
	words := 0
	for range strings.FieldsSeq(s) {
		words++
	}
	lines := strings.Count(s, "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		lines++
	}
	return map[string]any{"characters": n, "bytes": len(s), "words": words, "lines": lines}
}
