package report_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"spellhost/host/report/browsertest"
)

func sharedBrowser(t *testing.T) *browsertest.Browser { return browsertest.Shared(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.CloseShared()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
