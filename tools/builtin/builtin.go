// Package builtin registers spellhost's built-in tools: the one place that
// knows every tool family. The host takes a registry from it through a
// factory that cmd/spellhost fills, so nothing under host/ links a tool.
package builtin

import (
	"time"

	"spellhost/tools"
	"spellhost/tools/citation"
	"spellhost/tools/data"
	"spellhost/tools/files"
	"spellhost/tools/media"
	"spellhost/tools/perm"
	"spellhost/tools/system"
	"spellhost/tools/text"
	"spellhost/tools/web"
)

// Config carries what the built-in tools need from the host. A nil Perm
// refuses every file, host, program and variable.
type Config struct {
	// Perm decides which files, hosts, programs and variables tools reach.
	Perm *perm.Set
	// SearchEndpoint is the web_search backend (a SearXNG-style JSON
	// endpoint); empty means web_search answers that none is configured.
	SearchEndpoint string
	// HTTPTimeout is the default timeout of network tools (default 30s);
	// the caller's context deadline, when sooner, wins.
	HTTPTimeout time.Duration
}

// Tools returns spellhost's tools, configured by cfg.
func Tools(cfg Config) []tools.Tool {
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 30 * time.Second
	}
	ps := cfg.Perm
	wc := web.Config{Perm: ps, SearchEndpoint: cfg.SearchEndpoint, HTTPTimeout: cfg.HTTPTimeout}
	return []tools.Tool{
		data.Calculator(),
		text.Base64Encoder(ps),
		text.HashCalculator(ps),
		text.UUIDGenerator(),
		data.Validation(),
		text.DiffCalculator(ps),
		web.URLAnalyzer(wc),
		data.GraphBuilder(),
		text.Manipulator(),
		data.DateTimeHandler(),
		web.HTTPRequest(wc),
		web.GraphQLQuery(wc),
		web.Search(wc),
		web.APITester(wc),
		web.WebhookCaller(wc),
		system.EnvironmentReader(ps),
		system.ProcessExecutor(ps),
		web.ServiceChecker(wc),
		system.Monitor(ps),
		web.Scraper(wc),
		web.PageMonitor(wc),
		web.SitemapCrawler(wc),
		citation.Formatter(),
		files.Operations(ps),
		files.Search(ps),
		files.Converter(ps),
		files.Watcher(ps),
		media.AudioProcessor(ps),
		media.VideoProcessor(ps),
		media.ImageProcessor(ps),
	}
}

// NewRegistry returns a registry holding the built-in tools.
func NewRegistry(cfg Config) (*tools.Registry, error) {
	return tools.NewRegistry(Tools(cfg)...)
}
