//go:build !(linux || darwin || freebsd)

package system

import (
	"os"
	"runtime"

	"spellhost/tools"
)

// statfs fails: there is no statfs here.
func statfs(string) (fsStat, error) {
	return fsStat{}, tools.Failed("disk figures need statfs, which %s does not have", runtime.GOOS)
}

// fstatfs fails: there is no statfs here.
func fstatfs(*os.File) (fsStat, error) { return statfs("") }
