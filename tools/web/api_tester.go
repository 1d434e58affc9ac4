package web

import . "spellhost/tools"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"spellhost/tools/perm"
)

// api-tester limits.
const (
	apitMaxPaths      = 100 // json_path_equals and header_equals entries, each
	apitMaxPathLen    = 1024
	apitMaxPathSteps  = 64
	apitPreviewBytes  = 512
	apitMaxEqualDepth = 64
)

var apitExpectationKeys = []string{"status", "max_duration_ms", "body_contains", "json_path_equals", "header_equals"}

func apiTesterSpec() Spec {
	return Spec{
		Name:     "api-tester",
		Category: "data",
		Description: "Calls an HTTP endpoint once and checks the reply against expectations. Failed expectations are " +
			"data, not errors: each becomes an assertion with passed false and the result's passed is false (this is a " +
			"tester). Network failures are errors: a refused address is permission_denied, an unreachable host " +
			"execution_error, a timeout timeout. Only http and https; every connection, redirects included, must be " +
			"allowed by --allow-net (without the flag, loopback only). " + hxBodyLimitDoc + "; a larger body is too_large " +
			"(assertions on a cut body would mislead).",
		Params: []Param{
			{Name: "input", Type: String, Required: true, Description: hxURLDoc},
			{Name: "method", Type: String, Default: "GET", Enum: hxMethods, Description: "the HTTP method"},
			{Name: "headers", Type: Object, Description: hxHeadersDoc},
			{Name: "body", Type: Any, Description: hxBodyDoc},
			{Name: "auth", Type: Object, Description: hxAuthDoc},
			{Name: "timeout_ms", Type: Integer, Description: hxTimeoutDoc},
			{Name: "expectations", Type: Object, Description: "what the reply must satisfy, an object: status (a status " +
				"or a list; without it the status must be 2xx); max_duration_ms (number); body_contains (string); " +
				"json_path_equals ({path: value}, paths like \"a.b[0].c\", \"$.a\" or a[\"key.with.dots\"], values " +
				"compared as JSON, numbers by value); header_equals ({name: value}, names case-insensitive, repeated " +
				"headers joined by \", \"); at most 100 entries in each of the two objects"},
			{Name: "fail_on_mismatch", Type: Boolean, Default: false, Description: "false: failed assertions are " +
				"reported in the result (passed false); true: any failed assertion makes the call an execution_error " +
				"listing every failed assertion, for scripts that count a failing check as a failed call"},
		},
		Returns: "{request: {method, url}, response: {status_code, is_success (2xx), body_is_json, headers (lower-cased " +
			"names), body_size (bytes), body_preview (the first 512 bytes as text)}, timing: {duration_ms}, " +
			"assertions: [{name, passed, expected, actual, message (when failed)}] in the order status, " +
			"max_duration_ms, body_contains, json_path_equals (by path), header_equals (by name), passed (all assertions passed)}",
	}
}

// APITester returns the api-tester tool. It reaches the network through
// cfg.Perm's HTTP client; cfg.HTTPTimeout (30 s when unset) is the default
// timeout.
func APITester(cfg Config) Tool {
	ps, def := cfg.Perm, cfg.HTTPTimeout
	return New(apiTesterSpec(), func(ctx context.Context, p Params) (any, error) {
		return apitRun(ctx, ps, def, p)
	})
}

// apitExpect is checked expectations.
type apitExpect struct {
	status      []int
	maxDuration float64
	hasDuration bool
	contains    string
	hasContains bool
	paths       []apitPathCheck
	headers     []apitHeaderCheck
}

type apitPathCheck struct {
	path  string
	steps []apitStep
	want  any
}

type apitHeaderCheck struct {
	name string // canonical
	want string
}

// apitStep is one step of a JSON path: a key, or an index when key is "".
type apitStep struct {
	key   string
	index int
	isKey bool
}

func apitRun(ctx context.Context, ps *perm.Set, def time.Duration, p Params) (any, error) {
	method := p.String("method")
	r, err := hxNewRequest(method, "input", p.String("input"), "spellhost-api-tester/1")
	if err != nil {
		return nil, err
	}
	if err := r.setHeaders("headers", p.Map("headers")); err != nil {
		return nil, err
	}
	body, has := p.Get("body")
	if err := r.setBody("body", body, has); err != nil {
		return nil, err
	}
	if err := r.setAuth("auth", p.Map("auth")); err != nil {
		return nil, err
	}
	exp, err := apitExpectations(p.Map("expectations"))
	if err != nil {
		return nil, err
	}
	pol := hxPolicy{attempts: 1}
	if pol.timeout, err = hxTimeout(p, def); err != nil {
		return nil, err
	}
	if ps != nil {
		pol.limit = ps.Limits().MaxResponseBytes
	}
	rep, err := hxExchange(ctx, ps, r, pol)
	if err != nil {
		return nil, err
	}

	success := rep.status >= 200 && rep.status <= 299
	var parsed any
	isJSON := false
	if len(rep.body) > 0 {
		parsed, isJSON = hxParseJSON(rep.body)
	}
	durMS := hxMS(rep.duration)
	asserts := make([]any, 0, 2+len(exp.paths)+len(exp.headers))
	allPassed := true
	add := func(name string, passed bool, expected, actual any, msg string) {
		a := map[string]any{"name": name, "passed": passed, "expected": expected, "actual": actual}
		if !passed {
			a["message"] = msg
			allPassed = false
		}
		asserts = append(asserts, a)
	}

	if exp.status == nil {
		add("status", success, "2xx", rep.status, "status "+strconv.Itoa(rep.status)+" is not 2xx")
	} else {
		var want any = hxIntList(exp.status)
		wantText := fmt.Sprint(exp.status)
		if len(exp.status) == 1 {
			want, wantText = exp.status[0], strconv.Itoa(exp.status[0])
		}
		add("status", slices.Contains(exp.status, rep.status), want, rep.status,
			"status "+strconv.Itoa(rep.status)+", want "+wantText)
	}
	if exp.hasDuration {
		add("max_duration_ms", durMS <= exp.maxDuration, exp.maxDuration, durMS,
			fmt.Sprintf("took %.3f ms, over the %v ms allowed", durMS, exp.maxDuration))
	}
	if exp.hasContains {
		ok := bytes.Contains(rep.body, []byte(exp.contains))
		add("body_contains", ok, exp.contains, ok, "the body does not contain "+apitQuote(exp.contains))
	}
	for _, c := range exp.paths {
		name := "json_path_equals[" + c.path + "]"
		if !isJSON {
			add(name, false, c.want, nil, "the body is not JSON")
			continue
		}
		got, found := apitLookup(parsed, c.steps)
		if !found {
			add(name, false, c.want, nil, "path "+c.path+" not found in the body")
			continue
		}
		add(name, apitEqual(c.want, got, 0), c.want, got,
			"at "+c.path+" got "+apitShow(got)+", want "+apitShow(c.want))
	}
	for _, c := range exp.headers {
		lc := strings.ToLower(c.name)
		name := "header_equals[" + lc + "]"
		vs, found := rep.header[c.name]
		if !found {
			add(name, false, c.want, nil, "header "+lc+" is absent")
			continue
		}
		got := strings.Join(vs, ", ")
		add(name, got == c.want, c.want, got, "header "+lc+" is "+apitQuote(got)+", want "+apitQuote(c.want))
	}

	if !allPassed && p.Bool("fail_on_mismatch") {
		var failed []string
		for _, a := range asserts {
			if m := a.(map[string]any); m["passed"] == false {
				failed = append(failed, m["name"].(string)+": "+m["message"].(string))
			}
		}
		return nil, Failed("%s: status %d: %d of %d assertions failed: %s",
			r.what(), rep.status, len(failed), len(asserts), strings.Join(failed, "; "))
	}
	preview := rep.body
	if len(preview) > apitPreviewBytes {
		preview = hxTrimSplitRune(preview[:apitPreviewBytes])
	}
	return map[string]any{
		"request": map[string]any{"method": method, "url": r.url.Redacted()},
		"response": map[string]any{
			"status_code":  rep.status,
			"is_success":   success,
			"body_is_json": isJSON,
			"headers":      hxHeaderMap(rep.header),
			"body_size":    len(rep.body),
			"body_preview": strings.ToValidUTF8(string(preview), "\uFFFD"),
		},
		"timing":     map[string]any{"duration_ms": durMS},
		"assertions": asserts,
		"passed":     allPassed,
	}, nil
}

// apitExpectations checks the expectations parameter.
func apitExpectations(m map[string]any) (*apitExpect, error) {
	const param = "expectations"
	e := &apitExpect{}
	if len(m) == 0 {
		return e, nil
	}
	if err := hxKeys(param, m, apitExpectationKeys...); err != nil {
		return nil, err
	}
	var err error
	if v, ok := m["status"]; ok && v != nil {
		if e.status, err = hxStatuses(`parameter "expectations": status`, v); err != nil {
			return nil, err
		}
	}
	if v, ok := m["max_duration_ms"]; ok && v != nil {
		f, ok := ToFloat(v)
		if !ok || f < 0 || f != f {
			return nil, Invalid("parameter %q: max_duration_ms: expected a non-negative number, got %v", param, v)
		}
		e.maxDuration, e.hasDuration = f, true
	}
	if v, ok := m["body_contains"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, Invalid("parameter %q: body_contains: expected string, got %s", param, KindOf(v))
		}
		e.contains, e.hasContains = s, true
	}
	if v, ok := m["json_path_equals"]; ok && v != nil {
		pm, ok := apitObject(v)
		if !ok {
			return nil, Invalid("parameter %q: json_path_equals: expected object {path: value}, got %s", param, KindOf(v))
		}
		if len(pm) > apitMaxPaths {
			return nil, Errorf(TypeTooLarge, "parameter %q: json_path_equals: %d paths exceed the limit of %d", param, len(pm), apitMaxPaths)
		}
		for path, want := range pm {
			steps, err := apitParsePath(path)
			if err != nil {
				return nil, Invalid("parameter %q: json_path_equals: path %q: %v", param, path, err)
			}
			e.paths = append(e.paths, apitPathCheck{path: path, steps: steps, want: want})
		}
		slices.SortFunc(e.paths, func(a, b apitPathCheck) int { return strings.Compare(a.path, b.path) })
	}
	if v, ok := m["header_equals"]; ok && v != nil {
		hm, ok := apitObject(v)
		if !ok {
			return nil, Invalid("parameter %q: header_equals: expected object {name: value}, got %s", param, KindOf(v))
		}
		if len(hm) > apitMaxPaths {
			return nil, Errorf(TypeTooLarge, "parameter %q: header_equals: %d headers exceed the limit of %d", param, len(hm), apitMaxPaths)
		}
		for name, want := range hm {
			if !hxValidHeaderName(name) {
				return nil, Invalid("parameter %q: header_equals: %q is not a valid header name", param, name)
			}
			s, ok := hxScalarString(want)
			if !ok {
				return nil, Invalid("parameter %q: header_equals: header %q: expected string, got %s", param, name, KindOf(want))
			}
			e.headers = append(e.headers, apitHeaderCheck{name: http.CanonicalHeaderKey(name), want: s})
		}
		slices.SortFunc(e.headers, func(a, b apitHeaderCheck) int { return strings.Compare(a.name, b.name) })
	}
	return e, nil
}

func apitObject(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case []any:
		return nil, len(x) == 0 // an empty Lua table
	}
	return nil, false
}

// apitParsePath parses a path such as "a.b[0].c", "$.a", "$[0]" or
// a["key.with.dots"].
func apitParsePath(path string) ([]apitStep, error) {
	if len(path) > apitMaxPathLen {
		return nil, errors.New("longer than 1024 bytes")
	}
	s := path
	if strings.HasPrefix(s, "$") {
		s = s[1:]
		s = strings.TrimPrefix(s, ".")
	}
	var steps []apitStep
	for i := 0; i < len(s); {
		if len(steps) >= apitMaxPathSteps {
			return nil, errors.New("more than 64 steps")
		}
		switch s[i] {
		case '[':
			end := i + 1
			if end < len(s) && (s[end] == '"' || s[end] == '\'') {
				q := s[end]
				j := end + 1
				var b strings.Builder
				for j < len(s) && s[j] != q {
					if s[j] == '\\' && j+1 < len(s) {
						j++
					}
					b.WriteByte(s[j])
					j++
				}
				if j+1 >= len(s) || s[j] != q || s[j+1] != ']' {
					return nil, errors.New("unterminated quoted key at offset " + strconv.Itoa(i))
				}
				steps = append(steps, apitStep{key: b.String(), isKey: true})
				i = j + 2
			} else {
				j := strings.IndexByte(s[end:], ']')
				if j < 0 {
					return nil, errors.New("missing ']' at offset " + strconv.Itoa(i))
				}
				n, err := strconv.Atoi(s[end : end+j])
				if err != nil || n < 0 {
					return nil, errors.New("index " + strconv.Quote(s[end:end+j]) + " is not a non-negative integer")
				}
				steps = append(steps, apitStep{index: n})
				i = end + j + 1
			}
			if i < len(s) && s[i] != '.' && s[i] != '[' {
				return nil, errors.New("expected '.' or '[' after ']' at offset " + strconv.Itoa(i))
			}
			if i < len(s) && s[i] == '.' {
				i++
				if i == len(s) {
					return nil, errors.New("ends with '.'")
				}
			}
		case '.':
			return nil, errors.New("empty key at offset " + strconv.Itoa(i))
		default:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			steps = append(steps, apitStep{key: s[i:j], isKey: true})
			i = j
			if i < len(s) && s[i] == '.' {
				i++
				if i == len(s) {
					return nil, errors.New("ends with '.'")
				}
			}
		}
	}
	if len(steps) == 0 && path != "$" {
		return nil, errors.New("empty path")
	}
	return steps, nil
}

// apitLookup follows steps through a parsed JSON value.
func apitLookup(v any, steps []apitStep) (any, bool) {
	for _, s := range steps {
		if s.isKey {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[s.key]; !ok {
				return nil, false
			}
			continue
		}
		l, ok := v.([]any)
		if !ok || s.index >= len(l) {
			return nil, false
		}
		v = l[s.index]
	}
	return v, true
}

// apitEqual compares an expected value with a parsed JSON value: numbers
// by value, objects by keys, arrays in order. An empty Lua table matches an
// empty object or array.
func apitEqual(want, got any, depth int) bool {
	if depth > apitMaxEqualDepth {
		return false
	}
	if wf, ok := ToFloat(want); ok {
		gf, ok := ToFloat(got)
		return ok && wf == gf
	}
	switch w := want.(type) {
	case nil:
		return got == nil
	case string:
		g, ok := got.(string)
		return ok && g == w
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	case map[string]any:
		if len(w) == 0 {
			return apitEmpty(got)
		}
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !apitEqual(wv, gv, depth+1) {
				return false
			}
		}
		return true
	case []any:
		if len(w) == 0 {
			return apitEmpty(got)
		}
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !apitEqual(w[i], g[i], depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

func apitEmpty(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// apitShow renders a value for an assertion message, cut to 100 bytes.
func apitShow(v any) string {
	b, err := hxJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return apitCut(string(b))
}

// apitQuote quotes s for an assertion message, cut to 100 bytes.
func apitQuote(s string) string { return strconv.Quote(apitCut(s)) }

func apitCut(s string) string {
	const n = 100
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
