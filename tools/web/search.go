package web

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// web_search limits.
const (
	maxQuery         = 2048 // bytes of query
	searchMaxResults = 50
	maxPages         = 5 // result pages fetched to reach max_results
	maxLanguage      = 35
	maxFieldBytes    = 8 << 10 // bytes kept of a title, URL or snippet
)

// noEndpoint is the error when no search backend is configured.
const noEndpoint = "no search endpoint configured; set one with --search-endpoint=URL or the " +
	"SPELLHOST_SEARCH_ENDPOINT environment variable (a SearXNG-style JSON endpoint)"

func webSearchSpec() tools.Spec {
	return tools.Spec{
		Name:     "web_search",
		Category: "web",
		Description: "Searches the web through the configured search endpoint (--search-endpoint or " +
			"SPELLHOST_SEARCH_ENDPOINT), a SearXNG instance or anything that answers SearXNG's JSON format; no other " +
			"provider is supported. Without an endpoint every call is an execution_error saying so. The request is " +
			"GET {endpoint}?q=...&format=json&categories=...&safesearch=...&language=... (the endpoint is used as " +
			"given, its own query parameters kept); further pages (pageno, at most 5) are fetched while fewer than " +
			"max_results distinct URLs have arrived. The endpoint's host must be allowed by --allow-net (without the flag, " +
			"loopback only). A non-2xx reply or one that is not SearXNG JSON is an execution_error. " + bodyLimitDoc +
			"; a larger reply is too_large.",
		Params: []tools.Param{
			{Name: "input", Type: tools.String, Required: true, Description: "the search query; at most 2048 bytes"},
			{Name: "provider", Type: tools.String, Default: "searxng", Enum: []string{"searxng"},
				Description: "the provider's API format; only searxng (SearXNG-style JSON) is supported"},
			{Name: "max_results", Type: tools.Integer, Default: 10, Description: "how many results to return at most, 1-50"},
			{Name: "search_type", Type: tools.String, Default: "general", Enum: []string{"general", "news", "images"},
				Description: "the kind of results, sent as SearXNG's categories parameter"},
			{Name: "safe_search", Type: tools.Boolean, Default: true,
				Description: "filter adult content: sent as safesearch=1 (true) or safesearch=0 (false)"},
			{Name: "language", Type: tools.String, Description: "a language code such as en, en-US or all; omitted: the endpoint's default"},
			timeoutParam("each page's request (connecting, sending and reading the whole reply)"),
		},
		Returns: "{query, provider, count, results: [{title, url, snippet, plus image_url and thumbnail_url " +
			"(images, when given), published_date (when given), engine (when given)}]} with results in the " +
			"endpoint's order, duplicates (same URL) removed; each text field is cut to 8 KiB",
	}
}

// Search returns the web_search tool, which queries cfg.SearchEndpoint
// through cfg.Perm's HTTP client. An empty or unusable endpoint makes every
// call an execution_error naming --search-endpoint and
// SPELLHOST_SEARCH_ENDPOINT; the parameters are still checked first.
func Search(cfg Config) tools.Tool {
	ps, def := cfg.Perm, cfg.HTTPTimeout
	var endpoint *url.URL
	var endpointErr error
	if raw := strings.TrimSpace(cfg.SearchEndpoint); raw == "" {
		endpointErr = tools.Failed(noEndpoint)
	} else if u, err := parseURL("search endpoint", raw); err != nil {
		var te *tools.Error
		if errors.As(err, &te) {
			err = te.Err
		}
		endpointErr = tools.Failed("the search endpoint set by --search-endpoint or SPELLHOST_SEARCH_ENDPOINT is not usable: %s",
			strings.TrimPrefix(err.Error(), `parameter "search endpoint": `))
	} else {
		endpoint = u
	}
	return tools.New(webSearchSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runSearch(ctx, ps, def, endpoint, endpointErr, p)
	})
}

// searchReply is the part of a SearXNG JSON reply the tool reads.
type searchReply struct {
	Results *[]struct {
		Title         string `json:"title"`
		URL           string `json:"url"`
		Content       string `json:"content"`
		ImgSrc        string `json:"img_src"`
		ThumbnailSrc  string `json:"thumbnail_src"`
		PublishedDate any    `json:"publishedDate"`
		Engine        string `json:"engine"`
	} `json:"results"`
}

func runSearch(ctx context.Context, ps *perm.Set, def time.Duration, endpoint *url.URL, endpointErr error, p tools.Params) (any, error) {
	query := strings.TrimSpace(p.String("input"))
	if len(query) > maxQuery {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: query of %d bytes exceeds the %d-byte limit", "input", len(query), maxQuery)
	}
	if query == "" {
		return nil, tools.Invalid("parameter %q: empty query", "input")
	}
	maxResults := p.Int("max_results")
	if maxResults < 1 || maxResults > searchMaxResults {
		return nil, tools.Invalid("parameter %q: %d is out of range 1-%d", "max_results", maxResults, searchMaxResults)
	}
	lang := p.String("language")
	if len(lang) > maxLanguage || p.Has("language") && !validLang(lang) {
		return nil, tools.Invalid("parameter %q: %q is not a language code such as en, en-US or all", "language", lang)
	}
	pol := policy{attempts: 1}
	var err error
	if pol.timeout, err = parseTimeout(p, def); err != nil {
		return nil, err
	}
	if endpointErr != nil {
		return nil, endpointErr
	}
	if ps != nil {
		pol.limit = ps.Limits().MaxResponseBytes
	}
	q := endpoint.Query()
	q.Set("q", query)
	q.Set("format", "json")
	q.Set("categories", p.String("search_type"))
	if p.Bool("safe_search") {
		q.Set("safesearch", "1")
	} else {
		q.Set("safesearch", "0")
	}
	if lang != "" {
		q.Set("language", lang)
	}
	u := *endpoint
	seen := make(map[string]bool, maxResults)
	results := make([]any, 0, maxResults)
	images := p.String("search_type") == "images"
	for page := 1; page <= maxPages && len(results) < maxResults; page++ {
		if page > 1 {
			q.Set("pageno", strconv.Itoa(page))
		}
		u.RawQuery = q.Encode()
		r := newGet(&u)
		r.header["Accept"] = []string{"application/json"}
		rep, err := exchange(ctx, ps, r, pol)
		if err != nil {
			return nil, err
		}
		if rep.status < 200 || rep.status > 299 {
			hint := ""
			if rep.status == 403 {
				hint = " (is the json format enabled in the SearXNG settings?)"
			}
			return nil, tools.Failed("%s: status %d%s: %s", r.what(), rep.status, hint, snippet(rep.body))
		}
		var reply searchReply
		if err := json.Unmarshal(rep.body, &reply, json.MatchCaseInsensitiveNames(true),
			jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)); err != nil {
			return nil, tools.Failed("%s: reply is not SearXNG JSON: %v: %s", r.what(), err, snippet(rep.body))
		}
		if reply.Results == nil {
			return nil, tools.Failed("%s: reply is not SearXNG JSON: it has no results list: %s", r.what(), snippet(rep.body))
		}
		added := 0
		for _, it := range *reply.Results {
			if len(results) >= maxResults {
				break
			}
			if it.URL == "" || seen[it.URL] {
				continue
			}
			seen[it.URL] = true
			added++
			item := map[string]any{
				"title":   clipField(it.Title),
				"url":     clipField(it.URL),
				"snippet": clipField(it.Content),
			}
			if images && it.ImgSrc != "" {
				item["image_url"] = clipField(it.ImgSrc)
			}
			if images && it.ThumbnailSrc != "" {
				item["thumbnail_url"] = clipField(it.ThumbnailSrc)
			}
			if d, ok := it.PublishedDate.(string); ok && d != "" {
				item["published_date"] = clipField(d)
			}
			if it.Engine != "" {
				item["engine"] = clipField(it.Engine)
			}
			results = append(results, item)
		}
		if added == 0 {
			break
		}
	}
	return map[string]any{
		"query":    query,
		"provider": p.String("provider"),
		"count":    len(results),
		"results":  results,
	}, nil
}

// clipField cuts s to maxFieldBytes on a UTF-8 boundary.
func clipField(s string) string {
	if len(s) <= maxFieldBytes {
		return s
	}
	i := maxFieldBytes
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}

// validLang reports whether s looks like a language code: letters,
// digits and '-' or '_'.
func validLang(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
