package procmem_test

import (
	"os"
	"runtime"
	"testing"

	"spellhost/internal/procmem"
)

func TestFigures(t *testing.T) {
	keep := make([]byte, 4<<20) // live heap the figures must include
	for i := range keep {
		keep[i] = byte(i) // touched, so resident
	}
	if h := procmem.HeapObjects(); h < uint64(len(keep)) {
		t.Fatalf("heap objects %d bytes, fewer than the %d held", h, len(keep))
	}
	runtime.KeepAlive(keep)
	if _, err := os.Stat("/proc/self/statm"); err != nil {
		if procmem.RSS() != 0 {
			t.Fatal("RSS without /proc/self/statm is not 0")
		}
		return
	}
	if r := procmem.RSS(); r < uint64(len(keep)) {
		t.Fatalf("RSS %d bytes, fewer than the heap held", r)
	}
}
