//go:build !unix

package perm

import "os"

// openNonblock is 0 where opening a FIFO or device does not block.
const openNonblock = 0

func clearNonblock(*os.File) error { return nil }

const openDirectory = 0
