package perm

import (
	"os"
	"strconv"
)

// rootOf turns a folder opened as a file into a handle of its own. Opening
// /proc/self/fd/N reaches exactly the folder f holds, whatever happened to
// its name meanwhile; without /proc the name is opened again through
// parent and checked to be the same folder.
func rootOf(f *os.File, parent *os.Root, name string) (*os.Root, error) {
	if r, err := os.OpenRoot("/proc/self/fd/" + strconv.Itoa(int(f.Fd()))); err == nil {
		return r, nil
	}
	return reopenRoot(f, parent, name)
}
