package report

import (
	"bufio"
	"errors"
	"io"
	"math"
	"sync"
	"time"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/host/metrics"
	"spellhost/host/result"
)

// WriteSummaryJSON writes the run's result as one JSON document: the
// --summary-json file. Its shape is result.Run, versioned by its
// "version" field. It is encoded as it is written, so its size does not
// add to memory; a number that is not finite (a sum that overflowed) is
// written as null.
func WriteSummaryJSON(w io.Writer, r *result.Run) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	err := json.MarshalWrite(bw, r, json.Deterministic(true), jsontext.WithIndent("  "), jsontext.AllowInvalidUTF8(true),
		json.WithMarshalers(finiteOrNull))
	if err == nil {
		err = bw.WriteByte('\n')
	}
	if err == nil {
		err = bw.Flush()
	}
	return err
}

// finiteOrNull writes NaN and the infinities, which JSON lacks, as null.
var finiteOrNull = json.MarshalToFunc(func(enc *jsontext.Encoder, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return enc.WriteToken(jsontext.Null)
	}
	return errors.ErrUnsupported // the default encoding
})

// PointWriter streams one JSON object per metric series per second: the
// --out per-second=FILE format. Each line is
//
//	{"type":"point","time":"...","t":1.0,"metric":"tool_duration","tags":{...},"kind":"trend",
//	 "count":..,"sum":..,"min":..,"max":..,"avg":..,"med":..,"p90":..,"p95":..,"p99":..,"rate":..,"value":..}
//
// with the fields that apply to the metric's kind.
type PointWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

// NewPointWriter returns a writer on w; call Close to flush.
func NewPointWriter(w io.Writer) *PointWriter { return &PointWriter{w: bufio.NewWriterSize(w, 64<<10)} }

// WritePoints writes one second's windows.
func (p *PointWriter) WritePoints(t time.Time, elapsed time.Duration, ws []metrics.Window) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	for _, win := range ws {
		s := win.Stats
		obj := map[string]any{
			"type": "point", "time": t.UTC().Format(time.RFC3339Nano), "t": elapsed.Seconds(),
			"metric": win.Series.Def.Name, "kind": win.Series.Def.Kind.String(), "count": s.Count,
		}
		if tags := win.Series.TagMap(); len(tags) > 0 {
			obj["tags"] = tags
		}
		put := func(k string, v float64) {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				obj[k] = v
			}
		}
		switch win.Series.Def.Kind {
		case metrics.Counter:
			put("sum", s.Sum)
			put("rate", s.Rate)
		case metrics.Gauge:
			put("value", s.Value)
			put("min", s.Min)
			put("max", s.Max)
		case metrics.Rate:
			put("rate", s.Rate)
			obj["passes"] = s.Trues
		case metrics.Trend:
			for k, v := range map[string]float64{"sum": s.Sum, "min": s.Min, "max": s.Max, "avg": s.Avg, "med": s.Med, "p90": s.P90, "p95": s.P95, "p99": s.P99} {
				put(k, v)
			}
		}
		b, err := json.Marshal(obj, json.Deterministic(true))
		if err == nil {
			_, err = p.w.Write(b)
		}
		if err == nil {
			err = p.w.WriteByte('\n')
		}
		if err != nil {
			p.err = err
			return err
		}
	}
	return nil
}

// Close flushes the stream.
func (p *PointWriter) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.w.Flush(); err != nil && p.err == nil {
		p.err = err
	}
	return p.err
}
