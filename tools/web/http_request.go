package web

import (
	"context"
	"fmt"
	"slices"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
)

func httpRequestSpec() tools.Spec {
	return tools.Spec{
		Name:     "http_request",
		Category: "api",
		Description: "Sends an HTTP request and returns the reply: status, headers and body. Any HTTP status is a " +
			"result (the status is data) unless expect_status is given. Only http and https; every connection, " +
			"redirects included, must be allowed by --allow-net (without the flag, loopback only), so a refused address is " +
			"permission_denied, an unreachable host execution_error with the cause, an attempt's timeout a timeout. " +
			"Optional retries with exponential backoff. " + bodyLimitDoc + "; a larger body is too_large.",
		Params: []tools.Param{
			{Name: "input", Type: tools.String, Required: true, Description: urlDoc},
			{Name: "method", Type: tools.String, Default: "GET", Enum: methods, Description: "the HTTP method"},
			{Name: "headers", Type: tools.Object, Description: headersDoc},
			{Name: "body", Type: tools.Any, Description: bodyDoc},
			{Name: "auth", Type: tools.Object, Description: authDoc},
			{Name: "retry", Type: tools.Object, Description: "retries, an object: max_attempts (total attempts, default 1 = no retry, " +
				"at most 10); backoff_ms (delay before the second attempt, doubled after each further one, capped at 5 s; " +
				"default 100, 0-5000); retry_on (list of statuses to retry, default [502, 503, 504]). Connection failures " +
				"and attempt timeouts are always retried; permission refusals and the caller's deadline never are. " +
				"No attempt starts when the caller's deadline would pass during the backoff"},
			timeoutParam("one attempt (connecting, sending and reading the whole reply)"),
			{Name: "expect_status", Type: tools.Any, Description: "a status or list of statuses; when given, a final status " +
				"outside it is an execution_error naming the status got and the statuses wanted"},
			{Name: "follow_redirects", Type: tools.Boolean, Default: true, Description: "follow up to 10 redirects " +
				"(each target checked against --allow-net); false returns the 3xx reply itself"},
		},
		Returns: "{status_code, headers ({lower-cased name: values joined by \", \"}), body (the body as a string; " +
			"base64 when it is not UTF-8), body_encoding (\"utf-8\" or \"base64\"), body_json (the parsed body, only when " +
			"the Content-Type is JSON and it parses), duration_ms (total, retries and backoff included), attempts, " +
			"final_url (after redirects, password hidden)}",
	}
}

// HTTPRequest returns the http_request tool. It reaches the network through
// cfg.Perm's HTTP client; cfg.HTTPTimeout (30 s when unset) is the default
// per-attempt timeout.
func HTTPRequest(cfg Config) tools.Tool {
	ps, def := cfg.Perm, cfg.HTTPTimeout
	return tools.New(httpRequestSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runHTTPRequest(ctx, ps, def, p)
	})
}

var defaultRetryOn = []int{502, 503, 504}

func runHTTPRequest(ctx context.Context, ps *perm.Set, def time.Duration, p tools.Params) (any, error) {
	r, err := newRequest(p.String("method"), "input", p.String("input"))
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
	pol := policy{attempts: 1, backoff: 100 * time.Millisecond}
	if pol.timeout, err = parseTimeout(p, def); err != nil {
		return nil, err
	}
	retryOn := defaultRetryOn
	if m := p.Map("retry"); len(m) > 0 {
		if err := checkKeys("retry", m, "max_attempts", "backoff_ms", "retry_on"); err != nil {
			return nil, err
		}
		if v, ok := m["max_attempts"]; ok && v != nil {
			n, ok := intIn(v, 1, maxAttempts)
			if !ok {
				return nil, tools.Invalid("parameter %q: max_attempts %v is not an integer in 1-%d", "retry", v, maxAttempts)
			}
			pol.attempts = n
		}
		if v, ok := m["backoff_ms"]; ok && v != nil {
			n, ok := intIn(v, 0, maxBackoffMS)
			if !ok {
				return nil, tools.Invalid("parameter %q: backoff_ms %v is not an integer in 0-%d", "retry", v, maxBackoffMS)
			}
			pol.backoff = time.Duration(n) * time.Millisecond
		}
		if v, ok := m["retry_on"]; ok && v != nil {
			if retryOn, err = statuses(`parameter "retry": retry_on`, v); err != nil {
				return nil, err
			}
		}
	}
	pol.retryStatus = func(s int) bool { return slices.Contains(retryOn, s) }
	var expect []int
	if v, ok := p.Get("expect_status"); ok {
		if expect, err = statuses(`parameter "expect_status"`, v); err != nil {
			return nil, err
		}
	}
	if !p.Bool("follow_redirects") {
		pol.redirects = noFollow
	}
	if ps != nil {
		pol.limit = ps.Limits().MaxResponseBytes
	}

	rep, err := exchange(ctx, ps, r, pol)
	if err != nil {
		return nil, err
	}
	if expect != nil && !slices.Contains(expect, rep.status) {
		want := fmt.Sprint(expect)
		if len(expect) == 1 {
			want = fmt.Sprint(expect[0])
		}
		return nil, tools.Failed("%s: got status %d, want %s (expect_status) after %d attempt(s): %s",
			r.what(), rep.status, want, rep.attempts, snippet(rep.body))
	}
	text, enc := bodyText(rep.body)
	res := map[string]any{
		"status_code":   rep.status,
		"headers":       headerMap(rep.header),
		"body":          text,
		"body_encoding": enc,
		"duration_ms":   millis(rep.duration),
		"attempts":      rep.attempts,
		"final_url":     rep.finalURL,
	}
	if len(rep.body) > 0 && isJSONType(rep.header.Get("Content-Type")) {
		if v, ok := parseJSON(rep.body); ok {
			res["body_json"] = v
		}
	}
	return res, nil
}
