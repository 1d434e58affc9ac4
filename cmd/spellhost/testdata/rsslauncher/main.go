// Command rsslauncher runs a program and writes the peak resident memory
// of that program alone to a file, for the adversarial suite's memory
// tests.
//
// Linux carries a process's peak resident memory (ru_maxrss) across exec,
// and a child started by a large parent (a test binary that has already
// run memory bombs in-process) inherits that parent's peak. Started from
// this small program, the child's figure is its own.
//
// Usage: rsslauncher OUTFILE PROGRAM [ARGS...]; the exit code is the
// program's (128+N when signal N ended it). SIGINT and SIGTERM sent to the
// process group reach the program; the launcher only waits.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: rsslauncher OUTFILE PROGRAM [ARGS...]")
		os.Exit(2)
	}
	// Caught, not ignored: a caught signal reverts to its default in the
	// program, an ignored one would stay ignored.
	signal.Notify(make(chan os.Signal, 8), os.Interrupt, syscall.SIGTERM)
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "rsslauncher:", err)
		os.Exit(2)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru != nil {
		os.WriteFile(os.Args[1], fmt.Appendf(nil, "%d\n", ru.Maxrss<<10), 0o644)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		os.Exit(128 + int(ws.Signal()))
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
