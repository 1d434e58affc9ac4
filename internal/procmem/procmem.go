// Package procmem reads this process's memory figures: the one reader of
// each, shared by the host (metrics, the memory limit, the kernel's health)
// and the system_monitor tool. It sits below both, so neither imports the
// other for it.
package procmem

import (
	"bytes"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
)

var (
	heapMu     sync.Mutex
	heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
)

// HeapObjects returns the bytes of live and not yet swept heap objects,
// read from runtime/metrics without stopping the world (0 if the runtime
// does not report it).
func HeapObjects() uint64 {
	heapMu.Lock()
	defer heapMu.Unlock()
	metrics.Read(heapSample)
	if heapSample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return heapSample[0].Value.Uint64()
}

var pageSize = uint64(os.Getpagesize())

// RSS returns the process's resident set size in bytes, from
// /proc/self/statm, or 0 where it cannot be read.
func RSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(string(fields[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * pageSize
}
