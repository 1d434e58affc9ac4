package data

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"spellhost/tools"
)

// Calculator limits.
const (
	maxExprLen   = 10_000 // bytes of expression
	maxExprDepth = 200    // nesting of parentheses, calls and unary operators
)

func calculatorSpec() tools.Spec {
	return tools.Spec{
		Name:     "calculator",
		Category: "utility",
		Description: "Evaluates arithmetic expressions: + - * / % ^, parentheses, " +
			"functions such as sqrt, sin, log and max, constants pi and e, and named variables.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Default: "evaluate", Enum: []string{"evaluate", "validate", "functions"},
				Description: "evaluate computes the value; validate checks the syntax and names without failing; functions lists the functions and constants"},
			{Name: "input", Type: tools.String, Description: "the expression, e.g. \"2 * (3 + x)\"; required for evaluate and validate"},
			{Name: "variables", Type: tools.Object, Description: "numeric values for names used in the expression, e.g. {\"x\": 4}"},
		},
		Returns: "evaluate: {input, result, result_type (integer|float), variables (when given)}; " +
			"validate: {input, valid, error}; functions: {functions: [{name, arity, description}], constants: {name: value}}",
		Example: map[string]any{"input": "2 * (3 + x) ^ 2", "variables": map[string]any{"x": 1}},
		Inline:  true,
	}
}

// Calculator returns the calculator tool.
func Calculator() tools.Tool { return tools.New(calculatorSpec(), calculate) }

func calculate(_ context.Context, p tools.Params) (any, error) {
	op := p.String("operation")
	if op == "functions" {
		return functionList(), nil
	}
	if !p.Has("input") {
		return nil, tools.Invalid("missing required parameter %q for operation %s", "input", op)
	}
	input := p.String("input")
	vars, err := variables(p.Map("variables"))
	if err != nil {
		return nil, err
	}
	v, err := Evaluate(input, vars)
	if op == "validate" {
		res := map[string]any{"input": input, "valid": err == nil || tools.TypeOf(err) == tools.TypeExecution, "error": nil}
		if err != nil && tools.TypeOf(err) != tools.TypeExecution {
			res["error"] = err.Error()
		}
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	resultType := "float"
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		resultType = "integer"
	}
	res := map[string]any{"input": input, "result": v, "result_type": resultType}
	if vars := p.Map("variables"); vars != nil {
		res["variables"] = vars
	}
	return res, nil
}

func variables(m map[string]any) (map[string]float64, error) {
	if len(m) == 0 {
		return nil, nil
	}
	vars := make(map[string]float64, len(m))
	for name, v := range m {
		if !isIdent(name) {
			return nil, tools.Invalid("variable name %q: want letters, digits and '_', not starting with a digit", name)
		}
		f, ok := tools.ToFloat(v)
		if !ok {
			return nil, tools.Invalid("variable %q: expected number, got %s", name, tools.KindOf(v))
		}
		vars[name] = f
	}
	return vars, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Evaluate computes an arithmetic expression. Syntax errors and unknown
// names are validation errors; arithmetic faults (division by zero, a
// result that is not a finite number) are execution errors.
//
// Grammar, loosest binding first: + and -; *, / and %; unary - and +;
// ^ (or **, right-associative, binding tighter than unary minus, so -2^2
// is -4); numbers (1, 2.5, 1e3, 0x1f), names, calls f(a, b), (expr).
func Evaluate(expr string, vars map[string]float64) (float64, error) {
	if len(expr) > maxExprLen {
		return 0, tools.Errorf(tools.TypeTooLarge, "expression of %d bytes exceeds the %d-byte limit", len(expr), maxExprLen)
	}
	e := evaluator{src: expr, vars: vars}
	e.next()
	v := e.binary(0)
	if e.err == nil && e.tok != tokEOF {
		e.fail("unexpected %s at offset %d", e.describe(), e.tokPos)
	}
	if e.err != nil {
		return 0, e.err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, tools.Failed("result is not a finite number")
	}
	return v, nil
}

type token int

const (
	tokEOF token = iota
	tokNum
	tokName
	tokOp // one of + - * / % ^ ( ) ,
)

type evaluator struct {
	src    string
	pos    int
	tok    token
	tokPos int
	op     byte
	num    float64
	name   string
	depth  int
	vars   map[string]float64
	err    error
}

func (e *evaluator) fail(format string, args ...any) {
	if e.err == nil {
		e.err = tools.Invalid(format, args...)
	}
	e.tok = tokEOF
}

func (e *evaluator) failExec(format string, args ...any) {
	if e.err == nil {
		e.err = tools.Failed(format, args...)
	}
	e.tok = tokEOF
}

func (e *evaluator) describe() string {
	switch e.tok {
	case tokEOF:
		return "end of expression"
	case tokNum:
		return fmt.Sprintf("number %v", e.num)
	case tokName:
		return fmt.Sprintf("name %q", e.name)
	}
	return fmt.Sprintf("%q", e.op)
}

// next reads the next token.
func (e *evaluator) next() {
	for e.pos < len(e.src) && (e.src[e.pos] == ' ' || e.src[e.pos] == '\t' || e.src[e.pos] == '\n' || e.src[e.pos] == '\r') {
		e.pos++
	}
	e.tokPos = e.pos
	if e.pos >= len(e.src) {
		e.tok = tokEOF
		return
	}
	c := e.src[e.pos]
	switch {
	case c >= '0' && c <= '9' || c == '.':
		e.number()
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		start := e.pos
		for e.pos < len(e.src) && isIdentByte(e.src[e.pos]) {
			e.pos++
		}
		e.tok, e.name = tokName, e.src[start:e.pos]
	case strings.IndexByte("+-*/%^(),", c) >= 0:
		e.pos++
		if c == '*' && e.pos < len(e.src) && e.src[e.pos] == '*' {
			e.pos++
			c = '^'
		}
		e.tok, e.op = tokOp, c
	default:
		e.fail("unexpected character %q at offset %d", rune(c), e.pos)
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (e *evaluator) number() {
	start := e.pos
	s := e.src
	if strings.HasPrefix(s[start:], "0x") || strings.HasPrefix(s[start:], "0X") {
		e.pos += 2
		for e.pos < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[e.pos]) >= 0 {
			e.pos++
		}
		n, err := strconv.ParseUint(s[start+2:e.pos], 16, 64)
		if err != nil {
			e.fail("bad hexadecimal number %q at offset %d", s[start:e.pos], start)
			return
		}
		e.tok, e.num = tokNum, float64(n)
		return
	}
	for e.pos < len(s) && (s[e.pos] >= '0' && s[e.pos] <= '9' || s[e.pos] == '.') {
		e.pos++
	}
	if e.pos < len(s) && (s[e.pos] == 'e' || s[e.pos] == 'E') {
		j := e.pos + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			e.pos = j
		}
	}
	n, err := strconv.ParseFloat(s[start:e.pos], 64)
	if err != nil {
		e.fail("bad number %q at offset %d", s[start:e.pos], start)
		return
	}
	e.tok, e.num = tokNum, n
}

// Binding powers.
func infix(op byte) (left, right int) {
	switch op {
	case '+', '-':
		return 10, 11
	case '*', '/', '%':
		return 20, 21
	case '^':
		return 40, 40 // right-associative
	}
	return -1, -1
}

const unaryPower = 30

func (e *evaluator) binary(min int) float64 {
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > maxExprDepth {
		e.fail("expression nests deeper than %d levels", maxExprDepth)
		return 0
	}
	lhs := e.unary()
	for e.tok == tokOp {
		op := e.op
		l, r := infix(op)
		if l < min {
			break
		}
		e.next()
		rhs := e.binary(r)
		if e.err != nil {
			return 0
		}
		lhs = e.apply(op, lhs, rhs)
	}
	return lhs
}

func (e *evaluator) apply(op byte, a, b float64) float64 {
	switch op {
	case '+':
		return a + b
	case '-':
		return a - b
	case '*':
		return a * b
	case '/':
		if b == 0 {
			e.failExec("division by zero")
			return 0
		}
		return a / b
	case '%':
		if b == 0 {
			e.failExec("modulo by zero")
			return 0
		}
		return math.Mod(a, b)
	case '^':
		return math.Pow(a, b)
	}
	return 0
}

func (e *evaluator) unary() float64 {
	if e.tok == tokOp && (e.op == '-' || e.op == '+') {
		neg := e.op == '-'
		e.next()
		v := e.binary(unaryPower)
		if neg {
			return -v
		}
		return v
	}
	return e.primary()
}

func (e *evaluator) primary() float64 {
	switch e.tok {
	case tokNum:
		v := e.num
		e.next()
		return v
	case tokName:
		name, at := e.name, e.tokPos
		e.next()
		if e.tok == tokOp && e.op == '(' {
			return e.call(name, at)
		}
		if v, ok := e.vars[name]; ok {
			return v
		}
		if v, ok := constants[name]; ok {
			return v
		}
		e.fail("unknown name %q at offset %d", name, at)
		return 0
	case tokOp:
		if e.op == '(' {
			e.next()
			v := e.binary(0)
			if e.tok != tokOp || e.op != ')' {
				e.fail("expected ')' at offset %d, found %s", e.tokPos, e.describe())
				return 0
			}
			e.next()
			return v
		}
	}
	if e.err == nil {
		e.fail("expected a number, name or '(' at offset %d, found %s", e.tokPos, e.describe())
	}
	return 0
}

func (e *evaluator) call(name string, at int) float64 {
	fn, ok := functions[name]
	if !ok {
		e.fail("unknown function %q at offset %d", name, at)
		return 0
	}
	e.next() // (
	var args [8]float64
	n := 0
	if !(e.tok == tokOp && e.op == ')') {
		for {
			v := e.binary(0)
			if e.err != nil {
				return 0
			}
			if n == len(args) {
				e.fail("%s: too many arguments", name)
				return 0
			}
			args[n] = v
			n++
			if e.tok == tokOp && e.op == ',' {
				e.next()
				continue
			}
			break
		}
	}
	if e.tok != tokOp || e.op != ')' {
		e.fail("expected ')' or ',' in call to %s at offset %d, found %s", name, e.tokPos, e.describe())
		return 0
	}
	e.next()
	if n < fn.min || fn.max >= 0 && n > fn.max {
		e.fail("%s takes %s, got %d", name, fn.arity(), n)
		return 0
	}
	v, err := fn.fn(args[:n])
	if err != "" {
		e.failExec("%s: %s", name, err)
		return 0
	}
	return v
}

type calcFunc struct {
	min, max int // max < 0: variadic
	doc      string
	fn       func(a []float64) (float64, string)
}

func (f calcFunc) arity() string {
	switch {
	case f.max < 0:
		return fmt.Sprintf("at least %d arguments", f.min)
	case f.min == f.max && f.min == 1:
		return "1 argument"
	case f.min == f.max:
		return fmt.Sprintf("%d arguments", f.min)
	}
	return fmt.Sprintf("%d to %d arguments", f.min, f.max)
}

func unary(doc string, f func(float64) float64) calcFunc {
	return calcFunc{1, 1, doc, func(a []float64) (float64, string) { return f(a[0]), "" }}
}

func domain(doc, msg string, ok func(float64) bool, f func(float64) float64) calcFunc {
	return calcFunc{1, 1, doc, func(a []float64) (float64, string) {
		if !ok(a[0]) {
			return 0, msg
		}
		return f(a[0]), ""
	}}
}

func positive(x float64) bool { return x > 0 }

var functions = map[string]calcFunc{
	"abs":   unary("absolute value", math.Abs),
	"ceil":  unary("smallest integer not below x", math.Ceil),
	"floor": unary("largest integer not above x", math.Floor),
	"round": unary("nearest integer, halves away from zero", math.Round),
	"trunc": unary("integer part", math.Trunc),
	"sign": unary("-1, 0 or 1", func(x float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	}),
	"sqrt":  domain("square root", "argument is negative", func(x float64) bool { return x >= 0 }, math.Sqrt),
	"cbrt":  unary("cube root", math.Cbrt),
	"exp":   unary("e to the power x", math.Exp),
	"ln":    domain("natural logarithm", "argument must be positive", positive, math.Log),
	"log2":  domain("base-2 logarithm", "argument must be positive", positive, math.Log2),
	"log10": domain("base-10 logarithm", "argument must be positive", positive, math.Log10),
	"log": {1, 2, "log(x) is base 10; log(x, b) is base b", func(a []float64) (float64, string) {
		if a[0] <= 0 {
			return 0, "argument must be positive"
		}
		if len(a) == 1 {
			return math.Log10(a[0]), ""
		}
		if a[1] <= 0 || a[1] == 1 {
			return 0, "base must be positive and not 1"
		}
		return math.Log(a[0]) / math.Log(a[1]), ""
	}},
	"sin":   unary("sine (radians)", math.Sin),
	"cos":   unary("cosine (radians)", math.Cos),
	"tan":   unary("tangent (radians)", math.Tan),
	"asin":  domain("arcsine", "argument must be in [-1, 1]", func(x float64) bool { return x >= -1 && x <= 1 }, math.Asin),
	"acos":  domain("arccosine", "argument must be in [-1, 1]", func(x float64) bool { return x >= -1 && x <= 1 }, math.Acos),
	"atan":  unary("arctangent", math.Atan),
	"sinh":  unary("hyperbolic sine", math.Sinh),
	"cosh":  unary("hyperbolic cosine", math.Cosh),
	"tanh":  unary("hyperbolic tangent", math.Tanh),
	"atan2": {2, 2, "arctangent of y/x using the signs of both", func(a []float64) (float64, string) { return math.Atan2(a[0], a[1]), "" }},
	"pow":   {2, 2, "x to the power y", func(a []float64) (float64, string) { return math.Pow(a[0], a[1]), "" }},
	"hypot": {2, 2, "sqrt(x^2 + y^2)", func(a []float64) (float64, string) { return math.Hypot(a[0], a[1]), "" }},
	"min": {1, -1, "smallest argument", func(a []float64) (float64, string) {
		m := a[0]
		for _, x := range a[1:] {
			m = math.Min(m, x)
		}
		return m, ""
	}},
	"max": {1, -1, "largest argument", func(a []float64) (float64, string) {
		m := a[0]
		for _, x := range a[1:] {
			m = math.Max(m, x)
		}
		return m, ""
	}},
	"factorial": {1, 1, "n! for an integer n from 0 to 170", func(a []float64) (float64, string) {
		n := a[0]
		if n < 0 || n != math.Trunc(n) || n > 170 {
			return 0, "argument must be an integer from 0 to 170"
		}
		r := 1.0
		for i := 2.0; i <= n; i++ {
			r *= i
		}
		return r, ""
	}},
}

var constants = map[string]float64{"pi": math.Pi, "e": math.E, "tau": 2 * math.Pi, "phi": math.Phi}

func functionList() map[string]any {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	sort.Strings(names)
	fns := make([]any, len(names))
	for i, n := range names {
		f := functions[n]
		fns[i] = map[string]any{"name": n, "arity": f.arity(), "description": f.doc}
	}
	consts := map[string]any{}
	for n, v := range constants {
		consts[n] = v
	}
	return map[string]any{"functions": fns, "constants": consts}
}
