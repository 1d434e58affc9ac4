package text_test

import (
	"bytes"
	"context"
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

func b64Tool(t *testing.T) (tools.Tool, string) {
	t.Helper()
	ps, dir := testPerm(t)
	return text.Base64Encoder(ps), dir
}

// b64SmallTool has a 64-byte file and input limit.
func b64SmallTool(t *testing.T) (tools.Tool, string) {
	t.Helper()
	dir := t.TempDir()
	ps, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}, Limits: perm.Limits{MaxFileBytes: 64}})
	if err != nil {
		t.Fatal(err)
	}
	return text.Base64Encoder(ps), dir
}

func TestBase64EncoderValues(t *testing.T) {
	tool, _ := b64Tool(t)
	cases := []struct {
		name    string
		params  map[string]any
		output  string
		variant string
		binary  bool
	}{
		{"encode text", map[string]any{"operation": "encode", "input": "Hello, World!"}, "SGVsbG8sIFdvcmxkIQ==", "standard", false},
		{"encode empty", map[string]any{"operation": "encode", "input": ""}, "", "standard", false},
		{"encode utf8", map[string]any{"operation": "encode", "input": "héllo"}, "aMOpbGxv", "standard", false},
		{"encode no padding", map[string]any{"operation": "encode", "input": "a", "padding": false}, "YQ", "standard", false},
		{"encode hex standard", map[string]any{"operation": "encode", "input": "fbff", "binary_input": true}, "+/8=", "standard", true},
		{"encode hex url-safe", map[string]any{"operation": "encode", "input": "FBFF", "binary_input": true, "variant": "url-safe"}, "-_8=", "url-safe", true},
		{"encode url-safe raw", map[string]any{"operation": "encode", "input": "fbff", "binary_input": true, "variant": "url-safe", "padding": false}, "-_8", "url-safe", true},
		{"encode hex empty", map[string]any{"operation": "encode", "input": "", "binary_input": true}, "", "standard", true},
		{"decode text", map[string]any{"operation": "decode", "input": "SGVsbG8sIFdvcmxkIQ=="}, "Hello, World!", "standard", false},
		{"decode unpadded", map[string]any{"operation": "decode", "input": "YQ"}, "a", "standard", false},
		{"decode unpadded 2", map[string]any{"operation": "decode", "input": "YWI"}, "ab", "standard", false},
		{"decode whitespace", map[string]any{"operation": "decode", "input": " SGVs\r\nbG8=\n\t"}, "Hello", "standard", false},
		{"decode empty", map[string]any{"operation": "decode", "input": ""}, "", "standard", false},
		{"decode utf8", map[string]any{"operation": "decode", "input": "aMOpbGxv"}, "héllo", "standard", false},
		{"decode binary to hex", map[string]any{"operation": "decode", "input": "+/8="}, "fbff", "standard", true},
		{"decode url-safe binary", map[string]any{"operation": "decode", "input": "-_8", "variant": "url-safe"}, "fbff", "url-safe", true},
		{"decode binary_output", map[string]any{"operation": "decode", "input": "YQ==", "binary_output": true}, "61", "standard", true},
		{"decode nul is text", map[string]any{"operation": "decode", "input": "AA=="}, "\x00", "standard", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, tool, c.params)
			if res["output"] != c.output || res["variant"] != c.variant || res["binary"] != c.binary {
				t.Fatalf("got %v, want output %q variant %s binary %v", res, c.output, c.variant, c.binary)
			}
			if len(res) != 3 {
				t.Fatalf("result has keys %v, want output, variant, binary", res)
			}
		})
	}
}

func TestBase64EncoderRoundTrip(t *testing.T) {
	tool, _ := b64Tool(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		data := make([]byte, rng.IntN(70))
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		h := hex.EncodeToString(data)
		for _, variant := range []string{"standard", "url-safe"} {
			for _, pad := range []bool{true, false} {
				enc := call(t, tool, map[string]any{"operation": "encode", "input": h, "binary_input": true, "variant": variant, "padding": pad})
				dec := call(t, tool, map[string]any{"operation": "decode", "input": enc["output"], "variant": variant, "binary_output": true})
				if dec["output"] != h {
					t.Fatalf("%s pad=%v: %x encoded to %v decoded to %v", variant, pad, data, enc["output"], dec["output"])
				}
			}
		}
	}
}

func TestBase64EncoderFiles(t *testing.T) {
	tool, dir := b64Tool(t)
	bin := []byte{0xfb, 0xff, 0x00, 'h', 'i'}
	if err := os.WriteFile(filepath.Join(dir, "bin.dat"), bin, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "text.b64"), []byte("SGVsbG8s\nIFdvcmxkIQ==\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("encode file", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "encode", "input_file": "bin.dat"})
		if res["output"] != "+/8AaGk=" || res["binary"] != false {
			t.Fatalf("got %v", res)
		}
	})
	t.Run("decode file", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "decode", "input_file": filepath.Join(dir, "text.b64")})
		if res["output"] != "Hello, World!" {
			t.Fatalf("got %v", res)
		}
	})
	t.Run("decode to binary file", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "decode", "input": "+/8AaGk=", "output_file": "out/../out.bin"})
		want := filepath.Join(dir, "out.bin")
		if res["output"] != "fbff006869" || res["binary"] != true || res["bytes_written"] != 5 {
			t.Fatalf("got %v", res)
		}
		if got, _ := filepath.EvalSymlinks(want); res["output_file"] != got {
			t.Fatalf("output_file %v, want %s", res["output_file"], got)
		}
		data, err := os.ReadFile(want)
		if err != nil || !bytes.Equal(data, bin) {
			t.Fatalf("file holds %x (%v), want %x", data, err, bin)
		}
	})
	t.Run("encode to file", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "encode", "input": "Hello", "output_file": "enc.txt"})
		data, _ := os.ReadFile(filepath.Join(dir, "enc.txt"))
		if res["output"] != "SGVsbG8=" || string(data) != "SGVsbG8=" || res["bytes_written"] != 8 {
			t.Fatalf("got %v, file %q", res, data)
		}
	})
	t.Run("large output to file is not echoed", func(t *testing.T) {
		big := strings.Repeat("x", 60<<10) // 80 KiB of base64
		res := call(t, tool, map[string]any{"operation": "encode", "input": big, "output_file": "big.txt"})
		if v, ok := res["output"]; !ok || v != nil {
			t.Fatalf("output = %v, want null", v)
		}
		if res["bytes_written"] != 80<<10 {
			t.Fatalf("bytes_written %v", res["bytes_written"])
		}
		fi, err := os.Stat(filepath.Join(dir, "big.txt"))
		if err != nil || fi.Size() != 80<<10 {
			t.Fatalf("file: %v %v", fi, err)
		}
	})

	denied := []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"input_file relative outside", map[string]any{"operation": "encode", "input_file": "../outside"}, "input_file"},
		{"input_file absolute", map[string]any{"operation": "encode", "input_file": "/etc/hostname"}, "/etc/hostname"},
		{"output_file outside", map[string]any{"operation": "encode", "input": "x", "output_file": "../outside.txt"}, "output_file"},
		{"output_file absolute", map[string]any{"operation": "encode", "input": "x", "output_file": "/etc/spellhost-test"}, "--allow-write"},
	}
	for _, c := range denied {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, tool, c.params, tools.TypePermission)
			if !strings.Contains(msg, c.want) {
				t.Fatalf("message %q does not mention %q", msg, c.want)
			}
		})
	}
	t.Run("no perm set", func(t *testing.T) {
		bare := text.Base64Encoder(nil)
		callErr(t, bare, map[string]any{"operation": "encode", "input_file": "x"}, tools.TypePermission)
		callErr(t, bare, map[string]any{"operation": "encode", "input": "x", "output_file": "x"}, tools.TypePermission)
		if res := call(t, bare, map[string]any{"operation": "encode", "input": "x"}); res["output"] != "eA==" {
			t.Fatalf("got %v", res)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		msg := callErr(t, tool, map[string]any{"operation": "encode", "input_file": "nope.txt"}, tools.TypeExecution)
		if !strings.Contains(msg, "nope.txt") {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("folder", func(t *testing.T) {
		msg := callErr(t, tool, map[string]any{"operation": "encode", "input_file": "."}, tools.TypeValidation)
		if !strings.Contains(msg, "folder") {
			t.Fatalf("message %q", msg)
		}
	})
}

func TestBase64EncoderErrors(t *testing.T) {
	tool, _ := b64Tool(t)
	small, dir := b64SmallTool(t)
	if err := os.WriteFile(filepath.Join(dir, "big"), bytes.Repeat([]byte("a"), 65), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.b64"), []byte("QUJD.A=="), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		tool   tools.Tool
		params map[string]any
		typ    tools.ErrorType
		want   []string
	}{
		{"missing operation", tool, map[string]any{"input": "x"}, tools.TypeValidation, []string{`"operation"`, "missing"}},
		{"operation wrong type", tool, map[string]any{"operation": 5, "input": "x"}, tools.TypeValidation, []string{`"operation"`, "expected string"}},
		{"unknown operation", tool, map[string]any{"operation": "rot13", "input": "x"}, tools.TypeValidation, []string{`"rot13"`}},
		{"unknown variant", tool, map[string]any{"operation": "encode", "input": "x", "variant": "url_safe"}, tools.TypeValidation, []string{`"variant"`, `"url_safe"`}},
		{"unknown parameter", tool, map[string]any{"operation": "encode", "input": "x", "data": "y"}, tools.TypeValidation, []string{`"data"`}},
		{"input wrong type", tool, map[string]any{"operation": "encode", "input": 12}, tools.TypeValidation, []string{`"input"`, "expected string"}},
		{"binary_input wrong type", tool, map[string]any{"operation": "encode", "input": "00", "binary_input": "yes"}, tools.TypeValidation, []string{`"binary_input"`}},
		{"no input", tool, map[string]any{"operation": "encode"}, tools.TypeValidation, []string{`"input"`, `"input_file"`}},
		{"both inputs", tool, map[string]any{"operation": "decode", "input": "x", "input_file": "y"}, tools.TypeValidation, []string{"only one"}},
		{"bad hex", tool, map[string]any{"operation": "encode", "input": "0g", "binary_input": true}, tools.TypeValidation, []string{`"input"`, `'g'`, "offset 1"}},
		{"odd hex", tool, map[string]any{"operation": "encode", "input": "abc", "binary_input": true}, tools.TypeValidation, []string{"odd number"}},
		{"binary_input on decode", tool, map[string]any{"operation": "decode", "input": "AA", "binary_input": true}, tools.TypeValidation, []string{`"binary_input"`, "encode only"}},
		{"binary_input with file", tool, map[string]any{"operation": "encode", "input_file": "f", "binary_input": true}, tools.TypeValidation, []string{`"binary_input"`, "input_file"}},
		{"binary_output on encode", tool, map[string]any{"operation": "encode", "input": "x", "binary_output": true}, tools.TypeValidation, []string{`"binary_output"`}},
		{"bad char", tool, map[string]any{"operation": "decode", "input": "SGV*bG8="}, tools.TypeValidation, []string{`"input"`, `'*'`, "offset 3"}},
		{"bad char after newline", tool, map[string]any{"operation": "decode", "input": "SGVs\nb!8="}, tools.TypeValidation, []string{"offset 6"}},
		{"non-utf8 char", tool, map[string]any{"operation": "decode", "input": "SG\xffs"}, tools.TypeValidation, []string{"byte 0xff", "offset 2"}},
		{"url chars in standard", tool, map[string]any{"operation": "decode", "input": "-_8="}, tools.TypeValidation, []string{"offset 0", "set variant to url-safe"}},
		{"standard chars in url-safe", tool, map[string]any{"operation": "decode", "input": "+/8=", "variant": "url-safe"}, tools.TypeValidation, []string{"offset 0", "set variant to standard"}},
		{"lone char", tool, map[string]any{"operation": "decode", "input": "QUJDR"}, tools.TypeValidation, []string{"lone character", "offset 4"}},
		{"data after padding", tool, map[string]any{"operation": "decode", "input": "QQ==QQ=="}, tools.TypeValidation, []string{"after '=' padding", "offset 4"}},
		{"extra padding", tool, map[string]any{"operation": "decode", "input": "QUJD="}, tools.TypeValidation, []string{"wrong padding", "offset 4"}},
		{"short padding", tool, map[string]any{"operation": "decode", "input": "QQ="}, tools.TypeValidation, []string{"wrong padding", "want 2"}},
		{"bad file content", small, map[string]any{"operation": "decode", "input_file": "bad.b64"}, tools.TypeValidation, []string{`"input_file"`, `'.'`, "offset 4"}},
		{"input over limit", small, map[string]any{"operation": "encode", "input": strings.Repeat("a", 65)}, tools.TypeTooLarge, []string{`"input"`, "64-byte"}},
		{"file over limit", small, map[string]any{"operation": "encode", "input_file": "big"}, tools.TypeTooLarge, []string{"64-byte"}},
		{"output file over limit", small, map[string]any{"operation": "encode", "input": strings.Repeat("a", 60), "output_file": "o"}, tools.TypeTooLarge, []string{"output_file", "64-byte"}},
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
}

func TestBase64EncoderSpec(t *testing.T) {
	tool, _ := b64Tool(t)
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "base64_encoder" {
		t.Fatalf("name %q", spec.Name)
	}
	res := call(t, text.Base64Encoder(nil), spec.Example)
	if res["output"] != "SGVsbG8sIFdvcmxkIQ==" {
		t.Fatalf("example gave %v", res)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tools.Call(ctx, tool, map[string]any{"operation": "encode", "input": "x"}); tools.TypeOf(err) != tools.TypeCancelled {
		t.Fatalf("cancelled call: %v", err)
	}
}

func BenchmarkBase64Encoder(b *testing.B) {
	tool := text.Base64Encoder(nil)
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		params map[string]any
	}{
		{"encode", map[string]any{"operation": "encode", "input": "Hello, World! spellhost"}},
		{"decode", map[string]any{"operation": "decode", "input": "SGVsbG8sIFdvcmxkISBzcGVsbGhvc3Q="}},
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
