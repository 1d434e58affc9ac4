package files

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"spellhost/tools"
	"spellhost/tools/internal/fileio"
	"spellhost/tools/perm"
)

// file_converter limits.
const (
	maxTabSize = 16
	// checkEvery is how many bytes or lines are processed between two
	// looks at the context.
	checkEvery = 1 << 20
)

// encodings are the encodings file_converter reads and writes, in
// documentation order.
var encodings = []string{"utf-8", "utf-16le", "utf-16be", "latin1", "windows-1252", "ascii"}

func fileConverterSpec() tools.Spec {
	return tools.Spec{
		Name:     "file_converter",
		Category: "filesystem",
		Description: "Rewrites a text file: changes its character encoding (UTF-8, UTF-16LE/BE, Latin-1, Windows-1252, " +
			"ASCII), its line endings (LF, CRLF, CR) or the indentation at the start of its lines (tabs to spaces or " +
			"spaces to tabs). The file is decoded, converted and encoded again, so line endings and indentation are " +
			"changed correctly in UTF-16 files too. The source needs read permission (--allow-read) and the target write " +
			"permission (--allow-write); the target is replaced atomically (temporary file and rename), and left untouched " +
			"when the result equals it. Limits: source and result are at most the file limit (64 MiB by default)",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Required: true, Enum: []string{"encoding", "line_endings", "indentation"},
				Description: "encoding re-encodes the text in to_encoding; line_endings makes every line end with " +
					"line_ending; indentation converts the leading whitespace of each line to indent_style"},
			{Name: "path", Type: tools.String, Required: true,
				Description: "the file to convert, relative to the base folder; needs read permission"},
			{Name: "target_path", Type: tools.String,
				Description: "where to write the result; by default path itself is rewritten. Needs write permission; its " +
					"folder must exist"},
			{Name: "from_encoding", Type: tools.String, Default: "auto", Enum: append([]string{"auto"}, encodings...),
				Description: "the encoding of path. auto recognises a byte order mark (UTF-8, UTF-16LE, UTF-16BE) and " +
					"otherwise takes valid UTF-8; anything else must be named. latin1 is ISO-8859-1. A byte sequence that is " +
					"not valid in the encoding is an error giving its offset"},
			{Name: "to_encoding", Type: tools.String, Enum: encodings,
				Description: "the encoding to write; required for operation encoding, and by default the source's " +
					"encoding for the other operations"},
			{Name: "bom", Type: tools.Boolean,
				Description: "write a byte order mark (only for utf-8, utf-16le and utf-16be); by default the source's " +
					"mark is kept when the result is in a Unicode encoding and dropped otherwise"},
			{Name: "unmappable", Type: tools.String, Default: "error", Enum: []string{"error", "replace"},
				Description: "what to do with a character to_encoding cannot represent: error fails naming its line and " +
					"column; replace writes '?' instead"},
			{Name: "line_ending", Type: tools.String, Default: "lf", Enum: []string{"lf", "crlf", "cr"},
				Description: "line_endings: the line ending to use; LF, CRLF and lone CR are all recognised as line ends " +
					"in the source"},
			{Name: "indent_style", Type: tools.String, Default: "spaces", Enum: []string{"spaces", "tabs"},
				Description: "indentation: spaces expands tabs in the leading whitespace to the next tab stop; tabs " +
					"replaces each tab_size columns of leading whitespace with a tab, keeping any remainder as spaces. " +
					"Whitespace after the first other character of a line is left alone"},
			{Name: "tab_size", Type: tools.Integer, Default: int64(4),
				Description: "indentation: the width of a tab stop, 1 to 16"},
		},
		Returns: "{input_path, output_path, operation, from_encoding, to_encoding, bom, bytes_read, bytes_written, " +
			"changed, written} plus, for line_endings, {line_ending, found: {lf, crlf, cr}} (the endings in the source) " +
			"and for indentation {indent_style, tab_size, lines_changed}. Paths are absolute and resolved; changed tells " +
			"whether the result differs from the source, written whether a file was written (false when target_path " +
			"already held the result)",
		// No example: the tool needs a file to convert.
		Example: nil,
	}
}

// Converter returns the file_converter tool. Every path goes through
// ps.
func Converter(ps *perm.Set) tools.Tool {
	return tools.New(fileConverterSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runConverter(ctx, ps, p)
	})
}

func runConverter(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	op := p.String("operation")
	if op == "encoding" && !p.Has("to_encoding") {
		return nil, tools.Invalid("missing parameter \"to_encoding\" for operation encoding")
	}
	tabSize := p.Int("tab_size")
	if tabSize < 1 || tabSize > maxTabSize {
		return nil, tools.Invalid("parameter \"tab_size\": must be between 1 and %d, got %d", maxTabSize, tabSize)
	}
	path := p.String("path")
	target := path
	if p.Has("target_path") {
		target = p.String("target_path")
	}
	if ps == nil {
		return nil, tools.Errorf(tools.TypePermission, "parameter \"path\": read %s: no file permissions are configured", path)
	}
	// Check the target before reading, so a refused target costs nothing.
	lt, err := fileio.Locate(ps, perm.ForWrite, "target_path", target)
	if err != nil {
		return nil, err
	}
	ls, err := fileio.Locate(ps, perm.ForRead, "path", path)
	if err != nil {
		return nil, err
	}
	data, ls, err := ls.ReadFile()
	if err != nil {
		return nil, fileErr("path", path, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	from := p.String("from_encoding")
	text, hadBOM, from, err := decode(ctx, data, from)
	if err != nil {
		return nil, err
	}
	to := from
	if p.Has("to_encoding") {
		to = p.String("to_encoding")
	}
	bom := hadBOM && unicode(to)
	if p.Has("bom") {
		bom = p.Bool("bom")
		if bom && !unicode(to) {
			return nil, tools.Invalid("parameter \"bom\": %s has no byte order mark", to)
		}
	}

	res := map[string]any{"operation": op}
	switch op {
	case "line_endings":
		var found map[string]any
		text, found, err = lineEndings(ctx, text, p.String("line_ending"))
		if err != nil {
			return nil, err
		}
		res["line_ending"] = p.String("line_ending")
		res["found"] = found
	case "indentation":
		style := p.String("indent_style")
		var changed int
		text, changed, err = indent(ctx, text, style, tabSize)
		if err != nil {
			return nil, err
		}
		res["indent_style"] = style
		res["tab_size"] = tabSize
		res["lines_changed"] = changed
	}

	out, err := encode(ctx, text, to, bom, p.String("unmappable") == "replace")
	if err != nil {
		return nil, err
	}
	if max := ps.Limits().MaxFileBytes; int64(len(out)) > max {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter \"target_path\": the result is %d bytes, over the %d-byte file limit", len(out), max)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	written := false
	if !same(ls, lt, data, out) {
		if lt, err = lt.WriteFile(out); err != nil {
			return nil, fileErr("target_path", target, err)
		}
		written = true
	}
	res["input_path"] = ls.Path()
	res["output_path"] = lt.Path()
	res["from_encoding"] = from
	res["to_encoding"] = to
	res["bom"] = bom
	res["bytes_read"] = int64(len(data))
	res["bytes_written"] = int64(len(out))
	res["changed"] = !bytes.Equal(out, data)
	res["written"] = written
	return res, nil
}

// same reports whether the target already holds out, so writing it
// can be skipped.
func same(src, dst perm.Loc, data, out []byte) bool {
	if src.Same(dst) {
		return bytes.Equal(out, data)
	}
	old, _, err := dst.ReadFile()
	return err == nil && bytes.Equal(old, out)
}

// fileErr names the parameter in an error from reading or writing a file.
func fileErr(param, path string, err error) error {
	if errors.Is(err, perm.ErrDenied) || errors.Is(err, perm.ErrInvalid) || errors.Is(err, perm.ErrTooLarge) {
		return fmt.Errorf("parameter %q: %w", param, err)
	}
	if param == "target_path" && errors.Is(err, fs.ErrNotExist) {
		return tools.Failed("parameter \"target_path\": the folder of %s does not exist", path)
	}
	return fileio.OSErr(param, path, err)
}

func unicode(enc string) bool {
	return enc == "utf-8" || enc == "utf-16le" || enc == "utf-16be"
}

// The byte order marks.
var (
	bom8    = []byte{0xEF, 0xBB, 0xBF}
	bom16le = []byte{0xFF, 0xFE}
	bom16be = []byte{0xFE, 0xFF}
)

// decode decodes data from enc ("auto" detects it) to UTF-8 text. It
// reports whether data began with the encoding's byte order mark (which is
// not part of the text) and the encoding used.
func decode(ctx context.Context, data []byte, enc string) (text []byte, bom bool, used string, err error) {
	if enc == "auto" {
		switch {
		case bytes.HasPrefix(data, bom8):
			enc = "utf-8"
		case bytes.HasPrefix(data, bom16le):
			enc = "utf-16le"
		case bytes.HasPrefix(data, bom16be):
			enc = "utf-16be"
		case utf8.Valid(data):
			enc = "utf-8"
		default:
			off := invalidUTF8(data)
			return nil, false, "", tools.Failed("parameter \"from_encoding\": the file is not valid UTF-8 (byte 0x%02X at offset %d) "+
				"and has no byte order mark; name its encoding (%s)", data[off], off, strings.Join(encodings[1:], ", "))
		}
	}
	switch enc {
	case "utf-8":
		if bytes.HasPrefix(data, bom8) {
			data, bom = data[len(bom8):], true
		}
		if !utf8.Valid(data) {
			off := invalidUTF8(data)
			if bom {
				off += len(bom8)
			}
			return nil, false, "", tools.Failed("parameter \"from_encoding\": invalid UTF-8 at byte offset %d", off)
		}
		return data, bom, enc, nil
	case "utf-16le", "utf-16be":
		text, bom, err := decodeUTF16(ctx, data, enc == "utf-16be")
		return text, bom, enc, err
	case "latin1", "windows-1252", "ascii":
		text, err := decode8(ctx, data, enc)
		return text, false, enc, err
	}
	return nil, false, "", tools.Invalid("parameter \"from_encoding\": unknown value %q", enc)
}

func decodeUTF16(ctx context.Context, data []byte, big bool) ([]byte, bool, error) {
	order := binary.ByteOrder(binary.LittleEndian)
	mark := bom16le
	if big {
		order, mark = binary.BigEndian, bom16be
	}
	bom := bytes.HasPrefix(data, mark)
	start := 0
	if bom {
		start = 2
	}
	if (len(data)-start)%2 != 0 {
		return nil, false, tools.Failed("parameter \"from_encoding\": the file has an odd number of bytes (%d), so it is not UTF-16", len(data))
	}
	out := make([]byte, 0, len(data)-start+len(data)/4)
	for i := start; i < len(data); i += 2 {
		if (i-start)%checkEvery == 0 && i > start {
			if err := ctx.Err(); err != nil {
				return nil, false, err
			}
		}
		u := rune(order.Uint16(data[i:]))
		switch {
		case utf16.IsSurrogate(u):
			if u < 0xDC00 && i+3 < len(data) {
				u2 := rune(order.Uint16(data[i+2:]))
				if r := utf16.DecodeRune(u, u2); r != utf8.RuneError {
					out = utf8.AppendRune(out, r)
					i += 2
					continue
				}
			}
			return nil, false, tools.Failed("parameter \"from_encoding\": unpaired UTF-16 surrogate 0x%04X at byte offset %d", u, i)
		default:
			out = utf8.AppendRune(out, u)
		}
	}
	return out, bom, nil
}

// decode8 decodes a single-byte encoding.
func decode8(ctx context.Context, data []byte, enc string) ([]byte, error) {
	n := len(data)
	for _, c := range data {
		if c >= 0x80 {
			n++ // at most 3 bytes in UTF-8 per source byte; grown by append past that
		}
	}
	out := make([]byte, 0, n)
	for i, c := range data {
		if i%checkEvery == checkEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		switch {
		case c < 0x80:
			out = append(out, c)
		case enc == "ascii":
			return nil, tools.Failed("parameter \"from_encoding\": byte 0x%02X at offset %d is not ASCII", c, i)
		case enc == "windows-1252":
			// charmap decodes the five bytes Windows-1252 leaves undefined
			// (0x81, 0x8D, 0x8F, 0x90, 0x9D) as U+FFFD; reading one is an
			// error here, so a file holding them is reported rather than
			// rewritten with replacement characters.
			r := charmap.Windows1252.DecodeByte(c)
			if r == utf8.RuneError {
				return nil, tools.Failed("parameter \"from_encoding\": byte 0x%02X at offset %d is undefined in windows-1252", c, i)
			}
			out = utf8.AppendRune(out, r)
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return out, nil
}

// encode encodes UTF-8 text in enc, with a byte order mark if bom.
// Characters enc cannot represent are an error naming their line and
// column, or '?' when replace is set.
func encode(ctx context.Context, text []byte, enc string, bom, replace bool) ([]byte, error) {
	var out []byte
	switch enc {
	case "utf-8":
		out = make([]byte, 0, len(text)+3)
		if bom {
			out = append(out, bom8...)
		}
		return append(out, text...), nil
	case "utf-16le", "utf-16be":
		order := binary.AppendByteOrder(binary.LittleEndian)
		mark := bom16le
		if enc == "utf-16be" {
			order, mark = binary.BigEndian, bom16be
		}
		out = make([]byte, 0, 2*len(text)+2)
		if bom {
			out = append(out, mark...)
		}
		n := 0
		for _, r := range string(text) {
			if n++; n%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			if r >= 0x10000 {
				r1, r2 := utf16.EncodeRune(r)
				out = order.AppendUint16(out, uint16(r1))
				out = order.AppendUint16(out, uint16(r2))
				continue
			}
			out = order.AppendUint16(out, uint16(r))
		}
		return out, nil
	}
	out = make([]byte, 0, len(text))
	n := 0
	for i, r := range string(text) {
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if r < 0x80 {
			out = append(out, byte(r))
			continue
		}
		if c, ok := encode8(r, enc); ok {
			out = append(out, c)
			continue
		}
		if replace {
			out = append(out, '?')
			continue
		}
		line := bytes.Count(text[:i], []byte{'\n'}) + 1
		col := utf8.RuneCount(text[bytes.LastIndexByte(text[:i], '\n')+1:i]) + 1
		return nil, tools.Failed("parameter \"to_encoding\": %s cannot represent %q (U+%04X) at line %d, column %d; "+
			"set unmappable to replace to write '?' instead", enc, r, r, line, col)
	}
	return out, nil
}

// encode8 returns the byte of r, which is not ASCII, in a single-byte
// encoding.
func encode8(r rune, enc string) (byte, bool) {
	switch enc {
	case "latin1":
		return charmap.ISO8859_1.EncodeRune(r)
	case "windows-1252":
		return charmap.Windows1252.EncodeRune(r)
	}
	return 0, false
}

// lineEndings replaces every line ending of text (LF, CRLF or a lone
// CR) with the one named, and counts the endings found.
func lineEndings(ctx context.Context, text []byte, ending string) ([]byte, map[string]any, error) {
	nl := "\n"
	switch ending {
	case "crlf":
		nl = "\r\n"
	case "cr":
		nl = "\r"
	}
	var lf, crlf, cr int64
	out := make([]byte, 0, len(text)+len(text)/32)
	start := 0
	for i := 0; i < len(text); i++ {
		if i%checkEvery == checkEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		c := text[i]
		if c != '\n' && c != '\r' {
			continue
		}
		out = append(out, text[start:i]...)
		out = append(out, nl...)
		switch {
		case c == '\n':
			lf++
		case i+1 < len(text) && text[i+1] == '\n':
			crlf++
			i++
		default:
			cr++
		}
		start = i + 1
	}
	out = append(out, text[start:]...)
	return out, map[string]any{"lf": lf, "crlf": crlf, "cr": cr}, nil
}

// indent converts the leading whitespace of every line of text to
// style and counts the lines it changed. Line ends (LF, CRLF or CR) are
// kept as they are.
func indent(ctx context.Context, text []byte, style string, tabSize int) ([]byte, int, error) {
	out := make([]byte, 0, len(text)+len(text)/8)
	changed := 0
	for start, n := 0, 0; start < len(text); n++ {
		if n%checkEvery == checkEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		// The indentation is text[start:ws]; the line runs to end, its
		// ending included.
		ws := start
		col := 0
		for ws < len(text) && (text[ws] == ' ' || text[ws] == '\t') {
			if text[ws] == '\t' {
				col += tabSize - col%tabSize
			} else {
				col++
			}
			ws++
		}
		end := bytes.IndexAny(text[ws:], "\r\n")
		if end < 0 {
			end = len(text)
		} else {
			end += ws
			if text[end] == '\r' && end+1 < len(text) && text[end+1] == '\n' {
				end++
			}
			end++
		}
		mark := len(out)
		if style == "tabs" {
			for range col / tabSize {
				out = append(out, '\t')
			}
			for range col % tabSize {
				out = append(out, ' ')
			}
		} else {
			for range col {
				out = append(out, ' ')
			}
		}
		if !bytes.Equal(out[mark:], text[start:ws]) {
			changed++
		}
		out = append(out, text[ws:end]...)
		start = end
	}
	return out, changed, nil
}
