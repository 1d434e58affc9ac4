package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/tools"
)

// Building a request: the URL check, headers, body and authentication, each checked.

// request is a checked request, built afresh for every attempt.
type request struct {
	method string
	url    *url.URL
	raw    string // url.String(), computed once
	header http.Header
	host   string // Host override, "" for the URL's
	body   []byte
}

// what names the request in error messages, with any password hidden.
func (r *request) what() string { return r.method + " " + r.url.Redacted() }

func (r *request) build(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.raw, body)
	if err != nil {
		return nil, tools.Invalid("%s: %v", r.what(), err)
	}
	req.Header = r.header
	if r.host != "" {
		req.Host = r.host
	}
	return req, nil
}

// newRequest checks the URL parameter param and starts a request.
func newRequest(method, param, rawURL string) (*request, error) {
	u, err := parseURL(param, rawURL)
	if err != nil {
		return nil, err
	}
	return newRequestTo(method, u), nil
}

// newRequestTo starts a request to a checked URL.
func newRequestTo(method string, u *url.URL) *request {
	h := make(http.Header, 4)
	h["User-Agent"] = []string{userAgent}
	return &request{method: method, url: u, raw: u.String(), header: h}
}

// newGet starts a GET of a checked URL.
func newGet(u *url.URL) *request { return newRequestTo(http.MethodGet, u) }

// parseURL checks that raw is an absolute http or https URL with a host.
func parseURL(param, raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > maxURLLen {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: URL of %d bytes exceeds the %d-byte limit", param, len(raw), maxURLLen)
	}
	if raw == "" {
		return nil, tools.Invalid("parameter %q: empty URL", param)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, tools.Invalid("parameter %q: invalid URL: %v", param, err)
	}
	if err := checkURL(u); err != nil {
		return nil, tools.Invalid("parameter %q: %v", param, err)
	}
	u.Fragment, u.RawFragment = "", "" // never sent
	return u, nil
}

// checkURL accepts an absolute http or https URL with a host and, if it
// names one, a port in 1-65535.
func checkURL(u *url.URL) error {
	switch u.Scheme {
	case "http", "https":
	case "":
		return errors.New("URL has no scheme; want an absolute http:// or https:// URL")
	default:
		return fmt.Errorf("scheme %q is not supported; only http and https", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return fmt.Errorf("URL has no host; want %s://host/...", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is out of range 1-65535", p)
		}
	}
	return nil
}

// setHeaders adds the caller's headers, checked.
func (r *request) setHeaders(param string, m map[string]any) error {
	if len(m) == 0 {
		return nil
	}
	if len(m) > maxHeaders {
		return tools.Errorf(tools.TypeTooLarge, "parameter %q: %d headers exceed the limit of %d", param, len(m), maxHeaders)
	}
	total := 0
	for name, v := range m {
		s, ok := scalarString(v)
		if !ok {
			return tools.Invalid("parameter %q: header %q: expected string, got %s", param, name, tools.KindOf(v))
		}
		total += len(name) + len(s)
		if total > maxHeaderBytes {
			return tools.Errorf(tools.TypeTooLarge, "parameter %q: headers exceed the %d-byte limit", param, maxHeaderBytes)
		}
		if !validHeaderName(name) {
			return tools.Invalid("parameter %q: %q is not a valid header name", param, name)
		}
		if !validHeaderValue(s) {
			return tools.Invalid("parameter %q: header %q: value contains a control character", param, name)
		}
		key := http.CanonicalHeaderKey(name)
		if clientHeaders[key] {
			return tools.Invalid("parameter %q: header %q is set by the HTTP client and cannot be given", param, name)
		}
		if key == "Host" {
			r.host = s
			continue
		}
		r.header[key] = append(r.header[key], s)
	}
	return nil
}

// setBody sets the body: a string as is, anything else as JSON.
func (r *request) setBody(param string, v any, present bool) error {
	if !present || v == nil {
		return nil
	}
	if s, ok := v.(string); ok {
		if len(s) > maxRequestBody {
			return tools.Errorf(tools.TypeTooLarge, "parameter %q: body of %d bytes exceeds the %d-byte limit", param, len(s), maxRequestBody)
		}
		r.body = []byte(s)
		return nil
	}
	return r.setJSONBody(param, v)
}

// setJSONBody sets the body to v encoded as JSON.
func (r *request) setJSONBody(param string, v any) error {
	if s, ok := v.(string); ok && len(s)+2 > maxRequestBody {
		// Its encoding has at least the quotes added: no need to build it.
		return tools.Errorf(tools.TypeTooLarge, "parameter %q: JSON body of at least %d bytes exceeds the %d-byte limit", param, len(s)+2, maxRequestBody)
	}
	b, err := encodeJSON(v)
	if err != nil {
		return tools.Invalid("parameter %q: cannot encode as JSON: %v", param, err)
	}
	if len(b) > maxRequestBody {
		return tools.Errorf(tools.TypeTooLarge, "parameter %q: JSON body of %d bytes exceeds the %d-byte limit", param, len(b), maxRequestBody)
	}
	r.body = b
	r.setDefault("Content-Type", "application/json")
	return nil
}

// setDefault sets a header unless the caller gave it.
func (r *request) setDefault(key, value string) {
	if _, ok := r.header[key]; !ok {
		r.header[key] = []string{value}
	}
}

// encodeJSON encodes v as compact JSON, map keys sorted, without HTML
// escaping.
func encodeJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v, json.Deterministic(true), jsontext.AllowInvalidUTF8(true),
		json.FormatNilSliceAsNull(true), json.FormatNilMapAsNull(true))
	if err != nil {
		var se *json.SemanticError
		if errors.As(err, &se) && se.Err != nil {
			return nil, se.Err
		}
		return nil, err
	}
	return b, nil
}

// scalarString converts a header value to a string.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	}
	f, ok := tools.ToFloat(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10), true
	}
	return strconv.FormatFloat(f, 'g', -1, 64), true
}

// setAuth applies the auth parameter.
func (r *request) setAuth(param string, m map[string]any) error {
	if len(m) == 0 {
		return nil
	}
	str := func(key string) (string, error) {
		v, ok := m[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", tools.Invalid("parameter %q: field %q: expected string, got %s", param, key, tools.KindOf(v))
		}
		return s, nil
	}
	typ, err := str("type")
	if err != nil {
		return err
	}
	var allowed []string
	switch typ {
	case "":
		return tools.Invalid("parameter %q: missing field \"type\"; want basic, bearer or api_key", param)
	case "basic":
		allowed = []string{"type", "username", "password"}
	case "bearer":
		allowed = []string{"type", "token"}
	case "api_key":
		allowed = []string{"type", "token", "header"}
	default:
		return tools.Invalid("parameter %q: unknown type %q; want basic, bearer or api_key", param, typ)
	}
	for key := range m {
		if !slices.Contains(allowed, key) {
			return tools.Invalid("parameter %q: field %q does not apply to type %s; fields: %s", param, key, typ, strings.Join(allowed, ", "))
		}
	}
	switch typ {
	case "basic":
		user, err := str("username")
		if err != nil {
			return err
		}
		pass, err := str("password")
		if err != nil {
			return err
		}
		if user == "" {
			return tools.Invalid("parameter %q: type basic needs a non-empty \"username\"", param)
		}
		if strings.IndexByte(user, ':') >= 0 {
			return tools.Invalid("parameter %q: a basic-auth username may not contain ':'", param)
		}
		r.header["Authorization"] = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
	case "bearer", "api_key":
		tok, err := str("token")
		if err != nil {
			return err
		}
		if tok == "" {
			return tools.Invalid("parameter %q: type %s needs a non-empty \"token\"", param, typ)
		}
		if !validHeaderValue(tok) {
			return tools.Invalid("parameter %q: field \"token\" contains a control character", param)
		}
		if typ == "bearer" {
			r.header["Authorization"] = []string{"Bearer " + tok}
			return nil
		}
		name, err := str("header")
		if err != nil {
			return err
		}
		if name == "" {
			name = "X-API-Key"
		}
		if !validHeaderName(name) {
			return tools.Invalid("parameter %q: field \"header\": %q is not a valid header name", param, name)
		}
		key := http.CanonicalHeaderKey(name)
		if clientHeaders[key] || key == "Host" {
			return tools.Invalid("parameter %q: field \"header\": %q cannot carry a key", param, name)
		}
		r.header[key] = []string{tok}
	}
	return nil
}
