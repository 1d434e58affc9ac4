//go:build !unix

package system

import (
	"os/exec"
	"runtime"

	"spellhost/tools"
)

// setup refuses: without process groups a timeout could not kill what
// the program starts.
func setup(*exec.Cmd) error {
	return tools.Failed("process_executor needs process groups, which %s does not have", runtime.GOOS)
}

func wait(cmd *exec.Cmd) error { return cmd.Wait() }
