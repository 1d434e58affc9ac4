package main

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"spellhost/host/exitcode"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
