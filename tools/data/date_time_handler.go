package data

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"spellhost/tools"
)

// nowFunc is the clock of date_time_handler; tests pin it.
var nowFunc = time.Now

// date_time_handler limits.
const (
	maxDateInput = 256 // bytes of a date, zone name or format
	maxAbsSecs   = 400_000_000_000
	minYear      = 1
	maxYear      = 9999
	maxZoneName  = 64
)

var operations = []string{"parse", "now", "convert_timezone", "add", "subtract", "difference", "info", "formats"}

var unitNames = []string{"milliseconds", "seconds", "minutes", "hours", "days", "weeks", "months", "years"}

// params lists the parameters each operation takes besides operation;
// the others are refused so that a misplaced one is not silently ignored.
var params = map[string][]string{
	"parse":            {"input", "timezone", "format", "input_format"},
	"now":              {"timezone", "format"},
	"convert_timezone": {"input", "timezone", "target_timezone", "format", "input_format"},
	"add":              {"input", "timezone", "amount", "unit", "format", "input_format"},
	"subtract":         {"input", "timezone", "amount", "unit", "format", "input_format"},
	"difference":       {"start", "end", "timezone", "input_format"},
	"info":             {"input", "timezone", "format", "input_format"},
	"formats":          {},
}

func dateTimeSpec() tools.Spec {
	return tools.Spec{
		Inline:   true,
		Name:     "date_time_handler",
		Category: "utility",
		Description: "Parses, formats, converts and computes with dates and times: many input forms " +
			"(RFC 3339, ISO 8601, RFC 1123, unix timestamps, \"Jan 2 2006\", ...), IANA time zones, " +
			"calendar-aware addition, differences and calendar facts. Years 0001-9999.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Default: "parse", Enum: operations, Description: "" +
				"parse reads input; now gives the current time; convert_timezone shows input in target_timezone; " +
				"add and subtract move input by amount units; difference measures end - start; " +
				"info gives calendar facts about input; formats lists the accepted inputs, output formats and units. " +
				"Parameters an operation does not use are refused"},
			{Name: "input", Type: tools.Any, Description: "a date/time string or a unix timestamp number; required for parse, " +
				"defaults to now for convert_timezone, add, subtract and info. Numbers and numeric strings are " +
				"unix seconds below 1e11, milliseconds below 1e14, microseconds below 1e17, else nanoseconds " +
				"(fractions allowed); an 8-digit string that is a valid date is YYYYMMDD, a 14-digit one YYYYMMDDhhmmss. " +
				"\"now\", \"today\", \"yesterday\" and \"tomorrow\" (midnight in timezone) are accepted. " +
				"Slash dates: 2024/01/31, and 31/01/2024 or 01/31/2024 when the order is clear; " +
				"01/02/2024 is refused as ambiguous (use input_format). Run operation formats for the full list"},
			{Name: "timezone", Type: tools.String, Description: "IANA zone (\"Europe/Berlin\"), \"UTC\", \"Local\" (the host's) " +
				"or an offset (\"+05:30\"): the zone of inputs that carry no offset, and the zone results are shown in. " +
				"When omitted, such inputs are UTC and an input's own offset is kept"},
			{Name: "target_timezone", Type: tools.String, Description: "convert_timezone: the zone to convert to (required); same forms as timezone"},
			{Name: "amount", Type: tools.Number, Description: "add/subtract: how many units (may be negative); " +
				"fractions only for milliseconds, seconds, minutes and hours"},
			{Name: "unit", Type: tools.String, Enum: unitNames, Description: "add/subtract: the unit of amount. " +
				"Milliseconds to hours are elapsed time; days and weeks are calendar days in the zone (the wall " +
				"clock is kept across DST changes); months and years clamp to the month's end " +
				"(Jan 31 + 1 month = Feb 28 or 29; Feb 29 + 1 year = Feb 28)"},
			{Name: "start", Type: tools.Any, Description: "difference: the start (required); same forms as input"},
			{Name: "end", Type: tools.Any, Description: "difference: the end; defaults to now"},
			{Name: "format", Type: tools.String, Description: "adds formatted, the main result as text: a name " +
				"(rfc3339, rfc3339_nano, iso8601, rfc1123, rfc1123z, rfc822, rfc822z, rfc850, ansic, unix_date, http, " +
				"unix, unix_ms, date, time, datetime, kitchen) or a strftime pattern containing % " +
				"(%Y %m %d %H %M %S %f %N %z %Z %a %A %b %B %j %u %w %V %G %s %F %T ... ; operation formats lists them)"},
			{Name: "input_format", Type: tools.String, Description: "read input (and start/end) with this exact form instead of guessing: " +
				"a format name or a strftime pattern (%Y %m %d %e %H %I %M %S %f %y %b %B %a %A %p %z %Z %j); " +
				"pattern literals may not contain digits, '_' or the letters J, M, P, p"},
		},
		Returns: "parse: {input, detected_format, parsed: D}; now: {now: D}; convert_timezone: {input, from: D, to: D}; " +
			"add/subtract: {input, amount, unit, original: D, result: D}; " +
			"difference: {start: D, end: D, total_seconds, total_milliseconds, total_minutes, total_hours, total_days, " +
			"days, hours, minutes, seconds, milliseconds (breakdown of the absolute difference, 1 day = 86400 s), negative, " +
			"human_readable (\"1 day, 2 hours, 3 minutes, 4 seconds\", \"-\" prefix when end is before start)}; " +
			"info: {input, date: D, is_leap_year, days_in_month, days_in_year, quarter, day_of_year, days_remaining_in_year, " +
			"iso_week, iso_year, iso_weekday (1 = Monday), is_weekend, week_start, month_start, month_end}; " +
			"formats: {input_formats, output_formats, strftime_directives, units}. " +
			"D is {utc, local (RFC 3339 in the zone), timestamp, timestamp_ms, year, month, month_name, day, hour, minute, " +
			"second, nanosecond, weekday, day_of_year, iso_week, iso_year, timezone, abbreviation, offset_seconds}. " +
			"With format, formatted holds the main result (parsed, now, to, result or date) as text",
		Example: map[string]any{"operation": "add", "input": "2024-01-31T10:00:00Z", "amount": 1, "unit": "months"},
	}
}

// DateTimeHandler returns the date_time_handler tool.
func DateTimeHandler() tools.Tool { return tools.New(dateTimeSpec(), handleDateTime) }

// opState carries what the operations share.
type opState struct {
	p      tools.Params
	loc    *time.Location // the timezone parameter, or UTC
	hasTZ  bool
	inFmt  *inputFormat
	format string
	now    time.Time
	hasNow bool
}

func (c *opState) clock() time.Time {
	if !c.hasNow {
		c.now, c.hasNow = nowFunc().Round(0), true
	}
	return c.now
}

// show puts t in the zone results use.
func (c *opState) show(t time.Time) time.Time {
	if c.hasTZ {
		return t.In(c.loc)
	}
	return t
}

func handleDateTime(_ context.Context, p tools.Params) (any, error) {
	op := p.String("operation")
	allowed, ok := params[op]
	if !ok { // the spec's enum makes this unreachable
		return nil, tools.Invalid("parameter \"operation\": unknown value %q", op)
	}
	for _, name := range []string{"input", "timezone", "target_timezone", "amount", "unit", "start", "end", "format", "input_format"} {
		if p.Has(name) && !slices.Contains(allowed, name) {
			return nil, tools.Invalid("parameter %q does not apply to operation %s", name, op)
		}
	}
	c := &opState{p: p, loc: time.UTC}
	if tz := p.String("timezone"); tz != "" {
		loc, err := zone("timezone", tz)
		if err != nil {
			return nil, err
		}
		c.loc, c.hasTZ = loc, true
	}
	if f := p.String("input_format"); f != "" {
		inf, err := compileInputFormat(f)
		if err != nil {
			return nil, err
		}
		c.inFmt = inf
	}
	if f := p.String("format"); f != "" {
		if err := checkFormat(f); err != nil {
			return nil, err
		}
		c.format = f
	}
	switch op {
	case "parse":
		return c.parse()
	case "now":
		t := c.clock().In(c.loc)
		return c.withFormat(map[string]any{"now": describe(t)}, t), nil
	case "convert_timezone":
		return c.convert()
	case "add", "subtract":
		return c.add(op == "subtract")
	case "difference":
		return c.difference()
	case "info":
		return c.info()
	}
	return formatsList(), nil
}

func (c *opState) withFormat(res map[string]any, t time.Time) map[string]any {
	if c.format != "" {
		res["formatted"] = format(t, c.format)
	}
	return res
}

// value reads a time parameter; absent, it is now when orNow is set.
func (c *opState) value(name string, orNow bool) (time.Time, string, error) {
	v, ok := c.p.Get(name)
	if !ok {
		if orNow {
			return c.show(c.clock().In(c.loc)), "now", nil
		}
		return time.Time{}, "", tools.Invalid("missing parameter %q for operation %s", name, c.p.String("operation"))
	}
	var (
		t      time.Time
		detect string
		err    error
	)
	switch x := v.(type) {
	case string:
		t, detect, err = c.parseString(name, x)
	default:
		f, isNum := tools.ToFloat(v)
		if !isNum {
			return time.Time{}, "", tools.Invalid("parameter %q: expected string or number, got %s", name, tools.KindOf(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, "", tools.Invalid("parameter %q: %v is not a timestamp", name, f)
		}
		t, detect, err = fromUnixFloat(name, f)
		if err == nil {
			t = t.In(c.loc)
		}
	}
	if err != nil {
		return time.Time{}, "", err
	}
	if y := t.Year(); y < minYear || y > maxYear {
		return time.Time{}, "", tools.Invalid("parameter %q: year %d is outside 0001-9999", name, y)
	}
	return c.show(t), detect, nil
}

func (c *opState) parse() (any, error) {
	if !c.p.Has("input") {
		return nil, tools.Invalid("missing parameter %q for operation parse", "input")
	}
	t, detect, err := c.value("input", false)
	if err != nil {
		return nil, err
	}
	in, _ := c.p.Get("input")
	return c.withFormat(map[string]any{"input": in, "detected_format": detect, "parsed": describe(t)}, t), nil
}

func (c *opState) inputEcho(t time.Time) any {
	if in, ok := c.p.Get("input"); ok {
		return in
	}
	return t.Format(time.RFC3339Nano)
}

func (c *opState) convert() (any, error) {
	target := c.p.String("target_timezone")
	if target == "" {
		return nil, tools.Invalid("missing parameter %q for operation convert_timezone", "target_timezone")
	}
	loc, err := zone("target_timezone", target)
	if err != nil {
		return nil, err
	}
	t, _, err := c.value("input", true)
	if err != nil {
		return nil, err
	}
	to := t.In(loc)
	return c.withFormat(map[string]any{"input": c.inputEcho(t), "from": describe(t), "to": describe(to)}, to), nil
}

func (c *opState) add(subtract bool) (any, error) {
	op := c.p.String("operation")
	if !c.p.Has("amount") {
		return nil, tools.Invalid("missing parameter %q for operation %s", "amount", op)
	}
	if !c.p.Has("unit") {
		return nil, tools.Invalid("missing parameter %q for operation %s", "unit", op)
	}
	amount, unit := c.p.Float("amount"), c.p.String("unit")
	t, _, err := c.value("input", true)
	if err != nil {
		return nil, err
	}
	delta := amount
	if subtract {
		delta = -amount
	}
	r, err := add(t, delta, unit)
	if err != nil {
		return nil, err
	}
	if y := r.Year(); y < minYear || y > maxYear {
		return nil, tools.Invalid("parameter \"amount\": the result's year %d is outside 0001-9999", y)
	}
	amountOut := any(amount)
	if amount == math.Trunc(amount) && math.Abs(amount) < 1<<53 {
		amountOut = int64(amount)
	}
	return c.withFormat(map[string]any{
		"input": c.inputEcho(t), "amount": amountOut, "unit": unit,
		"original": describe(t), "result": describe(r),
	}, r), nil
}

// add moves t by amount units.
func add(t time.Time, amount float64, unit string) (time.Time, error) {
	whole := amount == math.Trunc(amount)
	switch unit {
	case "months", "years", "days", "weeks":
		if !whole {
			return time.Time{}, tools.Invalid("parameter \"amount\": %v is not a whole number, which unit %s needs", amount, unit)
		}
		limit := map[string]float64{"months": 120_000, "years": 10_000, "days": 3_700_000, "weeks": 530_000}[unit]
		if math.Abs(amount) > limit {
			return time.Time{}, tools.Invalid("parameter \"amount\": %v %s is beyond the years 0001-9999", amount, unit)
		}
		n := int(amount)
		switch unit {
		case "months":
			return addMonths(t, n), nil
		case "years":
			return addMonths(t, 12*n), nil
		case "weeks":
			n *= 7
		}
		return t.AddDate(0, 0, n), nil
	}
	perSec := map[string]float64{"milliseconds": 0.001, "seconds": 1, "minutes": 60, "hours": 3600}[unit]
	if perSec == 0 { // the spec's enum makes this unreachable
		return time.Time{}, tools.Invalid("parameter \"unit\": unknown value %q", unit)
	}
	if math.Abs(amount*perSec) > maxAbsSecs {
		return time.Time{}, tools.Invalid("parameter \"amount\": %v %s is beyond the years 0001-9999", amount, unit)
	}
	var secs, nanos int64
	switch {
	case whole && unit == "milliseconds":
		n := int64(amount)
		secs, nanos = n/1000, n%1000*1e6
	case whole:
		secs = int64(amount) * int64(perSec)
	default:
		f := amount * perSec
		w := math.Floor(f)
		secs, nanos = int64(w), int64(math.Round((f-w)*1e9))
	}
	return time.Unix(t.Unix()+secs, int64(t.Nanosecond())+nanos).In(t.Location()), nil
}

// addMonths adds n months, clamping the day to the target month's length.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	total := int(m) - 1 + n
	ny, nm := y+total/12, total%12
	if nm < 0 {
		ny, nm = ny-1, nm+12
	}
	month := time.Month(nm + 1)
	if dim := daysIn(ny, month); d > dim {
		d = dim
	}
	h, mi, s := t.Clock()
	return time.Date(ny, month, d, h, mi, s, t.Nanosecond(), t.Location())
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if isLeap(y) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func (c *opState) difference() (any, error) {
	if !c.p.Has("start") {
		return nil, tools.Invalid("missing parameter %q for operation difference", "start")
	}
	start, _, err := c.value("start", false)
	if err != nil {
		return nil, err
	}
	end, _, err := c.value("end", true)
	if err != nil {
		return nil, err
	}
	// Unix arithmetic: time.Duration saturates beyond 292 years.
	secs := end.Unix() - start.Unix()
	nanos := int64(end.Nanosecond() - start.Nanosecond())
	if nanos < 0 && secs > 0 {
		secs, nanos = secs-1, nanos+1e9
	} else if nanos > 0 && secs < 0 {
		secs, nanos = secs+1, nanos-1e9
	}
	total := float64(secs) + float64(nanos)/1e9
	negative := secs < 0 || nanos < 0
	as, an := secs, nanos
	if negative {
		as, an = -secs, -nanos
	}
	days, hours, minutes, seconds, millis := as/86400, as%86400/3600, as%3600/60, as%60, an/1e6
	return map[string]any{
		"start":              describe(start),
		"end":                describe(end),
		"total_seconds":      total,
		"total_milliseconds": secs*1000 + nanos/1e6,
		"total_minutes":      total / 60,
		"total_hours":        total / 3600,
		"total_days":         total / 86400,
		"days":               days,
		"hours":              hours,
		"minutes":            minutes,
		"seconds":            seconds,
		"milliseconds":       millis,
		"negative":           negative,
		"human_readable":     human(negative, days, hours, minutes, seconds, millis),
	}, nil
}

func human(negative bool, days, hours, minutes, seconds, millis int64) string {
	var b strings.Builder
	if negative {
		b.WriteByte('-')
	}
	n := 0
	part := func(v int64, unit string) {
		if v == 0 {
			return
		}
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(v, 10))
		b.WriteByte(' ')
		b.WriteString(unit)
		if v != 1 {
			b.WriteByte('s')
		}
		n++
	}
	part(days, "day")
	part(hours, "hour")
	part(minutes, "minute")
	part(seconds, "second")
	if n == 0 {
		if millis == 0 {
			return "0 seconds"
		}
		part(millis, "millisecond")
	}
	return b.String()
}

func (c *opState) info() (any, error) {
	t, _, err := c.value("input", true)
	if err != nil {
		return nil, err
	}
	y, m, d := t.Date()
	isoYear, isoWeek := t.ISOWeek()
	wd := int(t.Weekday())
	if wd == 0 {
		wd = 7
	}
	daysInYear := 365
	if isLeap(y) {
		daysInYear = 366
	}
	dim := daysIn(y, m)
	weekStart := time.Date(y, m, d-(wd-1), 0, 0, 0, 0, time.UTC)
	return c.withFormat(map[string]any{
		"input":                  c.inputEcho(t),
		"date":                   describe(t),
		"is_leap_year":           isLeap(y),
		"days_in_month":          dim,
		"days_in_year":           daysInYear,
		"quarter":                (int(m)-1)/3 + 1,
		"day_of_year":            t.YearDay(),
		"days_remaining_in_year": daysInYear - t.YearDay(),
		"iso_week":               isoWeek,
		"iso_year":               isoYear,
		"iso_weekday":            wd,
		"is_weekend":             wd >= 6,
		"week_start":             weekStart.Format(time.DateOnly),
		"month_start":            fmt.Sprintf("%04d-%02d-01", y, int(m)),
		"month_end":              fmt.Sprintf("%04d-%02d-%02d", y, int(m), dim),
	}, t), nil
}

// describe is the D object of every result.
func describe(t time.Time) map[string]any {
	abbr, off := t.Zone()
	isoYear, isoWeek := t.ISOWeek()
	return map[string]any{
		"utc":            t.UTC().Format(time.RFC3339Nano),
		"local":          t.Format(time.RFC3339Nano),
		"timestamp":      t.Unix(),
		"timestamp_ms":   t.UnixMilli(),
		"year":           t.Year(),
		"month":          int(t.Month()),
		"month_name":     t.Month().String(),
		"day":            t.Day(),
		"hour":           t.Hour(),
		"minute":         t.Minute(),
		"second":         t.Second(),
		"nanosecond":     t.Nanosecond(),
		"weekday":        t.Weekday().String(),
		"day_of_year":    t.YearDay(),
		"iso_week":       isoWeek,
		"iso_year":       isoYear,
		"timezone":       zoneName(t.Location(), off),
		"abbreviation":   abbr,
		"offset_seconds": off,
	}
}

func zoneName(loc *time.Location, off int) string {
	if name := loc.String(); name != "" {
		return name
	}
	return offsetName(off)
}

func offsetName(off int) string {
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off/60%60)
}
