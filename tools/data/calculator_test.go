package data_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/data"
)

func TestCalculatorEvaluate(t *testing.T) {
	calc := data.Calculator()
	cases := map[string]float64{
		"1 + 2":                    3,
		"2 + 3 * 4":                14,
		"(2 + 3) * 4":              20,
		"2 ^ 3 ^ 2":                512, // right-associative
		"2 ** 10":                  1024,
		"-2 ^ 2":                   -4,
		"--3":                      3,
		"+4":                       4,
		"10 % 4":                   2,
		"7 / 2":                    3.5,
		"1e3 + 0.5":                1000.5,
		"0x1f":                     31,
		".5 * 4":                   2,
		"sqrt(16) + abs(-3)":       7,
		"max(1, 9, 3) - min(4, 2)": 7,
		"log(1000)":                3,
		"log(8, 2)":                3,
		"floor(2.7) + ceil(2.1) + round(2.5) + trunc(-2.7)": 6,
		"factorial(5)":    120,
		"pi * 0":          0,
		"sin(0) + cos(0)": 1,
		"hypot(3, 4)":     5,
		" 1\t+\n2 ":       3,
	}
	for in, want := range cases {
		res := call(t, calc, map[string]any{"input": in})
		if got := res["result"].(float64); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", in, got, want)
		}
	}
	res := call(t, calc, map[string]any{"input": "x * y + rate", "variables": map[string]any{"x": 2.0, "y": int64(3), "rate": 0.5}})
	if res["result"] != 6.5 || res["result_type"] != "float" || res["input"] != "x * y + rate" {
		t.Fatalf("variables: %v", res)
	}
	if res := call(t, calc, map[string]any{"input": "6*7"}); res["result_type"] != "integer" {
		t.Fatalf("result_type: %v", res)
	}
	// Variables shadow constants.
	if res := call(t, calc, map[string]any{"input": "e", "variables": map[string]any{"e": 1}}); res["result"] != 1.0 {
		t.Fatalf("shadowing: %v", res)
	}
}

func TestCalculatorErrors(t *testing.T) {
	calc := data.Calculator()
	cases := []struct {
		params map[string]any
		want   tools.ErrorType
		msg    string
	}{
		{map[string]any{}, tools.TypeValidation, `missing required parameter "input"`},
		{map[string]any{"input": 5}, tools.TypeValidation, `expected string, got number`},
		{map[string]any{"input": "1", "operation": "solve"}, tools.TypeValidation, `unknown value "solve"`},
		{map[string]any{"input": "1", "precision": 2}, tools.TypeValidation, `unknown parameter "precision"`},
		{map[string]any{"input": ""}, tools.TypeValidation, "expected a number, name or '(' at offset 0, found end of expression"},
		{map[string]any{"input": "1 +"}, tools.TypeValidation, "found end of expression"},
		{map[string]any{"input": "(1 + 2"}, tools.TypeValidation, "expected ')' at offset 6"},
		{map[string]any{"input": "1 2"}, tools.TypeValidation, "unexpected number 2 at offset 2"},
		{map[string]any{"input": "2 $ 3"}, tools.TypeValidation, "unexpected character '$' at offset 2"},
		{map[string]any{"input": "x + 1"}, tools.TypeValidation, `unknown name "x" at offset 0`},
		{map[string]any{"input": "foo(1)"}, tools.TypeValidation, `unknown function "foo"`},
		{map[string]any{"input": "sqrt(1, 2)"}, tools.TypeValidation, "sqrt takes 1 argument, got 2"},
		{map[string]any{"input": "max()"}, tools.TypeValidation, "max takes at least 1 arguments, got 0"},
		{map[string]any{"input": "1..2"}, tools.TypeValidation, `bad number "1..2"`},
		{map[string]any{"input": "0xZZ"}, tools.TypeValidation, "bad hexadecimal number"},
		{map[string]any{"input": "1/0"}, tools.TypeExecution, "division by zero"},
		{map[string]any{"input": "5 % 0"}, tools.TypeExecution, "modulo by zero"},
		{map[string]any{"input": "sqrt(-1)"}, tools.TypeExecution, "sqrt: argument is negative"},
		{map[string]any{"input": "ln(0)"}, tools.TypeExecution, "ln: argument must be positive"},
		{map[string]any{"input": "log(8, 1)"}, tools.TypeExecution, "base must be positive and not 1"},
		{map[string]any{"input": "factorial(2.5)"}, tools.TypeExecution, "integer from 0 to 170"},
		{map[string]any{"input": "10 ^ 400"}, tools.TypeExecution, "result is not a finite number"},
		{map[string]any{"input": strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300)}, tools.TypeValidation, "nests deeper than 200 levels"},
		{map[string]any{"input": strings.Repeat("-", 300) + "1"}, tools.TypeValidation, "nests deeper than 200 levels"},
		{map[string]any{"input": strings.Repeat("1+", 6000) + "1"}, tools.TypeTooLarge, "exceeds the 10000-byte limit"},
		{map[string]any{"input": "x", "variables": map[string]any{"x": "1"}}, tools.TypeValidation, `variable "x": expected number, got string`},
		{map[string]any{"input": "1", "variables": map[string]any{"2x": 1}}, tools.TypeValidation, `variable name "2x"`},
		{map[string]any{"input": "1", "variables": []any{1.0}}, tools.TypeValidation, `expected object, got array`},
		{map[string]any{"operation": "validate"}, tools.TypeValidation, `missing required parameter "input" for operation validate`},
	}
	for _, c := range cases {
		msg := callErr(t, calc, c.params, c.want)
		if !strings.Contains(msg, c.msg) {
			t.Errorf("%v: message %q lacks %q", c.params, msg, c.msg)
		}
	}
}

func TestCalculatorValidateAndFunctions(t *testing.T) {
	calc := data.Calculator()
	res := call(t, calc, map[string]any{"operation": "validate", "input": "1 +"})
	if res["valid"] != false || !strings.Contains(res["error"].(string), "end of expression") {
		t.Fatalf("validate bad: %v", res)
	}
	// Arithmetic faults are not syntax errors: 1/0 is a valid expression.
	res = call(t, calc, map[string]any{"operation": "validate", "input": "1/0"})
	if res["valid"] != true || res["error"] != nil {
		t.Fatalf("validate 1/0: %v", res)
	}
	res = call(t, calc, map[string]any{"operation": "functions"})
	fns := res["functions"].([]any)
	if len(fns) < 20 || fns[0].(map[string]any)["name"] != "abs" {
		t.Fatalf("functions: %v", fns)
	}
	if res["constants"].(map[string]any)["pi"] != math.Pi {
		t.Fatal("pi missing")
	}
}

// FuzzEvaluate checks that no input panics and that every failure is a
// classified error.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{"1+2", "(((1)))", "sqrt(2)^2", "max(1,2,3,4,5,6,7,8,9)", "-", "0x", "1e", "1e+", "pi(", ")("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := data.Evaluate(s, map[string]float64{"x": 1})
		if err != nil {
			switch tools.TypeOf(err) {
			case tools.TypeValidation, tools.TypeExecution, tools.TypeTooLarge:
			default:
				t.Fatalf("%q: unclassified error %v", s, err)
			}
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%q = %v without an error", s, v)
		}
	})
}

func BenchmarkCalculator(b *testing.B) {
	exprs := make([]string, 256)
	for i := range exprs {
		exprs[i] = strconv.Itoa(i) + " + " + strconv.Itoa(i+1)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := data.Evaluate(exprs[i&255], nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
