package main

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// globalState is everything spellhost takes from the process: streams,
// environment, working folder and signals. Only newOSState touches os;
// tests build their own with buffers.
type globalState struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	getwd          func() (string, error)
	// stderrTTY: stderr is a terminal, so a live progress display is
	// wanted there; stdoutTTY: stdout is one (handleSummary's data says).
	stderrTTY, stdoutTTY bool
	// resolver looks up host names for the tools' permission checks
	// (net.DefaultResolver in production; tests use a local DNS stub).
	resolver *net.Resolver
	// openURL opens a page in the user's browser (--dashboard-open).
	openURL func(url string) error
	// notify and stop subscribe to and release SIGINT and SIGTERM.
	notify func(chan<- os.Signal)
	stop   func(chan<- os.Signal)
	// now reads the clock (time.Now when nil).
	now func() time.Time
	// testHook, set only by tests, reaches scenario.Config.TestHook to
	// inject a panic at a point of a run.
	testHook func(point string)
}

func (gs *globalState) clock() time.Time {
	if gs.now == nil {
		return time.Now()
	}
	return gs.now()
}

func newOSState() *globalState {
	return &globalState{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		lookupEnv: os.LookupEnv,
		getwd:     os.Getwd,
		stderrTTY: isTerminal(os.Stderr),
		stdoutTTY: isTerminal(os.Stdout),
		resolver:  net.DefaultResolver,
		notify:    func(c chan<- os.Signal) { signal.Notify(c, os.Interrupt, syscall.SIGTERM) },
		stop:      func(c chan<- os.Signal) { signal.Stop(c) },
		now:       time.Now,
		openURL:   openURL,
	}
}

// openURL starts the desktop's opener (xdg-open, or open on macOS) on url
// without waiting for it; an error when there is none.
func openURL(url string) error {
	for _, name := range []string{"xdg-open", "open"} {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		cmd := exec.Command(path, url)
		if err := cmd.Start(); err != nil {
			return err
		}
		go cmd.Wait() // reap it; it ends by itself
		return nil
	}
	return errors.New("no xdg-open or open on PATH")
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
