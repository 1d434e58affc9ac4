package report_test

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"spellhost/host/report/browsertest"
)

// One Chromium for the package's browser tests, started on first use and
// ended before the leak check.
var browser struct {
	once sync.Once
	b    *browsertest.Browser
	skip string
}

func sharedBrowser(t *testing.T) *browsertest.Browser {
	t.Helper()
	browser.once.Do(func() { browser.b, browser.skip = browsertest.Start() })
	if browser.b == nil {
		t.Skip(browser.skip)
	}
	return browser.b
}

func TestMain(m *testing.M) {
	code := m.Run()
	browser.b.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
