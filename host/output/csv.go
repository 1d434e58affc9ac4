package output

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"spellhost/host/metrics"
)

// CSVColumns are the columns of --out csv=FILE, k6's: each value's metric,
// time (Unix seconds) and value, then the tags k6 knows by name, the
// other tags as extra_tags (key=value pairs joined by '&', each part
// URL-query-escaped), and metadata (empty: spellhost keeps none).
var CSVColumns = []string{"metric_name", "timestamp", "metric_value", "check", "error", "error_code", "expected_response",
	"group", "method", "name", "proto", "scenario", "service", "status", "subproto", "tls_version", "url", "extra_tags", "metadata"}

// csvTagColumns are the tag columns, between metric_value and extra_tags.
var csvTagColumns = CSVColumns[3:17]

// CSV is the --out csv=FILE output.
type CSV struct {
	name string
	*file
	rows map[*metrics.Series][]byte // ",check,...,extra_tags,metadata\n" of each series
	buf  []byte
}

// NewCSV creates path for the CSV output and writes the header.
func NewCSV(path string) (*CSV, error) {
	f, err := createFile(path)
	if err != nil {
		return nil, err
	}
	c := &CSV{name: "csv=" + path, file: f, rows: map[*metrics.Series][]byte{}}
	if _, err := c.w.WriteString(strings.Join(CSVColumns, ",") + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// Name names the output for errors.
func (c *CSV) Name() string { return c.name }

// WriteSample writes one row.
func (c *CSV) WriteSample(s metrics.Sample, _ *Catalog) error {
	b := appendCSVField(c.buf[:0], s.Series.Def.Name)
	b = append(b, ',')
	b = strconv.AppendInt(b, s.Time/1e9, 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, s.Value, 'f', 6, 64)
	rest, ok := c.rows[s.Series]
	if !ok {
		rest = csvRest(s.Series.TagMap())
		c.rows[s.Series] = rest
	}
	b = append(b, rest...)
	c.buf = b
	_, err := c.w.Write(b)
	return err
}

// csvRest renders the columns after metric_value for a series' tags.
func csvRest(tags map[string]string) []byte {
	var b []byte
	for _, col := range csvTagColumns {
		b = append(b, ',')
		b = appendCSVField(b, tags[col])
	}
	var extra []string
	for _, k := range sortedKeys(tags) {
		if !slices.Contains(csvTagColumns, k) {
			extra = append(extra, url.QueryEscape(k)+"="+url.QueryEscape(tags[k]))
		}
	}
	b = append(b, ',')
	b = appendCSVField(b, strings.Join(extra, "&"))
	return append(b, ",\n"...)
}

// appendCSVField appends a field, quoted when it holds a comma, a quote,
// a line break or a space at either end (RFC 4180).
func appendCSVField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") && strings.TrimSpace(s) == s {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}
