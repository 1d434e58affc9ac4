package system

import (
	"errors"
	"os/exec"
	"syscall"
	"unsafe"
)

// setup starts the program as the leader of a new process group, so a
// timeout or the end of the call can kill everything it started.
func setup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return nil
}

// wait waits for the program to exit, kills what is left in its
// process group and then reaps it. The group is killed while the exited
// leader is still a zombie, so its id cannot have been reused by an
// unrelated group. On a timeout, cmd's context kills the leader and the
// rest of the group follows here.
func wait(cmd *exec.Cmd) error {
	pid := cmd.Process.Pid
	if err := awaitExit(pid); err == nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	return cmd.Wait()
}

// awaitExit blocks until the process has exited, without reaping it
// (waitid with WNOWAIT).
func awaitExit(pid int) error {
	const pPID = 1      // P_PID
	var info [16]uint64 // siginfo_t, 128 bytes
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch {
		case e == 0:
			return nil
		case errors.Is(e, syscall.EINTR):
			continue
		default:
			return e
		}
	}
}
