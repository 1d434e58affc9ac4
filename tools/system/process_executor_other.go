//go:build !unix

package system

import . "spellhost/tools"

import (
	"os/exec"
	"runtime"
)

// procSetup refuses: without process groups a timeout could not kill what
// the program starts.
func procSetup(*exec.Cmd) error {
	return Failed("process_executor needs process groups, which %s does not have", runtime.GOOS)
}

func procWait(cmd *exec.Cmd) error { return cmd.Wait() }
