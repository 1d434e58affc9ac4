package text

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"spellhost/tools"
	"spellhost/tools/internal/fileio"
	"spellhost/tools/perm"
)

// algorithms lists the supported algorithms with their digest sizes, in
// documentation order.
var algorithms = []struct {
	name string
	size int
}{
	{"md5", md5.Size}, {"sha1", sha1.Size}, {"sha224", sha256.Size224},
	{"sha256", sha256.Size}, {"sha384", sha512.Size384}, {"sha512", sha512.Size},
}

func hashCalculatorSpec() tools.Spec {
	return tools.Spec{
		Name:     "hash_calculator",
		Category: "utility",
		Description: "Computes the MD5, SHA-1 or SHA-2 digest of a string or a file (streamed, never loaded whole), " +
			"or verifies one against an expected digest with a constant-time comparison.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Required: true, Enum: []string{"hash", "verify"},
				Description: "hash computes the digest; verify compares it with expected_hash"},
			{Name: "algorithm", Type: tools.String, Default: "sha256",
				Enum:        []string{"md5", "sha1", "sha224", "sha256", "sha384", "sha512"},
				Description: "the digest algorithm; md5 and sha1 are for checksums only, not for security"},
			{Name: "input_type", Type: tools.String, Enum: []string{"string", "file"},
				Description: "what to hash: string hashes input's UTF-8 bytes, file hashes the contents of file; " +
					"inferred from which of input and file is given when omitted"},
			{Name: "input", Type: tools.String,
				Description: "the string to hash (input_type string); at most the file size limit (64 MiB by default)"},
			{Name: "file", Type: tools.String,
				Description: "path of the file to hash (input_type file), relative to the base folder; needs read permission; " +
					"a regular file (a FIFO, device, socket or folder is a validation error), at most the file size limit " +
					"(64 MiB by default)"},
			{Name: "format", Type: tools.String, Default: "hex", Enum: []string{"hex", "base64"},
				Description: "encoding of the returned digest: lowercase hex, or standard padded base64"},
			{Name: "expected_hash", Type: tools.String,
				Description: "verify: the digest to compare with, in hex (any case) or base64 (standard or url-safe, " +
					"padded or not), whatever format says; an \"sha256:\" or SRI-style \"sha256-\" prefix naming the " +
					"algorithm is accepted. A digest of the wrong length is a validation error, not a mismatch"},
		},
		Returns: "hash: {algorithm, hash, format, size} where size is the number of bytes hashed; " +
			"verify: {verified, algorithm, expected, actual, format, size} with expected and actual both in format",
		Example: map[string]any{"operation": "hash", "input": "hello world", "algorithm": "sha256"},
	}
}

// HashCalculator returns the hash_calculator tool.
func HashCalculator(ps *perm.Set) tools.Tool {
	return tools.New(hashCalculatorSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runHash(ctx, ps, p)
	})
}

func runHash(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	op := p.String("operation")
	alg := p.String("algorithm")
	format := p.String("format")
	hasInput, hasFile := p.Has("input"), p.Has("file")
	inputType := p.String("input_type")
	switch inputType {
	case "":
		switch {
		case hasInput && hasFile:
			return nil, tools.Invalid("parameters \"input\" and \"file\": give only one (or set input_type)")
		case hasFile:
			inputType = "file"
		case hasInput:
			inputType = "string"
		default:
			return nil, tools.Invalid("missing parameter \"input\" or \"file\" for operation %s", op)
		}
	case "string":
		if !hasInput {
			return nil, tools.Invalid("missing parameter \"input\" for input_type string")
		}
		if hasFile {
			return nil, tools.Invalid("parameter \"file\": not used with input_type string; remove it or set input_type to file")
		}
	case "file":
		if !hasFile {
			return nil, tools.Invalid("missing parameter \"file\" for input_type file (\"input\" holds a string to hash, not a path)")
		}
		if hasInput {
			return nil, tools.Invalid("parameter \"input\": not used with input_type file; remove it or set input_type to string")
		}
	}

	var expected []byte
	if op == "verify" {
		if !p.Has("expected_hash") {
			return nil, tools.Invalid("missing parameter \"expected_hash\" for operation verify")
		}
		e, err := parseExpected(p.String("expected_hash"), alg)
		if err != nil {
			return nil, err
		}
		expected = e
	}

	var maxBytes int64 = perm.DefaultMaxFileBytes
	if ps != nil {
		maxBytes = ps.Limits().MaxFileBytes
	}
	var sumBuf [sha512.Size]byte // stays on the stack for a string
	var sum []byte
	var size int64
	if inputType == "string" {
		s := p.String("input")
		if int64(len(s)) > maxBytes {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter \"input\": %d bytes exceeds the %d-byte limit", len(s), maxBytes)
		}
		sum = sumBuf[:sumString(&sumBuf, alg, s)]
		size = int64(len(s))
	} else {
		var err error
		sum, size, err = sumFile(ctx, ps, p.String("file"), alg, maxBytes)
		if err != nil {
			return nil, err
		}
	}

	// The parameters' own interface values, reused to save allocations.
	algV, _ := p.Get("algorithm")
	formatV, _ := p.Get("format")
	actual := encode(sum, format)
	if op == "hash" {
		return map[string]any{"algorithm": algV, "hash": actual, "format": formatV, "size": size}, nil
	}
	return map[string]any{
		"verified":  subtle.ConstantTimeCompare(sum, expected) == 1,
		"algorithm": algV,
		"expected":  encode(expected, format),
		"actual":    actual,
		"format":    formatV,
		"size":      size,
	}, nil
}

func encode(sum []byte, format string) string {
	if format == "base64" {
		return base64.StdEncoding.EncodeToString(sum)
	}
	return hex.EncodeToString(sum)
}

// sumString writes the digest of s to dst without allocating a hash
// object and returns its length.
func sumString(dst *[sha512.Size]byte, alg, s string) int {
	switch alg {
	case "md5":
		d := md5.Sum([]byte(s))
		return copy(dst[:], d[:])
	case "sha1":
		d := sha1.Sum([]byte(s))
		return copy(dst[:], d[:])
	case "sha224":
		d := sha256.Sum224([]byte(s))
		return copy(dst[:], d[:])
	case "sha384":
		d := sha512.Sum384([]byte(s))
		return copy(dst[:], d[:])
	case "sha512":
		d := sha512.Sum512([]byte(s))
		return copy(dst[:], d[:])
	}
	d := sha256.Sum256([]byte(s))
	return copy(dst[:], d[:])
}

func newHash(alg string) hash.Hash {
	switch alg {
	case "md5":
		return md5.New()
	case "sha1":
		return sha1.New()
	case "sha224":
		return sha256.New224()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return sha256.New()
}

func hashSize(alg string) int {
	for _, a := range algorithms {
		if a.name == alg {
			return a.size
		}
	}
	return sha256.Size
}

// bufPool holds read buffers for streaming files through a hash.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// sumFile streams the file at path through alg, refusing a file over
// maxBytes and stopping when ctx ends.
func sumFile(ctx context.Context, ps *perm.Set, path, alg string, maxBytes int64) ([]byte, int64, error) {
	l, err := fileio.Locate(ps, perm.ForRead, "file", path)
	if err != nil {
		return nil, 0, err
	}
	// Open refuses a FIFO, device or socket on the opened handle, without
	// waiting for a writer.
	f, err := l.Open()
	if err != nil {
		return nil, 0, fileio.Err("file", path, err)
	}
	defer f.Close()
	fi := f.Info
	if fi.Size() > maxBytes {
		return nil, 0, tools.Errorf(tools.TypeTooLarge, "parameter \"file\": %s: %d bytes exceeds the %d-byte file limit", path, fi.Size(), maxBytes)
	}
	h := newHash(alg)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		k, rerr := f.Read(buf)
		if k > 0 {
			n += int64(k)
			if n > maxBytes {
				return nil, 0, tools.Errorf(tools.TypeTooLarge, "parameter \"file\": %s: grew past the %d-byte file limit while being read", path, maxBytes)
			}
			h.Write(buf[:k])
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, 0, tools.Failed("parameter \"file\": read %s: %v", path, rerr)
		}
	}
	return h.Sum(nil), n, nil
}

// parseExpected decodes an expected digest for alg from hex or base64,
// after an optional "alg:" or "alg-" prefix.
func parseExpected(s, alg string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, a := range algorithms {
		if len(s) > len(a.name) && strings.EqualFold(s[:len(a.name)], a.name) &&
			(s[len(a.name)] == ':' || s[len(a.name)] == '-') {
			if a.name != alg {
				return nil, tools.Invalid("parameter \"expected_hash\": prefix names %s but algorithm is %s", a.name, alg)
			}
			s = s[len(a.name)+1:]
			break
		}
	}
	n := hashSize(alg)
	allHex := s != ""
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			allHex = false
			break
		}
	}
	if allHex && len(s) == 2*n {
		b := make([]byte, n)
		if _, err := hex.Decode(b, []byte(s)); err == nil {
			return b, nil
		}
	}
	if len(s) == 2*n && !allHex && !maybeBase64(s) {
		for i := 0; i < len(s); i++ {
			if !isHex(s[i]) {
				r, size := utf8.DecodeRuneInString(s[i:])
				return nil, tools.Invalid("parameter \"expected_hash\": invalid hex digit %s at offset %d", quoteChar(r, size, s[i]), i)
			}
		}
	}
	if len(s) == base64.StdEncoding.EncodedLen(n) || len(s) == base64.RawStdEncoding.EncodedLen(n) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil && len(b) == n {
				return b, nil
			}
		}
		return nil, tools.Invalid("parameter \"expected_hash\": %q is not valid hex or base64", clip(s))
	}
	msg := fmt.Sprintf("parameter \"expected_hash\": want %d hex digits or %d base64 characters for %s, got %d characters",
		2*n, base64.StdEncoding.EncodedLen(n), alg, len(s))
	if allHex {
		for _, a := range algorithms {
			if 2*a.size == len(s) {
				msg += fmt.Sprintf(" (the length of a %s digest in hex; check algorithm)", a.name)
				break
			}
		}
	}
	return nil, tools.Invalid("%s", msg)
}

// maybeBase64 reports whether s uses only base64 characters.
func maybeBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(inAlphabet(c, false) || inAlphabet(c, true) || c == '=') {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
