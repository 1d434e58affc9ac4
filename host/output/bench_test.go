package output_test

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"spellhost/host/metrics"
	"spellhost/host/output"
)

// benchSeries makes the series a typical run writes to: a trend and a
// counter over a few tag sets.
func benchSeries(st *metrics.Store) []*metrics.Series {
	trend, _ := st.Define("req_duration", metrics.Trend, metrics.Time)
	calls, _ := st.Def(metrics.ToolCalls)
	var out []*metrics.Series
	for i := range 4 {
		tags := metrics.Tags(map[string]string{"scenario": "api", "name": fmt.Sprintf("GET /items/%d", i), "status": "200"})
		out = append(out, st.Series(trend, tags), st.Series(calls, tags))
	}
	return out
}

// BenchmarkRecord is the recording path of a VU: Buffer.Add and its
// flushes into the store, with no raw-sample output, and with a tap that
// queues every batch for the writer (which is what --out json or csv adds
// to a VU; the writing itself runs on the writer's goroutine, measured by
// BenchmarkWrite).
func BenchmarkRecord(b *testing.B) {
	for _, tapped := range []bool{false, true} {
		name := map[bool]string{false: "no-out", true: "tapped"}[tapped]
		b.Run(name, func(b *testing.B) {
			st := metrics.NewStore()
			var s *output.Stream
			if tapped {
				s = output.NewStream([]output.Output{discard{}}, 1<<16, time.Second)
				st.SetTap(s)
			}
			series := benchSeries(st)
			buf := st.NewBuffer(256, time.Hour)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				buf.Add(series[i%len(series)], float64(i%1000))
			}
			buf.Flush()
			b.StopTimer()
			if s != nil {
				s.Close()
			}
		})
	}
}

// discard is an output that writes nothing.
type discard struct{}

func (discard) Name() string                                      { return "discard" }
func (discard) WriteSample(metrics.Sample, *output.Catalog) error { return nil }
func (discard) Flush() error                                      { return nil }
func (discard) Close() error                                      { return nil }

// BenchmarkWrite is the writer's cost per value for each format, to a
// real file: what the writer goroutine spends per sample.
func BenchmarkWrite(b *testing.B) {
	for _, name := range []string{"out.json", "out.csv", "out.json.gz"} {
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), name)
			var o output.Output
			var err error
			if filepath.Ext(name) == ".csv" {
				o, err = output.NewCSV(path)
			} else {
				o, err = output.NewJSON(path)
			}
			if err != nil {
				b.Fatal(err)
			}
			st := metrics.NewStore()
			series := benchSeries(st)
			var cat output.Catalog
			now := time.Now().UnixNano()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := o.WriteSample(metrics.Sample{Series: series[i%len(series)], Value: float64(i%1000) / 7, Time: now + int64(i)*1000}, &cat); err != nil {
					b.Fatal(err)
				}
			}
			if err := o.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// work stands for what a VU does per value it records (Lua calls, tool
// calls): it hashes until d has passed.
func work(d time.Duration, buf []byte) byte {
	var acc byte
	for start := time.Now(); time.Since(start) < d; {
		h := sha256.Sum256(buf)
		acc ^= h[0]
		buf[0] = h[1]
	}
	return acc
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOverhead is a VU that records one value per unit of work, with
// no raw-sample output and with --out json and csv writing real files:
// ns/op is the time per value, work included, so the relative change is
// how much the outputs slow such a run. per=10us is a run at 100,000
// values per second on one core; per=1.4us the busiest Lua loop measured
// (scripts/bench/samples.lua: about 700,000 values per second). cpu-ns/op
// is the process's CPU time per value, the VU's and the writer's, which
// machine noise touches less than the wall time. Run with -count 10:
// each round runs every case, so drift falls on all of them.
func BenchmarkOverhead(b *testing.B) {
	for _, per := range []time.Duration{10 * time.Microsecond, 1400 * time.Nanosecond} {
		for _, outs := range []string{"none", "json", "csv", "json+csv"} {
			b.Run(fmt.Sprintf("per=%v/%s", per, outs), func(b *testing.B) {
				st := metrics.NewStore()
				var s *output.Stream
				if outs != "none" {
					var os []output.Output
					for _, kind := range strings.Split(outs, "+") {
						path := filepath.Join(b.TempDir(), "out."+kind)
						var o output.Output
						var err error
						if kind == "csv" {
							o, err = output.NewCSV(path)
						} else {
							o, err = output.NewJSON(path)
						}
						if err != nil {
							b.Fatal(err)
						}
						os = append(os, o)
					}
					s = output.NewStream(os, 0, 0)
					st.SetTap(s)
				}
				series := benchSeries(st)
				buf := st.NewBuffer(256, 100*time.Millisecond)
				data := make([]byte, 64)
				var sink byte
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := range b.N {
					sink ^= work(per, data)
					buf.Add(series[i%len(series)], float64(i%1000))
					if i%100 == 99 {
						buf.MaybeFlush(time.Now()) // a VU's iteration end
					}
				}
				buf.Flush()
				if s != nil {
					if err := s.Close(); err != nil {
						b.Fatal(err)
					}
					if d := s.Dropped(); d > 0 {
						b.Fatalf("%d values dropped", d)
					}
				}
				b.StopTimer()
				// The process's CPU time per value: the VU's and the writer's,
				// which wall time hides on a machine others share.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
				_ = sink
			})
		}
	}
}
