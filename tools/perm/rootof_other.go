//go:build !linux

package perm

import "os"

// rootOf turns a folder opened as a file into a handle of its own: the name
// is opened again through parent and checked to be the same folder. (On
// Linux the open file itself is reopened, see rootof_linux.go.)
func rootOf(f *os.File, parent *os.Root, name string) (*os.Root, error) {
	return reopenRoot(f, parent, name)
}
