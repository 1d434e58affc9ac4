package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// url-analyzer limits.
const (
	maxMetaHTML    = 2 << 20 // bytes of HTML read when fetching metadata
	maxMetaTextLen = 4 << 10 // bytes kept of a title, description or canonical link
)

// urlDefaultPorts maps schemes to their default ports.
var urlDefaultPorts = map[string]int{
	"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ftps": 990,
	"ssh": 22, "sftp": 22, "telnet": 23, "smtp": 25, "gopher": 70, "pop3": 110,
	"nntp": 119, "imap": 143, "ldap": 389, "ldaps": 636, "imaps": 993, "pop3s": 995,
	"rtsp": 554, "mqtt": 1883, "mysql": 3306, "postgres": 5432, "postgresql": 5432,
	"amqp": 5672, "redis": 6379, "git": 9418, "mongodb": 27017,
}

// urlRootPathSchemes get "/" for an empty path when normalized (RFC 3986 6.2.3).
var urlRootPathSchemes = map[string]bool{"http": true, "https": true, "ws": true, "wss": true, "ftp": true}

func urlAnalyzerSpec() tools.Spec {
	return tools.Spec{
		Name:     "url-analyzer",
		Category: "data",
		Description: "Parses and normalizes a URL: scheme, host, port, path, query parameters, fragment, " +
			"user name, whether the host is an IP and whether it is private; optionally fetches the page " +
			"(http and https only, through the network permissions) for its title, description and canonical link. " +
			"Normalization lowercases the scheme and host, drops the scheme's default port, removes dot segments " +
			"from the path, uppercases percent-escapes and decodes escaped unreserved characters, sorts query " +
			"parameters by name (stable, so repeated names keep their order), drops the password and an empty " +
			"query or fragment. A URL that cannot be parsed or has no scheme or host is a validation error.",
		Params: []tools.Param{
			{Name: "input", Type: tools.String, Required: true,
				Description: fmt.Sprintf("the absolute URL to analyze, e.g. \"https://example.com/a?b=1\"; surrounding spaces are ignored; at most %d bytes", maxURLLen)},
			{Name: "fetch_metadata", Type: tools.Boolean, Default: false,
				Description: fmt.Sprintf("GET the URL (http and https only; host must be allowed by --allow-net, which defaults to loopback only) and add metadata from the first %d bytes of HTML", maxMetaHTML)},
			{Name: "decode_params", Type: tools.Boolean, Default: true,
				Description: "percent-decode query parameter names and values ('+' is a space) and the fragment; false returns them as written"},
		},
		Returns: "{valid (always true), normalized, scheme, host (lowercase, IPv6 without brackets), port (explicit, else the scheme's default, else null), " +
			"path (normalized, percent-encoded), query_params {name: value, or [values] when repeated}, fragment, " +
			"user (user name only, \"\" if none; the password is never returned), has_password, is_ip, " +
			"is_private (loopback, private or link-local address, or a localhost name; names are not resolved), " +
			"tld (last label of a dotted host name, \"\" for an IP or a single-label name), " +
			"default_port (true when the URL uses its scheme's default port: none given, or the default given explicitly)}; " +
			"with fetch_metadata also metadata {status_code, content_type, title, description, canonical, final_url} " +
			"(any HTTP status is reported, not treated as failure; title falls back to og:title and description to og:description)",
		Example: map[string]any{"input": "HTTPS://Example.COM:443/a/./b/../c?b=2&a=1&a=3#top"},
	}
}

// URLAnalyzer returns the url-analyzer tool. Fetching uses cfg.Perm's HTTP
// client with cfg.HTTPTimeout (30s when unset).
func URLAnalyzer(cfg Config) tools.Tool {
	timeout := cfg.HTTPTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ps := cfg.Perm
	return tools.New(urlAnalyzerSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return analyzeURL(ctx, ps, timeout, p)
	})
}

func analyzeURL(ctx context.Context, ps *perm.Set, timeout time.Duration, p tools.Params) (any, error) {
	raw := strings.TrimSpace(p.String("input"))
	if len(raw) > maxURLLen {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: URL of %d bytes exceeds the %d-byte limit", "input", len(raw), maxURLLen)
	}
	if raw == "" {
		return nil, tools.Invalid("parameter %q: empty URL", "input")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, tools.Invalid("parameter %q: invalid URL: %v", "input", err)
	}
	if u.Scheme == "" {
		return nil, tools.Invalid("parameter %q: URL has no scheme; want an absolute URL such as \"https://example.com/\"", "input")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, tools.Invalid("parameter %q: URL has no host; want scheme://host/...", "input")
	}
	scheme := u.Scheme // url.Parse lowercases it
	decode := p.Bool("decode_params")

	// Host.
	host := strings.ToLower(u.Hostname())
	addr, ipErr := netip.ParseAddr(host)
	isIP := ipErr == nil
	isPrivate := false
	tld := ""
	if isIP {
		host = addr.String()
		a := addr.Unmap()
		isPrivate = a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()
	} else {
		if !utf8.ValidString(host) {
			return nil, tools.Invalid("parameter %q: host name is not valid UTF-8", "input")
		}
		if strings.ContainsAny(host, ":[]") || strings.HasPrefix(u.Host, "[") {
			return nil, tools.Invalid("parameter %q: host %q is neither a name nor an IP address", "input", u.Host)
		}
		name := strings.TrimSuffix(host, ".")
		isPrivate = name == "localhost" || strings.HasSuffix(name, ".localhost")
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			tld = name[i+1:]
		}
	}

	// Port.
	var port any
	defPort, knownScheme := urlDefaultPorts[scheme]
	isDefault := true
	if portStr := u.Port(); portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 {
			return nil, tools.Invalid("parameter %q: port %q is out of range 1-65535", "input", portStr)
		}
		port = n
		isDefault = knownScheme && n == defPort
	} else if knownScheme {
		port = defPort
	}

	// Path.
	path, err := normalizePercent(u.EscapedPath(), false)
	if err != nil {
		return nil, tools.Invalid("parameter %q: path: %v", "input", err)
	}
	path = removeDotSegments(path)
	if path == "" && urlRootPathSchemes[scheme] {
		path = "/"
	}

	// Query.
	params := map[string]any{}
	var pieces []string
	if u.RawQuery != "" {
		pieces = make([]string, 0, strings.Count(u.RawQuery, "&")+1)
		for piece := range strings.SplitSeq(u.RawQuery, "&") {
			if piece == "" {
				continue
			}
			norm, err := normalizePercent(piece, true)
			if err != nil {
				return nil, tools.Invalid("parameter %q: query parameter %q: %v", "input", piece, err)
			}
			pieces = append(pieces, norm)
			k, v, _ := strings.Cut(piece, "=")
			if decode {
				if k, err = url.QueryUnescape(k); err == nil {
					v, err = url.QueryUnescape(v)
				}
				if err != nil {
					return nil, tools.Invalid("parameter %q: query parameter %q: %v", "input", piece, err)
				}
			}
			switch old := params[k].(type) {
			case nil:
				params[k] = v
			case string:
				params[k] = []any{old, v}
			case []any:
				params[k] = append(old, v)
			}
		}
		slices.SortStableFunc(pieces, func(a, b string) int {
			ka, _, _ := strings.Cut(a, "=")
			kb, _, _ := strings.Cut(b, "=")
			return strings.Compare(ka, kb)
		})
	}

	user, hasPassword := "", false
	if u.User != nil {
		user = u.User.Username()
		_, hasPassword = u.User.Password()
	}

	// Normalized form.
	var b strings.Builder
	b.Grow(len(raw) + 8)
	b.WriteString(scheme)
	b.WriteString("://")
	if user != "" {
		b.WriteString(url.User(user).String())
		b.WriteByte('@')
	}
	if isIP && addr.Is6() {
		b.WriteByte('[')
		b.WriteString(addr.WithZone("").String())
		if zone := addr.Zone(); zone != "" {
			b.WriteString("%25")
			for i := 0; i < len(zone); i++ {
				if c := zone[i]; isUnreserved(c) {
					b.WriteByte(c)
				} else {
					b.WriteByte('%')
					b.WriteByte(upperHexDigits[c>>4])
					b.WriteByte(upperHexDigits[c&15])
				}
			}
		}
		b.WriteByte(']')
	} else {
		b.WriteString(strings.ReplaceAll(host, "%", "%25"))
	}
	if !isDefault {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(port.(int)))
	}
	b.WriteString(path)
	for i, piece := range pieces {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(piece)
	}
	fragment := u.EscapedFragment()
	if fragment != "" {
		b.WriteByte('#')
		b.WriteString(fragment)
	}
	if decode {
		fragment = u.Fragment
	}

	res := map[string]any{
		"valid":        true,
		"normalized":   b.String(),
		"scheme":       scheme,
		"host":         host,
		"port":         port,
		"path":         path,
		"query_params": params,
		"fragment":     fragment,
		"user":         user,
		"has_password": hasPassword,
		"is_ip":        isIP,
		"is_private":   isPrivate,
		"tld":          tld,
		"default_port": isDefault,
	}
	if p.Bool("fetch_metadata") {
		meta, err := fetchURLMetadata(ctx, ps, timeout, u)
		if err != nil {
			return nil, err
		}
		res["metadata"] = meta
	}
	return res, nil
}

// normalizePercent uppercases the hex digits of percent-escapes and decodes
// those of unreserved characters (RFC 3986 6.2.2.1-2). With query set it
// also escapes bytes a query may not hold raw (space, '"', '<', '>', '\\',
// '^', '`', '{', '|', '}', non-ASCII). It fails on a malformed escape.
func normalizePercent(s string, query bool) (string, error) {
	i := 0
	for i < len(s) && s[i] != '%' && !(query && !queryByteOK(s[i])) {
		i++
	}
	if i == len(s) {
		return s, nil
	}
	b := make([]byte, 0, len(s)+8)
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if query && !queryByteOK(c) {
				b = append(b, '%', upperHexDigits[c>>4], upperHexDigits[c&15])
			} else {
				b = append(b, c)
			}
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			end := min(i+3, len(s))
			return "", fmt.Errorf("invalid percent-escape %q", s[i:end])
		}
		v := unhex(s[i+1])<<4 | unhex(s[i+2])
		if isUnreserved(v) {
			b = append(b, v)
		} else {
			b = append(b, '%', upperHex(s[i+1]), upperHex(s[i+2]))
		}
		i += 2
	}
	return string(b), nil
}

const upperHexDigits = "0123456789ABCDEF"

// queryByteOK reports whether c may appear raw in a query (RFC 3986 3.4).
func queryByteOK(c byte) bool {
	return isUnreserved(c) || c < 0x80 && strings.IndexByte("!$&'()*+,;=:@/?%", c) >= 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments applies RFC 3986 5.2.4 to an absolute or empty path.
// Unlike path.Clean it keeps empty segments and a trailing slash.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			trailing = last
		case "..":
			if len(out) > 1 { // out[0] is the empty segment before a leading "/"
				out = out[:len(out)-1]
			}
			trailing = last
		default:
			out = append(out, s)
			trailing = false
		}
	}
	if trailing {
		out = append(out, "")
	}
	r := strings.Join(out, "/")
	if strings.HasPrefix(p, "/") && !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

func fetchURLMetadata(ctx context.Context, ps *perm.Set, timeout time.Duration, u *url.URL) (map[string]any, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, tools.Invalid("parameter %q: only http and https URLs can be fetched, not %s", "fetch_metadata", u.Scheme)
	}
	if err := checkURL(u); err != nil {
		return nil, tools.Invalid("parameter %q: %v", "input", err)
	}
	r := newGet(u)
	r.header["Accept"] = []string{"text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"}
	// Only the head of a page is read: a longer body is cut, not an error.
	pol := policy{attempts: 1, timeout: timeout, limit: min(int64(maxMetaHTML), responseLimit(ps)), truncate: true}
	rep, err := exchange(ctx, ps, r, pol)
	if err != nil {
		return nil, err
	}
	ct := rep.header.Get("Content-Type")
	meta := map[string]any{
		"status_code":  rep.status,
		"content_type": ct,
		"title":        "",
		"description":  "",
		"canonical":    "",
		"final_url":    rep.finalURL,
	}
	mt, _, _ := mime.ParseMediaType(ct)
	if ct != "" && mt != "text/html" && mt != "application/xhtml+xml" {
		return meta, nil
	}
	if err := parseHTMLMeta(ctx, bytes.NewReader(toUTF8(rep.body, ct, true)), rep.url, meta); err != nil {
		return nil, prefix("GET "+u.Redacted(), err)
	}
	return meta, nil
}

// parseHTMLMeta reads the head of an HTML document for its title,
// description and canonical link, stopping at </head> or <body>.
func parseHTMLMeta(ctx context.Context, r io.Reader, base *url.URL, meta map[string]any) error {
	z := html.NewTokenizer(r)
	var title, ogTitle, desc, ogDesc, canonical string
	var titleBuf []byte
	inTitle, haveTitle := false, false
scan:
	for n := 0; ; n++ {
		if n&255 == 255 && ctx.Err() != nil {
			return ctx.Err()
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if err := z.Err(); err != io.EOF {
				return err
			}
			break scan
		case html.TextToken:
			if inTitle && len(titleBuf) < maxMetaTextLen {
				titleBuf = append(titleBuf, z.Text()...)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "title":
				if inTitle {
					inTitle, haveTitle = false, true
					title = string(titleBuf)
				}
			case "head":
				break scan
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "body":
				break scan
			case "title":
				inTitle = tt == html.StartTagToken && !haveTitle
			case "meta":
				var key, content string
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch string(k) {
					case "name", "property":
						if key == "" {
							key = strings.ToLower(string(v))
						}
					case "content":
						content = string(v)
					}
				}
				switch key {
				case "description":
					if desc == "" {
						desc = content
					}
				case "og:description":
					if ogDesc == "" {
						ogDesc = content
					}
				case "og:title":
					if ogTitle == "" {
						ogTitle = content
					}
				}
			case "link":
				var rel, href string
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch string(k) {
					case "rel":
						rel = string(v)
					case "href":
						href = string(v)
					}
				}
				if canonical == "" && href != "" && hasToken(rel, "canonical") {
					canonical = strings.TrimSpace(href)
					if ref, err := base.Parse(canonical); err == nil {
						canonical = ref.String()
					}
				}
			}
		}
	}
	if inTitle {
		title = string(titleBuf)
	}
	if strings.TrimSpace(title) == "" {
		title = ogTitle
	}
	if strings.TrimSpace(desc) == "" {
		desc = ogDesc
	}
	meta["title"] = cleanMetaText(title)
	meta["description"] = cleanMetaText(desc)
	meta["canonical"] = truncUTF8(canonical, maxMetaTextLen)
	return nil
}

func hasToken(list, tok string) bool {
	for f := range strings.FieldsSeq(list) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}

// cleanMetaText collapses runs of white space and caps the length.
func cleanMetaText(s string) string {
	return truncUTF8(strings.Join(strings.Fields(s), " "), maxMetaTextLen)
}

func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
