package data_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"spellhost/tools"
	"spellhost/tools/data"
)

func TestDateTimeHandlerSpec(t *testing.T) {
	tool := data.DateTimeHandler()
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "date_time_handler" {
		t.Fatalf("name %q", spec.Name)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
	res := call(t, tool, spec.Example)
	if got := res["result"].(map[string]any)["utc"]; got != "2024-02-29T10:00:00Z" {
		t.Fatalf("example: result.utc %v", got)
	}
}

// sub returns res[key] as a map.
func sub(t *testing.T, res map[string]any, key string) map[string]any {
	t.Helper()
	m, ok := res[key].(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want map (result %v)", key, res[key], res)
	}
	return m
}

// checkFields compares the listed fields of m.
func checkFields(t *testing.T, m map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got := m[k]; got != v {
			t.Errorf("%s = %#v (%T), want %#v (%T)", k, got, got, v, v)
		}
	}
}

func TestDateTimeHandlerParse(t *testing.T) {
	tool := data.DateTimeHandler()
	cases := []struct {
		name   string
		params map[string]any
		detect string
		want   map[string]any // fields of parsed
	}{
		{"rfc3339", map[string]any{"input": "2024-01-15T10:30:00Z"}, "rfc3339", map[string]any{
			"utc": "2024-01-15T10:30:00Z", "local": "2024-01-15T10:30:00Z", "timestamp": int64(1705314600),
			"timestamp_ms": int64(1705314600000), "year": 2024, "month": 1, "month_name": "January", "day": 15,
			"hour": 10, "minute": 30, "second": 0, "nanosecond": 0, "weekday": "Monday", "day_of_year": 15,
			"iso_week": 3, "iso_year": 2024, "timezone": "UTC", "abbreviation": "UTC", "offset_seconds": 0}},
		{"default operation is parse", map[string]any{"input": "2024-01-15T10:30:00Z"}, "rfc3339", map[string]any{"day": 15}},
		{"explicit parse", map[string]any{"operation": "parse", "input": "2024-01-15T10:30:00Z"}, "rfc3339", map[string]any{"day": 15}},
		{"own offset kept", map[string]any{"input": "2024-01-15T10:30:00.123456789+02:00"}, "rfc3339", map[string]any{
			"utc": "2024-01-15T08:30:00.123456789Z", "local": "2024-01-15T10:30:00.123456789+02:00", "hour": 10,
			"nanosecond": 123456789, "timezone": "+02:00", "offset_seconds": 7200}},
		{"shown in timezone", map[string]any{"input": "2024-01-15T10:30:00+02:00", "timezone": "America/New_York"}, "rfc3339",
			map[string]any{"utc": "2024-01-15T08:30:00Z", "hour": 3, "timezone": "America/New_York", "abbreviation": "EST",
				"offset_seconds": -18000}},
		{"naive in timezone", map[string]any{"input": "2024-07-15 10:30:00", "timezone": "Europe/Berlin"}, "datetime",
			map[string]any{"utc": "2024-07-15T08:30:00Z", "hour": 10, "abbreviation": "CEST", "offset_seconds": 7200}},
		{"naive offset zone", map[string]any{"input": "2024-01-15 10:30:00", "timezone": "+05:30"}, "datetime",
			map[string]any{"utc": "2024-01-15T05:00:00Z", "timezone": "+05:30", "offset_seconds": 19800}},
		{"iso local", map[string]any{"input": "2024-01-15T10:30:00"}, "iso8601_local", map[string]any{"utc": "2024-01-15T10:30:00Z"}},
		{"iso minutes", map[string]any{"input": "2024-01-15T10:30+01:00"}, "iso8601_minutes", map[string]any{"utc": "2024-01-15T09:30:00Z"}},
		{"iso basic offset", map[string]any{"input": "2024-01-15T10:30:00+0100"}, "iso8601_basic_offset", map[string]any{"utc": "2024-01-15T09:30:00Z"}},
		{"date", map[string]any{"input": " 2024-01-15 "}, "date", map[string]any{"utc": "2024-01-15T00:00:00Z"}},
		{"datetime minutes", map[string]any{"input": "2024-01-15 10:30"}, "datetime_minutes", map[string]any{"utc": "2024-01-15T10:30:00Z"}},
		{"datetime offset", map[string]any{"input": "2024-01-15 10:30:00 -0700"}, "datetime_offset", map[string]any{"utc": "2024-01-15T17:30:00Z"}},
		{"datetime utc", map[string]any{"input": "2024-01-15 10:30:00 UTC"}, "datetime_zone", map[string]any{"utc": "2024-01-15T10:30:00Z"}},
		{"go string", map[string]any{"input": "2024-01-15 10:30:00.5 +0000 UTC"}, "go_string", map[string]any{"utc": "2024-01-15T10:30:00.5Z"}},
		{"rfc1123", map[string]any{"input": "Mon, 15 Jan 2024 10:30:00 GMT"}, "rfc1123", map[string]any{"utc": "2024-01-15T10:30:00Z"}},
		{"rfc1123 est", map[string]any{"input": "Mon, 15 Jan 2024 10:30:00 EST"}, "rfc1123", map[string]any{
			"utc": "2024-01-15T15:30:00Z", "timezone": "EST", "offset_seconds": -18000}},
		{"rfc1123z", map[string]any{"input": "Mon, 15 Jan 2024 10:30:00 -0500"}, "rfc1123z", map[string]any{"utc": "2024-01-15T15:30:00Z"}},
		{"rfc1123 one-digit day", map[string]any{"input": "Tue, 2 Jan 2024 10:30:00 +0000"}, "rfc1123z", map[string]any{"day": 2}},
		{"rfc850", map[string]any{"input": "Monday, 15-Jan-24 10:30:00 UTC"}, "rfc850", map[string]any{"utc": "2024-01-15T10:30:00Z"}},
		{"rfc850 numeric zone", map[string]any{"input": "Monday, 15-Jan-24 10:30:00 -07"}, "rfc850", map[string]any{
			"utc": "2024-01-15T17:30:00Z", "timezone": "-07:00", "offset_seconds": -25200}},
		{"rfc1123 offset", map[string]any{"input": "Mon, 15 Jan 2024 10:30:00 +0100"}, "rfc1123z", map[string]any{"utc": "2024-01-15T09:30:00Z"}},
		{"ansic", map[string]any{"input": "Tue Jan  2 10:30:00 2024"}, "ansic", map[string]any{"utc": "2024-01-02T10:30:00Z"}},
		{"unix date", map[string]any{"input": "Mon Jan 15 10:30:00 PST 2024"}, "unix_date", map[string]any{"utc": "2024-01-15T18:30:00Z"}},
		{"ruby date", map[string]any{"input": "Mon Jan 15 10:30:00 +0100 2024"}, "ruby_date", map[string]any{"utc": "2024-01-15T09:30:00Z"}},
		{"month day year", map[string]any{"input": "Jan 15 2024"}, "month_day_year", map[string]any{"utc": "2024-01-15T00:00:00Z"}},
		{"month name comma time", map[string]any{"input": "January 15, 2024 3:04 PM"}, "month_day_year", map[string]any{"utc": "2024-01-15T15:04:00Z"}},
		{"month lowercase", map[string]any{"input": "jan 2, 2006"}, "month_day_year", map[string]any{"utc": "2006-01-02T00:00:00Z"}},
		{"day month year", map[string]any{"input": "15 January 2024"}, "day_month_year", map[string]any{"utc": "2024-01-15T00:00:00Z"}},
		{"rfc5322", map[string]any{"input": "2 Jan 2024 10:30:00 +0200"}, "rfc5322", map[string]any{"utc": "2024-01-02T08:30:00Z"}},
		{"slash ymd", map[string]any{"input": "2024/01/15 10:30"}, "slash_ymd_time", map[string]any{"utc": "2024-01-15T10:30:00Z"}},
		{"day first", map[string]any{"input": "31/01/2024"}, "day_first_slash", map[string]any{"utc": "2024-01-31T00:00:00Z"}},
		{"month first", map[string]any{"input": "1/31/2024 10:30"}, "month_first_slash", map[string]any{"utc": "2024-01-31T10:30:00Z"}},
		{"same numbers", map[string]any{"input": "05/05/2024"}, "month_first_slash", map[string]any{"utc": "2024-05-05T00:00:00Z"}},
		{"basic date", map[string]any{"input": "20240115"}, "basic_date", map[string]any{"utc": "2024-01-15T00:00:00Z"}},
		{"basic datetime", map[string]any{"input": "20240115103000"}, "basic_datetime", map[string]any{"utc": "2024-01-15T10:30:00Z"}},
		{"8 digits not a date", map[string]any{"input": "86400000"}, "unix", map[string]any{"utc": "1972-09-27T00:00:00Z"}},
		{"unix string", map[string]any{"input": "1705314600"}, "unix", map[string]any{"utc": "2024-01-15T10:30:00Z"}},
		{"unix negative", map[string]any{"input": "-86400"}, "unix", map[string]any{"utc": "1969-12-31T00:00:00Z"}},
		{"unix fraction", map[string]any{"input": "1705314600.25"}, "unix", map[string]any{"utc": "2024-01-15T10:30:00.25Z"}},
		{"unix ms string", map[string]any{"input": "1705314600123"}, "unix_ms", map[string]any{"utc": "2024-01-15T10:30:00.123Z"}},
		{"unix us string", map[string]any{"input": "1705314600123456"}, "unix_us", map[string]any{"utc": "2024-01-15T10:30:00.123456Z"}},
		{"unix ns string", map[string]any{"input": "1705314600123456789"}, "unix_ns", map[string]any{"utc": "2024-01-15T10:30:00.123456789Z"}},
		{"unix int", map[string]any{"input": 1705314600}, "unix", map[string]any{"utc": "2024-01-15T10:30:00Z"}},
		{"unix float", map[string]any{"input": 1705314600.5}, "unix", map[string]any{"utc": "2024-01-15T10:30:00.5Z"}},
		{"unix ms number", map[string]any{"input": int64(1705314600123)}, "unix_ms", map[string]any{"utc": "2024-01-15T10:30:00.123Z"}},
		{"unix in timezone", map[string]any{"input": 0, "timezone": "Asia/Tokyo"}, "unix", map[string]any{
			"utc": "1970-01-01T00:00:00Z", "local": "1970-01-01T09:00:00+09:00", "hour": 9}},
		{"input_format", map[string]any{"input": "15.01.2024 10:30", "input_format": "%d.%m.%Y %H:%M"}, "custom",
			map[string]any{"utc": "2024-01-15T10:30:00Z"}},
		{"input_format fraction", map[string]any{"input": "2024-01-15 10:30:00.250", "input_format": "%Y-%m-%d %H:%M:%S.%f"}, "custom",
			map[string]any{"utc": "2024-01-15T10:30:00.25Z"}},
		{"input_format names", map[string]any{"input": "Monday 15 January 24, 3PM +0100", "input_format": "%A %d %B %y, %I%p %z"}, "custom",
			map[string]any{"utc": "2024-01-15T14:00:00Z"}},
		{"input_format compact", map[string]any{"input": "2024015", "input_format": "%Y%j"}, "custom",
			map[string]any{"utc": "2024-01-15T00:00:00Z"}},
		{"input_format ambiguous resolved", map[string]any{"input": "01/02/2024", "input_format": "%d/%m/%Y"}, "custom",
			map[string]any{"utc": "2024-02-01T00:00:00Z"}},
		{"input_format zone abbrev", map[string]any{"input": "2024-01-15 10:30 CET", "input_format": "%Y-%m-%d %H:%M %Z"}, "custom",
			map[string]any{"utc": "2024-01-15T09:30:00Z"}},
		{"input_format named", map[string]any{"input": "1705314600123", "input_format": "unix_ms"}, "unix_ms",
			map[string]any{"utc": "2024-01-15T10:30:00.123Z"}},
		{"input_format named layout", map[string]any{"input": "Mon, 15 Jan 2024 10:30:00 -0500", "input_format": "RFC1123Z"}, "rfc1123z",
			map[string]any{"utc": "2024-01-15T15:30:00Z"}},
		{"year bounds", map[string]any{"input": "9999-12-31T23:59:59Z"}, "rfc3339", map[string]any{"year": 9999}},
		{"leap second", map[string]any{"input": "0001-01-01"}, "date", map[string]any{"year": 1, "timestamp": int64(-62135596800)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, tool, c.params)
			if res["detected_format"] != c.detect {
				t.Errorf("detected_format %v, want %s", res["detected_format"], c.detect)
			}
			if res["input"] != c.params["input"] {
				t.Errorf("input echo %#v", res["input"])
			}
			if _, ok := res["formatted"]; ok {
				t.Errorf("formatted present without format")
			}
			checkFields(t, sub(t, res, "parsed"), c.want)
		})
	}
}

func TestDateTimeHandlerFormat(t *testing.T) {
	tool := data.DateTimeHandler()
	in := "2024-03-09T14:05:07.123456789+01:00"
	cases := []struct{ format, want string }{
		{"rfc3339", "2024-03-09T14:05:07+01:00"},
		{"RFC3339_nano", "2024-03-09T14:05:07.123456789+01:00"},
		{"iso8601", "2024-03-09T14:05:07.123+01:00"},
		{"rfc1123", "Sat, 09 Mar 2024 14:05:07 +0100"},
		{"http", "Sat, 09 Mar 2024 13:05:07 GMT"},
		{"unix", "1709989507"},
		{"unix_ms", "1709989507123"},
		{"date", "2024-03-09"},
		{"time", "14:05:07"},
		{"datetime", "2024-03-09 14:05:07"},
		{"kitchen", "2:05PM"},
		{"%Y/%m/%d %H:%M:%S %z", "2024/03/09 14:05:07 +0100"},
		{"%a %A %b %h %B %e|%j %u %w %V %G", "Sat Saturday Mar Mar March  9|069 6 6 10 2024"},
		{"%I %p %y %C %s", "02 PM 24 20 1709989507"},
		{"%f %L %N", "123456 123 123456789"},
		{"%F %T %D %R %%", "2024-03-09 14:05:07 03/09/24 14:05 %"},
		{"%c%n%t", "Sat Mar  9 14:05:07 2024\n\t"},
		{"week %V of %G", "week 10 of 2024"},
	}
	for _, c := range cases {
		res := call(t, tool, map[string]any{"input": in, "format": c.format})
		if res["formatted"] != c.want {
			t.Errorf("format %q: %q, want %q", c.format, res["formatted"], c.want)
		}
	}
	// Midnight is 12 AM; the ISO year differs from the calendar year.
	res := call(t, tool, map[string]any{"input": "2021-01-03T00:30:00Z", "format": "%I %p %G-W%V-%u"})
	if res["formatted"] != "12 AM 2020-W53-7" {
		t.Errorf("formatted %q", res["formatted"])
	}
	// The %Z of a named zone.
	res = call(t, tool, map[string]any{"input": "2024-07-01T12:00:00Z", "timezone": "Europe/Paris", "format": "%H:%M %Z"})
	if res["formatted"] != "14:00 CEST" {
		t.Errorf("formatted %q", res["formatted"])
	}
}

func TestDateTimeHandlerAddSubtract(t *testing.T) {
	tool := data.DateTimeHandler()
	cases := []struct {
		name   string
		params map[string]any
		want   string // result.local
	}{
		{"month clamps leap", map[string]any{"operation": "add", "input": "2024-01-31T10:00:00Z", "amount": 1, "unit": "months"}, "2024-02-29T10:00:00Z"},
		{"month clamps", map[string]any{"operation": "add", "input": "2023-01-31T10:00:00Z", "amount": 1, "unit": "months"}, "2023-02-28T10:00:00Z"},
		{"month keeps day", map[string]any{"operation": "add", "input": "2024-01-15T10:00:00Z", "amount": 2, "unit": "months"}, "2024-03-15T10:00:00Z"},
		{"months across years", map[string]any{"operation": "add", "input": "2024-01-31T00:00:00Z", "amount": -13, "unit": "months"}, "2022-12-31T00:00:00Z"},
		{"subtract month clamps", map[string]any{"operation": "subtract", "input": "2024-03-31T00:00:00Z", "amount": 1, "unit": "months"}, "2024-02-29T00:00:00Z"},
		{"year from leap day", map[string]any{"operation": "add", "input": "2024-02-29T00:00:00Z", "amount": 1, "unit": "years"}, "2025-02-28T00:00:00Z"},
		{"four years from leap day", map[string]any{"operation": "add", "input": "2024-02-29T00:00:00Z", "amount": 4, "unit": "years"}, "2028-02-29T00:00:00Z"},
		{"hours fraction", map[string]any{"operation": "add", "input": "2024-01-01T00:00:00Z", "amount": 1.5, "unit": "hours"}, "2024-01-01T01:30:00Z"},
		{"minutes", map[string]any{"operation": "add", "input": "2024-01-01T00:00:00Z", "amount": 90, "unit": "minutes"}, "2024-01-01T01:30:00Z"},
		{"seconds negative", map[string]any{"operation": "add", "input": "2024-01-01T00:00:00Z", "amount": -1, "unit": "seconds"}, "2023-12-31T23:59:59Z"},
		{"milliseconds", map[string]any{"operation": "add", "input": "2024-01-01T00:00:00Z", "amount": 1500, "unit": "milliseconds"}, "2024-01-01T00:00:01.5Z"},
		{"milliseconds negative", map[string]any{"operation": "subtract", "input": "2024-01-01T00:00:00Z", "amount": 1, "unit": "milliseconds"}, "2023-12-31T23:59:59.999Z"},
		{"fraction of a second", map[string]any{"operation": "add", "input": "2024-01-01T00:00:00Z", "amount": 0.25, "unit": "seconds"}, "2024-01-01T00:00:00.25Z"},
		{"weeks", map[string]any{"operation": "add", "input": "2024-02-20T08:00:00Z", "amount": 2, "unit": "weeks"}, "2024-03-05T08:00:00Z"},
		{"subtract days", map[string]any{"operation": "subtract", "input": "2024-03-01", "amount": 1, "unit": "days"}, "2024-02-29T00:00:00Z"},
		{"day keeps wall clock across DST", map[string]any{"operation": "add", "input": "2024-03-09 12:00:00", "timezone": "America/New_York",
			"amount": 1, "unit": "days"}, "2024-03-10T12:00:00-04:00"},
		{"24 hours across DST", map[string]any{"operation": "add", "input": "2024-03-09 12:00:00", "timezone": "America/New_York",
			"amount": 24, "unit": "hours"}, "2024-03-10T13:00:00-04:00"},
		{"own offset kept", map[string]any{"operation": "add", "input": "2024-01-01T00:00:00+05:00", "amount": 1, "unit": "days"}, "2024-01-02T00:00:00+05:00"},
		{"far", map[string]any{"operation": "add", "input": "0001-01-01T00:00:00Z", "amount": 9998, "unit": "years"}, "9999-01-01T00:00:00Z"},
		{"far seconds", map[string]any{"operation": "add", "input": "0001-01-01T00:00:00Z", "amount": 315537897599.0, "unit": "seconds"}, "9999-12-31T23:59:59Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := call(t, tool, c.params)
			if got := sub(t, res, "result")["local"]; got != c.want {
				t.Errorf("result.local %v, want %s", got, c.want)
			}
			if res["unit"] != c.params["unit"] || res["input"] != c.params["input"] {
				t.Errorf("echo: unit %v input %v", res["unit"], res["input"])
			}
			if _, ok := res["original"].(map[string]any); !ok {
				t.Errorf("original missing")
			}
		})
	}
	res := call(t, tool, map[string]any{"operation": "add", "input": "2024-01-01", "amount": 3, "unit": "days", "format": "date"})
	if res["amount"] != int64(3) || res["formatted"] != "2024-01-04" {
		t.Errorf("amount %#v formatted %v", res["amount"], res["formatted"])
	}
	res = call(t, tool, map[string]any{"operation": "add", "input": "2024-01-01", "amount": 1.5, "unit": "hours"})
	if res["amount"] != 1.5 {
		t.Errorf("amount %#v", res["amount"])
	}
}

func TestDateTimeHandlerDifference(t *testing.T) {
	tool := data.DateTimeHandler()
	res := call(t, tool, map[string]any{"operation": "difference", "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T03:04:05.5Z"})
	checkFields(t, res, map[string]any{
		"total_seconds": 97445.5, "total_milliseconds": int64(97445500), "days": int64(1), "hours": int64(3), "minutes": int64(4),
		"seconds": int64(5), "milliseconds": int64(500), "negative": false, "human_readable": "1 day, 3 hours, 4 minutes, 5 seconds",
		"total_hours": 97445.5 / 3600, "total_days": 97445.5 / 86400, "total_minutes": 97445.5 / 60,
	})
	if sub(t, res, "start")["utc"] != "2024-01-01T00:00:00Z" || sub(t, res, "end")["utc"] != "2024-01-02T03:04:05.5Z" {
		t.Errorf("start/end: %v %v", res["start"], res["end"])
	}
	res = call(t, tool, map[string]any{"operation": "difference", "start": "2024-01-02T03:04:05.5Z", "end": "2024-01-01T00:00:00Z"})
	checkFields(t, res, map[string]any{
		"total_seconds": -97445.5, "total_milliseconds": int64(-97445500), "days": int64(1), "milliseconds": int64(500),
		"negative": true, "human_readable": "-1 day, 3 hours, 4 minutes, 5 seconds",
	})
	cases := []struct {
		start, end any
		human      string
		total      float64
	}{
		{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "0 seconds", 0},
		{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00.25Z", "250 milliseconds", 0.25},
		{"2024-01-01T00:00:00.75Z", "2024-01-01T00:00:00.5Z", "-250 milliseconds", -0.25},
		{"2024-01-01T00:00:00.75Z", "2024-01-01T00:00:02.5Z", "1 second", 1.75},
		{"2024-01-01T00:00:00Z", "2024-01-03T02:00:00+02:00", "2 days", 172800},
		{"2024-01-01", int64(1704070800), "1 hour", 3600},
		{"2023-01-01", "2024-01-01", "365 days", 365 * 86400},
		{"2024-03-09 12:00:00", "2024-03-10 12:00:00", "1 day", 86400},
	}
	for _, c := range cases {
		res := call(t, tool, map[string]any{"operation": "difference", "start": c.start, "end": c.end})
		if res["human_readable"] != c.human || res["total_seconds"] != c.total {
			t.Errorf("%v..%v: %v %v, want %q %v", c.start, c.end, res["human_readable"], res["total_seconds"], c.human, c.total)
		}
	}
	// In a DST zone a calendar day can be 23 hours of elapsed time.
	res = call(t, tool, map[string]any{"operation": "difference", "timezone": "America/New_York",
		"start": "2024-03-09 12:00:00", "end": "2024-03-10 12:00:00"})
	if res["human_readable"] != "23 hours" {
		t.Errorf("DST difference: %v", res["human_readable"])
	}
	// Beyond time.Duration's 292 years, no saturation.
	res = call(t, tool, map[string]any{"operation": "difference", "start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"})
	want := float64(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix() - time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	if res["total_seconds"] != want {
		t.Errorf("long difference %v, want %v", res["total_seconds"], want)
	}
}

func TestDateTimeHandlerConvert(t *testing.T) {
	tool := data.DateTimeHandler()
	res := call(t, tool, map[string]any{"operation": "convert_timezone", "input": "2024-07-01T12:00:00Z",
		"target_timezone": "Asia/Tokyo", "format": "datetime"})
	checkFields(t, sub(t, res, "to"), map[string]any{"local": "2024-07-01T21:00:00+09:00", "timezone": "Asia/Tokyo",
		"abbreviation": "JST", "offset_seconds": 32400, "hour": 21, "utc": "2024-07-01T12:00:00Z"})
	checkFields(t, sub(t, res, "from"), map[string]any{"local": "2024-07-01T12:00:00Z", "timezone": "UTC"})
	if res["formatted"] != "2024-07-01 21:00:00" || res["input"] != "2024-07-01T12:00:00Z" {
		t.Errorf("formatted %v input %v", res["formatted"], res["input"])
	}
	res = call(t, tool, map[string]any{"operation": "convert_timezone", "input": "2024-01-15 09:00:00",
		"timezone": "America/Los_Angeles", "target_timezone": "-03:30"})
	checkFields(t, sub(t, res, "from"), map[string]any{"local": "2024-01-15T09:00:00-08:00", "timezone": "America/Los_Angeles"})
	checkFields(t, sub(t, res, "to"), map[string]any{"local": "2024-01-15T13:30:00-03:30", "timezone": "-03:30", "offset_seconds": -12600})
	res = call(t, tool, map[string]any{"operation": "convert_timezone", "input": "2024-01-15T00:00:00Z", "target_timezone": "utc"})
	checkFields(t, sub(t, res, "to"), map[string]any{"timezone": "UTC"})
}

func TestDateTimeHandlerInfo(t *testing.T) {
	tool := data.DateTimeHandler()
	res := call(t, tool, map[string]any{"operation": "info", "input": "2024-02-10"})
	checkFields(t, res, map[string]any{
		"is_leap_year": true, "days_in_month": 29, "days_in_year": 366, "quarter": 1, "day_of_year": 41,
		"days_remaining_in_year": 325, "iso_week": 6, "iso_year": 2024, "iso_weekday": 6, "is_weekend": true,
		"week_start": "2024-02-05", "month_start": "2024-02-01", "month_end": "2024-02-29", "input": "2024-02-10",
	})
	checkFields(t, sub(t, res, "date"), map[string]any{"weekday": "Saturday"})
	res = call(t, tool, map[string]any{"operation": "info", "input": "2021-01-03T10:00:00Z"})
	checkFields(t, res, map[string]any{"is_leap_year": false, "iso_week": 53, "iso_year": 2020, "iso_weekday": 7,
		"week_start": "2020-12-28", "quarter": 1, "days_in_month": 31})
	res = call(t, tool, map[string]any{"operation": "info", "input": "1900-11-30", "format": "%d %b"})
	checkFields(t, res, map[string]any{"is_leap_year": false, "quarter": 4, "days_in_month": 30, "iso_weekday": 5,
		"is_weekend": false, "formatted": "30 Nov"})
	res = call(t, tool, map[string]any{"operation": "info", "input": "2000-06-01"})
	checkFields(t, res, map[string]any{"is_leap_year": true, "quarter": 2})
}

func TestDateTimeHandlerFormats(t *testing.T) {
	res := call(t, data.DateTimeHandler(), map[string]any{"operation": "formats"})
	for _, key := range []string{"input_formats", "output_formats", "strftime_directives", "units"} {
		list, ok := res[key].([]any)
		if !ok || len(list) == 0 {
			t.Fatalf("%s: %T %v", key, res[key], res[key])
		}
	}
	names := map[string]string{}
	for _, f := range res["output_formats"].([]any) {
		m := f.(map[string]any)
		names[m["name"].(string)] = m["example"].(string)
	}
	if names["rfc3339"] != "2024-03-09T14:05:07Z" || names["unix"] != "1709993107" || len(names) != 17 {
		t.Errorf("output formats: %v", names)
	}
	found := false
	for _, d := range res["strftime_directives"].([]any) {
		m := d.(map[string]any)
		if m["directive"] == "%Y" && m["example"] == "2024" {
			found = true
		}
	}
	if !found {
		t.Errorf("directives lack %%Y: %v", res["strftime_directives"])
	}
	// Every listed input example parses and is detected under its name.
	tool := data.DateTimeHandler()
	for _, f := range res["input_formats"].([]any) {
		m := f.(map[string]any)
		name := m["name"].(string)
		if name == "keywords" {
			continue
		}
		for _, ex := range strings.Split(m["examples"].(string), "; ") {
			ex = strings.Split(ex, " (")[0]
			r := call(t, tool, map[string]any{"input": ex})
			if r["detected_format"] != name {
				t.Errorf("example %q of %s detected as %v", ex, name, r["detected_format"])
			}
		}
	}
}

func TestDateTimeHandlerNow(t *testing.T) {
	tool := data.DateTimeHandler()
	inRange := func(t *testing.T, ts any, before, after time.Time, slack int64) {
		t.Helper()
		v, ok := ts.(int64)
		if !ok || v < before.Unix()+slack-1 || v > after.Unix()+slack+1 {
			t.Fatalf("timestamp %v not within [%d, %d] (+%d)", ts, before.Unix(), after.Unix(), slack)
		}
	}
	before := time.Now()
	res := call(t, tool, map[string]any{"operation": "now"})
	inRange(t, sub(t, res, "now")["timestamp"], before, time.Now(), 0)
	checkFields(t, sub(t, res, "now"), map[string]any{"timezone": "UTC"})

	before = time.Now()
	res = call(t, tool, map[string]any{"operation": "now", "timezone": "Asia/Kolkata", "format": "%z"})
	now := sub(t, res, "now")
	inRange(t, now["timestamp"], before, time.Now(), 0)
	checkFields(t, now, map[string]any{"timezone": "Asia/Kolkata", "offset_seconds": 19800})
	if res["formatted"] != "+0530" {
		t.Errorf("formatted %v", res["formatted"])
	}

	before = time.Now()
	res = call(t, tool, map[string]any{"input": "now"})
	inRange(t, sub(t, res, "parsed")["timestamp"], before, time.Now(), 0)

	// Operations whose input defaults to now.
	before = time.Now()
	res = call(t, tool, map[string]any{"operation": "add", "amount": 1, "unit": "hours"})
	inRange(t, sub(t, res, "result")["timestamp"], before, time.Now(), 3600)
	before = time.Now()
	res = call(t, tool, map[string]any{"operation": "info"})
	inRange(t, sub(t, res, "date")["timestamp"], before, time.Now(), 0)
	before = time.Now()
	res = call(t, tool, map[string]any{"operation": "convert_timezone", "target_timezone": "Europe/London"})
	inRange(t, sub(t, res, "to")["timestamp"], before, time.Now(), 0)
	start := time.Now().Add(-time.Hour)
	res = call(t, tool, map[string]any{"operation": "difference", "start": start.Unix()})
	if s := res["total_seconds"].(float64); s < 3599 || s > 3600+60 {
		t.Errorf("difference to now: %v", s)
	}

	// today is midnight of the current date in timezone.
	before = time.Now().UTC()
	res = call(t, tool, map[string]any{"input": "Today"})
	after := time.Now().UTC()
	p := sub(t, res, "parsed")
	if p["hour"] != 0 || p["minute"] != 0 || (p["day"] != before.Day() && p["day"] != after.Day()) {
		t.Errorf("today: %v", p)
	}
	res = call(t, tool, map[string]any{"input": "tomorrow", "timezone": "Pacific/Kiritimati"})
	ts := sub(t, res, "parsed")["timestamp"].(int64)
	if d := ts - time.Now().Unix(); d <= 0 || d > 86400 {
		t.Errorf("tomorrow is %d s away", d)
	}
	res = call(t, tool, map[string]any{"input": "yesterday"})
	ts = sub(t, res, "parsed")["timestamp"].(int64)
	if d := time.Now().Unix() - ts; d < 86400 || d > 2*86400 {
		t.Errorf("yesterday is %d s ago", d)
	}
}

func TestDateTimeHandlerErrors(t *testing.T) {
	tool := data.DateTimeHandler()
	cases := []struct {
		name   string
		params map[string]any
		typ    tools.ErrorType
		want   string
	}{
		{"unknown operation", map[string]any{"operation": "sleep"}, tools.TypeValidation, `unknown value "sleep"`},
		{"unknown parameter", map[string]any{"input": "2024-01-01", "zone": "UTC"}, tools.TypeValidation, `unknown parameter "zone"`},
		{"operation wrong type", map[string]any{"operation": 1}, tools.TypeValidation, `"operation": expected string`},
		{"amount wrong type", map[string]any{"operation": "add", "amount": "1", "unit": "days"}, tools.TypeValidation, `"amount": expected number`},
		{"input wrong type", map[string]any{"input": true}, tools.TypeValidation, `parameter "input": expected string or number, got boolean`},
		{"input infinite", map[string]any{"input": math.Inf(1)}, tools.TypeValidation, `parameter "input": +Inf is not a timestamp`},
		{"parse missing input", map[string]any{"operation": "parse"}, tools.TypeValidation, `missing parameter "input" for operation parse`},
		{"parse empty", map[string]any{"input": "  "}, tools.TypeValidation, `parameter "input": empty date`},
		{"unparsable", map[string]any{"input": "not a date"}, tools.TypeValidation, `parameter "input": cannot read "not a date"`},
		{"bad month", map[string]any{"input": "2024-13-01"}, tools.TypeValidation, `cannot read "2024-13-01"`},
		{"bad day", map[string]any{"input": "2023-02-29"}, tools.TypeValidation, `cannot read "2023-02-29"`},
		{"ambiguous", map[string]any{"input": "01/02/2024"}, tools.TypeValidation, `"01/02/2024" is ambiguous`},
		{"year zero", map[string]any{"input": "0000-06-01"}, tools.TypeValidation, `year 0 is outside 0001-9999`},
		{"timestamp out of range", map[string]any{"input": 1e30}, tools.TypeValidation, `timestamp is outside the years 0001-9999`},
		{"unknown abbreviation", map[string]any{"input": "Mon, 15 Jan 2024 10:30:00 XYZ"}, tools.TypeValidation, `unknown time zone abbreviation "XYZ"`},
		{"input too long", map[string]any{"input": strings.Repeat("1", 300)}, tools.TypeTooLarge, `parameter "input": 300 bytes exceeds the 256-byte limit`},
		{"unknown timezone", map[string]any{"input": "2024-01-01", "timezone": "Mars/Olympus_Mons"}, tools.TypeValidation,
			`parameter "timezone": unknown time zone "Mars/Olympus_Mons"`},
		{"timezone path", map[string]any{"input": "2024-01-01", "timezone": "../../etc/passwd"}, tools.TypeValidation,
			`parameter "timezone": unknown time zone`},
		{"bad offset", map[string]any{"input": "2024-01-01", "timezone": "+25:00"}, tools.TypeValidation, `parameter "timezone": bad offset "+25:00"`},
		{"convert missing target", map[string]any{"operation": "convert_timezone", "input": "2024-01-01"}, tools.TypeValidation,
			`missing parameter "target_timezone" for operation convert_timezone`},
		{"convert unknown target", map[string]any{"operation": "convert_timezone", "target_timezone": "Nowhere"}, tools.TypeValidation,
			`parameter "target_timezone": unknown time zone "Nowhere"`},
		{"add missing amount", map[string]any{"operation": "add", "unit": "days"}, tools.TypeValidation, `missing parameter "amount" for operation add`},
		{"subtract missing unit", map[string]any{"operation": "subtract", "amount": 1}, tools.TypeValidation, `missing parameter "unit" for operation subtract`},
		{"unknown unit", map[string]any{"operation": "add", "amount": 1, "unit": "fortnights"}, tools.TypeValidation, `unknown value "fortnights"`},
		{"fractional months", map[string]any{"operation": "add", "input": "2024-01-01", "amount": 1.5, "unit": "months"}, tools.TypeValidation,
			`parameter "amount": 1.5 is not a whole number, which unit months needs`},
		{"amount too large", map[string]any{"operation": "add", "input": "2024-01-01", "amount": 1e12, "unit": "hours"}, tools.TypeValidation,
			`parameter "amount": 1e+12 hours is beyond the years 0001-9999`},
		{"years too large", map[string]any{"operation": "add", "input": "2024-01-01", "amount": 20000, "unit": "years"}, tools.TypeValidation,
			`is beyond the years 0001-9999`},
		{"result out of range", map[string]any{"operation": "add", "input": "9999-12-31", "amount": 1, "unit": "days"}, tools.TypeValidation,
			`the result's year 10000 is outside 0001-9999`},
		{"add bad input", map[string]any{"operation": "add", "input": "soon", "amount": 1, "unit": "days"}, tools.TypeValidation,
			`parameter "input": cannot read "soon"`},
		{"difference missing start", map[string]any{"operation": "difference", "end": "2024-01-01"}, tools.TypeValidation,
			`missing parameter "start" for operation difference`},
		{"difference bad end", map[string]any{"operation": "difference", "start": "2024-01-01", "end": "later"}, tools.TypeValidation,
			`parameter "end": cannot read "later"`},
		{"not applicable amount", map[string]any{"input": "2024-01-01", "amount": 1}, tools.TypeValidation,
			`parameter "amount" does not apply to operation parse`},
		{"not applicable input", map[string]any{"operation": "difference", "input": "2024-01-01", "start": "2024-01-01"}, tools.TypeValidation,
			`parameter "input" does not apply to operation difference`},
		{"formats takes nothing", map[string]any{"operation": "formats", "format": "date"}, tools.TypeValidation,
			`parameter "format" does not apply to operation formats`},
		{"unknown format name", map[string]any{"input": "2024-01-01", "format": "fancy"}, tools.TypeValidation,
			`parameter "format": unknown format name "fancy"`},
		{"unknown directive", map[string]any{"input": "2024-01-01", "format": "%Y %Q"}, tools.TypeValidation,
			`parameter "format": unknown directive %Q`},
		{"lone percent", map[string]any{"input": "2024-01-01", "format": "%Y %"}, tools.TypeValidation,
			`parameter "format": pattern ends with a lone %`},
		{"format too long", map[string]any{"input": "2024-01-01", "format": strings.Repeat("%Y", 200)}, tools.TypeTooLarge,
			`parameter "format": 400 bytes exceeds`},
		{"input_format literal digit", map[string]any{"input": "2024-01-01", "input_format": "%Y-%m-%d 1"}, tools.TypeValidation,
			`parameter "input_format": literal '1' at offset 9 is not supported`},
		{"input_format directive", map[string]any{"input": "2024-01-01", "input_format": "%s"}, tools.TypeValidation,
			`parameter "input_format": directive %s is not supported for reading`},
		{"input_format unknown name", map[string]any{"input": "2024-01-01", "input_format": "european"}, tools.TypeValidation,
			`parameter "input_format": unknown format name "european"`},
		{"input mismatch", map[string]any{"input": "2024-01-01", "input_format": "%d/%m/%Y"}, tools.TypeValidation,
			`parameter "input": "2024-01-01" does not match input_format`},
		{"input_format unix not a number", map[string]any{"input": "2024-01-01", "input_format": "unix"}, tools.TypeValidation,
			`parameter "input": "2024-01-01" is not a number (input_format unix)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := callErr(t, tool, c.params, c.typ)
			if !strings.Contains(msg, c.want) {
				t.Fatalf("message %q does not contain %q", msg, c.want)
			}
		})
	}
}

// TestDateTimeHandlerConcurrent exercises the zone cache from many goroutines.
func TestDateTimeHandlerConcurrent(t *testing.T) {
	tool := data.DateTimeHandler()
	zones := []string{"Europe/Berlin", "Asia/Tokyo", "America/Sao_Paulo", "Australia/Sydney"}
	done := make(chan error)
	for i := range 8 {
		go func() {
			var err error
			for j := 0; j < 50 && err == nil; j++ {
				_, err = tools.Call(context.Background(), tool, map[string]any{
					"operation": "convert_timezone", "input": "2024-01-01T00:00:00Z", "target_timezone": zones[(i+j)%len(zones)]})
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkDateTimeHandler(b *testing.B) {
	tool := data.DateTimeHandler()
	params := map[string]any{"input": "2024-01-15T10:30:00Z"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDateTimeHandlerAddZone(b *testing.B) {
	tool := data.DateTimeHandler()
	params := map[string]any{"operation": "add", "input": "2024-01-31 10:30:00", "timezone": "Europe/Berlin",
		"amount": 1, "unit": "months", "format": "%Y-%m-%d %H:%M"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDateTimeHandler: no input, zone or format makes the tool panic or
// fail with anything but a validation or size error.
func FuzzDateTimeHandler(f *testing.F) {
	f.Add("2024-01-15T10:30:00Z", "Europe/Berlin", "%Y-%m-%d", "%d/%m/%Y", 1.5)
	f.Add("Mon, 2 Jan 2006 15:04:05 MST", "+05:30", "rfc1123", "", -13.0)
	f.Add("99999999999999999999", "", "%", "%Y%", 1e300)
	tool := data.DateTimeHandler()
	f.Fuzz(func(t *testing.T, in, tz, format, inFormat string, amount float64) {
		if math.IsNaN(amount) {
			return
		}
		calls := []map[string]any{
			{"input": in},
			{"input": in, "timezone": tz, "format": format},
			{"input": in, "input_format": inFormat},
			{"operation": "add", "input": in, "amount": amount, "unit": "months"},
			{"operation": "subtract", "input": in, "amount": amount, "unit": "seconds", "timezone": tz},
			{"operation": "difference", "start": in, "end": "2024-01-01"},
			{"operation": "info", "input": in},
			{"operation": "convert_timezone", "input": "2024-01-01", "target_timezone": tz},
			{"input": amount},
		}
		for _, params := range calls {
			for k, v := range params {
				if v == "" {
					delete(params, k)
				}
			}
			_, err := tools.Call(context.Background(), tool, params)
			if err != nil && tools.TypeOf(err) != tools.TypeValidation && tools.TypeOf(err) != tools.TypeTooLarge {
				t.Fatalf("%v: %v", params, err)
			}
		}
	})
}
