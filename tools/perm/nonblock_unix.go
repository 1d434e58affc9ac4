//go:build unix

package perm

import (
	"os"
	"syscall"
)

// openNonblock makes an open return at once: opening a FIFO with no
// writer, or some devices, would otherwise block the thread.
const openNonblock = syscall.O_NONBLOCK

// clearNonblock puts a regular file opened with openNonblock back in
// blocking mode.
func clearNonblock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}

// openDirectory makes an open fail unless it finds a folder, before
// anything else is opened.
const openDirectory = syscall.O_DIRECTORY
