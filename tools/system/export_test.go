package system

import "testing"

// SetProcRoot points system_monitor at a stand-in for /proc until the
// test ends.
func SetProcRoot(t testing.TB, dir string) {
	old := proc
	proc = dir
	t.Cleanup(func() { proc = old })
}
