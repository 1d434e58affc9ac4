package data_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/data"
)

// dvr builds a rule object from key/value pairs.
func dvr(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

type dvWant struct{ field, rule, msg string }

func dvErrors(t *testing.T, res map[string]any) []dvWant {
	t.Helper()
	var out []dvWant
	for _, e := range res["errors"].([]any) {
		m := e.(map[string]any)
		out = append(out, dvWant{m["field"].(string), m["rule"].(string), m["message"].(string)})
	}
	return out
}

func TestDataValidationRules(t *testing.T) {
	dv := data.Validation()
	obj := map[string]any{"name": "Ada", "age": 36, "email": "ada@example.com", "nick": nil}
	cases := []struct {
		name    string
		input   any
		rules   []any
		checked int
		want    []dvWant // nil: valid
	}{
		{"required ok", obj, []any{dvr("type", "required", "field", "name")}, 1, nil},
		{"required missing", obj, []any{dvr("type", "required", "field", "zip")}, 1,
			[]dvWant{{"zip", "required", "is required"}}},
		{"required null", obj, []any{"required", dvr("type", "required", "field", "nick")}, 2,
			[]dvWant{{"nick", "required", "is required"}}},
		{"type ok", 3.0, []any{dvr("type", "type", "expected", "integer")}, 1, nil},
		{"type list", obj, []any{dvr("field", "nick", "type", "type", "expected", []any{"string", "null"})}, 1, nil},
		{"type shorthand", "x", []any{dvr("type", "number")}, 1,
			[]dvWant{{"$", "type", "expected number, got string"}}},
		{"type string shorthand name", 2.5, []any{"integer"}, 1,
			[]dvWant{{"$", "type", "expected integer, got number"}}},
		{"type bool", true, []any{dvr("type", "type", "expected", "boolean")}, 1, nil},
		{"type object", []any{1}, []any{dvr("type", "type", "expected", "object")}, 1,
			[]dvWant{{"$", "type", "expected object, got array"}}},
		{"empty table is array and object", []any{}, []any{dvr("type", "type", "expected", "object"), dvr("type", "array")}, 2, nil},
		{"length runes", "héllo", []any{dvr("type", "length", "min", 5, "max", 5)}, 1, nil},
		{"length short", "ab", []any{dvr("type", "length", "min", 3)}, 1,
			[]dvWant{{"$", "length", "has 2 characters, fewer than the minimum 3"}}},
		{"length array long", []any{1, 2, 3}, []any{dvr("type", "length", "max", 2)}, 1,
			[]dvWant{{"$", "length", "has 3 items, more than the maximum 2"}}},
		{"length number", 5, []any{dvr("type", "length", "max", 2)}, 1,
			[]dvWant{{"$", "length", "expected string or array, got number"}}},
		{"range ok", obj, []any{dvr("field", "age", "type", "range", "min", 0, "max", 150)}, 1, nil},
		{"range high", 11.5, []any{dvr("type", "range", "min", 0, "max", 10)}, 1,
			[]dvWant{{"$", "range", "11.5 is greater than the maximum 10"}}},
		{"range low", int64(-1), []any{dvr("type", "range", "min", 0)}, 1,
			[]dvWant{{"$", "range", "-1 is less than the minimum 0"}}},
		{"range string", "5", []any{dvr("type", "range", "min", 0)}, 1,
			[]dvWant{{"$", "range", "expected number, got string"}}},
		{"pattern ok", "abc-123", []any{dvr("type", "pattern", "pattern", `^[a-z]+-\d+$`)}, 1, nil},
		{"pattern unanchored", "xx42yy", []any{dvr("type", "pattern", "pattern", `\d+`)}, 1, nil},
		{"pattern fail", "ABC", []any{dvr("type", "pattern", "pattern", `^[a-z]+$`)}, 1,
			[]dvWant{{"$", "pattern", `does not match pattern "^[a-z]+$"`}}},
		{"enum ok numeric", 2.0, []any{dvr("type", "enum", "values", []any{1, int64(2), 3})}, 1, nil},
		{"enum deep", map[string]any{"a": []any{1.0}}, []any{dvr("type", "enum", "values", []any{map[string]any{"a": []any{1}}})}, 1, nil},
		{"enum fail", "pear", []any{dvr("type", "enum", "values", []any{"apple", "plum", nil})}, 1,
			[]dvWant{{"$", "enum", `is not one of the allowed values: "apple", "plum", null`}}},
		{"enum null", obj, []any{dvr("field", "nick", "type", "enum", "values", []any{nil})}, 1, nil},
		{"email ok", "a.b+tag@example.co.uk", []any{"email"}, 1, nil},
		{"email display name", "Ada <ada@example.com>", []any{"email"}, 1,
			[]dvWant{{"$", "email", "is not a valid email address: want a bare address such as name@example.com, without a display name, brackets or spaces"}}},
		{"email no at", "ada.example.com", []any{dvr("type", "email")}, 1,
			[]dvWant{{"$", "email", "is not a valid email address: missing @"}}},
		{"url ok", "https://example.com/a?b=c", []any{"url"}, 1, nil},
		{"url relative", "/a/b", []any{"url"}, 1,
			[]dvWant{{"$", "url", "is not a valid URL: no scheme; want an absolute URL such as https://example.com/"}}},
		{"url no host", "mailto:ada@example.com", []any{"url"}, 1,
			[]dvWant{{"$", "url", "is not a valid URL: no host"}}},
		{"url scheme", "ftp://example.com/", []any{dvr("type", "url", "schemes", []any{"HTTP", "https"})}, 1,
			[]dvWant{{"$", "url", `is not a valid URL: scheme "ftp" is not one of http, https`}}},
		{"date default", "2024-02-29", []any{"date"}, 1, nil},
		{"date default rfc3339", "2024-02-29T10:00:00Z", []any{"date"}, 1, nil},
		{"date invalid day", "2023-02-29", []any{"date"}, 1,
			[]dvWant{{"$", "date", "is not a date in the format RFC 3339 or 2006-01-02"}}},
		{"date strftime", "29/02/2024 13:45", []any{dvr("type", "date", "format", "%d/%m/%Y %H:%M")}, 1, nil},
		{"date go layout", "Feb 29 2024", []any{dvr("type", "date", "format", "Jan 2 2006")}, 1, nil},
		{"date named", "10:11:12", []any{dvr("type", "date", "format", "time")}, 1, nil},
		{"date not string", 20240229, []any{"date"}, 1,
			[]dvWant{{"$", "date", "expected string, got number"}}},
		{"absent field skips other rules", obj, []any{dvr("field", "zip", "type", "pattern", "pattern", "^x")}, 0, nil},
		{"null skips", obj, []any{dvr("field", "nick", "type", "length", "min", 1)}, 0, nil},
		{"field of non-object", "str", []any{dvr("field", "a", "type", "required")}, 1,
			[]dvWant{{"a", "required", `cannot read field "a" of a string`}}},
		{"custom message", 5, []any{dvr("type", "range", "max", 1, "message", "too big")}, 1,
			[]dvWant{{"$", "range", "too big"}}},
		{"array unique", []any{1, "a", 1.0, map[string]any{"x": 1}, map[string]any{"x": 1.0}}, []any{dvr("type", "array", "unique", true)}, 1,
			[]dvWant{{"[2]", "unique", "duplicate of item 0"}, {"[4]", "unique", "duplicate of item 3"}}},
		{"array items", []any{1, "x", 3}, []any{dvr("type", "array", "items", []any{"integer", dvr("type", "range", "max", 2)})}, 7,
			[]dvWant{{"[1]", "type", "expected integer, got string"}, {"[1]", "range", "expected number, got string"}, {"[2]", "range", "3 is greater than the maximum 2"}}},
		{"array single item rule", []any{"a", 1}, []any{dvr("type", "array", "items", "string")}, 3,
			[]dvWant{{"[1]", "type", "expected string, got number"}}},
		{"array not array", "x", []any{dvr("type", "array")}, 1,
			[]dvWant{{"$", "array", "expected array, got string"}}},
		{"object nested paths", map[string]any{"users": []any{
			map[string]any{"email": "a@b.c"},
			map[string]any{"email": "b@c.d"},
			map[string]any{"email": "nope", "x": 1},
		}}, []any{dvr("type", "object", "required", []any{"users", "owner"}, "properties", map[string]any{
			"users": dvr("type", "array", "items", []any{dvr("type", "object", "additional_properties", false,
				"properties", map[string]any{"email": []any{"email"}})}),
		})}, 8, []dvWant{
			{"owner", "required", "is required"},
			{"users[2].email", "email", "is not a valid email address: missing @"},
			{"users[2].x", "additional_properties", "is not an allowed property"},
		}},
		{"odd keys quoted", map[string]any{"a b": map[string]any{"1x": "v"}},
			[]any{dvr("type", "object", "properties", map[string]any{"a b": dvr("field", "1x", "type", "integer")})}, 2,
			[]dvWant{{`["a b"]["1x"]`, "type", "expected integer, got string"}}},
		{"object not object", 3, []any{dvr("type", "object", "required", []any{"a"})}, 1,
			[]dvWant{{"$", "object", "expected object, got number"}}},
		{"no rules", 1, []any{}, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, dv, map[string]any{"input": c.input, "rules": c.rules})
			got := dvErrors(t, res)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("errors:\n got %q\nwant %q", got, c.want)
			}
			if res["valid"] != (c.want == nil) || res["truncated"] != false {
				t.Fatalf("valid/truncated: %v", res)
			}
			if res["checked"] != c.checked {
				t.Fatalf("checked = %v, want %d", res["checked"], c.checked)
			}
		})
	}
}

func TestDataValidationErrorValue(t *testing.T) {
	dv := data.Validation()
	res := call(t, dv, map[string]any{"input": map[string]any{"age": 200}, "rules": []any{dvr("field", "age", "type", "range", "max", 150)}})
	e := res["errors"].([]any)[0].(map[string]any)
	if e["value"] != 200 || e["field"] != "age" || e["rule"] != "range" {
		t.Fatalf("error entry: %v", e)
	}
	// Large values are abbreviated.
	big := make([]any, 1000)
	for i := range big {
		big[i] = i
	}
	res = call(t, dv, map[string]any{"input": big, "rules": []any{dvr("type", "length", "max", 10)}})
	if v := res["errors"].([]any)[0].(map[string]any)["value"]; v != "array of 1000 items" {
		t.Fatalf("value = %v", v)
	}
	long := strings.Repeat("é", 300)
	res = call(t, dv, map[string]any{"input": long, "rules": []any{dvr("type", "length", "max", 10)}})
	if v := res["errors"].([]any)[0].(map[string]any)["value"].(string); len(v) != 256+3 || !strings.HasSuffix(v, "é...") {
		t.Fatalf("value = %q", v)
	}
}

func TestDataValidationTruncated(t *testing.T) {
	dv := data.Validation()
	items := make([]any, 150)
	for i := range items {
		items[i] = "x"
	}
	res := call(t, dv, map[string]any{"input": items, "rules": []any{dvr("type", "array", "items", "integer")}})
	errs := res["errors"].([]any)
	if len(errs) != 100 || res["truncated"] != true || res["valid"] != false {
		t.Fatalf("errors %d truncated %v", len(errs), res["truncated"])
	}
	if f := errs[99].(map[string]any)["field"]; f != "[99]" {
		t.Fatalf("last field %v", f)
	}
	// Exactly 100 errors is not truncated.
	res = call(t, dv, map[string]any{"input": items[:100], "rules": []any{dvr("type", "array", "items", "integer")}})
	if len(res["errors"].([]any)) != 100 || res["truncated"] != false {
		t.Fatalf("100 errors: truncated %v", res["truncated"])
	}
}

func TestDataValidationPatternCache(t *testing.T) {
	dv := data.Validation()
	// More distinct patterns than the cache holds, twice over: every call
	// still compiles and matches correctly.
	for round := 0; round < 2; round++ {
		for i := 0; i < 600; i++ {
			p := "^x" + strconv.Itoa(i) + "$"
			res := call(t, dv, map[string]any{"input": "x" + strconv.Itoa(i), "rules": []any{dvr("type", "pattern", "pattern", p)}})
			if res["valid"] != true {
				t.Fatalf("pattern %s: %v", p, res)
			}
		}
	}
}

func TestDataValidationExample(t *testing.T) {
	dv := data.Validation()
	res := call(t, dv, dv.Spec().Example)
	if res["valid"] != true || res["checked"] != 8 {
		t.Fatalf("example: %v", res)
	}
	if err := dv.Spec().Check(); err != nil {
		t.Fatal(err)
	}
}

func TestDataValidationBadInput(t *testing.T) {
	dv := data.Validation()
	deep := any(dvr("type", "required"))
	for i := 0; i < 70; i++ {
		deep = dvr("type", "array", "items", []any{deep})
	}
	manyRules := make([]any, 10_001)
	for i := range manyRules {
		manyRules[i] = "required"
	}
	bigArray := make([]any, 200_000)
	for i := range bigArray {
		bigArray[i] = i
	}
	deepInput := any(1)
	for i := 0; i < 100; i++ {
		deepInput = []any{deepInput}
	}
	cases := []struct {
		name   string
		params map[string]any
		want   tools.ErrorType
		msg    string
	}{
		{"missing input", map[string]any{"rules": []any{}}, tools.TypeValidation, `missing required parameter "input"`},
		{"null input", map[string]any{"input": nil, "rules": []any{}}, tools.TypeValidation, `missing required parameter "input"`},
		{"missing rules", map[string]any{"input": 1}, tools.TypeValidation, `missing required parameter "rules"`},
		{"rules wrong type", map[string]any{"input": 1, "rules": "required"}, tools.TypeValidation, `parameter "rules": expected array, got string`},
		{"unknown parameter", map[string]any{"input": 1, "rules": []any{}, "strict": true}, tools.TypeValidation, `unknown parameter "strict"`},
		{"rule not object", map[string]any{"input": 1, "rules": []any{"required", 5}}, tools.TypeValidation,
			`parameter "rules": rules[1]: expected a rule object or rule name, got number`},
		{"unknown rule type", map[string]any{"input": 1, "rules": []any{dvr("type", "credit_card")}}, tools.TypeValidation,
			`rules[0]: unknown rule type "credit_card"`},
		{"missing rule type", map[string]any{"input": 1, "rules": []any{dvr("min", 1)}}, tools.TypeValidation,
			`rules[0]: missing "type"`},
		{"rule type not string", map[string]any{"input": 1, "rules": []any{dvr("type", 3)}}, tools.TypeValidation,
			`rules[0]: "type": expected string, got number`},
		{"unknown key", map[string]any{"input": 1, "rules": []any{dvr("type", "range", "min", 1, "maximum", 3)}}, tools.TypeValidation,
			`rules[0]: unknown key "maximum" for a range rule`},
		{"range no bounds", map[string]any{"input": 1, "rules": []any{"email", dvr("type", "range")}}, tools.TypeValidation,
			`rules[1]: range needs "min", "max" or both`},
		{"range bound not number", map[string]any{"input": 1, "rules": []any{dvr("type", "range", "min", "0")}}, tools.TypeValidation,
			`rules[0]: "min": expected number, got string`},
		{"range min above max", map[string]any{"input": 1, "rules": []any{dvr("type", "range", "min", 5, "max", 1)}}, tools.TypeValidation,
			`rules[0]: range: min 5 is greater than max 1`},
		{"length negative", map[string]any{"input": 1, "rules": []any{dvr("type", "length", "min", -1)}}, tools.TypeValidation,
			`rules[0]: "min": expected a non-negative integer, got -1`},
		{"bad regexp", map[string]any{"input": "a", "rules": []any{"required", "string", dvr("type", "pattern", "pattern", "a(b")}}, tools.TypeValidation,
			`parameter "rules": rules[2]: invalid pattern "a(b": missing closing ): ` + "`a(b`"},
		{"pattern missing", map[string]any{"input": "a", "rules": []any{dvr("type", "pattern")}}, tools.TypeValidation,
			`rules[0]: pattern needs "pattern"`},
		{"pattern too long", map[string]any{"input": "a", "rules": []any{dvr("type", "pattern", "pattern", strings.Repeat("a", 5000))}}, tools.TypeTooLarge,
			`rules[0]: pattern of 5000 bytes exceeds the 4096-byte limit`},
		{"enum empty", map[string]any{"input": 1, "rules": []any{dvr("type", "enum", "values", []any{})}}, tools.TypeValidation,
			`rules[0]: "values" is empty`},
		{"enum missing", map[string]any{"input": 1, "rules": []any{"enum"}}, tools.TypeValidation,
			`rules[0]: enum needs "values"`},
		{"type missing expected", map[string]any{"input": 1, "rules": []any{dvr("type", "type")}}, tools.TypeValidation,
			`rules[0]: type needs "expected"`},
		{"type unknown expected", map[string]any{"input": 1, "rules": []any{dvr("type", "type", "expected", "float")}}, tools.TypeValidation,
			`rules[0]: "expected": unknown type "float"`},
		{"date bad directive", map[string]any{"input": "x", "rules": []any{dvr("type", "date", "format", "%Y-%Q")}}, tools.TypeValidation,
			`rules[0]: "format": unsupported directive %Q in "%Y-%Q"`},
		{"nested bad rule", map[string]any{"input": 1, "rules": []any{dvr("type", "array", "items", []any{"string", dvr("type", "nope")})}}, tools.TypeValidation,
			`rules[0].items[1]: unknown rule type "nope"`},
		{"nested property rule", map[string]any{"input": 1, "rules": []any{dvr("type", "object", "properties", map[string]any{"email": []any{dvr("type", "length")}})}}, tools.TypeValidation,
			`rules[0].properties.email[0]: length needs "min", "max" or both`},
		{"properties wrong type", map[string]any{"input": 1, "rules": []any{dvr("type", "object", "properties", []any{"a"})}}, tools.TypeValidation,
			`rules[0]: "properties": expected object`},
		{"required not list", map[string]any{"input": 1, "rules": []any{dvr("type", "object", "required", "a")}}, tools.TypeValidation,
			`rules[0]: "required": expected array of strings, got string`},
		{"unique not bool", map[string]any{"input": 1, "rules": []any{dvr("type", "array", "unique", "yes")}}, tools.TypeValidation,
			`rules[0]: "unique": expected boolean, got string`},
		{"field not string", map[string]any{"input": 1, "rules": []any{dvr("type", "required", "field", 1)}}, tools.TypeValidation,
			`rules[0]: "field": expected string, got number`},
		{"rules too deep", map[string]any{"input": 1, "rules": []any{deep}}, tools.TypeValidation, "rules nest deeper than 64 levels"},
		{"too many rules", map[string]any{"input": 1, "rules": manyRules}, tools.TypeTooLarge, "more than 10000 rules"},
		{"too much work", map[string]any{"input": bigArray, "rules": []any{dvr("type", "array", "items", []any{"integer", "number", dvr("type", "range", "min", 0), "required", "integer"})}},
			tools.TypeTooLarge, "validation needs more than 1000000 checks"},
		{"input too deep", map[string]any{"input": []any{deepInput, 2}, "rules": []any{dvr("type", "array", "unique", true)}}, tools.TypeValidation,
			`parameter "input": nests deeper than 64 levels`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, dv, c.params, c.want)
			if !strings.Contains(msg, c.msg) {
				t.Fatalf("message %q does not contain %q", msg, c.msg)
			}
		})
	}
}

func TestDataValidationCancelled(t *testing.T) {
	dv := data.Validation()
	items := make([]any, 5000)
	for i := range items {
		items[i] = i
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tools.Call(ctx, dv, map[string]any{"input": items, "rules": []any{dvr("type", "array", "items", "integer")}})
	if !errors.Is(err, context.Canceled) || tools.TypeOf(err) != tools.TypeCancelled {
		t.Fatalf("err = %v (%s)", err, tools.TypeOf(err))
	}
}

func BenchmarkDataValidation(b *testing.B) {
	dv := data.Validation()
	params := map[string]any{
		"input": map[string]any{"name": "Ada", "age": 36, "email": "ada@example.com", "tags": []any{"math", "code"}},
		"rules": []any{
			dvr("type", "object", "required", []any{"name", "email"}, "properties", map[string]any{
				"name": []any{"string", dvr("type", "length", "min", 1, "max", 100)},
				"tags": dvr("type", "array", "unique", true, "items", "string"),
			}),
			dvr("field", "age", "type", "range", "min", 0, "max", 150),
			dvr("field", "email", "type", "email"),
			dvr("field", "name", "type", "pattern", "pattern", "^[A-Z][a-z]+$"),
		},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, dv, params); err != nil {
			b.Fatal(err)
		}
	}
}
