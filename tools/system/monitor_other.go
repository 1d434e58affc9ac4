//go:build !(linux || darwin || freebsd)

package system

import . "spellhost/tools"

import (
	"os"
	"runtime"
)

// sysmonStatfs fails: there is no statfs here.
func sysmonStatfs(string) (sysmonFS, error) {
	return sysmonFS{}, Failed("disk figures need statfs, which %s does not have", runtime.GOOS)
}

// sysmonFstatfs fails: there is no statfs here.
func sysmonFstatfs(*os.File) (sysmonFS, error) { return sysmonStatfs("") }
