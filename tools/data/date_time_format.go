package data

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"spellhost/tools"
)

// Output formats for date-time-handler: named layouts and strftime directives.

type namedFormat struct {
	layout string // Go layout; "" for unix and unix_ms
	utc    bool   // shown in UTC
}

var namedFormats = map[string]namedFormat{
	"rfc3339":      {time.RFC3339, false},
	"rfc3339_nano": {time.RFC3339Nano, false},
	"iso8601":      {"2006-01-02T15:04:05.000Z07:00", false},
	"rfc1123":      {time.RFC1123, false},
	"rfc1123z":     {time.RFC1123Z, false},
	"rfc822":       {time.RFC822, false},
	"rfc822z":      {time.RFC822Z, false},
	"rfc850":       {time.RFC850, false},
	"ansic":        {time.ANSIC, false},
	"unix_date":    {time.UnixDate, false},
	"http":         {"Mon, 02 Jan 2006 15:04:05 GMT", true},
	"unix":         {"", false},
	"unix_ms":      {"", false},
	"date":         {time.DateOnly, false},
	"time":         {time.TimeOnly, false},
	"datetime":     {time.DateTime, false},
	"kitchen":      {time.Kitchen, false},
}

var namedFormatOrder = []string{"rfc3339", "rfc3339_nano", "iso8601", "rfc1123", "rfc1123z", "rfc822", "rfc822z",
	"rfc850", "ansic", "unix_date", "http", "unix", "unix_ms", "date", "time", "datetime", "kitchen"}

// directives are the strftime directives format accepts, with meanings.
var directives = [][2]string{
	{"%Y", "year, 4 digits"}, {"%y", "year, 2 digits"}, {"%C", "century, 2 digits"},
	{"%m", "month 01-12"}, {"%b", "month abbreviation (Jan)"}, {"%h", "same as %b"}, {"%B", "month name (January)"},
	{"%d", "day 01-31"}, {"%e", "day, space-padded"}, {"%j", "day of year 001-366"},
	{"%H", "hour 00-23"}, {"%I", "hour 01-12"}, {"%p", "AM or PM"}, {"%M", "minute 00-59"}, {"%S", "second 00-60"},
	{"%f", "microseconds, 6 digits"}, {"%L", "milliseconds, 3 digits"}, {"%N", "nanoseconds, 9 digits"},
	{"%z", "offset +hhmm"}, {"%Z", "zone abbreviation"}, {"%a", "weekday abbreviation (Mon)"}, {"%A", "weekday name"},
	{"%u", "ISO weekday 1-7, Monday 1"}, {"%w", "weekday 0-6, Sunday 0"}, {"%V", "ISO week 01-53"}, {"%G", "ISO week-year"},
	{"%s", "unix seconds"}, {"%F", "%Y-%m-%d"}, {"%T", "%H:%M:%S"}, {"%D", "%m/%d/%y"}, {"%R", "%H:%M"},
	{"%c", "%a %b %e %H:%M:%S %Y"}, {"%n", "newline"}, {"%t", "tab"}, {"%%", "a literal %"},
}

func checkFormat(f string) error {
	if len(f) > maxDateInput {
		return tools.Errorf(tools.TypeTooLarge, "parameter \"format\": %d bytes exceeds the %d-byte limit", len(f), maxDateInput)
	}
	if !strings.Contains(f, "%") {
		if _, ok := namedFormats[strings.ToLower(f)]; !ok {
			return tools.Invalid("parameter \"format\": unknown format name %q; use a name from operation formats "+
				"or a strftime pattern such as %q", f, "%Y-%m-%d %H:%M")
		}
		return nil
	}
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		if i+1 >= len(f) {
			return tools.Invalid("parameter \"format\": pattern ends with a lone %%")
		}
		i++
		if !strings.Contains("YyCmbhBdejHIpMSfLNzZaAuwVGsFTDRcnt%", string(f[i])) {
			return tools.Invalid("parameter \"format\": unknown directive %%%c; operation formats lists the directives", f[i])
		}
	}
	return nil
}

// format renders t; f passed checkFormat.
func format(t time.Time, f string) string {
	if !strings.Contains(f, "%") {
		nf := namedFormats[strings.ToLower(f)]
		switch {
		case nf.layout == "" && strings.EqualFold(f, "unix"):
			return strconv.FormatInt(t.Unix(), 10)
		case nf.layout == "":
			return strconv.FormatInt(t.UnixMilli(), 10)
		case nf.utc:
			return t.UTC().Format(nf.layout)
		}
		return t.Format(nf.layout)
	}
	return string(strftime(make([]byte, 0, len(f)+16), t, f))
}

func pad(b []byte, v, width int, pad byte) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(v), 10)
	for i := len(s); i < width; i++ {
		b = append(b, pad)
	}
	return append(b, s...)
}

func strftime(b []byte, t time.Time, f string) []byte {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b = append(b, f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			b = pad(b, t.Year(), 4, '0')
		case 'y':
			b = pad(b, t.Year()%100, 2, '0')
		case 'C':
			b = pad(b, t.Year()/100, 2, '0')
		case 'm':
			b = pad(b, int(t.Month()), 2, '0')
		case 'b', 'h':
			b = append(b, t.Month().String()[:3]...)
		case 'B':
			b = append(b, t.Month().String()...)
		case 'd':
			b = pad(b, t.Day(), 2, '0')
		case 'e':
			b = pad(b, t.Day(), 2, ' ')
		case 'j':
			b = pad(b, t.YearDay(), 3, '0')
		case 'H':
			b = pad(b, t.Hour(), 2, '0')
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b = pad(b, h, 2, '0')
		case 'p':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'M':
			b = pad(b, t.Minute(), 2, '0')
		case 'S':
			b = pad(b, t.Second(), 2, '0')
		case 'f':
			b = pad(b, t.Nanosecond()/1000, 6, '0')
		case 'L':
			b = pad(b, t.Nanosecond()/1e6, 3, '0')
		case 'N':
			b = pad(b, t.Nanosecond(), 9, '0')
		case 'z':
			b = t.AppendFormat(b, "-0700")
		case 'Z':
			abbr, _ := t.Zone()
			b = append(b, abbr...)
		case 'a':
			b = append(b, t.Weekday().String()[:3]...)
		case 'A':
			b = append(b, t.Weekday().String()...)
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			b = pad(b, wd, 1, '0')
		case 'w':
			b = pad(b, int(t.Weekday()), 1, '0')
		case 'V':
			_, w := t.ISOWeek()
			b = pad(b, w, 2, '0')
		case 'G':
			y, _ := t.ISOWeek()
			b = pad(b, y, 4, '0')
		case 's':
			b = strconv.AppendInt(b, t.Unix(), 10)
		case 'F':
			b = strftime(b, t, "%Y-%m-%d")
		case 'T':
			b = strftime(b, t, "%H:%M:%S")
		case 'D':
			b = strftime(b, t, "%m/%d/%y")
		case 'R':
			b = strftime(b, t, "%H:%M")
		case 'c':
			b = strftime(b, t, "%a %b %e %H:%M:%S %Y")
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		default: // '%'
			b = append(b, f[i])
		}
	}
	return b
}

// formatsList answers operation formats.
func formatsList() map[string]any {
	ref := time.Date(2024, 3, 9, 14, 5, 7, 123456789, time.UTC)
	inputs := [][2]string{
		{"rfc3339", "2024-03-09T14:05:07Z; 2024-03-09T14:05:07.123+01:00"},
		{"iso8601_local", "2024-03-09T14:05:07 (in timezone)"},
		{"iso8601_minutes", "2024-03-09T14:05+01:00"},
		{"iso8601_minutes_local", "2024-03-09T14:05"},
		{"iso8601_basic_offset", "2024-03-09T14:05:07+0100"},
		{"date", "2024-03-09"},
		{"datetime", "2024-03-09 14:05:07"},
		{"datetime_minutes", "2024-03-09 14:05"},
		{"datetime_offset", "2024-03-09 14:05:07+01:00; 2024-03-09 14:05:07 -0700"},
		{"datetime_zone", "2024-03-09 14:05:07 UTC"},
		{"go_string", "2024-03-09 14:05:07.123 +0000 UTC"},
		{"slash_ymd", "2024/03/09"},
		{"slash_ymd_time", "2024/03/09 14:05:07; 2024/03/09 14:05"},
		{"day_first_slash", "31/03/2024 (first number > 12, optional time)"},
		{"month_first_slash", "03/31/2024 (second number > 12, optional time)"},
		{"basic_date", "20240309"},
		{"basic_datetime", "20240309140507"},
		{"unix", "1709993107; 1709993107.5"},
		{"unix_ms", "1709993107123"},
		{"unix_us", "1709993107123456"},
		{"unix_ns", "1709993107123456789"},
		{"rfc1123", "Sat, 09 Mar 2024 14:05:07 GMT"},
		{"rfc1123z", "Sat, 09 Mar 2024 14:05:07 +0000"},
		{"rfc850", "Saturday, 09-Mar-24 14:05:07 UTC"},
		{"rfc822", "09 Mar 24 14:05 UTC"},
		{"rfc822z", "09 Mar 24 14:05 +0000"},
		{"rfc5322", "9 Mar 2024 14:05:07 +0000"},
		{"ansic", "Sat Mar  9 14:05:07 2024"},
		{"unix_date", "Sat Mar  9 14:05:07 UTC 2024"},
		{"ruby_date", "Sat Mar 09 14:05:07 +0000 2024"},
		{"month_day_year", "Mar 9 2024; March 9, 2024; Saturday, March 9, 2024; Mar 9, 2024 2:05 PM"},
		{"day_month_year", "9 Mar 2024; 9 March 2024; 9-Mar-2024"},
		{"day_month_year_time", "9 Mar 2024 14:05:07; 9 March 2024 14:05:07"},
		{"keywords", "now; today; yesterday; tomorrow"},
	}
	in := make([]any, len(inputs))
	for i, x := range inputs {
		in[i] = map[string]any{"name": x[0], "examples": x[1]}
	}
	out := make([]any, len(namedFormatOrder))
	for i, name := range namedFormatOrder {
		out[i] = map[string]any{"name": name, "example": format(ref, name)}
	}
	dirs := make([]any, len(directives))
	for i, d := range directives {
		dirs[i] = map[string]any{"directive": d[0], "meaning": d[1], "example": format(ref, d[0])}
	}
	units := make([]any, len(unitNames))
	for i, u := range unitNames {
		units[i] = u
	}
	return map[string]any{"input_formats": in, "output_formats": out, "strftime_directives": dirs, "units": units,
		"abbreviations": "UTC, GMT, UT and " + strings.Join(abbrevNames(), ", ")}
}

func abbrevNames() []string { return slices.Sorted(maps.Keys(abbrevs)) }
