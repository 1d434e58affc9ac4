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
