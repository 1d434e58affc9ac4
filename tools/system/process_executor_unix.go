//go:build unix && !linux

package system

import (
	"os/exec"
	"syscall"
)

// setup starts the program as the leader of a new process group, so a
// timeout or the end of the call can kill everything it started.
func setup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A timeout kills the whole group; the leader alone could leave
	// children holding the output pipes.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return nil
}

// wait waits for the program and then kills what is left in its
// process group.
func wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return err
}
