// Package builtin registers spellhost's built-in tools: the one place that
// knows every tool family.
package builtin

import (
	"time"

	"spellhost/tools"
	"spellhost/tools/citation"
	"spellhost/tools/data"
	"spellhost/tools/files"
	"spellhost/tools/media"
	"spellhost/tools/system"
	"spellhost/tools/text"
	"spellhost/tools/web"
)

// Builtin returns spellhost's tools, configured by cfg.
func Builtin(cfg tools.Config) []tools.Tool {
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 30 * time.Second
	}
	return []tools.Tool{
		data.Calculator(),
		text.Base64Encoder(cfg),
		text.HashCalculator(cfg),
		text.UUIDGenerator(),
		data.DataValidation(),
		text.DiffCalculator(cfg),
		web.URLAnalyzer(cfg),
		data.GraphBuilder(),
		text.TextManipulator(),
		data.DateTimeHandler(),
		web.HTTPRequest(cfg),
		web.GraphQLQuery(cfg),
		web.WebSearch(cfg),
		web.APITester(cfg),
		web.WebhookCaller(cfg),
		system.EnvironmentReader(cfg),
		system.ProcessExecutor(cfg),
		web.ServiceChecker(cfg),
		system.SystemMonitor(cfg),
		web.WebScraper(cfg),
		web.WebpageMonitor(cfg),
		web.SitemapCrawler(cfg),
		citation.CitationFormatter(),
		files.FileOperations(cfg),
		files.FileSearch(cfg),
		files.FileConverter(cfg),
		files.FileWatcher(cfg),
		media.AudioProcessor(cfg),
		media.VideoProcessor(cfg),
		media.ImageProcessor(cfg),
	}
}

// NewBuiltinRegistry returns a registry holding the built-in tools.
func NewBuiltinRegistry(cfg tools.Config) (*tools.Registry, error) {
	return tools.NewRegistry(Builtin(cfg)...)
}
