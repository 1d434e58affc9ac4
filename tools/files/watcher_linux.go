package files

import (
	"os"
	"strconv"
	"syscall"
)

// watchName is the name to watch the open file f by: its entry in
// /proc/self/fd, which the system resolves to the file f holds, so the
// watch lands on that very file even if its path now leads elsewhere.
// Without /proc it is the path shown.
func watchName(f *os.File, shown string) string {
	name := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if _, err := os.Stat(name); err != nil {
		return shown
	}
	return name
}

// fileKey identifies the file fi describes (its device and inode), so a
// folder reached twice is watched once.
func fileKey(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(st.Dev), 10) + ":" + strconv.FormatUint(st.Ino, 10)
	}
	return ""
}
