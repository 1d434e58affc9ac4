package tools

import (
	"os"
	"strconv"
)

// fwtWatchName is the name to watch the open file f by: its entry in
// /proc/self/fd, which the system resolves to the file f holds, so the
// watch lands on that very file even if its path now leads elsewhere.
// Without /proc it is the path shown.
func fwtWatchName(f *os.File, shown string) string {
	name := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if _, err := os.Stat(name); err != nil {
		return shown
	}
	return name
}
