package text

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"unicode/utf8"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// base64_encoder limits.
const (
	// maxInline caps the output returned in the result when no
	// output_file is given; larger outputs must go to a file.
	maxInline = 16 << 20
	// maxEcho caps the output echoed in the result next to an
	// output_file; over it, output is null and the file holds the data.
	maxEcho = 64 << 10
)

func base64EncoderSpec() tools.Spec {
	return tools.Spec{
		Name:     "base64_encoder",
		Category: "utility",
		Description: "Encodes text or bytes to base64 and decodes base64 back, in the standard or URL-safe alphabet, " +
			"from a string or a file, optionally writing the result to a file. Decoding ignores whitespace, " +
			"accepts input with or without '=' padding, and reports the offset of the first bad character. " +
			"Decoded bytes that are not valid UTF-8 are returned as hex with binary=true.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Required: true, Enum: []string{"encode", "decode"},
				Description: "encode turns the input into base64; decode turns base64 back into the original bytes"},
			{Name: "input", Type: tools.String,
				Description: "the data: text (or hex when binary_input is true) to encode, or base64 to decode; " +
					"give exactly one of input and input_file; at most the file size limit (64 MiB by default)"},
			{Name: "input_file", Type: tools.String,
				Description: "a file to read the data from instead of input (raw bytes to encode, or base64 text to decode); " +
					"relative to the base folder; needs read permission"},
			{Name: "output_file", Type: tools.String,
				Description: "also write the result to this file (base64 text for encode, the raw decoded bytes for decode), " +
					"replacing it atomically; needs write permission. The result then adds output_file and bytes_written, " +
					"and output is null when it is over 64 KiB"},
			{Name: "variant", Type: tools.String, Default: "standard", Enum: []string{"standard", "url-safe"},
				Description: "the alphabet: standard uses + and /, url-safe uses - and _ (RFC 4648 section 5)"},
			{Name: "padding", Type: tools.Boolean, Default: true,
				Description: "encode: end the output with '=' padding to a multiple of 4 characters; " +
					"false gives unpadded (raw) base64. Decode accepts both either way"},
			{Name: "binary_input", Type: tools.Boolean, Default: false,
				Description: "encode: input is hex (e.g. \"48656c6c6f\") and its bytes are encoded; not allowed with input_file or decode"},
			{Name: "binary_output", Type: tools.Boolean, Default: false,
				Description: "decode: return output as hex even when the decoded bytes are valid UTF-8"},
		},
		Returns: "{output, variant, binary}: output is the base64 text (encode) or the decoded data (decode); " +
			"binary is true when the plain side is given as hex (encode: binary_input; decode: output is hex because " +
			"the bytes are not valid UTF-8 or binary_output was set). With output_file it adds output_file (the resolved path) " +
			"and bytes_written, and output is null when over 64 KiB. Inline output is limited to 16 MiB; use output_file for more",
		Example: map[string]any{"operation": "encode", "input": "Hello, World!"},
	}
}

// Base64Encoder returns the base64_encoder tool.
func Base64Encoder(ps *perm.Set) tools.Tool {
	return tools.New(base64EncoderSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runBase64(ctx, ps, p)
	})
}

func runBase64(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	op := p.String("operation")
	variant := p.String("variant")
	hasInput, hasFile := p.Has("input"), p.Has("input_file")
	switch {
	case hasInput && hasFile:
		return nil, tools.Invalid("parameters \"input\" and \"input_file\": give only one")
	case !hasInput && !hasFile:
		return nil, tools.Invalid("missing parameter \"input\" or \"input_file\" for operation %s", op)
	}
	binIn := p.Bool("binary_input")
	if binIn && op != "encode" {
		return nil, tools.Invalid("parameter \"binary_input\": applies to encode only; decode takes base64 text")
	}
	if binIn && hasFile {
		return nil, tools.Invalid("parameter \"binary_input\": applies to input, not input_file (file contents are read as raw bytes)")
	}
	if p.Bool("binary_output") && op != "decode" {
		return nil, tools.Invalid("parameter \"binary_output\": applies to decode only")
	}
	maxBytes := int64(perm.DefaultMaxFileBytes)
	if ps != nil {
		maxBytes = ps.Limits().MaxFileBytes
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// The source data. A file is used as read; an input string is copied
	// once.
	var src []byte
	srcParam := "input"
	if hasFile {
		srcParam = "input_file"
		path := p.String("input_file")
		if ps == nil {
			return nil, tools.Errorf(tools.TypePermission, "parameter \"input_file\": read %s: no file permissions are configured", path)
		}
		data, _, err := ps.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("parameter \"input_file\": %w", err)
		}
		src = data
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	} else {
		s := p.String("input")
		if int64(len(s)) > maxBytes {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter \"input\": %d bytes exceeds the %d-byte limit", len(s), maxBytes)
		}
		if binIn {
			b, err := hexDecode("input", s)
			if err != nil {
				return nil, err
			}
			src = b
		} else {
			src = []byte(s)
		}
	}

	// out is the result's bytes: base64 text, or the decoded data.
	var out []byte
	if op == "encode" {
		enc := base64.StdEncoding
		if variant == "url-safe" {
			enc = base64.URLEncoding
		}
		if !p.Bool("padding") {
			enc = enc.WithPadding(base64.NoPadding)
		}
		out = make([]byte, enc.EncodedLen(len(src)))
		enc.Encode(out, src)
	} else {
		dec, err := decode(src, variant, srcParam)
		if err != nil {
			return nil, err
		}
		out = dec
	}

	// Decoded bytes that are not text are shown as hex.
	binary := binIn
	asHex := op == "decode" && (p.Bool("binary_output") || !utf8.Valid(out))
	if asHex {
		binary = true
	}
	shownLen := len(out)
	if asHex {
		shownLen = hex.EncodedLen(len(out))
	}

	hasOut := p.Has("output_file")
	if !hasOut && shownLen > maxInline {
		return nil, tools.Errorf(tools.TypeTooLarge, "output of %d bytes exceeds the %d-byte inline limit; write it with output_file", shownLen, maxInline)
	}
	var res map[string]any
	if hasOut {
		res = make(map[string]any, 5)
		path := p.String("output_file")
		if ps == nil {
			return nil, tools.Errorf(tools.TypePermission, "parameter \"output_file\": write %s: no file permissions are configured", path)
		}
		resolved, err := ps.WriteFile(path, out)
		if err != nil {
			return nil, fmt.Errorf("parameter \"output_file\": %w", err)
		}
		res["output_file"] = resolved
		res["bytes_written"] = len(out)
	} else {
		res = make(map[string]any, 3)
	}
	switch {
	case hasOut && shownLen > maxEcho:
		res["output"] = nil
	case asHex:
		res["output"] = hex.EncodeToString(out)
	default:
		res["output"] = string(out)
	}
	res["variant"], _ = p.Get("variant") // already boxed: no allocation
	res["binary"] = binary
	return res, nil
}

// hexDecode decodes a hex string, naming the parameter and the offset
// of the first bad digit on failure.
func hexDecode(name, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			r, size := utf8.DecodeRuneInString(s[i:])
			return nil, tools.Invalid("parameter %q: invalid hex digit %s at offset %d", name, quoteChar(r, size, s[i]), i)
		}
	}
	if len(s)%2 != 0 {
		return nil, tools.Invalid("parameter %q: odd number of hex digits (%d); each byte needs two", name, len(s))
	}
	b := make([]byte, len(s)/2)
	if _, err := hex.Decode(b, []byte(s)); err != nil { // cannot fail after the checks above
		return nil, tools.Invalid("parameter %q: %v", name, err)
	}
	return b, nil
}

// quoteChar shows the character at a bad offset: quoted when it is valid
// UTF-8, else as the byte's value.
func quoteChar(r rune, size int, b byte) string {
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("byte 0x%02x", b)
	}
	return fmt.Sprintf("%q", r)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v'
}

// decode decodes src in the given variant, ignoring whitespace and
// accepting input with or without padding. On failure it names param and
// the offset, in src, of the first problem.
func decode(src []byte, variant, param string) ([]byte, error) {
	clean := src
	for i := 0; i < len(src); i++ {
		if isSpace(src[i]) {
			clean = make([]byte, 0, len(src))
			for j := 0; j < len(src); j++ {
				if !isSpace(src[j]) {
					clean = append(clean, src[j])
				}
			}
			break
		}
	}
	var enc *base64.Encoding
	padded := len(clean) > 0 && clean[len(clean)-1] == '='
	switch {
	case variant == "url-safe" && padded:
		enc = base64.URLEncoding
	case variant == "url-safe":
		enc = base64.RawURLEncoding
	case padded:
		enc = base64.StdEncoding
	default:
		enc = base64.RawStdEncoding
	}
	out := make([]byte, enc.DecodedLen(len(clean)))
	n, err := enc.Decode(out, clean)
	if err != nil {
		return nil, tools.Invalid("parameter %q: %s", param, diagnose(src, variant, err))
	}
	return out[:n], nil
}

// diagnose explains why s is not valid base64, with offsets into s as
// given (whitespace included).
func diagnose(s []byte, variant string, decErr error) string {
	url := variant == "url-safe"
	n, pad, padAt, last := 0, 0, -1, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c):
			continue
		case c == '=':
			if padAt < 0 {
				padAt = i
			}
			pad++
			continue
		}
		if padAt >= 0 {
			return fmt.Sprintf("invalid base64: data after '=' padding at offset %d (padding starts at offset %d)", i, padAt)
		}
		if !inAlphabet(c, url) {
			r, size := utf8.DecodeRune(s[i:])
			msg := fmt.Sprintf("invalid base64: character %s at offset %d is not in the %s alphabet", quoteChar(r, size, c), i, variant)
			switch {
			case !url && (c == '-' || c == '_'):
				msg += "; it looks like url-safe base64 (set variant to url-safe)"
			case url && (c == '+' || c == '/'):
				msg += "; it looks like standard base64 (set variant to standard)"
			}
			return msg
		}
		n++
		last = i
	}
	rem := n % 4
	if rem == 1 {
		return fmt.Sprintf("invalid base64: input ends with a lone character at offset %d (%d base64 characters; "+
			"a group of 1 cannot form a byte, the data may be truncated)", last, n)
	}
	if pad > 0 {
		want := (4 - rem) % 4
		if pad != want {
			return fmt.Sprintf("invalid base64: wrong padding at offset %d: %d '=' after %d characters, want %d", padAt, pad, n, want)
		}
	}
	return "invalid base64: " + decErr.Error()
}

func inAlphabet(c byte, url bool) bool {
	switch {
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return true
	case url:
		return c == '-' || c == '_'
	}
	return c == '+' || c == '/'
}
