package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"spellhost/host/exitcode"
	"spellhost/host/report/browsertest"
)

var update = flag.Bool("update", false, "rewrite golden files")

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

// testState is a global state with buffers for streams and the given
// environment.
func testState(t *testing.T, env map[string]string) (*globalState, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errb bytes.Buffer
	wd := t.TempDir()
	gs := &globalState{
		stdin:     strings.NewReader(""),
		stdout:    &out,
		stderr:    &errb,
		lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		getwd:     func() (string, error) { return wd, nil },
		openURL:   func(string) error { return errors.New("no browser in tests") },
		notify:    func(chan<- os.Signal) {},
		stop:      func(chan<- os.Signal) {},
	}
	return gs, &out, &errb
}

// run runs spellhost with args and returns its exit code and streams.
func run(t *testing.T, args ...string) (exitcode.Code, string, string) {
	t.Helper()
	gs, out, errb := testState(t, nil)
	code := Main(gs, args)
	return code, out.String(), errb.String()
}
