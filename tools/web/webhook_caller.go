package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// maxResponse caps the response text returned (bytes); the response
// limit, when smaller, wins.
const maxResponse = 64 << 10

func webhookCallerSpec() tools.Spec {
	return tools.Spec{
		Name:     "webhook-caller",
		Category: "data",
		Description: "Delivers a JSON payload to a webhook URL, retrying with exponential backoff (backoff_ms doubled " +
			"after each attempt, capped at 5 s, or the server's Retry-After when longer, also capped at 5 s) on 5xx, " +
			"429, connection failures and attempt timeouts. Delivery means a 2xx reply; a final non-2xx reply " +
			"(after the retries, or at once for a status that is not retried) is an execution_error naming the status " +
			"and the attempts. Redirects are followed only when they keep the method and body (307, 308); a 301, 302 " +
			"or 303 is a non-2xx reply. Only http and https; every connection, redirects included, must be allowed by " +
			"--allow-net (without the flag, loopback only). The reply body is informational: it is cut to 64 KiB (or the response " +
			"limit) and flagged with response_truncated rather than failing a delivered webhook. No retry starts when " +
			"the caller's deadline would pass during the backoff.",
		Params: []tools.Param{
			{Name: "input", Type: tools.String, Required: true, Description: "the webhook URL: " + urlDoc},
			{Name: "payload", Type: tools.Any, Description: "the payload, sent as JSON (Content-Type application/json unless " +
				"headers set one); any value, a string included, is JSON-encoded (use http_request to send a raw body); " +
				"omitted: an empty body; at most 16 MiB encoded"},
			{Name: "headers", Type: tools.Object, Description: headersDoc},
			{Name: "method", Type: tools.String, Default: "POST", Enum: []string{"POST", "PUT", "PATCH"}, Description: "the HTTP method"},
			{Name: "max_retries", Type: tools.Integer, Default: 3, Description: "retries after the first attempt, 0-10"},
			{Name: "backoff_ms", Type: tools.Integer, Default: 100, Description: "delay before the first retry in milliseconds, " +
				"doubled for each further retry and capped at 5 s; 0-5000"},
			timeoutParam("one attempt (connecting, sending and reading the whole reply)"),
			{Name: "sign", Type: tools.String, Description: "a secret: adds X-Signature: sha256=<hex HMAC-SHA256 of the body " +
				"with this key>, so the receiver can check the payload; never echoed"},
		},
		Returns: "{status_code, attempts, delivered (true: a 2xx reply; any other outcome is an error), response (the " +
			"reply body, cut to 64 KiB; base64 when not UTF-8), response_encoding (\"utf-8\" or \"base64\"), response_truncated, duration_ms (total, retries and backoff included)}",
	}
}

// WebhookCaller returns the webhook-caller tool. It reaches the network
// through cfg.Perm's HTTP client; cfg.HTTPTimeout (30 s when unset) is the
// default per-attempt timeout.
func WebhookCaller(cfg Config) tools.Tool {
	ps, def := cfg.Perm, cfg.HTTPTimeout
	return tools.New(webhookCallerSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runWebhook(ctx, ps, def, p)
	})
}

func webhookRetries(s int) bool { return s >= 500 || s == 429 }

func runWebhook(ctx context.Context, ps *perm.Set, def time.Duration, p tools.Params) (any, error) {
	r, err := newRequest(p.String("method"), "input", p.String("input"))
	if err != nil {
		return nil, err
	}
	if err := r.setHeaders("headers", p.Map("headers")); err != nil {
		return nil, err
	}
	if payload, ok := p.Get("payload"); ok {
		// Every value, a string included, is sent as JSON.
		if err := r.setJSONBody("payload", payload); err != nil {
			return nil, err
		}
	}
	if p.Has("sign") {
		secret := p.String("sign")
		if secret == "" {
			return nil, tools.Invalid("parameter %q: empty secret", "sign")
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(r.body)
		r.header["X-Signature"] = []string{"sha256=" + hex.EncodeToString(mac.Sum(nil))}
	}
	retries := p.Int("max_retries")
	if retries < 0 || retries > maxAttempts {
		return nil, tools.Invalid("parameter %q: %d is out of range 0-%d", "max_retries", retries, maxAttempts)
	}
	backoff := p.Int("backoff_ms")
	if backoff < 0 || backoff > maxBackoffMS {
		return nil, tools.Invalid("parameter %q: %d is out of range 0-%d", "backoff_ms", backoff, maxBackoffMS)
	}
	pol := policy{
		attempts:    retries + 1,
		backoff:     time.Duration(backoff) * time.Millisecond,
		retryStatus: webhookRetries,
		retryAfter:  true,
		truncate:    true,
		redirects:   followSameMethod,
		limit:       maxResponse,
	}
	if pol.timeout, err = parseTimeout(p, def); err != nil {
		return nil, err
	}
	if ps != nil {
		pol.limit = min(pol.limit, ps.Limits().MaxResponseBytes)
	}
	rep, err := exchange(ctx, ps, r, pol)
	if err != nil {
		return nil, err
	}
	if rep.status < 200 || rep.status > 299 {
		why := ""
		if !webhookRetries(rep.status) {
			why = " (not retried: only 5xx and 429 are)"
		}
		word := "attempts"
		if rep.attempts == 1 {
			word = "attempt"
		}
		return nil, tools.Failed("%s: not delivered: status %d after %d %s%s: %s",
			r.what(), rep.status, rep.attempts, word, why, snippet(rep.body))
	}
	body := rep.body
	if rep.truncated {
		body = trimSplitRune(body)
	}
	text, enc := bodyText(body)
	return map[string]any{
		"status_code":        rep.status,
		"attempts":           rep.attempts,
		"delivered":          true,
		"response":           text,
		"response_encoding":  enc,
		"response_truncated": rep.truncated,
		"duration_ms":        millis(rep.duration),
	}, nil
}
