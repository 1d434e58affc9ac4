package tools

import (
	"time"

	"spellhost/tools/perm"
)

// Config carries what tools need from the host. The zero value is not
// usable: Perm is required.
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

// Builtin returns spellhost's tools, configured by cfg.
func Builtin(cfg Config) []Tool {
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 30 * time.Second
	}
	return []Tool{
		Calculator(),
		Base64Encoder(cfg),
		HashCalculator(cfg),
		UUIDGenerator(),
		DataValidation(),
		DiffCalculator(cfg),
		URLAnalyzer(cfg),
		GraphBuilder(),
		TextManipulator(),
		DateTimeHandler(),
		HTTPRequest(cfg),
		GraphQLQuery(cfg),
		WebSearch(cfg),
		APITester(cfg),
		WebhookCaller(cfg),
		EnvironmentReader(cfg),
		ProcessExecutor(cfg),
		ServiceChecker(cfg),
		SystemMonitor(cfg),
		WebScraper(cfg),
		WebpageMonitor(cfg),
		SitemapCrawler(cfg),
		CitationFormatter(),
		FileOperations(cfg),
		FileSearch(cfg),
		FileConverter(cfg),
		FileWatcher(cfg),
		AudioProcessor(cfg),
		VideoProcessor(cfg),
		ImageProcessor(cfg),
	}
}

// NewBuiltinRegistry returns a registry holding the built-in tools.
func NewBuiltinRegistry(cfg Config) (*Registry, error) {
	return NewRegistry(Builtin(cfg)...)
}
