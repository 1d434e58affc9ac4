//go:build !linux

package files

import "os"

// watchName is the name to watch the open file f by: its path, the
// only name the watchers of this system take. (On Linux the open file
// itself is watched, see file_watcher_linux.go.)
func watchName(f *os.File, shown string) string { return shown }

// fileKey is "" here: watched files are compared one by one.
func fileKey(os.FileInfo) string { return "" }
