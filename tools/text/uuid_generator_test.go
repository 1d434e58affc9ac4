package text_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"spellhost/tools"
	"spellhost/tools/text"
)

var (
	uuidgHyphenRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	uuidgFormatRE = map[string]*regexp.Regexp{
		"hyphenated": uuidgHyphenRE,
		"simple":     regexp.MustCompile(`^[0-9a-f]{32}$`),
		"urn":        regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`),
		"braced":     regexp.MustCompile(`^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$`),
	}
)

const uuidgExampleCom = "cfbff0d1-9375-5685-968c-48ce8b15ae17" // v5, dns, "example.com"

func TestUUIDGeneratorDeterministic(t *testing.T) {
	tool := text.UUIDGenerator()
	cases := []struct {
		name      string
		params    map[string]any
		uuid      string
		version   int
		format    string
		namespace string
	}{
		{"v5 dns", map[string]any{"operation": "deterministic", "namespace": "dns", "name": "example.com"}, uuidgExampleCom, 5, "hyphenated", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{"default namespace is dns", map[string]any{"operation": "deterministic", "name": "example.com"}, uuidgExampleCom, 5, "hyphenated", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{"namespace case-insensitive", map[string]any{"operation": "deterministic", "namespace": "DNS", "name": "example.com"}, uuidgExampleCom, 5, "hyphenated", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{"v3 dns", map[string]any{"operation": "deterministic", "version": "v3", "name": "example.com"}, "9073926b-929f-31c2-abc9-fad77ae3e8eb", 3, "hyphenated", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{"v5 url", map[string]any{"operation": "deterministic", "namespace": "url", "name": "https://example.com/"}, "dd2c1780-811a-5296-81c5-178a0ef488bc", 5, "hyphenated", "6ba7b811-9dad-11d1-80b4-00c04fd430c8"},
		{"v5 oid", map[string]any{"operation": "deterministic", "namespace": "oid", "name": "1.3.6.1"}, "1447fa61-5277-5fef-a9b3-fbc6e44f4af3", 5, "hyphenated", "6ba7b812-9dad-11d1-80b4-00c04fd430c8"},
		{"v5 x500", map[string]any{"operation": "deterministic", "namespace": "x500", "name": "cn=John"}, "1713550e-4d56-5817-bce4-d5dac105f99d", 5, "hyphenated", "6ba7b814-9dad-11d1-80b4-00c04fd430c8"},
		{"v5 custom namespace", map[string]any{"operation": "deterministic", "namespace": "{CFBFF0D1-9375-5685-968C-48CE8B15AE17}", "name": "child"}, "3e43a363-7a24-581f-bc3d-8e535d504a1a", 5, "hyphenated", uuidgExampleCom},
		{"v5 empty name", map[string]any{"operation": "deterministic", "name": ""}, "4ebd0208-8328-5d69-8c44-ec50939c0967", 5, "hyphenated", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{"simple", map[string]any{"operation": "deterministic", "name": "example.com", "format": "simple"}, "cfbff0d193755685968c48ce8b15ae17", 5, "simple", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{"urn", map[string]any{"operation": "deterministic", "name": "example.com", "format": "urn"}, "urn:uuid:" + uuidgExampleCom, 5, "urn", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{"braced", map[string]any{"operation": "deterministic", "name": "example.com", "format": "braced"}, "{" + uuidgExampleCom + "}", 5, "braced", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, tool, c.params)
			if res["uuid"] != c.uuid || res["version"] != c.version || res["format"] != c.format || res["namespace"] != c.namespace {
				t.Fatalf("got %v, want %s v%d %s namespace %s", res, c.uuid, c.version, c.format, c.namespace)
			}
		})
	}
	t.Run("generate v5 and custom v5", func(t *testing.T) {
		res := call(t, tool, map[string]any{"version": "v5", "name": "example.com"})
		if res["uuid"] != uuidgExampleCom || res["version"] != 5 {
			t.Fatalf("got %v", res)
		}
		res = call(t, tool, map[string]any{"operation": "custom", "prefix": "site-", "version": "v5", "name": "example.com", "format": "simple"})
		if res["uuid"] != "site-cfbff0d193755685968c48ce8b15ae17" || res["prefix"] != "site-" {
			t.Fatalf("got %v", res)
		}
	})
}

func TestUUIDGeneratorRandom(t *testing.T) {
	tool := text.UUIDGenerator()
	for _, version := range []string{"v1", "v4", "v6", "v7"} {
		for format, re := range uuidgFormatRE {
			t.Run(version+" "+format, func(t *testing.T) {
				res := call(t, tool, map[string]any{"operation": "generate", "version": version, "format": format})
				s, _ := res["uuid"].(string)
				if !re.MatchString(s) {
					t.Fatalf("uuid %q does not match the %s format", s, format)
				}
				u, err := uuid.Parse(s)
				if err != nil {
					t.Fatal(err)
				}
				want := int(version[1] - '0')
				if int(u.Version()) != want || res["version"] != want || res["format"] != format || u.Variant() != uuid.RFC4122 {
					t.Fatalf("got %v (parsed version %d variant %v), want version %d", res, u.Version(), u.Variant(), want)
				}
			})
		}
	}
	t.Run("default is v4 hyphenated", func(t *testing.T) {
		res := call(t, tool, map[string]any{})
		if !uuidgHyphenRE.MatchString(res["uuid"].(string)) || res["version"] != 4 || res["format"] != "hyphenated" {
			t.Fatalf("got %v", res)
		}
	})
	t.Run("v4 unique", func(t *testing.T) {
		seen := map[any]bool{}
		for i := 0; i < 1000; i++ {
			u := call(t, tool, map[string]any{})["uuid"]
			if seen[u] {
				t.Fatalf("repeated %v", u)
			}
			seen[u] = true
		}
	})
	t.Run("v7 increases", func(t *testing.T) {
		prev := ""
		for i := 0; i < 200; i++ {
			u := call(t, tool, map[string]any{"version": "v7"})["uuid"].(string)
			if u <= prev {
				t.Fatalf("%s after %s", u, prev)
			}
			prev = u
		}
	})
	t.Run("custom", func(t *testing.T) {
		res := call(t, tool, map[string]any{"operation": "custom", "prefix": "order-"})
		s := res["uuid"].(string)
		if !strings.HasPrefix(s, "order-") || !uuidgHyphenRE.MatchString(s[len("order-"):]) || res["version"] != 4 || res["prefix"] != "order-" {
			t.Fatalf("got %v", res)
		}
		res = call(t, tool, map[string]any{"operation": "custom", "prefix": "ü:", "version": "v7", "format": "urn"})
		s = res["uuid"].(string)
		if !strings.HasPrefix(s, "ü:urn:uuid:") || res["version"] != 7 || res["format"] != "urn" {
			t.Fatalf("got %v", res)
		}
	})
	componentRE := regexp.MustCompile(`^([a-z]+)_[0-9a-f]{12}$`)
	for _, c := range []struct {
		params map[string]any
		prefix string
	}{
		{map[string]any{"operation": "component_id"}, "component"},
		{map[string]any{"operation": "component_id", "prefix": "button"}, "button"},
		{map[string]any{"operation": "component_id", "prefix": "button", "version": "v7", "format": "urn"}, "button"}, // not used
	} {
		t.Run("component_id "+c.prefix, func(t *testing.T) {
			res := call(t, tool, c.params)
			m := componentRE.FindStringSubmatch(res["uuid"].(string))
			if m == nil || m[1] != c.prefix || res["prefix"] != c.prefix || res["version"] != 4 || res["format"] != "short" {
				t.Fatalf("got %v", res)
			}
		})
	}
}

func TestUUIDGeneratorValidate(t *testing.T) {
	tool := text.UUIDGenerator()
	type want struct {
		valid   bool
		version any
		variant any
		uuid    any
		format  any
		err     string // substring of error; "" means null
	}
	cases := []struct {
		name   string
		params map[string]any
		want   want
	}{
		{"hyphenated v5", map[string]any{"uuid": uuidgExampleCom}, want{true, 5, "rfc4122", uuidgExampleCom, "hyphenated", ""}},
		{"upper case", map[string]any{"uuid": strings.ToUpper(uuidgExampleCom)}, want{true, 5, "rfc4122", uuidgExampleCom, "hyphenated", ""}},
		{"simple", map[string]any{"uuid": "cfbff0d193755685968c48ce8b15ae17"}, want{true, 5, "rfc4122", uuidgExampleCom, "simple", ""}},
		{"urn", map[string]any{"uuid": "URN:UUID:" + uuidgExampleCom}, want{true, 5, "rfc4122", uuidgExampleCom, "urn", ""}},
		{"braced", map[string]any{"uuid": "{" + uuidgExampleCom + "}"}, want{true, 5, "rfc4122", uuidgExampleCom, "braced", ""}},
		{"v4", map[string]any{"uuid": "f47ac10b-58cc-4372-a567-0e02b2c3d479"}, want{true, 4, "rfc4122", "f47ac10b-58cc-4372-a567-0e02b2c3d479", "hyphenated", ""}},
		{"nil uuid", map[string]any{"uuid": "00000000-0000-0000-0000-000000000000"}, want{true, 0, "ncs", "00000000-0000-0000-0000-000000000000", "hyphenated", ""}},
		{"microsoft variant", map[string]any{"uuid": "00000000-0000-1000-c000-000000000000"}, want{true, 1, "microsoft", "00000000-0000-1000-c000-000000000000", "hyphenated", ""}},
		{"max uuid", map[string]any{"uuid": "ffffffff-ffff-ffff-ffff-ffffffffffff"}, want{true, 15, "future", "ffffffff-ffff-ffff-ffff-ffffffffffff", "hyphenated", ""}},
		{"version match", map[string]any{"uuid": uuidgExampleCom, "version": "v5"}, want{true, 5, "rfc4122", uuidgExampleCom, "hyphenated", ""}},
		{"version mismatch", map[string]any{"uuid": uuidgExampleCom, "version": "v4"}, want{false, 5, "rfc4122", uuidgExampleCom, "hyphenated", "version 5, want v4"}},
		{"empty", map[string]any{"uuid": ""}, want{false, nil, nil, nil, nil, "wrong length: 0"}},
		{"too short", map[string]any{"uuid": "cfbff0d1-9375"}, want{false, nil, nil, nil, nil, "wrong length: 13"}},
		{"long", map[string]any{"uuid": strings.Repeat("a", 5000)}, want{false, nil, nil, nil, nil, "wrong length: 5000"}},
		{"bad hex", map[string]any{"uuid": "cfbff0d1-9375-5685-968c-48ce8b15aeZ7"}, want{false, nil, nil, nil, nil, "'Z' at offset 34"}},
		{"bad hex in urn", map[string]any{"uuid": "urn:uuid:cfbff0d1-9375-5685-968c-48ce8b15aeZ7"}, want{false, nil, nil, nil, nil, "offset 43"}},
		{"bad hex braced", map[string]any{"uuid": "{xfbff0d1-9375-5685-968c-48ce8b15ae17}"}, want{false, nil, nil, nil, nil, "'x' at offset 1"}},
		{"misplaced hyphen", map[string]any{"uuid": "cfbff0d19-375-5685-968c-48ce8b15ae17"}, want{false, nil, nil, nil, nil, "expected '-' at offset 8"}},
		{"bad urn prefix", map[string]any{"uuid": "urn:uuld:" + uuidgExampleCom}, want{false, nil, nil, nil, nil, "urn:uuid:"}},
		{"bad braces", map[string]any{"uuid": "(" + uuidgExampleCom + ")"}, want{false, nil, nil, nil, nil, "braces"}},
		{"non-utf8", map[string]any{"uuid": "cfbff0d1-9375-5685-968c-48ce8b15ae\xff7"}, want{false, nil, nil, nil, nil, "byte 0xff at offset 34"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			params := map[string]any{"operation": "validate"}
			for k, v := range c.params {
				params[k] = v
			}
			res := call(t, tool, params)
			w := c.want
			if res["valid"] != w.valid || res["version"] != w.version || res["variant"] != w.variant || res["uuid"] != w.uuid || res["format"] != w.format {
				t.Fatalf("got %v, want %+v", res, w)
			}
			if w.err == "" && res["error"] != nil {
				t.Fatalf("error %v, want null", res["error"])
			}
			if msg, _ := res["error"].(string); w.err != "" && !strings.Contains(msg, w.err) {
				t.Fatalf("error %q does not mention %q", msg, w.err)
			}
		})
	}
}

func TestUUIDGeneratorErrors(t *testing.T) {
	tool := text.UUIDGenerator()
	cases := []struct {
		name   string
		params map[string]any
		typ    tools.ErrorType
		want   []string
	}{
		{"unknown operation", map[string]any{"operation": "v4"}, tools.TypeValidation, []string{`"operation"`, `"v4"`}},
		{"operation wrong type", map[string]any{"operation": 4}, tools.TypeValidation, []string{`"operation"`, "expected string"}},
		{"unknown version", map[string]any{"version": "v2"}, tools.TypeValidation, []string{`"version"`, `"v2"`}},
		{"unknown format", map[string]any{"format": "upper"}, tools.TypeValidation, []string{`"format"`, `"upper"`}},
		{"unknown parameter", map[string]any{"count": 3}, tools.TypeValidation, []string{`"count"`}},
		{"name wrong type", map[string]any{"operation": "deterministic", "name": 5}, tools.TypeValidation, []string{`"name"`, "expected string"}},
		{"validate without uuid", map[string]any{"operation": "validate"}, tools.TypeValidation, []string{`"uuid"`, "validate"}},
		{"validate uuid wrong type", map[string]any{"operation": "validate", "uuid": 12}, tools.TypeValidation, []string{`"uuid"`, "expected string"}},
		{"deterministic without name", map[string]any{"operation": "deterministic"}, tools.TypeValidation, []string{`"name"`, "deterministic"}},
		{"generate v5 without name", map[string]any{"version": "v5"}, tools.TypeValidation, []string{`"name"`, "v5"}},
		{"custom v3 without name", map[string]any{"operation": "custom", "prefix": "x", "version": "v3"}, tools.TypeValidation, []string{`"name"`, "v3"}},
		{"deterministic with v4", map[string]any{"operation": "deterministic", "name": "x", "version": "v4"}, tools.TypeValidation, []string{`"version"`, "v4"}},
		{"custom without prefix", map[string]any{"operation": "custom"}, tools.TypeValidation, []string{`"prefix"`, "custom"}},
		{"bad namespace", map[string]any{"operation": "deterministic", "name": "x", "namespace": "dnss"}, tools.TypeValidation, []string{`"namespace"`, `"dnss"`}},
		{"namespace bad braces", map[string]any{"operation": "deterministic", "name": "x", "namespace": "(" + uuidgExampleCom + ")"}, tools.TypeValidation, []string{`"namespace"`}},
		{"prefix control char", map[string]any{"operation": "component_id", "prefix": "a\nb"}, tools.TypeValidation, []string{`"prefix"`, "offset 1"}},
		{"prefix too long", map[string]any{"operation": "custom", "prefix": strings.Repeat("p", 257)}, tools.TypeTooLarge, []string{`"prefix"`, "256-byte"}},
		{"name too long", map[string]any{"operation": "deterministic", "name": strings.Repeat("n", 1<<20+1)}, tools.TypeTooLarge, []string{`"name"`, "1048576-byte"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, tool, c.params, c.typ)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("message %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestUUIDGeneratorSpec(t *testing.T) {
	tool := text.UUIDGenerator()
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "uuid_generator" {
		t.Fatalf("name %q", spec.Name)
	}
	if res := call(t, tool, spec.Example); res["uuid"] != uuidgExampleCom {
		t.Fatalf("example gave %v", res)
	}
}

func BenchmarkUUIDGenerator(b *testing.B) {
	tool := text.UUIDGenerator()
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		params map[string]any
	}{
		{"generate_v4", map[string]any{}},
		{"generate_v7", map[string]any{"version": "v7"}},
		{"deterministic", map[string]any{"operation": "deterministic", "name": "example.com"}},
		{"validate", map[string]any{"operation": "validate", "uuid": uuidgExampleCom}},
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
