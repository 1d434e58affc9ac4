package output_test

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"spellhost/host/metrics"
	"spellhost/host/output"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// record makes a store tapped by a stream on outs and records a few
// values: checks (one with a comma in its name), a custom trend with
// tags, an untagged gauge.
func record(t *testing.T, outs ...output.Output) (*output.Stream, *metrics.Store) {
	t.Helper()
	st := metrics.NewStore()
	s := output.NewStream(outs, 0, 0)
	st.SetTap(s)
	q, _ := metrics.ParseQuery("req{name:GET /items}")
	def, _ := st.Define("req", metrics.Trend, metrics.Time)
	th, err := metrics.ParseThreshold(q, "p(95)<200", def)
	if err != nil {
		t.Fatal(err)
	}
	s.Thresholds([]*metrics.Threshold{th})
	checks, _ := st.Def(metrics.Checks)
	vus, _ := st.Def(metrics.VUs)
	buf := st.NewBuffer(4, time.Hour)
	buf.Add(buf.Series(checks, metrics.Tags(map[string]string{"check": "alpha, beta", "scenario": "api"})), 1)
	buf.Add(buf.Series(checks, metrics.Tags(map[string]string{"check": `say "hi"`, "scenario": "api"})), 0)
	buf.Add(buf.Series(def, metrics.Tags(map[string]string{"name": "GET /items", "status": "200", "tool": "http"})), 12.5)
	buf.Add(buf.Series(def, metrics.Tags(map[string]string{"name": "GET /items", "status": "200", "tool": "http"})), 7)
	buf.Flush()
	st.Add(st.Series(vus, ""), 3)
	return s, st
}

// k6Line is a line of k6's NDJSON schema.
type k6Line struct {
	Type   string         `json:"type"`
	Metric string         `json:"metric"`
	Data   map[string]any `json:"data"`
}

// TestJSONSchema: every line is a Metric or a Point in k6's schema; a
// metric's Metric line comes before its first Point; times parse as
// RFC 3339 with nanoseconds; tags are an object or null.
func TestJSONSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.json")
	j, err := output.NewJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := record(t, j)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	declared := map[string]map[string]any{}
	var points []k6Line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l k6Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		switch l.Type {
		case "Metric":
			if declared[l.Metric] != nil {
				t.Errorf("metric %s declared twice", l.Metric)
			}
			for _, k := range []string{"name", "type", "contains", "thresholds", "submetrics"} {
				if _, ok := l.Data[k]; !ok {
					t.Errorf("Metric line %s lacks data.%s", sc.Text(), k)
				}
			}
			declared[l.Metric] = l.Data
		case "Point":
			if declared[l.Metric] == nil {
				t.Errorf("a Point of %s before its Metric line", l.Metric)
			}
			ts, _ := l.Data["time"].(string)
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Errorf("time %q: %v", ts, err)
			}
			if _, ok := l.Data["value"].(float64); !ok {
				t.Errorf("value of %s", sc.Text())
			}
			switch l.Data["tags"].(type) {
			case nil, map[string]any:
			default:
				t.Errorf("tags of %s", sc.Text())
			}
			points = append(points, l)
		default:
			t.Errorf("line type %q", l.Type)
		}
	}
	if len(points) != 5 {
		t.Fatalf("%d points, want 5", len(points))
	}
	req := declared["req"]
	if req["type"] != "trend" || req["contains"] != "time" || !sameJSON(req["thresholds"], []any{"p(95)<200"}) ||
		!sameJSON(req["submetrics"], []any{map[string]any{"name": "req{name:GET /items}", "suffix": "name:GET /items",
			"tags": map[string]any{"name": "GET /items"}}}) {
		t.Errorf("Metric line of req: %v", req)
	}
	if d := declared["vus"]; d["type"] != "gauge" || d["contains"] != "default" || d["submetrics"] != nil {
		t.Errorf("Metric line of vus: %v", d)
	}
	if tags := points[0].Data["tags"].(map[string]any); tags["check"] != "alpha, beta" || tags["scenario"] != "api" {
		t.Errorf("tags of the first check: %v", tags)
	}
	if points[1].Data["tags"].(map[string]any)["check"] != `say "hi"` || points[1].Data["value"] != 0.0 {
		t.Errorf("second point: %v", points[1].Data)
	}
	if points[2].Data["value"] != 12.5 || points[4].Metric != "vus" || points[4].Data["tags"] != nil {
		t.Errorf("points: %v", points)
	}
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestCSVColumns: k6's header, one row per value, tags in their columns or
// extra_tags, values with six decimals, any tag value round-tripping
// through RFC 4180 quoting.
func TestCSVColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.csv")
	c, err := output.NewCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := record(t, c)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata"
	if strings.Join(rows[0], ",") != want {
		t.Fatalf("header %q", strings.Join(rows[0], ","))
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows, want a header and 5", len(rows))
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	r := rows[1]
	if r[col["metric_name"]] != "checks" || r[col["check"]] != "alpha, beta" || r[col["scenario"]] != "api" || r[col["metric_value"]] != "1.000000" {
		t.Errorf("row %q", r)
	}
	if ts := r[col["timestamp"]]; len(ts) != 10 || strings.Trim(ts, "0123456789") != "" {
		t.Errorf("timestamp %q: want Unix seconds", ts)
	}
	if rows[2][col["check"]] != `say "hi"` {
		t.Errorf("quoted check %q", rows[2][col["check"]])
	}
	r = rows[3]
	if r[col["name"]] != "GET /items" || r[col["status"]] != "200" || r[col["extra_tags"]] != "tool=http" || r[col["metric_value"]] != "12.500000" {
		t.Errorf("row %q", r)
	}
}

// TestGzip: a name ending in .gz is compressed; the file reads back whole.
func TestGzip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.json.gz")
	j, err := output.NewJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := record(t, j)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(text), `"type":"Point"`); n != 5 {
		t.Fatalf("%d points in the gzip file:\n%s", n, text)
	}
}

// TestFlushedEverySecond: without Close, what was recorded reaches the
// file within a second, for JSON and gzip alike, so tail -f follows a run.
func TestFlushedEverySecond(t *testing.T) {
	for _, name := range []string{"out.json", "out.json.gz"} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), name)
				j, err := output.NewJSON(path)
				if err != nil {
					t.Fatal(err)
				}
				s, _ := record(t, j)
				synctest.Wait()
				time.Sleep(output.DefaultFlush)
				synctest.Wait()
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				text := string(b)
				if strings.HasSuffix(name, ".gz") {
					zr, err := gzip.NewReader(strings.NewReader(text))
					if err != nil {
						t.Fatal(err)
					}
					out, err := io.ReadAll(zr)
					if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatal(err)
					}
					text = string(out)
				}
				if n := strings.Count(text, `"type":"Point"`); n != 5 {
					t.Errorf("%d points readable after a second, want 5:\n%s", n, text)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// blocking is an output that blocks until released: a writer that cannot
// keep up.
type blocking struct {
	release chan struct{}
	n       int
}

func (b *blocking) Name() string { return "blocking" }
func (b *blocking) WriteSample(metrics.Sample, *output.Catalog) error {
	<-b.release
	b.n++
	return nil
}
func (b *blocking) Flush() error { return nil }
func (b *blocking) Close() error { return nil }

// TestSlowWriterDrops: when the writer cannot keep up, recording never
// blocks; batches past the bounded queue are dropped and counted, and
// values after Close are counted too.
func TestSlowWriterDrops(t *testing.T) {
	b := &blocking{release: make(chan struct{})}
	s := output.NewStream([]output.Output{b}, 2, time.Hour)
	st := metrics.NewStore()
	st.SetTap(s)
	c, _ := st.Def(metrics.Iterations)
	series := st.Series(c, "")
	buf := st.NewBuffer(10, time.Hour)
	for range 1000 {
		buf.Add(series, 1) // the writer holds one batch, the queue two: the rest are dropped
	}
	buf.Flush()
	if got := s.Dropped(); got < 1000-30 {
		t.Fatalf("dropped %d of 1000 values with a queue of 2 batches of 10", got)
	}
	close(b.release)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if int64(b.n)+s.Dropped() != 1000 {
		t.Fatalf("written %d + dropped %d != 1000", b.n, s.Dropped())
	}
	before := s.Dropped()
	st.Add(series, 1)
	if s.Dropped() != before+1 || s.Close() != nil {
		t.Fatalf("a value after Close: dropped %d, was %d", s.Dropped(), before)
	}
	if stats, _, _ := st.Stats(metrics.Query{Metric: metrics.Iterations}, 1); stats.Sum != 1001 {
		t.Fatalf("the store lost values: %v", stats.Sum)
	}
}

// failing is an output whose writes fail, as a full disk would.
type failing struct{ closed bool }

func (f *failing) Name() string { return "json=/full/disk.json" }
func (f *failing) WriteSample(metrics.Sample, *output.Catalog) error {
	return errors.New("no space left on device")
}
func (f *failing) Flush() error { return nil }
func (f *failing) Close() error { f.closed = true; return nil }

// TestWriteErrorNamed: a failing output is reported once, by name, and
// does not stop the others.
func TestWriteErrorNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ok.csv")
	c, err := output.NewCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := &failing{}
	s, _ := record(t, bad, c)
	err = s.Close()
	if err == nil || err.Error() != "--out json=/full/disk.json: no space left on device" {
		t.Fatalf("close: %v", err)
	}
	b, _ := os.ReadFile(path)
	if strings.Count(string(b), "\n") != 6 || !bad.closed {
		t.Fatalf("the other output stopped too:\n%s", b)
	}
}

// TestJSONTime: the times of the Point lines are RFC 3339 with
// nanoseconds, trailing zeros dropped, in the local zone, and read back
// to the instant recorded.
func TestJSONTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.json")
	j, err := output.NewJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	st := metrics.NewStore()
	vus, _ := st.Def(metrics.VUs)
	s := st.Series(vus, "")
	base := time.Date(2026, 5, 9, 14, 34, 45, 0, time.Local).UnixNano()
	var cat output.Catalog
	times := []int64{base, base + 239531499, base + 500000000, base + 1e9 + 1, base - 1, 0}
	for _, tm := range times {
		if err := j.WriteSample(metrics.Sample{Series: s, Value: 1, Time: tm}, &cat); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(read(t, path)), "\n")[1:]
	for i, l := range lines {
		var v struct{ Data struct{ Time string } }
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		want := time.Unix(0, times[i]).Format(time.RFC3339Nano)
		if v.Data.Time != want {
			t.Errorf("time %q, want %q", v.Data.Time, want)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJSONNumbers: values are written as encoding/json writes them.
func TestJSONNumbers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.json")
	j, err := output.NewJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	st := metrics.NewStore()
	vus, _ := st.Def(metrics.VUs)
	s := st.Series(vus, "")
	var cat output.Catalog
	vals := []float64{19984384, 0, -0.5, 1e-7, 1.5e-300, 1e21, 123456789.125, -2.5e22, 0.000001}
	for _, v := range vals {
		if err := j.WriteSample(metrics.Sample{Series: s, Value: v, Time: 1}, &cat); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(strings.TrimSpace(read(t, path)), "\n")[1:] {
		want, _ := json.Marshal(vals[i])
		if !strings.Contains(l, `"value":`+string(want)+`,`) {
			t.Errorf("%v: line %s, want value %s", vals[i], l, want)
		}
	}
}
