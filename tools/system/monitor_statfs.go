//go:build linux || darwin || freebsd

package system

import (
	"os"
	"syscall"
)

// statfs returns the figures of the file system holding path.
func statfs(path string) (fsStat, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return fsStat{}, err
	}
	return fromStatfs(&st), nil
}

// fstatfs returns the figures of the file system holding the open
// file f.
func fstatfs(f *os.File) (fsStat, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return fsStat{}, err
	}
	var st syscall.Statfs_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fstatfs(int(fd), &st) }); err != nil {
		return fsStat{}, err
	}
	if serr != nil {
		return fsStat{}, serr
	}
	return fromStatfs(&st), nil
}

func fromStatfs(st *syscall.Statfs_t) fsStat {
	return fsStat{
		bsize:  uint64(st.Bsize),
		blocks: uint64(st.Blocks),
		bfree:  uint64(st.Bfree),
		bavail: uint64(max(st.Bavail, 0)),
		files:  uint64(st.Files),
		ffree:  uint64(max(st.Ffree, 0)),
	}
}
