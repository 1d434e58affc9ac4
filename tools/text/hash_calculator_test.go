package text_test

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/text"
)

const (
	hcHelloSHA256 = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
	hcHelloB64    = "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
	hcHelloMD5    = "5eb63bbbe01eeed093cb22bb8f5acdc3"
)

func hcTool(t *testing.T) (tools.Tool, string) {
	t.Helper()
	ps, dir := testPerm(t)
	return text.HashCalculator(ps), dir
}

func TestHashCalculatorHash(t *testing.T) {
	tool, dir := hcTool(t)
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		params map[string]any
		alg    string
		hash   string
		format string
		size   int64
	}{
		{"default sha256", map[string]any{"operation": "hash", "input": "hello world"}, "sha256", hcHelloSHA256, "hex", 11},
		{"md5", map[string]any{"operation": "hash", "input": "hello world", "algorithm": "md5"}, "md5", hcHelloMD5, "hex", 11},
		{"sha1", map[string]any{"operation": "hash", "input": "hello world", "algorithm": "sha1"}, "sha1", "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed", "hex", 11},
		{"sha224", map[string]any{"operation": "hash", "input": "hello world", "algorithm": "sha224"}, "sha224", "2f05477fc24bb4faefd86517156dafdecec45b8ad3cf2522a563582b", "hex", 11},
		{"sha384", map[string]any{"operation": "hash", "input": "hello world", "algorithm": "sha384"}, "sha384", "fdbd8e75a67f29f701a4e040385e2e23986303ea10239211af907fcbb83578b3e417cb71ce646efd0819dd8c088de1bd", "hex", 11},
		{"sha512", map[string]any{"operation": "hash", "input": "hello world", "algorithm": "sha512"}, "sha512", "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f", "hex", 11},
		{"empty string", map[string]any{"operation": "hash", "input": ""}, "sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hex", 0},
		{"base64", map[string]any{"operation": "hash", "input": "hello world", "format": "base64"}, "sha256", hcHelloB64, "base64", 11},
		{"explicit string type", map[string]any{"operation": "hash", "input_type": "string", "input": "hello world"}, "sha256", hcHelloSHA256, "hex", 11},
		{"file inferred", map[string]any{"operation": "hash", "file": "hello.txt"}, "sha256", hcHelloSHA256, "hex", 11},
		{"file explicit absolute", map[string]any{"operation": "hash", "input_type": "file", "file": filepath.Join(dir, "hello.txt"), "algorithm": "md5"}, "md5", hcHelloMD5, "hex", 11},
		{"empty file", map[string]any{"operation": "hash", "file": "empty"}, "sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hex", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, tool, c.params)
			if res["algorithm"] != c.alg || res["hash"] != c.hash || res["format"] != c.format || res["size"] != c.size {
				t.Fatalf("got %v, want %s %s %s size %d", res, c.alg, c.hash, c.format, c.size)
			}
		})
	}

	t.Run("large file streams", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		data := make([]byte, 300_001) // several read buffers
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		if err := os.WriteFile(filepath.Join(dir, "big.bin"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		want := sha512.Sum512(data)
		res := call(t, tool, map[string]any{"operation": "hash", "file": "big.bin", "algorithm": "sha512"})
		if res["hash"] != hex.EncodeToString(want[:]) || res["size"] != int64(len(data)) {
			t.Fatalf("got %v", res)
		}
	})
}

func TestHashCalculatorVerify(t *testing.T) {
	tool, dir := hcTool(t)
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		params   map[string]any
		verified bool
		expected string
		actual   string
	}{
		{"match hex", map[string]any{"expected_hash": hcHelloSHA256}, true, hcHelloSHA256, hcHelloSHA256},
		{"match upper hex", map[string]any{"expected_hash": strings.ToUpper(hcHelloSHA256)}, true, hcHelloSHA256, hcHelloSHA256},
		{"match padded by spaces", map[string]any{"expected_hash": "  " + hcHelloSHA256 + "\n"}, true, hcHelloSHA256, hcHelloSHA256},
		{"match prefix", map[string]any{"expected_hash": "SHA256:" + hcHelloSHA256}, true, hcHelloSHA256, hcHelloSHA256},
		{"match sri base64", map[string]any{"expected_hash": "sha256-" + hcHelloB64, "format": "base64"}, true, hcHelloB64, hcHelloB64},
		{"match base64 shown as hex", map[string]any{"expected_hash": hcHelloB64}, true, hcHelloSHA256, hcHelloSHA256},
		{"match url-safe raw base64", map[string]any{"expected_hash": "uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek"}, true, hcHelloSHA256, hcHelloSHA256},
		{"match md5", map[string]any{"expected_hash": hcHelloMD5, "algorithm": "md5"}, true, hcHelloMD5, hcHelloMD5},
		{"match file", map[string]any{"expected_hash": hcHelloSHA256, "file": "hello.txt", "input": nil}, true, hcHelloSHA256, hcHelloSHA256},
		{"mismatch", map[string]any{"expected_hash": strings.Repeat("0", 64)}, false, strings.Repeat("0", 64), hcHelloSHA256},
		{"mismatch one digit", map[string]any{"expected_hash": hcHelloSHA256[:63] + "8"}, false, hcHelloSHA256[:63] + "8", hcHelloSHA256},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			params := map[string]any{"operation": "verify", "input": "hello world"}
			for k, v := range c.params {
				if v == nil {
					delete(params, k)
				} else {
					params[k] = v
				}
			}
			res := call(t, tool, params)
			if res["verified"] != c.verified || res["expected"] != c.expected || res["actual"] != c.actual {
				t.Fatalf("got %v, want verified %v expected %s actual %s", res, c.verified, c.expected, c.actual)
			}
			alg := "sha256"
			if a, ok := params["algorithm"]; ok {
				alg = a.(string)
			}
			if res["algorithm"] != alg {
				t.Fatalf("algorithm %v, want %s", res["algorithm"], alg)
			}
		})
	}
}

func TestHashCalculatorErrors(t *testing.T) {
	tool, dir := hcTool(t)
	smallDir := t.TempDir()
	ps, err := perm.New(perm.Config{Base: smallDir, Read: []string{smallDir}, Limits: perm.Limits{MaxFileBytes: 8}})
	if err != nil {
		t.Fatal(err)
	}
	small := text.HashCalculator(ps)
	if err := os.WriteFile(filepath.Join(smallDir, "big"), []byte("123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		tool   tools.Tool
		params map[string]any
		typ    tools.ErrorType
		want   []string
	}{
		{"missing operation", tool, map[string]any{"input": "x"}, tools.TypeValidation, []string{`"operation"`}},
		{"operation wrong type", tool, map[string]any{"operation": true, "input": "x"}, tools.TypeValidation, []string{`"operation"`, "expected string"}},
		{"unknown algorithm", tool, map[string]any{"operation": "hash", "input": "x", "algorithm": "sha3"}, tools.TypeValidation, []string{`"algorithm"`, `"sha3"`}},
		{"unknown format", tool, map[string]any{"operation": "hash", "input": "x", "format": "binary"}, tools.TypeValidation, []string{`"format"`}},
		{"unknown input_type", tool, map[string]any{"operation": "hash", "input": "x", "input_type": "url"}, tools.TypeValidation, []string{`"input_type"`}},
		{"unknown parameter", tool, map[string]any{"operation": "hash", "input": "x", "salt": "y"}, tools.TypeValidation, []string{`"salt"`}},
		{"input wrong type", tool, map[string]any{"operation": "hash", "input": []any{1}}, tools.TypeValidation, []string{`"input"`}},
		{"no input", tool, map[string]any{"operation": "hash"}, tools.TypeValidation, []string{`"input"`, `"file"`}},
		{"both inputs", tool, map[string]any{"operation": "hash", "input": "x", "file": "y"}, tools.TypeValidation, []string{"only one"}},
		{"string type without input", tool, map[string]any{"operation": "hash", "input_type": "string", "file": "y"}, tools.TypeValidation, []string{`"input"`, "input_type string"}},
		{"string type with file", tool, map[string]any{"operation": "hash", "input_type": "string", "input": "x", "file": "y"}, tools.TypeValidation, []string{`"file"`}},
		{"file type without file", tool, map[string]any{"operation": "hash", "input_type": "file", "input": "a.txt"}, tools.TypeValidation, []string{`"file"`, "input_type file"}},
		{"verify without expected", tool, map[string]any{"operation": "verify", "input": "x"}, tools.TypeValidation, []string{`"expected_hash"`, "verify"}},
		{"expected wrong length", tool, map[string]any{"operation": "verify", "input": "x", "expected_hash": "abc"}, tools.TypeValidation, []string{`"expected_hash"`, "64 hex digits", "got 3"}},
		{"expected md5 for sha256", tool, map[string]any{"operation": "verify", "input": "x", "expected_hash": hcHelloMD5}, tools.TypeValidation, []string{"md5 digest", "check algorithm"}},
		{"expected bad hex", tool, map[string]any{"operation": "verify", "input": "x", "expected_hash": strings.Repeat("a", 10) + "#" + strings.Repeat("a", 53)}, tools.TypeValidation, []string{`"expected_hash"`, "invalid hex digit", "offset 10"}},
		{"expected bad base64", tool, map[string]any{"operation": "verify", "input": "x", "expected_hash": strings.Repeat("*", 44)}, tools.TypeValidation, []string{"not valid hex or base64"}},
		{"expected prefix mismatch", tool, map[string]any{"operation": "verify", "input": "x", "expected_hash": "md5:" + hcHelloMD5}, tools.TypeValidation, []string{"prefix names md5", "sha256"}},
		{"expected empty", tool, map[string]any{"operation": "verify", "input": "x", "expected_hash": ""}, tools.TypeValidation, []string{"got 0"}},
		{"file outside", tool, map[string]any{"operation": "hash", "file": "../outside"}, tools.TypePermission, []string{`"file"`, "--allow-read"}},
		{"file absolute outside", tool, map[string]any{"operation": "hash", "file": "/etc/hostname"}, tools.TypePermission, []string{"/etc/hostname"}},
		{"file missing", tool, map[string]any{"operation": "hash", "file": "nope"}, tools.TypeExecution, []string{"nope"}},
		{"file is folder", tool, map[string]any{"operation": "hash", "file": "sub"}, tools.TypeValidation, []string{"folder"}},
		{"file over limit", small, map[string]any{"operation": "hash", "file": "big"}, tools.TypeTooLarge, []string{"9 bytes", "8-byte"}},
		{"input over limit", small, map[string]any{"operation": "hash", "input": "123456789"}, tools.TypeTooLarge, []string{`"input"`, "8-byte"}},
		{"no perm set", text.HashCalculator(nil), map[string]any{"operation": "hash", "file": "x"}, tools.TypePermission, []string{"no file permissions"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, c.tool, c.params, c.typ)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q does not mention %q", msg, w)
				}
			}
		})
	}

	t.Run("cancelled file read", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := tools.Call(ctx, tool, map[string]any{"operation": "hash", "file": "f"})
		if tools.TypeOf(err) != tools.TypeCancelled {
			t.Fatalf("got %v, want cancelled", err)
		}
	})
}

func TestHashCalculatorSpec(t *testing.T) {
	tool := text.HashCalculator(nil)
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "hash_calculator" {
		t.Fatalf("name %q", spec.Name)
	}
	res := call(t, tool, spec.Example)
	if res["hash"] != hcHelloSHA256 {
		t.Fatalf("example gave %v", res)
	}
}

func BenchmarkHashCalculator(b *testing.B) {
	tool := text.HashCalculator(nil)
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		params map[string]any
	}{
		{"hash", map[string]any{"operation": "hash", "input": "hello world"}},
		{"verify", map[string]any{"operation": "verify", "input": "hello world", "expected_hash": hcHelloSHA256}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tools.Call(ctx, tool, bc.params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
