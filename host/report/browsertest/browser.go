// Package browsertest loads spellhost's HTML pages (the report, the
// compare report, the live dashboard) in headless Chromium for tests: it
// collects console errors and uncaught exceptions, reads the charts the
// page exposes and takes screenshots. Only tests import it.
//
// It uses Debian's chromium at /usr/bin/chromium (`make browser` installs
// it); where there is none the tests that need it are skipped with a
// message saying so.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path is where the browser is looked for; SPELLHOST_CHROMIUM overrides it.
const Path = "/usr/bin/chromium"

var shared struct {
	once sync.Once
	b    *Browser
	skip string
}

// Shared returns the package's one browser, started on first use, or
// skips the test with the reason there is none. Call CloseShared in
// TestMain after the tests ran.
func Shared(t testing.TB) *Browser {
	t.Helper()
	b, skip := TryShared()
	if b == nil {
		t.Skip(skip)
	}
	return b
}

// TryShared returns the shared browser, or nil and why there is none.
func TryShared() (*Browser, string) {
	shared.once.Do(func() { shared.b, shared.skip = Start() })
	return shared.b, shared.skip
}

// CloseShared ends the shared browser, if it was started.
func CloseShared() { shared.b.Close() }

// Browser is one headless Chromium process shared by a package's tests.
type Browser struct {
	ctx    context.Context
	cancel func()
	dir    string
}

// Start launches headless Chromium, or returns a reason to skip the tests
// that need it. Close ends the process.
func Start() (*Browser, string) {
	path := Path
	if p := os.Getenv("SPELLHOST_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := exec.LookPath(path); err != nil {
		return nil, fmt.Sprintf("no Chromium at %s (run `make browser`, which installs Debian's chromium, to run the browser tests)", path)
	}
	dir, err := os.MkdirTemp("", "spellhost-chromium-")
	if err != nil {
		return nil, "browser: " + err.Error()
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dir),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	// The first Run starts the process; it must not carry a timeout.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err = <-started:
	case <-time.After(60 * time.Second):
		err = errors.New("did not start within 60s")
	}
	b := &Browser{ctx: bctx, dir: dir, cancel: func() { bcancel(); acancel() }}
	if err != nil {
		b.Close()
		return nil, fmt.Sprintf("Chromium at %s does not start: %v", path, err)
	}
	return b, ""
}

// Close ends the browser process and removes its profile.
func (b *Browser) Close() {
	if b == nil {
		return
	}
	// Cancelling the allocator kills the process and waits for it.
	b.cancel()
	os.RemoveAll(b.dir)
}

// Page is one tab.
type Page struct {
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	errs   []string
	done   chan struct{}
}

// Open loads url in a new tab and waits until the page script has drawn
// (window.spellhostReady). The tab closes at the end of the test.
func (b *Browser) Open(t testing.TB, url string) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	p := &Page{ctx: ctx, cancel: cancel, done: make(chan struct{})}
	t.Cleanup(p.Close)
	// Create the tab, then listen before navigating so no message is lost.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browser: new tab: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		defer close(p.done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				p.mu.Lock()
				p.errs = append(p.errs, m.String())
				p.mu.Unlock()
			}
		}
	}()
	tctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	defer tcancel()
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(url)); err != nil {
		t.Fatalf("browser: load %s: %v", url, err)
	}
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool]("window.spellhostReady === true")); err != nil {
		t.Fatalf("browser: %s never finished drawing: %v (console: %v)", url, err, p.Errors())
	}
	return p
}

// Close closes the tab.
func (p *Page) Close() {
	p.cancel()
	<-p.done
}

// Errors returns the console errors and uncaught exceptions so far.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// Eval evaluates a JavaScript expression and decodes its JSON value.
func Eval[T any](t testing.TB, p *Page, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("browser: eval %q: %v", expr, err)
	}
	return v
}

// WaitFor polls a JavaScript expression until it is true.
func (p *Page) WaitFor(t testing.TB, expr string, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, limit)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr)); err != nil {
		t.Fatalf("browser: %s did not become true within %v: %v (console: %v)", expr, limit, err, p.Errors())
	}
}

// Screenshot saves a PNG of the whole page to path.
func (p *Page) Screenshot(t testing.TB, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ChartInfo is what a test checks of one drawn chart.
type ChartInfo struct {
	ID      string `json:"id"`
	Series  int    `json:"series"`
	Canvas  bool   `json:"canvas"`
	Width   int    `json:"width"`
	Points  int    `json:"points"`
	Visible int    `json:"visible"`
}

// Charts reads every uPlot instance the page exposes.
func Charts(t testing.TB, p *Page) []ChartInfo {
	t.Helper()
	return Eval[[]ChartInfo](t, p, `Object.keys(window.spellhostCharts).map(function (id) {
  var u = window.spellhostCharts[id];
  var c = u.root.querySelector("canvas");
  var visible = 0;
  for (var i = 1; i < u.data.length; i++) {
    if (u.data[i].some(function (v) { return v !== null && v !== undefined; })) visible++;
  }
  return {id: id, series: u.series.length - 1, canvas: !!c, width: c ? c.width : 0, points: u.data[0].length, visible: visible};
})`)
}
