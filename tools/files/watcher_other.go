//go:build !linux

package files

import "os"

// fwtWatchName is the name to watch the open file f by: its path, the
// only name the watchers of this system take. (On Linux the open file
// itself is watched, see file_watcher_linux.go.)
func fwtWatchName(f *os.File, shown string) string { return shown }

// fwtFileKey is "" here: watched files are compared one by one.
func fwtFileKey(os.FileInfo) string { return "" }
