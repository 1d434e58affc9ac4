package output

import (
	"math"
	"strconv"
	"time"

	"spellhost/host/metrics"
)

// JSON is the --out json=FILE output: one JSON object a line, in the
// NDJSON schema k6 writes.
//
//	{"type":"Metric","data":{"name":"tool_duration","type":"trend","contains":"time","thresholds":["p(95)<5"],"submetrics":null},"metric":"tool_duration"}
//	{"type":"Point","data":{"time":"2026-05-09T14:34:45.239531499+02:00","value":0.42,"tags":{"outcome":"ok","tool":"calculator"}},"metric":"tool_duration"}
//
// A Metric line comes before the first Point of each metric; its
// thresholds and submetrics are those the options name, empty for a
// metric that appeared before the options were resolved (while the
// script's top level ran). Times are in the local time zone, with
// nanoseconds; time values are milliseconds, data values bytes.
type JSON struct {
	name string
	*file
	seen map[*metrics.Def]bool
	// tails holds, for each series, what follows a Point's value:
	// ,"tags":{...}},"metric":"NAME"} and the newline.
	tails map[*metrics.Series][]byte
	buf   []byte
	loc   *time.Location
	// The time of the last second written, formatted: the part before the
	// fraction and the zone after it, reused within that second.
	sec      int64
	secText  []byte
	zoneText []byte
}

// NewJSON creates path for the JSON output.
func NewJSON(path string) (*JSON, error) {
	f, err := createFile(path)
	if err != nil {
		return nil, err
	}
	return &JSON{name: "json=" + path, file: f, seen: map[*metrics.Def]bool{}, tails: map[*metrics.Series][]byte{},
		loc: time.Local, sec: -1 << 63}, nil
}

// Name names the output for errors.
func (j *JSON) Name() string { return j.name }

// WriteSample writes one Point line, after the metric's Metric line the
// first time it appears.
func (j *JSON) WriteSample(s metrics.Sample, c *Catalog) error {
	b := j.buf[:0]
	tail, ok := j.tails[s.Series]
	if !ok {
		def := s.Series.Def
		if !j.seen[def] {
			j.seen[def] = true
			b = appendMetricLine(b, def, c.entry(def.Name))
		}
		tail = append(tail, `,"tags":`...)
		tail = appendTags(tail, s.Series.TagMap())
		tail = append(tail, `},"metric":`...)
		tail = appendString(tail, def.Name)
		tail = append(tail, "}\n"...)
		j.tails[s.Series] = tail
	}
	b = append(b, `{"type":"Point","data":{"time":"`...)
	b = j.appendTime(b, s.Time)
	b = append(b, `","value":`...)
	b = appendNumber(b, s.Value)
	b = append(b, tail...)
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

// appendTime appends a Unix-nanosecond time as RFC 3339 with nanoseconds
// (time.RFC3339Nano: trailing zeros of the fraction dropped) in the local
// zone; the second and the zone are formatted once per second.
func (j *JSON) appendTime(b []byte, t int64) []byte {
	sec, ns := t/1e9, t%1e9
	if ns < 0 {
		sec, ns = sec-1, ns+1e9
	}
	if sec != j.sec {
		tm := time.Unix(sec, 0).In(j.loc)
		j.secText = tm.AppendFormat(j.secText[:0], "2006-01-02T15:04:05")
		j.zoneText = tm.AppendFormat(j.zoneText[:0], "Z07:00")
		j.sec = sec
	}
	b = append(b, j.secText...)
	if ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i, n := 9, ns; i >= 1; i-- {
			frac[i] = byte('0' + n%10)
			n /= 10
		}
		end := 10
		for frac[end-1] == '0' {
			end--
		}
		b = append(b, frac[:end]...)
	}
	return append(b, j.zoneText...)
}

// appendNumber appends a finite number as JSON writes it: the shortest
// form that reads back exactly, in plain notation from 1e-6 to 1e21 (so
// 19984384, not 1.9984384e+07) and with an exponent outside.
func appendNumber(b []byte, v float64) []byte {
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		n := len(b)
		b = strconv.AppendFloat(b, v, 'e', -1, 64)
		// 1e-07 -> 1e-7, as encoding/json writes it.
		if m := len(b); m-n >= 4 && b[m-4] == 'e' && b[m-3] == '-' && b[m-2] == '0' {
			b[m-2] = b[m-1]
			b = b[:m-1]
		}
		return b
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// appendMetricLine appends the Metric line of def.
func appendMetricLine(b []byte, def *metrics.Def, e *catalogEntry) []byte {
	b = append(b, `{"type":"Metric","data":{"name":`...)
	b = appendString(b, def.Name)
	b = append(b, `,"type":`...)
	b = appendString(b, def.Kind.String())
	b = append(b, `,"contains":`...)
	b = appendString(b, def.Unit.Contains())
	b = append(b, `,"thresholds":[`...)
	if e != nil {
		for i, t := range e.thresholds {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, t)
		}
	}
	b = append(b, `],"submetrics":`...)
	if e == nil || len(e.submetrics) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, sm := range e.submetrics {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, sm.Name)
			b = append(b, `,"suffix":`...)
			b = appendString(b, sm.Suffix)
			b = append(b, `,"tags":`...)
			b = appendTags(b, sm.Tags)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `},"metric":`...)
	b = appendString(b, def.Name)
	return append(b, "}\n"...)
}

// appendTags appends tags as a JSON object with sorted keys, or null.
func appendTags(b []byte, tags map[string]string) []byte {
	if len(tags) == 0 {
		return append(b, "null"...)
	}
	keys := sortedKeys(tags)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, tags[k])
	}
	return append(b, '}')
}

// appendString appends s as a JSON string. Invalid UTF-8 is replaced by
// U+FFFD, as JSON needs valid text.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20 || r == 0x7f || r == '<' || r == '>' || r == '&' || r == 0x2028 || r == 0x2029:
			switch r {
			case '\n':
				b = append(b, '\\', 'n')
			case '\t':
				b = append(b, '\\', 't')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
			}
		case r == 0xfffd && !validRuneAt(s, i):
			b = append(b, "\ufffd"...)
		default:
			b = append(b, s[i:i+runeLen(r)]...)
		}
	}
	return append(b, '"')
}
