package text

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"

	"spellhost/tools"
)

// text_manipulator limits.
const (
	maxTextInput  = 16 << 20 // bytes of input (or of options.items together)
	maxTextOutput = 32 << 20 // bytes of a result that can grow (replace, indent, join, word_wrap)
	maxTextItems  = 1 << 20  // items split may return
	maxTextIndent = 1000     // indent spaces, and bytes of an indent prefix
	maxTextWidth  = 100_000  // word_wrap width
)

// optionKeys lists the options each operation takes, in documentation
// order. An operation missing here takes none.
var optionKeys = map[string][]string{
	"trim":      {"chars"},
	"replace":   {"from", "to", "count"},
	"substring": {"start", "end"},
	"split":     {"delimiter"},
	"join":      {"delimiter", "items"},
	"sanitize":  {"escape_html"},
	"truncate":  {"max_length", "suffix"},
	"indent":    {"spaces", "prefix"},
	"word_wrap": {"width", "break_long_words"},
}

var operations = []string{
	"uppercase", "lowercase", "reverse", "trim", "replace", "substring", "split", "join",
	"snake_case", "camel_case", "pascal_case", "kebab_case", "title_case", "sanitize", "truncate",
	"indent", "dedent", "normalize_whitespace", "word_wrap", "count",
}

func textManipulatorSpec() tools.Spec {
	return tools.Spec{
		Inline:   true,
		Name:     "text_manipulator",
		Category: "utility",
		Description: "Transforms text: case changes, reverse, trim, replace, substring, split and join, " +
			"identifier cases (snake, camel, pascal, kebab, title), sanitize, truncate, indent and dedent, " +
			"whitespace normalisation, word wrapping and counting. Lengths and indices count Unicode code " +
			"points (runes), not bytes and not grapheme clusters; invalid UTF-8 bytes read as U+FFFD. " +
			"Input up to 16 MiB; results that would exceed 32 MiB are refused (too_large).",
		Params: []tools.Param{
			{Name: "input", Type: tools.String, Required: true, Description: "the text to transform " +
				"(for join: newline-separated items, or \"\" when options.items is given)"},
			{Name: "operation", Type: tools.String, Required: true, Enum: operations, Description: "" +
				"uppercase, lowercase; reverse (by code point, so combining marks and emoji sequences are not kept together); " +
				"trim (whitespace, or options.chars); replace; substring; split; join; " +
				"snake_case, camel_case, pascal_case, kebab_case (words split at non-alphanumerics and case changes: " +
				"\"HTTPServer2Go\" -> http_server2_go; apostrophes inside words are dropped); " +
				"title_case (first letter of each whitespace-separated word upper, the rest lower); " +
				"sanitize (drops control and invisible format characters, e.g. zero-width and bidi overrides, keeping tab, " +
				"newline, ZWJ and ZWNJ; drops invalid UTF-8; CRLF, CR, U+2028 and U+2029 become \\n); " +
				"truncate; indent (lines that are blank are left alone); dedent (removes the longest common leading " +
				"whitespace; blank lines become empty); normalize_whitespace (runs of whitespace become one space, ends trimmed); " +
				"word_wrap (each line wrapped greedily at spaces, whitespace runs collapse, lines end in \\n); " +
				"count (result is {characters, bytes, words, lines})"},
			{Name: "options", Type: tools.Object, Description: "" +
				"per operation; other keys are refused. " +
				"trim {chars: set of characters to strip instead of whitespace}; " +
				"replace {from* (non-empty), to (default \"\"), count (max replacements, >= 1; default all)}; " +
				"substring {start*, end (default: end of text)}: 0-based code point indices, end exclusive, " +
				"negative counts from the end, out-of-range values clamp (Python slicing: -3 is the last three); " +
				"split {delimiter (default: runs of whitespace, dropping empty items; \"\" splits into characters)}; " +
				"join {delimiter (default \" \"), items (array of strings to join; input must then be \"\")}: " +
				"without items the lines of input are joined (a final newline adds no empty item, \\r\\n accepted); " +
				"sanitize {escape_html (bool, default false: also escape & < > \" ')}; " +
				"truncate {max_length* (>= 0, code points, counting the suffix), suffix (default \"...\")}: " +
				"whitespace before the suffix is dropped; " +
				"indent {spaces (0-1000, default 4) or prefix (string)}; " +
				"word_wrap {width (1-100000, default 80), break_long_words (bool, default false)}"},
		},
		Returns: "{result, operation, original_length, result_length}: lengths in code points. " +
			"split: result is an array of strings and result_length its item count, plus count. " +
			"replace adds replacements; truncate adds truncated; sanitize adds removed (code points dropped); " +
			"join with items: original_length is the items' total length. " +
			"count: result is {characters, bytes, words, lines} and result_length equals original_length",
		Example: map[string]any{"input": "Hello World-wide Web", "operation": "snake_case"},
	}
}

// Manipulator returns the text_manipulator tool.
func Manipulator() tools.Tool { return tools.New(textManipulatorSpec(), manipulateText) }

// opts reads one operation's options, reporting bad ones by name.
type opts struct {
	op string
	m  map[string]any
}

func (o opts) bad(key, format string, args ...any) error {
	return tools.Invalid("parameter \"options\": option %q of operation %s: "+format, append([]any{key, o.op}, args...)...)
}

func (o opts) has(key string) bool {
	v, ok := o.m[key]
	return ok && v != nil
}

func (o opts) str(key, def string) (string, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", o.bad(key, "expected string, got %s", tools.KindOf(v))
	}
	return s, nil
}

func (o opts) boolean(key string) (bool, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, o.bad(key, "expected boolean, got %s", tools.KindOf(v))
	}
	return b, nil
}

// integer reads an integer option within [lo, hi].
func (o opts) integer(key string, def, lo, hi int) (int, error) {
	v, ok := o.m[key]
	if !ok || v == nil {
		return def, nil
	}
	f, ok := tools.ToFloat(v)
	if !ok {
		return 0, o.bad(key, "expected integer, got %s", tools.KindOf(v))
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, o.bad(key, "expected integer, got %v", v)
	}
	if f < float64(lo) || f > float64(hi) {
		return 0, o.bad(key, "%v is out of range %d to %d", v, lo, hi)
	}
	return int(f), nil
}

func (o opts) require(key string) error {
	if !o.has(key) {
		return tools.Invalid("parameter \"options\": operation %s needs option %q", o.op, key)
	}
	return nil
}

func manipulateText(ctx context.Context, p tools.Params) (any, error) {
	input := p.String("input")
	op := p.String("operation")
	if len(input) > maxTextInput {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter \"input\": %d bytes exceeds the %d-byte limit", len(input), maxTextInput)
	}
	o := opts{op: op, m: p.Map("options")}
	if len(o.m) > 0 {
		allowed := optionKeys[op]
		var bad []string
		for k := range o.m {
			if !slices.Contains(allowed, k) {
				bad = append(bad, k)
			}
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			if len(allowed) == 0 {
				return nil, tools.Invalid("parameter \"options\": unknown option %q; operation %s takes no options", bad[0], op)
			}
			return nil, tools.Invalid("parameter \"options\": unknown option %q for operation %s; allowed: %s",
				bad[0], op, strings.Join(allowed, ", "))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if op == "uppercase" || op == "lowercase" {
		return changeCase(input, op), nil
	}
	inLen := runeCount(input)
	res := map[string]any{"operation": op, "original_length": inLen}
	var (
		out string
		err error
	)
	switch op {
	case "reverse":
		out = reverse(input)
	case "trim":
		out, err = trim(input, o)
	case "replace":
		out, err = replace(input, o, res)
	case "substring":
		out, err = substring(input, inLen, o)
	case "split":
		items, err := split(ctx, input, o)
		if err != nil {
			return nil, err
		}
		res["result"] = items
		res["result_length"] = len(items)
		res["count"] = len(items)
		return res, nil
	case "join":
		out, err = join(input, o, res)
	case "snake_case":
		out, err = ident(ctx, input, '_', false, false)
	case "kebab_case":
		out, err = ident(ctx, input, '-', false, false)
	case "camel_case":
		out, err = ident(ctx, input, 0, false, true)
	case "pascal_case":
		out, err = ident(ctx, input, 0, true, true)
	case "title_case":
		out = title(input)
	case "sanitize":
		out, err = sanitize(input, o, res)
	case "truncate":
		out, err = truncate(input, inLen, o, res)
	case "indent":
		out, err = indent(ctx, input, o)
	case "dedent":
		out, err = dedent(ctx, input)
	case "normalize_whitespace":
		out = normalizeSpace(input)
	case "word_wrap":
		out, err = wrap(ctx, input, o)
	case "count":
		res["result"] = countText(input, inLen)
		res["result_length"] = inLen
		return res, nil
	default: // the spec's enum makes this unreachable
		return nil, tools.Invalid("parameter \"operation\": unknown value %q", op)
	}
	if err != nil {
		return nil, err
	}
	res["result"] = out
	res["result_length"] = runeCount(out)
	return res, nil
}

// --- byte-level helpers ---

const ones = 0x0101010101010101

// byteCount views s as bytes without copying; callers must not write to it.
func byteCount(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// isASCII reports whether s has no byte >= 0x80, eight bytes at a time.
func isASCII(s string) bool {
	b := byteCount(s)
	i := 0
	for ; i+32 <= len(b); i += 32 {
		w := binary.LittleEndian.Uint64(b[i:]) | binary.LittleEndian.Uint64(b[i+8:]) |
			binary.LittleEndian.Uint64(b[i+16:]) | binary.LittleEndian.Uint64(b[i+24:])
		if w&(0x80*ones) != 0 {
			return false
		}
	}
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&(0x80*ones) != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return false
		}
	}
	return true
}

func runeCount(s string) int {
	if isASCII(s) {
		return len(s)
	}
	return utf8.RuneCountInString(s)
}

// asciiCase returns s with the case of ASCII letters in [lo, lo+25]
// flipped, in one pass over s: eight bytes at a time into a stack buffer,
// then into a builder (whose memory is not zeroed first). Until a letter
// needs flipping nothing is allocated, and s itself is returned when none
// does. ok is false, and the result meaningless, when s is not all ASCII.
func asciiCase(s string, lo byte) (out string, ok bool) {
	addLo := uint64(0x80-lo) * ones
	addHi := uint64(0x80-lo-26) * ones
	const high = 0x80 * ones
	var (
		sb      strings.Builder
		buf     [1024]byte
		changed bool
	)
	src := byteCount(s)
	for off := 0; off < len(src); off += len(buf) {
		chunk := src[off:min(off+len(buf), len(src))]
		n := len(chunk)
		var seen, flips uint64
		i := 0
		for ; i+32 <= n; i += 32 {
			c, b := chunk[i:i+32:i+32], buf[i:i+32:i+32]
			w0 := binary.LittleEndian.Uint64(c[0:])
			w1 := binary.LittleEndian.Uint64(c[8:])
			w2 := binary.LittleEndian.Uint64(c[16:])
			w3 := binary.LittleEndian.Uint64(c[24:])
			seen |= w0 | w1 | w2 | w3
			// For ASCII bytes and addends below 0x80 no carry crosses a byte.
			m0 := ((w0 + addLo) &^ (w0 + addHi)) & high
			m1 := ((w1 + addLo) &^ (w1 + addHi)) & high
			m2 := ((w2 + addLo) &^ (w2 + addHi)) & high
			m3 := ((w3 + addLo) &^ (w3 + addHi)) & high
			flips |= m0 | m1 | m2 | m3
			binary.LittleEndian.PutUint64(b[0:], w0^m0>>2)
			binary.LittleEndian.PutUint64(b[8:], w1^m1>>2)
			binary.LittleEndian.PutUint64(b[16:], w2^m2>>2)
			binary.LittleEndian.PutUint64(b[24:], w3^m3>>2)
		}
		for ; i < n; i++ {
			c := chunk[i]
			seen |= uint64(c)
			if c >= lo && c <= lo+25 {
				c ^= 0x20
				flips = 1
			}
			buf[i] = c
		}
		if seen&high != 0 {
			return "", false
		}
		if !changed && flips != 0 {
			changed = true
			sb.Grow(len(s))
			sb.WriteString(s[:off])
		}
		if changed {
			sb.Write(buf[:n])
		}
	}
	if !changed {
		return s, true
	}
	return sb.String(), true
}

// changeCase answers uppercase and lowercase, with a fast path for ASCII.
func changeCase(s, op string) map[string]any {
	lo, conv := byte('a'), strings.ToUpper
	if op == "lowercase" {
		lo, conv = 'A', strings.ToLower
	}
	if out, ok := asciiCase(s, lo); ok {
		return map[string]any{"result": out, "operation": op, "original_length": len(s), "result_length": len(s)}
	}
	out := conv(s)
	return map[string]any{"result": out, "operation": op,
		"original_length": utf8.RuneCountInString(s), "result_length": utf8.RuneCountInString(out)}
}

// reverse reverses s by code point, keeping each rune's bytes (invalid
// bytes included) intact.
func reverse(s string) string {
	if s == "" {
		return ""
	}
	b := make([]byte, len(s))
	if isASCII(s) {
		for i, j := 0, len(s)-1; j >= 0; i, j = i+1, j-1 {
			b[i] = s[j]
		}
	} else {
		end := len(b)
		for i := 0; i < len(s); {
			_, size := utf8.DecodeRuneInString(s[i:])
			copy(b[end-size:end], s[i:i+size])
			end -= size
			i += size
		}
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func trim(s string, o opts) (string, error) {
	if !o.has("chars") {
		return strings.TrimSpace(s), nil
	}
	chars, err := o.str("chars", "")
	if err != nil {
		return "", err
	}
	return strings.Trim(s, chars), nil
}

func replace(s string, o opts, res map[string]any) (string, error) {
	if err := o.require("from"); err != nil {
		return "", err
	}
	from, err := o.str("from", "")
	if err != nil {
		return "", err
	}
	if from == "" {
		return "", o.bad("from", "must not be empty")
	}
	to, err := o.str("to", "")
	if err != nil {
		return "", err
	}
	limit, err := o.integer("count", -1, 1, math.MaxInt32)
	if err != nil {
		return "", err
	}
	n := strings.Count(s, from)
	if limit > 0 && limit < n {
		n = limit
	}
	if size := int64(len(s)) + int64(n)*int64(len(to)-len(from)); size > maxTextOutput {
		return "", tools.Errorf(tools.TypeTooLarge, "replace: result of %d bytes exceeds the %d-byte limit", size, maxTextOutput)
	}
	res["replacements"] = n
	return strings.Replace(s, from, to, n), nil
}

// byteOffset returns the byte offset of rune index i in s (0 <= i <= runes).
func byteOffset(s string, i int, ascii bool) int {
	if ascii {
		return i
	}
	off := 0
	for ; i > 0 && off < len(s); i-- {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}

func substring(s string, n int, o opts) (string, error) {
	if err := o.require("start"); err != nil {
		return "", err
	}
	start, err := o.integer("start", 0, -1<<53, 1<<53)
	if err != nil {
		return "", err
	}
	end, err := o.integer("end", n, -1<<53, 1<<53)
	if err != nil {
		return "", err
	}
	clamp := func(i int) int {
		if i < 0 {
			i += n
		}
		return max(0, min(i, n))
	}
	start, end = clamp(start), clamp(end)
	if end <= start {
		return "", nil
	}
	ascii := n == len(s)
	bs := byteOffset(s, start, ascii)
	be := bs + byteOffset(s[bs:], end-start, ascii)
	return s[bs:be], nil
}

func tooManyItems() error {
	return tools.Errorf(tools.TypeTooLarge, "split: more than %d items", maxTextItems)
}

func split(ctx context.Context, s string, o opts) ([]any, error) {
	delim, err := o.str("delimiter", "")
	if err != nil {
		return nil, err
	}
	items := []any{}
	add := func(part string) bool {
		if len(items) >= maxTextItems || len(items)&0xffff == 0xffff && ctx.Err() != nil {
			return false
		}
		items = append(items, part)
		return true
	}
	switch {
	case !o.has("delimiter"):
		for f := range strings.FieldsSeq(s) {
			if !add(f) {
				return nil, stop(ctx)
			}
		}
	case delim == "":
		n := runeCount(s)
		if n > maxTextItems {
			return nil, tooManyItems()
		}
		items = make([]any, 0, n)
		for i := 0; i < len(s); {
			_, size := utf8.DecodeRuneInString(s[i:])
			if !add(s[i : i+size]) {
				return nil, stop(ctx)
			}
			i += size
		}
	default:
		n := strings.Count(s, delim) + 1
		if n > maxTextItems {
			return nil, tooManyItems()
		}
		items = make([]any, 0, n)
		for part := range strings.SplitSeq(s, delim) {
			if !add(part) {
				return nil, stop(ctx)
			}
		}
	}
	return items, nil
}

// stop explains why an item loop stopped: cancellation or the item cap.
func stop(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return tooManyItems()
}

// splitLines splits s into lines without their "\n" or "\r\n"; a final
// newline does not start an empty line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

func join(s string, o opts, res map[string]any) (string, error) {
	delim, err := o.str("delimiter", " ")
	if err != nil {
		return "", err
	}
	var items []string
	if o.has("items") {
		raw, ok := o.m["items"].([]any)
		if !ok {
			if m, isMap := o.m["items"].(map[string]any); !isMap || len(m) != 0 {
				return "", o.bad("items", "expected array of strings, got %s", tools.KindOf(o.m["items"]))
			}
		}
		if s != "" {
			return "", tools.Invalid("parameter \"input\": must be \"\" when options.items is given (operation join)")
		}
		items = make([]string, len(raw))
		total, runes := 0, 0
		for i, v := range raw {
			str, ok := v.(string)
			if !ok {
				return "", o.bad("items", "item %d: expected string, got %s", i+1, tools.KindOf(v))
			}
			total += len(str)
			if total > maxTextInput {
				return "", tools.Errorf(tools.TypeTooLarge, "parameter \"options\": items total more than the %d-byte limit", maxTextInput)
			}
			runes += runeCount(str)
			items[i] = str
		}
		res["original_length"] = runes
	} else {
		items = splitLines(s)
	}
	size := int64(0)
	for _, it := range items {
		size += int64(len(it))
	}
	if len(items) > 1 {
		size += int64(len(items)-1) * int64(len(delim))
	}
	if size > maxTextOutput {
		return "", tools.Errorf(tools.TypeTooLarge, "join: result of %d bytes exceeds the %d-byte limit", size, maxTextOutput)
	}
	return strings.Join(items, delim), nil
}

// --- identifier cases ---
