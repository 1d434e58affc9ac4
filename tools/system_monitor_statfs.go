//go:build linux || darwin || freebsd

package tools

import "syscall"

// sysmonStatfs returns the figures of the file system holding path.
func sysmonStatfs(path string) (sysmonFS, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return sysmonFS{}, err
	}
	return sysmonFS{
		bsize:  uint64(st.Bsize),
		blocks: uint64(st.Blocks),
		bfree:  uint64(st.Bfree),
		bavail: uint64(max(st.Bavail, 0)),
		files:  uint64(st.Files),
		ffree:  uint64(max(st.Ffree, 0)),
	}, nil
}
