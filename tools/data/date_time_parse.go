package data

import (
	"math"
	"strconv"
	"strings"
	"time"

	"spellhost/tools"
)

// Parsing for date-time-handler: the layouts tried, Unix times and input_format.

type layout struct {
	layout, name string
	abbrev       bool // the zone is an abbreviation (MST) alone
}

var (
	isoLayouts = []layout{
		{time.RFC3339, "rfc3339", false},
		{"2006-01-02T15:04:05", "iso8601_local", false},
		{"2006-01-02", "date", false},
		{"2006-01-02 15:04:05", "datetime", false},
		{"2006-01-02 15:04:05Z07:00", "datetime_offset", false},
		{"2006-01-02 15:04:05 Z07:00", "datetime_offset", false},
		{"2006-01-02 15:04:05 -0700", "datetime_offset", false},
		{"2006-01-02 15:04:05 -0700 MST", "go_string", false},
		{"2006-01-02 15:04:05 MST", "datetime_zone", true},
		{"2006-01-02T15:04:05Z0700", "iso8601_basic_offset", false},
		{"2006-01-02T15:04Z07:00", "iso8601_minutes", false},
		{"2006-01-02T15:04", "iso8601_minutes_local", false},
		{"2006-01-02 15:04", "datetime_minutes", false},
	}
	slashYMD = []layout{
		{"2006/01/02", "slash_ymd", false},
		{"2006/01/02 15:04:05", "slash_ymd_time", false},
		{"2006/01/02 15:04", "slash_ymd_time", false},
	}
	dayFirst = []layout{
		{"2 Jan 2006", "day_month_year", false},
		{"2 January 2006", "day_month_year", false},
		{"2 Jan 2006 15:04:05", "day_month_year_time", false},
		{"2 Jan 2006 15:04", "day_month_year_time", false},
		{"2 January 2006 15:04:05", "day_month_year_time", false},
		{"2 Jan 2006 15:04:05 -0700", "rfc5322", false},
		{"2 Jan 2006 15:04:05 MST", "rfc5322", true},
		{"2 Jan 06 15:04 -0700", "rfc822z", false},
		{"2 Jan 06 15:04 MST", "rfc822", true},
		{"2-Jan-2006", "day_month_year", false},
	}
	named = namedLayouts()
)

func namedLayouts() []layout {
	ls := []layout{
		{"Mon, 2 Jan 2006 15:04:05 -0700", "rfc1123z", false},
		{"Mon, 2 Jan 2006 15:04:05 MST", "rfc1123", true},
		{"Monday, 02-Jan-06 15:04:05 MST", "rfc850", true},
		{time.ANSIC, "ansic", false},
		{time.RubyDate, "ruby_date", false},
		{time.UnixDate, "unix_date", true},
	}
	dates := []string{"Jan 2 2006", "Jan 2, 2006", "January 2 2006", "January 2, 2006",
		"Mon Jan 2 2006", "Mon, Jan 2, 2006", "Monday, January 2, 2006"}
	times := []string{"", " 15:04:05", " 15:04", " 3:04 PM", " 3:04:05 PM", " 3:04PM"}
	for _, tm := range times {
		for _, d := range dates {
			ls = append(ls, layout{d + tm, "month_day_year", false})
		}
	}
	return ls
}

func (c *opState) parseString(param, s string) (time.Time, string, error) {
	if len(s) > maxDateInput {
		return time.Time{}, "", tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", param, len(s), maxDateInput)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, "", tools.Invalid("parameter %q: empty date", param)
	}
	if c.inFmt != nil {
		return c.inFmt.parse(param, s, c.loc)
	}
	switch strings.ToLower(s) {
	case "now":
		return c.clock().In(c.loc), "now", nil
	case "today", "yesterday", "tomorrow":
		y, m, d := c.clock().In(c.loc).Date()
		d += map[string]int{"today": 0, "yesterday": -1, "tomorrow": 1}[strings.ToLower(s)]
		return time.Date(y, m, d, 0, 0, 0, 0, c.loc), strings.ToLower(s), nil
	}
	if isNumeric(s) {
		if len(s) == 8 || len(s) == 14 {
			layout, name := "20060102", "basic_date"
			if len(s) == 14 {
				layout, name = "20060102150405", "basic_datetime"
			}
			if t, err := time.ParseInLocation(layout, s, c.loc); err == nil {
				return t, name, nil
			}
		}
		t, name, err := fromUnixString(param, s)
		if err != nil {
			return time.Time{}, "", err
		}
		return t.In(c.loc), name, nil
	}
	var list []layout
	switch {
	case s[0] >= '0' && s[0] <= '9':
		switch {
		case len(s) >= 10 && s[4] == '-' && digits(s[:4]):
			list = isoLayouts
		case len(s) >= 10 && s[4] == '/' && digits(s[:4]):
			list = slashYMD
		case strings.IndexByte(s, '/') > 0:
			return c.parseSlash(param, s)
		default:
			list = dayFirst
		}
	default:
		list = named
	}
	for _, l := range list {
		t, err := time.ParseInLocation(l.layout, s, c.loc)
		if err != nil {
			continue
		}
		if l.abbrev {
			if t, err = fixAbbrev(param, t); err != nil {
				return time.Time{}, "", err
			}
		}
		return t, l.name, nil
	}
	return time.Time{}, "", cannotParse(param, s)
}

func cannotParse(param, s string) error {
	return tools.Invalid("parameter %q: cannot read %q as a date/time; operation formats lists the accepted forms, "+
		"or pass input_format", param, s)
}

// parseSlash reads d/m/yyyy or m/d/yyyy, with an optional time, when the
// order is clear from the numbers.
func (c *opState) parseSlash(param, s string) (time.Time, string, error) {
	i := strings.IndexByte(s, '/')
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return time.Time{}, "", cannotParse(param, s)
	}
	a, err1 := strconv.Atoi(s[:i])
	b, err2 := strconv.Atoi(s[i+1 : i+1+j])
	if err1 != nil || err2 != nil {
		return time.Time{}, "", cannotParse(param, s)
	}
	var date, name string
	switch {
	case a > 12 && b <= 12:
		date, name = "2/1/2006", "day_first_slash"
	case b > 12 && a <= 12, a == b:
		date, name = "1/2/2006", "month_first_slash"
	default:
		return time.Time{}, "", tools.Invalid("parameter %q: %q is ambiguous (month/day or day/month); "+
			"pass input_format, e.g. \"%%m/%%d/%%Y\" or \"%%d/%%m/%%Y\"", param, s)
	}
	for _, tm := range []string{"", " 15:04:05", " 15:04"} {
		if t, err := time.ParseInLocation(date+tm, s, c.loc); err == nil {
			return t, name, nil
		}
	}
	return time.Time{}, "", cannotParse(param, s)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isNumeric reports whether s is [+-]digits[.digits].
func isNumeric(s string) bool {
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0:
			dot = true
		default:
			return false
		}
	}
	return digits > 0 && s[len(s)-1] != '.'
}

// unitFor picks the unit of a unix timestamp from its magnitude.
func unitFor(abs float64) (name string, perSec float64) {
	switch {
	case abs < 1e11:
		return "unix", 1
	case abs < 1e14:
		return "unix_ms", 1e3
	case abs < 1e17:
		return "unix_us", 1e6
	}
	return "unix_ns", 1e9
}

func outOfRange(param string) error {
	return tools.Invalid("parameter %q: timestamp is outside the years 0001-9999", param)
}

func fromUnixInt(param string, n int64) (time.Time, string, error) {
	name, perSec := unitFor(math.Abs(float64(n)))
	p := int64(perSec)
	if n/p > maxAbsSecs || n/p < -maxAbsSecs {
		return time.Time{}, "", outOfRange(param)
	}
	return time.Unix(n/p, n%p*(1e9/p)), name, nil
}

func fromUnixString(param, s string) (time.Time, string, error) {
	if !strings.Contains(s, ".") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return fromUnixInt(param, n)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, "", outOfRange(param)
	}
	return fromUnixFloat(param, f)
}

func fromUnixFloat(param string, f float64) (time.Time, string, error) {
	if f == math.Trunc(f) && math.Abs(f) < 1<<62 {
		return fromUnixInt(param, int64(f))
	}
	name, perSec := unitFor(math.Abs(f))
	secs := f / perSec
	if math.Abs(secs) > maxAbsSecs {
		return time.Time{}, "", outOfRange(param)
	}
	w := math.Floor(secs)
	return time.Unix(int64(w), int64(math.Round((secs-w)*1e9))), name, nil
}

// --- input_format ---

type inputFormat struct {
	layout string
	name   string
	abbrev bool
	unix   bool
}

var parseDirectives = map[byte]string{
	'Y': "2006", 'm': "1", 'd': "2", 'e': "_2", 'H': "15", 'I': "3", 'M': "04", 'S': "05",
	'y': "06", 'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday", 'p': "PM",
	'z': "Z0700", 'Z': "MST", 'j': "002",
}

func compileInputFormat(f string) (*inputFormat, error) {
	if len(f) > maxDateInput {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter \"input_format\": %d bytes exceeds the %d-byte limit", len(f), maxDateInput)
	}
	if !strings.Contains(f, "%") {
		nf, ok := namedFormats[strings.ToLower(f)]
		if !ok {
			return nil, tools.Invalid("parameter \"input_format\": unknown format name %q; use a name from operation formats "+
				"or a strftime pattern such as %q", f, "%d/%m/%Y")
		}
		return &inputFormat{layout: nf.layout, name: strings.ToLower(f), abbrev: strings.Contains(nf.layout, "MST"),
			unix: nf.layout == ""}, nil
	}
	var b strings.Builder
	abbrev := false
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			if c >= '0' && c <= '9' || c == '_' || c == 'J' || c == 'M' || c == 'P' || c == 'p' {
				return nil, tools.Invalid("parameter \"input_format\": literal %q at offset %d is not supported; "+
					"literals may not contain digits, '_', J, M, P or p", c, i)
			}
			if (c == '.' || c == ',') && i+2 < len(f) && f[i+1] == '%' && f[i+2] == 'f' {
				b.WriteString(".999999999")
				i += 2
				continue
			}
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(f) {
			return nil, tools.Invalid("parameter \"input_format\": pattern ends with a lone %%")
		}
		i++
		d := f[i]
		if d == '%' {
			return nil, tools.Invalid("parameter \"input_format\": %%%% is not supported for reading")
		}
		l, ok := parseDirectives[d]
		if !ok {
			return nil, tools.Invalid("parameter \"input_format\": directive %%%c is not supported for reading "+
				"(%%f only right after '.' or ','); supported: %%Y %%m %%d %%e %%H %%I %%M %%S %%f %%y %%b %%h %%B %%a %%A %%p %%z %%Z %%j", d)
		}
		if d == 'Z' {
			abbrev = true
		}
		b.WriteString(l)
	}
	return &inputFormat{layout: b.String(), name: "custom", abbrev: abbrev}, nil
}

func (f *inputFormat) parse(param, s string, loc *time.Location) (time.Time, string, error) {
	if f.unix {
		if !isNumeric(s) {
			return time.Time{}, "", tools.Invalid("parameter %q: %q is not a number (input_format %s)", param, s, f.name)
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			secs, nanos := n, int64(0)
			if f.name == "unix_ms" {
				secs, nanos = n/1000, n%1000*1e6
			}
			if secs > maxAbsSecs || secs < -maxAbsSecs {
				return time.Time{}, "", outOfRange(param)
			}
			return time.Unix(secs, nanos).In(loc), f.name, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, "", outOfRange(param)
		}
		if f.name == "unix_ms" {
			v /= 1000
		}
		if math.Abs(v) > maxAbsSecs {
			return time.Time{}, "", outOfRange(param)
		}
		w := math.Floor(v)
		return time.Unix(int64(w), int64(math.Round((v-w)*1e9))).In(loc), f.name, nil
	}
	t, err := time.ParseInLocation(f.layout, s, loc)
	if err != nil {
		return time.Time{}, "", tools.Invalid("parameter %q: %q does not match input_format: %s", param, s, parseErr(err))
	}
	if f.abbrev {
		if t, err = fixAbbrev(param, t); err != nil {
			return time.Time{}, "", err
		}
	}
	return t, f.name, nil
}

// parseErr keeps the useful tail of a time.ParseError.
func parseErr(err error) string {
	if pe, ok := err.(*time.ParseError); ok && pe.Message != "" {
		return strings.TrimPrefix(pe.Message, ": ")
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}
