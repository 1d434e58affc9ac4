//go:build linux || darwin || freebsd

package system

import (
	"os"
	"syscall"
)

// sysmonStatfs returns the figures of the file system holding path.
func sysmonStatfs(path string) (sysmonFS, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return sysmonFS{}, err
	}
	return sysmonFromStatfs(&st), nil
}

// sysmonFstatfs returns the figures of the file system holding the open
// file f.
func sysmonFstatfs(f *os.File) (sysmonFS, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return sysmonFS{}, err
	}
	var st syscall.Statfs_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fstatfs(int(fd), &st) }); err != nil {
		return sysmonFS{}, err
	}
	if serr != nil {
		return sysmonFS{}, serr
	}
	return sysmonFromStatfs(&st), nil
}

func sysmonFromStatfs(st *syscall.Statfs_t) sysmonFS {
	return sysmonFS{
		bsize:  uint64(st.Bsize),
		blocks: uint64(st.Blocks),
		bfree:  uint64(st.Bfree),
		bavail: uint64(max(st.Bavail, 0)),
		files:  uint64(st.Files),
		ffree:  uint64(max(st.Ffree, 0)),
	}
}
