package web

import . "spellhost/tools"

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"spellhost/tools/perm"
)

// web_search limits.
const (
	wsrchMaxQuery      = 2048 // bytes of query
	wsrchMaxResults    = 50
	wsrchMaxPages      = 5 // result pages fetched to reach max_results
	wsrchMaxLanguage   = 35
	wsrchMaxFieldBytes = 8 << 10 // bytes kept of a title, URL or snippet
)

// wsrchNoEndpoint is the error when no search backend is configured.
const wsrchNoEndpoint = "no search endpoint configured; set one with --search-endpoint=URL or the " +
	"SPELLHOST_SEARCH_ENDPOINT environment variable (a SearXNG-style JSON endpoint)"

func webSearchSpec() Spec {
	return Spec{
		Name:     "web_search",
		Category: "web",
		Description: "Searches the web through the configured search endpoint (--search-endpoint or " +
			"SPELLHOST_SEARCH_ENDPOINT), a SearXNG instance or anything that answers SearXNG's JSON format; no other " +
			"provider is supported. Without an endpoint every call is an execution_error saying so. The request is " +
			"GET {endpoint}?q=...&format=json&categories=...&safesearch=...&language=... (the endpoint is used as " +
			"given, its own query parameters kept); further pages (pageno, at most 5) are fetched while fewer than " +
			"max_results distinct URLs have arrived. The endpoint's host must be allowed by --allow-net (without the flag, " +
			"loopback only). A non-2xx reply or one that is not SearXNG JSON is an execution_error. " + hxBodyLimitDoc +
			"; a larger reply is too_large.",
		Params: []Param{
			{Name: "input", Type: String, Required: true, Description: "the search query; at most 2048 bytes"},
			{Name: "provider", Type: String, Default: "searxng", Enum: []string{"searxng"},
				Description: "the provider's API format; only searxng (SearXNG-style JSON) is supported"},
			{Name: "max_results", Type: Integer, Default: 10, Description: "how many results to return at most, 1-50"},
			{Name: "search_type", Type: String, Default: "general", Enum: []string{"general", "news", "images"},
				Description: "the kind of results, sent as SearXNG's categories parameter"},
			{Name: "safe_search", Type: Boolean, Default: true,
				Description: "filter adult content: sent as safesearch=1 (true) or safesearch=0 (false)"},
			{Name: "language", Type: String, Description: "a language code such as en, en-US or all; omitted: the endpoint's default"},
			{Name: "timeout_ms", Type: Integer, Description: hxTimeoutDoc + "; applies to each page"},
		},
		Returns: "{query, provider, count, results: [{title, url, snippet, plus image_url and thumbnail_url " +
			"(images, when given), published_date (when given), engine (when given)}]} with results in the " +
			"endpoint's order, duplicates (same URL) removed; each text field is cut to 8 KiB",
	}
}

// WebSearch returns the web_search tool, which queries cfg.SearchEndpoint
// through cfg.Perm's HTTP client. An empty or unusable endpoint makes every
// call an execution_error naming --search-endpoint and
// SPELLHOST_SEARCH_ENDPOINT; the parameters are still checked first.
func WebSearch(cfg Config) Tool {
	ps, def := cfg.Perm, cfg.HTTPTimeout
	var endpoint *url.URL
	var endpointErr error
	if raw := strings.TrimSpace(cfg.SearchEndpoint); raw == "" {
		endpointErr = Failed(wsrchNoEndpoint)
	} else if u, err := hxParseURL("search endpoint", raw); err != nil {
		var te *Error
		if errors.As(err, &te) {
			err = te.Err
		}
		endpointErr = Failed("the search endpoint set by --search-endpoint or SPELLHOST_SEARCH_ENDPOINT is not usable: %s",
			strings.TrimPrefix(err.Error(), `parameter "search endpoint": `))
	} else {
		endpoint = u
	}
	return New(webSearchSpec(), func(ctx context.Context, p Params) (any, error) {
		return wsrchRun(ctx, ps, def, endpoint, endpointErr, p)
	})
}

// wsrchReply is the part of a SearXNG JSON reply the tool reads.
type wsrchReply struct {
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

func wsrchRun(ctx context.Context, ps *perm.Set, def time.Duration, endpoint *url.URL, endpointErr error, p Params) (any, error) {
	query := strings.TrimSpace(p.String("input"))
	if len(query) > wsrchMaxQuery {
		return nil, Errorf(TypeTooLarge, "parameter %q: query of %d bytes exceeds the %d-byte limit", "input", len(query), wsrchMaxQuery)
	}
	if query == "" {
		return nil, Invalid("parameter %q: empty query", "input")
	}
	maxResults := p.Int("max_results")
	if maxResults < 1 || maxResults > wsrchMaxResults {
		return nil, Invalid("parameter %q: %d is out of range 1-%d", "max_results", maxResults, wsrchMaxResults)
	}
	lang := p.String("language")
	if len(lang) > wsrchMaxLanguage || p.Has("language") && !wsrchValidLang(lang) {
		return nil, Invalid("parameter %q: %q is not a language code such as en, en-US or all", "language", lang)
	}
	pol := hxPolicy{attempts: 1}
	var err error
	if pol.timeout, err = hxTimeout(p, def); err != nil {
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
	for page := 1; page <= wsrchMaxPages && len(results) < maxResults; page++ {
		if page > 1 {
			q.Set("pageno", strconv.Itoa(page))
		}
		u.RawQuery = q.Encode()
		r := &hxRequest{method: "GET", url: &u, raw: u.String(), header: map[string][]string{
			"User-Agent": {"spellhost-web_search/1"}, "Accept": {"application/json"},
		}}
		rep, err := hxExchange(ctx, ps, r, pol)
		if err != nil {
			return nil, err
		}
		if rep.status < 200 || rep.status > 299 {
			hint := ""
			if rep.status == 403 {
				hint = " (is the json format enabled in the SearXNG settings?)"
			}
			return nil, Failed("%s: status %d%s: %s", r.what(), rep.status, hint, hxSnippet(rep.body))
		}
		var reply wsrchReply
		if err := json.Unmarshal(rep.body, &reply); err != nil {
			return nil, Failed("%s: reply is not SearXNG JSON: %v: %s", r.what(), err, hxSnippet(rep.body))
		}
		if reply.Results == nil {
			return nil, Failed("%s: reply is not SearXNG JSON: it has no results list: %s", r.what(), hxSnippet(rep.body))
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
				"title":   wsrchClip(it.Title),
				"url":     wsrchClip(it.URL),
				"snippet": wsrchClip(it.Content),
			}
			if images && it.ImgSrc != "" {
				item["image_url"] = wsrchClip(it.ImgSrc)
			}
			if images && it.ThumbnailSrc != "" {
				item["thumbnail_url"] = wsrchClip(it.ThumbnailSrc)
			}
			if d, ok := it.PublishedDate.(string); ok && d != "" {
				item["published_date"] = wsrchClip(d)
			}
			if it.Engine != "" {
				item["engine"] = wsrchClip(it.Engine)
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

// wsrchClip cuts s to wsrchMaxFieldBytes on a UTF-8 boundary.
func wsrchClip(s string) string {
	if len(s) <= wsrchMaxFieldBytes {
		return s
	}
	i := wsrchMaxFieldBytes
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}

// wsrchValidLang reports whether s looks like a language code: letters,
// digits and '-' or '_'.
func wsrchValidLang(s string) bool {
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
