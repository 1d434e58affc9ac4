package web

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

	"spellhost/tools"
	"spellhost/tools/perm"
)

// api-tester limits.
const (
	maxPaths      = 100 // json_path_equals and header_equals entries, each
	maxPathLen    = 1024
	maxPathSteps  = 64
	previewBytes  = 512
	maxEqualDepth = 64
)

var expectationKeys = []string{"status", "max_duration_ms", "body_contains", "json_path_equals", "header_equals"}

func apiTesterSpec() tools.Spec {
	return tools.Spec{
		Name:     "api-tester",
		Category: "data",
		Description: "Calls an HTTP endpoint once and checks the reply against expectations. Failed expectations are " +
			"data, not errors: each becomes an assertion with passed false and the result's passed is false (this is a " +
			"tester). Network failures are errors: a refused address is permission_denied, an unreachable host " +
			"execution_error, a timeout timeout. Only http and https; every connection, redirects included, must be " +
			"allowed by --allow-net (without the flag, loopback only). " + bodyLimitDoc + "; a larger body is too_large " +
			"(assertions on a cut body would mislead).",
		Params: []tools.Param{
			{Name: "input", Type: tools.String, Required: true, Description: urlDoc},
			{Name: "method", Type: tools.String, Default: "GET", Enum: methods, Description: "the HTTP method"},
			{Name: "headers", Type: tools.Object, Description: headersDoc},
			{Name: "body", Type: tools.Any, Description: bodyDoc},
			{Name: "auth", Type: tools.Object, Description: authDoc},
			timeoutParam("one attempt (connecting, sending and reading the whole reply)"),
			{Name: "expectations", Type: tools.Object, Description: "what the reply must satisfy, an object: status (a status " +
				"or a list; without it the status must be 2xx); max_duration_ms (number); body_contains (string); " +
				"json_path_equals ({path: value}, paths like \"a.b[0].c\", \"$.a\" or a[\"key.with.dots\"], values " +
				"compared as JSON, numbers by value); header_equals ({name: value}, names case-insensitive, repeated " +
				"headers joined by \", \"); at most 100 entries in each of the two objects"},
			{Name: "fail_on_mismatch", Type: tools.Boolean, Default: false, Description: "false: failed assertions are " +
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
func APITester(cfg Config) tools.Tool {
	ps, def := cfg.Perm, cfg.HTTPTimeout
	return tools.New(apiTesterSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runAPITest(ctx, ps, def, p)
	})
}

// expectation is checked expectations.
type expectation struct {
	status      []int
	maxDuration float64
	hasDuration bool
	contains    string
	hasContains bool
	paths       []pathCheck
	headers     []headerCheck
}

type pathCheck struct {
	path  string
	steps []pathStep
	want  any
}

type headerCheck struct {
	name string // canonical
	want string
}

// pathStep is one step of a JSON path: a key, or an index when key is "".
type pathStep struct {
	key   string
	index int
	isKey bool
}

func runAPITest(ctx context.Context, ps *perm.Set, def time.Duration, p tools.Params) (any, error) {
	method := p.String("method")
	r, err := newRequest(method, "input", p.String("input"))
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
	exp, err := expectations(p.Map("expectations"))
	if err != nil {
		return nil, err
	}
	pol := policy{attempts: 1}
	if pol.timeout, err = parseTimeout(p, def); err != nil {
		return nil, err
	}
	if ps != nil {
		pol.limit = ps.Limits().MaxResponseBytes
	}
	rep, err := exchange(ctx, ps, r, pol)
	if err != nil {
		return nil, err
	}

	success := rep.status >= 200 && rep.status <= 299
	var parsed any
	isJSON := false
	if len(rep.body) > 0 {
		parsed, isJSON = parseJSON(rep.body)
	}
	durMS := millis(rep.duration)
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
		var want any = intList(exp.status)
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
		add("body_contains", ok, exp.contains, ok, "the body does not contain "+quote(exp.contains))
	}
	for _, c := range exp.paths {
		name := "json_path_equals[" + c.path + "]"
		if !isJSON {
			add(name, false, c.want, nil, "the body is not JSON")
			continue
		}
		got, found := lookup(parsed, c.steps)
		if !found {
			add(name, false, c.want, nil, "path "+c.path+" not found in the body")
			continue
		}
		add(name, equal(c.want, got, 0), c.want, got,
			"at "+c.path+" got "+show(got)+", want "+show(c.want))
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
		add(name, got == c.want, c.want, got, "header "+lc+" is "+quote(got)+", want "+quote(c.want))
	}

	if !allPassed && p.Bool("fail_on_mismatch") {
		var failed []string
		for _, a := range asserts {
			if m := a.(map[string]any); m["passed"] == false {
				failed = append(failed, m["name"].(string)+": "+m["message"].(string))
			}
		}
		return nil, tools.Failed("%s: status %d: %d of %d assertions failed: %s",
			r.what(), rep.status, len(failed), len(asserts), strings.Join(failed, "; "))
	}
	preview := rep.body
	if len(preview) > previewBytes {
		preview = trimSplitRune(preview[:previewBytes])
	}
	return map[string]any{
		"request": map[string]any{"method": method, "url": r.url.Redacted()},
		"response": map[string]any{
			"status_code":  rep.status,
			"is_success":   success,
			"body_is_json": isJSON,
			"headers":      headerMap(rep.header),
			"body_size":    len(rep.body),
			"body_preview": strings.ToValidUTF8(string(preview), "\uFFFD"),
		},
		"timing":     map[string]any{"duration_ms": durMS},
		"assertions": asserts,
		"passed":     allPassed,
	}, nil
}

// expectations checks the expectations parameter.
func expectations(m map[string]any) (*expectation, error) {
	const param = "expectations"
	e := &expectation{}
	if len(m) == 0 {
		return e, nil
	}
	if err := checkKeys(param, m, expectationKeys...); err != nil {
		return nil, err
	}
	var err error
	if v, ok := m["status"]; ok && v != nil {
		if e.status, err = statuses(`parameter "expectations": status`, v); err != nil {
			return nil, err
		}
	}
	if v, ok := m["max_duration_ms"]; ok && v != nil {
		f, ok := tools.ToFloat(v)
		if !ok || f < 0 || f != f {
			return nil, tools.Invalid("parameter %q: max_duration_ms: expected a non-negative number, got %v", param, v)
		}
		e.maxDuration, e.hasDuration = f, true
	}
	if v, ok := m["body_contains"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, tools.Invalid("parameter %q: body_contains: expected string, got %s", param, tools.KindOf(v))
		}
		e.contains, e.hasContains = s, true
	}
	if v, ok := m["json_path_equals"]; ok && v != nil {
		pm, ok := asObject(v)
		if !ok {
			return nil, tools.Invalid("parameter %q: json_path_equals: expected object {path: value}, got %s", param, tools.KindOf(v))
		}
		if len(pm) > maxPaths {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: json_path_equals: %d paths exceed the limit of %d", param, len(pm), maxPaths)
		}
		for path, want := range pm {
			steps, err := parsePath(path)
			if err != nil {
				return nil, tools.Invalid("parameter %q: json_path_equals: path %q: %v", param, path, err)
			}
			e.paths = append(e.paths, pathCheck{path: path, steps: steps, want: want})
		}
		slices.SortFunc(e.paths, func(a, b pathCheck) int { return strings.Compare(a.path, b.path) })
	}
	if v, ok := m["header_equals"]; ok && v != nil {
		hm, ok := asObject(v)
		if !ok {
			return nil, tools.Invalid("parameter %q: header_equals: expected object {name: value}, got %s", param, tools.KindOf(v))
		}
		if len(hm) > maxPaths {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: header_equals: %d headers exceed the limit of %d", param, len(hm), maxPaths)
		}
		for name, want := range hm {
			if !validHeaderName(name) {
				return nil, tools.Invalid("parameter %q: header_equals: %q is not a valid header name", param, name)
			}
			s, ok := scalarString(want)
			if !ok {
				return nil, tools.Invalid("parameter %q: header_equals: header %q: expected string, got %s", param, name, tools.KindOf(want))
			}
			e.headers = append(e.headers, headerCheck{name: http.CanonicalHeaderKey(name), want: s})
		}
		slices.SortFunc(e.headers, func(a, b headerCheck) int { return strings.Compare(a.name, b.name) })
	}
	return e, nil
}

func asObject(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case []any:
		return nil, len(x) == 0 // an empty Lua table
	}
	return nil, false
}

// parsePath parses a path such as "a.b[0].c", "$.a", "$[0]" or
// a["key.with.dots"].
func parsePath(path string) ([]pathStep, error) {
	if len(path) > maxPathLen {
		return nil, errors.New("longer than 1024 bytes")
	}
	s := path
	if strings.HasPrefix(s, "$") {
		s = s[1:]
		s = strings.TrimPrefix(s, ".")
	}
	var steps []pathStep
	for i := 0; i < len(s); {
		if len(steps) >= maxPathSteps {
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
				steps = append(steps, pathStep{key: b.String(), isKey: true})
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
				steps = append(steps, pathStep{index: n})
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
			steps = append(steps, pathStep{key: s[i:j], isKey: true})
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

// lookup follows steps through a parsed JSON value.
func lookup(v any, steps []pathStep) (any, bool) {
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

// equal compares an expected value with a parsed JSON value: numbers
// by value, objects by keys, arrays in order. An empty Lua table matches an
// empty object or array.
func equal(want, got any, depth int) bool {
	if depth > maxEqualDepth {
		return false
	}
	if wf, ok := tools.ToFloat(want); ok {
		gf, ok := tools.ToFloat(got)
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
			return empty(got)
		}
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !equal(wv, gv, depth+1) {
				return false
			}
		}
		return true
	case []any:
		if len(w) == 0 {
			return empty(got)
		}
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !equal(w[i], g[i], depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

func empty(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// show renders a value for an assertion message, cut to 100 bytes.
func show(v any) string {
	b, err := encodeJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return cut(string(b))
}

// quote quotes s for an assertion message, cut to 100 bytes.
func quote(s string) string { return strconv.Quote(cut(s)) }

func cut(s string) string {
	const n = 100
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
