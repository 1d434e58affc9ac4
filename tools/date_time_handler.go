package tools

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // IANA zones on hosts without zoneinfo
)

// nowFunc is the clock of date_time_handler; tests pin it.
var nowFunc = time.Now

// date_time_handler limits.
const (
	maxDateInput  = 256 // bytes of a date, zone name or format
	dtMaxAbsSecs  = 400_000_000_000
	dtMinYear     = 1
	dtMaxYear     = 9999
	dtMaxZoneName = 64
)

var dtOperations = []string{"parse", "now", "convert_timezone", "add", "subtract", "difference", "info", "formats"}

var dtUnits = []string{"milliseconds", "seconds", "minutes", "hours", "days", "weeks", "months", "years"}

// dtParams lists the parameters each operation takes besides operation;
// the others are refused so that a misplaced one is not silently ignored.
var dtParams = map[string][]string{
	"parse":            {"input", "timezone", "format", "input_format"},
	"now":              {"timezone", "format"},
	"convert_timezone": {"input", "timezone", "target_timezone", "format", "input_format"},
	"add":              {"input", "timezone", "amount", "unit", "format", "input_format"},
	"subtract":         {"input", "timezone", "amount", "unit", "format", "input_format"},
	"difference":       {"start", "end", "timezone", "input_format"},
	"info":             {"input", "timezone", "format", "input_format"},
	"formats":          {},
}

func dateTimeSpec() Spec {
	return Spec{
		Inline:   true,
		Name:     "date_time_handler",
		Category: "utility",
		Description: "Parses, formats, converts and computes with dates and times: many input forms " +
			"(RFC 3339, ISO 8601, RFC 1123, unix timestamps, \"Jan 2 2006\", ...), IANA time zones, " +
			"calendar-aware addition, differences and calendar facts. Years 0001-9999.",
		Params: []Param{
			{Name: "operation", Type: String, Default: "parse", Enum: dtOperations, Description: "" +
				"parse reads input; now gives the current time; convert_timezone shows input in target_timezone; " +
				"add and subtract move input by amount units; difference measures end - start; " +
				"info gives calendar facts about input; formats lists the accepted inputs, output formats and units. " +
				"Parameters an operation does not use are refused"},
			{Name: "input", Type: Any, Description: "a date/time string or a unix timestamp number; required for parse, " +
				"defaults to now for convert_timezone, add, subtract and info. Numbers and numeric strings are " +
				"unix seconds below 1e11, milliseconds below 1e14, microseconds below 1e17, else nanoseconds " +
				"(fractions allowed); an 8-digit string that is a valid date is YYYYMMDD, a 14-digit one YYYYMMDDhhmmss. " +
				"\"now\", \"today\", \"yesterday\" and \"tomorrow\" (midnight in timezone) are accepted. " +
				"Slash dates: 2024/01/31, and 31/01/2024 or 01/31/2024 when the order is clear; " +
				"01/02/2024 is refused as ambiguous (use input_format). Run operation formats for the full list"},
			{Name: "timezone", Type: String, Description: "IANA zone (\"Europe/Berlin\"), \"UTC\", \"Local\" (the host's) " +
				"or an offset (\"+05:30\"): the zone of inputs that carry no offset, and the zone results are shown in. " +
				"When omitted, such inputs are UTC and an input's own offset is kept"},
			{Name: "target_timezone", Type: String, Description: "convert_timezone: the zone to convert to (required); same forms as timezone"},
			{Name: "amount", Type: Number, Description: "add/subtract: how many units (may be negative); " +
				"fractions only for milliseconds, seconds, minutes and hours"},
			{Name: "unit", Type: String, Enum: dtUnits, Description: "add/subtract: the unit of amount. " +
				"Milliseconds to hours are elapsed time; days and weeks are calendar days in the zone (the wall " +
				"clock is kept across DST changes); months and years clamp to the month's end " +
				"(Jan 31 + 1 month = Feb 28 or 29; Feb 29 + 1 year = Feb 28)"},
			{Name: "start", Type: Any, Description: "difference: the start (required); same forms as input"},
			{Name: "end", Type: Any, Description: "difference: the end; defaults to now"},
			{Name: "format", Type: String, Description: "adds formatted, the main result as text: a name " +
				"(rfc3339, rfc3339_nano, iso8601, rfc1123, rfc1123z, rfc822, rfc822z, rfc850, ansic, unix_date, http, " +
				"unix, unix_ms, date, time, datetime, kitchen) or a strftime pattern containing % " +
				"(%Y %m %d %H %M %S %f %N %z %Z %a %A %b %B %j %u %w %V %G %s %F %T ... ; operation formats lists them)"},
			{Name: "input_format", Type: String, Description: "read input (and start/end) with this exact form instead of guessing: " +
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
func DateTimeHandler() Tool { return New(dateTimeSpec(), handleDateTime) }

// dtCtx carries what the operations share.
type dtCtx struct {
	p      Params
	loc    *time.Location // the timezone parameter, or UTC
	hasTZ  bool
	inFmt  *dtInputFormat
	format string
	now    time.Time
	hasNow bool
}

func (c *dtCtx) clock() time.Time {
	if !c.hasNow {
		c.now, c.hasNow = nowFunc().Round(0), true
	}
	return c.now
}

// show puts t in the zone results use.
func (c *dtCtx) show(t time.Time) time.Time {
	if c.hasTZ {
		return t.In(c.loc)
	}
	return t
}

func handleDateTime(_ context.Context, p Params) (any, error) {
	op := p.String("operation")
	allowed, ok := dtParams[op]
	if !ok { // the spec's enum makes this unreachable
		return nil, Invalid("parameter \"operation\": unknown value %q", op)
	}
	for _, name := range []string{"input", "timezone", "target_timezone", "amount", "unit", "start", "end", "format", "input_format"} {
		if p.Has(name) && !slices.Contains(allowed, name) {
			return nil, Invalid("parameter %q does not apply to operation %s", name, op)
		}
	}
	c := &dtCtx{p: p, loc: time.UTC}
	if tz := p.String("timezone"); tz != "" {
		loc, err := dtZone("timezone", tz)
		if err != nil {
			return nil, err
		}
		c.loc, c.hasTZ = loc, true
	}
	if f := p.String("input_format"); f != "" {
		inf, err := dtCompileInputFormat(f)
		if err != nil {
			return nil, err
		}
		c.inFmt = inf
	}
	if f := p.String("format"); f != "" {
		if err := dtCheckFormat(f); err != nil {
			return nil, err
		}
		c.format = f
	}
	switch op {
	case "parse":
		return c.parse()
	case "now":
		t := c.clock().In(c.loc)
		return c.withFormat(map[string]any{"now": dtDescribe(t)}, t), nil
	case "convert_timezone":
		return c.convert()
	case "add", "subtract":
		return c.add(op == "subtract")
	case "difference":
		return c.difference()
	case "info":
		return c.info()
	}
	return dtFormatsList(), nil
}

func (c *dtCtx) withFormat(res map[string]any, t time.Time) map[string]any {
	if c.format != "" {
		res["formatted"] = dtFormat(t, c.format)
	}
	return res
}

// value reads a time parameter; absent, it is now when orNow is set.
func (c *dtCtx) value(name string, orNow bool) (time.Time, string, error) {
	v, ok := c.p.Get(name)
	if !ok {
		if orNow {
			return c.show(c.clock().In(c.loc)), "now", nil
		}
		return time.Time{}, "", Invalid("missing parameter %q for operation %s", name, c.p.String("operation"))
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
		f, isNum := toFloat(v)
		if !isNum {
			return time.Time{}, "", Invalid("parameter %q: expected string or number, got %s", name, KindOf(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return time.Time{}, "", Invalid("parameter %q: %v is not a timestamp", name, f)
		}
		t, detect, err = dtFromUnixFloat(name, f)
		if err == nil {
			t = t.In(c.loc)
		}
	}
	if err != nil {
		return time.Time{}, "", err
	}
	if y := t.Year(); y < dtMinYear || y > dtMaxYear {
		return time.Time{}, "", Invalid("parameter %q: year %d is outside 0001-9999", name, y)
	}
	return c.show(t), detect, nil
}

func (c *dtCtx) parse() (any, error) {
	if !c.p.Has("input") {
		return nil, Invalid("missing parameter %q for operation parse", "input")
	}
	t, detect, err := c.value("input", false)
	if err != nil {
		return nil, err
	}
	in, _ := c.p.Get("input")
	return c.withFormat(map[string]any{"input": in, "detected_format": detect, "parsed": dtDescribe(t)}, t), nil
}

func (c *dtCtx) inputEcho(t time.Time) any {
	if in, ok := c.p.Get("input"); ok {
		return in
	}
	return t.Format(time.RFC3339Nano)
}

func (c *dtCtx) convert() (any, error) {
	target := c.p.String("target_timezone")
	if target == "" {
		return nil, Invalid("missing parameter %q for operation convert_timezone", "target_timezone")
	}
	loc, err := dtZone("target_timezone", target)
	if err != nil {
		return nil, err
	}
	t, _, err := c.value("input", true)
	if err != nil {
		return nil, err
	}
	to := t.In(loc)
	return c.withFormat(map[string]any{"input": c.inputEcho(t), "from": dtDescribe(t), "to": dtDescribe(to)}, to), nil
}

func (c *dtCtx) add(subtract bool) (any, error) {
	op := c.p.String("operation")
	if !c.p.Has("amount") {
		return nil, Invalid("missing parameter %q for operation %s", "amount", op)
	}
	if !c.p.Has("unit") {
		return nil, Invalid("missing parameter %q for operation %s", "unit", op)
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
	r, err := dtAdd(t, delta, unit)
	if err != nil {
		return nil, err
	}
	if y := r.Year(); y < dtMinYear || y > dtMaxYear {
		return nil, Invalid("parameter \"amount\": the result's year %d is outside 0001-9999", y)
	}
	amountOut := any(amount)
	if amount == math.Trunc(amount) && math.Abs(amount) < 1<<53 {
		amountOut = int64(amount)
	}
	return c.withFormat(map[string]any{
		"input": c.inputEcho(t), "amount": amountOut, "unit": unit,
		"original": dtDescribe(t), "result": dtDescribe(r),
	}, r), nil
}

// dtAdd moves t by amount units.
func dtAdd(t time.Time, amount float64, unit string) (time.Time, error) {
	whole := amount == math.Trunc(amount)
	switch unit {
	case "months", "years", "days", "weeks":
		if !whole {
			return time.Time{}, Invalid("parameter \"amount\": %v is not a whole number, which unit %s needs", amount, unit)
		}
		limit := map[string]float64{"months": 120_000, "years": 10_000, "days": 3_700_000, "weeks": 530_000}[unit]
		if math.Abs(amount) > limit {
			return time.Time{}, Invalid("parameter \"amount\": %v %s is beyond the years 0001-9999", amount, unit)
		}
		n := int(amount)
		switch unit {
		case "months":
			return dtAddMonths(t, n), nil
		case "years":
			return dtAddMonths(t, 12*n), nil
		case "weeks":
			n *= 7
		}
		return t.AddDate(0, 0, n), nil
	}
	perSec := map[string]float64{"milliseconds": 0.001, "seconds": 1, "minutes": 60, "hours": 3600}[unit]
	if perSec == 0 { // the spec's enum makes this unreachable
		return time.Time{}, Invalid("parameter \"unit\": unknown value %q", unit)
	}
	if math.Abs(amount*perSec) > dtMaxAbsSecs {
		return time.Time{}, Invalid("parameter \"amount\": %v %s is beyond the years 0001-9999", amount, unit)
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

// dtAddMonths adds n months, clamping the day to the target month's length.
func dtAddMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	total := int(m) - 1 + n
	ny, nm := y+total/12, total%12
	if nm < 0 {
		ny, nm = ny-1, nm+12
	}
	month := time.Month(nm + 1)
	if dim := dtDaysIn(ny, month); d > dim {
		d = dim
	}
	h, mi, s := t.Clock()
	return time.Date(ny, month, d, h, mi, s, t.Nanosecond(), t.Location())
}

func dtIsLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func dtDaysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if dtIsLeap(y) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func (c *dtCtx) difference() (any, error) {
	if !c.p.Has("start") {
		return nil, Invalid("missing parameter %q for operation difference", "start")
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
		"start":              dtDescribe(start),
		"end":                dtDescribe(end),
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
		"human_readable":     dtHuman(negative, days, hours, minutes, seconds, millis),
	}, nil
}

func dtHuman(negative bool, days, hours, minutes, seconds, millis int64) string {
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

func (c *dtCtx) info() (any, error) {
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
	if dtIsLeap(y) {
		daysInYear = 366
	}
	dim := dtDaysIn(y, m)
	weekStart := time.Date(y, m, d-(wd-1), 0, 0, 0, 0, time.UTC)
	return c.withFormat(map[string]any{
		"input":                  c.inputEcho(t),
		"date":                   dtDescribe(t),
		"is_leap_year":           dtIsLeap(y),
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

// dtDescribe is the D object of every result.
func dtDescribe(t time.Time) map[string]any {
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
		"timezone":       dtZoneName(t.Location(), off),
		"abbreviation":   abbr,
		"offset_seconds": off,
	}
}

func dtZoneName(loc *time.Location, off int) string {
	if name := loc.String(); name != "" {
		return name
	}
	return dtOffsetName(off)
}

func dtOffsetName(off int) string {
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off/60%60)
}

// --- zones ---

var dtZoneCache sync.Map // name -> *time.Location, successes only (bounded by the zone database)

// dtZone resolves a zone parameter: an IANA name, UTC, Local or an offset.
func dtZone(param, name string) (*time.Location, error) {
	switch name {
	case "UTC", "utc", "Z", "z":
		return time.UTC, nil
	case "Local", "local":
		return time.Local, nil
	}
	if len(name) > dtMaxZoneName {
		return nil, Invalid("parameter %q: unknown time zone (name of %d bytes)", param, len(name))
	}
	if name[0] == '+' || name[0] == '-' {
		off, ok := dtParseOffset(name)
		if !ok {
			return nil, Invalid("parameter %q: bad offset %q; want +hh:mm, +hhmm or +hh (at most 14 hours)", param, name)
		}
		return time.FixedZone(dtOffsetName(off), off), nil
	}
	if v, ok := dtZoneCache.Load(name); ok {
		return v.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, Invalid("parameter %q: unknown time zone %q; want an IANA name such as \"Europe/Berlin\", UTC or an offset such as \"+05:30\"", param, name)
	}
	dtZoneCache.Store(name, loc)
	return loc, nil
}

// dtParseOffset reads +hh, +hhmm or +hh:mm.
func dtParseOffset(s string) (int, bool) {
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	s = s[1:]
	var hh, mm string
	switch {
	case len(s) == 2:
		hh, mm = s, "00"
	case len(s) == 4:
		hh, mm = s[:2], s[2:]
	case len(s) == 5 && s[2] == ':':
		hh, mm = s[:2], s[3:]
	default:
		return 0, false
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || hh[0] == '+' || mm[0] == '+' || h > 14 || m > 59 || h < 0 || m < 0 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// dtAbbrevs are the zone abbreviations a parsed input may carry besides
// UTC and GMT. Others are refused rather than read as UTC.
var dtAbbrevs = map[string]int{
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600,
	"WET": 0, "WEST": 3600, "CET": 3600, "CEST": 2 * 3600, "EET": 2 * 3600, "EEST": 3 * 3600,
	"JST": 9 * 3600, "KST": 9 * 3600, "AEST": 10 * 3600, "AEDT": 11 * 3600,
	"NZST": 12 * 3600, "NZDT": 13 * 3600,
}

// dtFixAbbrev corrects a time whose zone came from an abbreviation Go did
// not know (it reads those as offset 0).
func dtFixAbbrev(param string, t time.Time) (time.Time, error) {
	abbr, off := t.Zone()
	if off != 0 {
		return t, nil
	}
	switch abbr {
	case "UTC", "GMT", "UT", "Z", "":
		return t, nil
	}
	if abbr[0] == '+' || abbr[0] == '-' { // a numeric offset where a name was expected
		o, ok := dtParseOffset(abbr)
		if !ok {
			return time.Time{}, Invalid("parameter %q: bad offset %q", param, abbr)
		}
		y, m, d := t.Date()
		h, mi, s := t.Clock()
		return time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.FixedZone(dtOffsetName(o), o)), nil
	}
	o, ok := dtAbbrevs[strings.ToUpper(abbr)]
	if !ok {
		return time.Time{}, Invalid("parameter %q: unknown time zone abbreviation %q; use a numeric offset", param, abbr)
	}
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.FixedZone(strings.ToUpper(abbr), o)), nil
}

// --- parsing ---

type dtLayout struct {
	layout, name string
	abbrev       bool // the zone is an abbreviation (MST) alone
}

var (
	dtISOLayouts = []dtLayout{
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
	dtSlashYMD = []dtLayout{
		{"2006/01/02", "slash_ymd", false},
		{"2006/01/02 15:04:05", "slash_ymd_time", false},
		{"2006/01/02 15:04", "slash_ymd_time", false},
	}
	dtDayFirst = []dtLayout{
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
	dtNamed = dtNamedLayouts()
)

func dtNamedLayouts() []dtLayout {
	ls := []dtLayout{
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
			ls = append(ls, dtLayout{d + tm, "month_day_year", false})
		}
	}
	return ls
}

func (c *dtCtx) parseString(param, s string) (time.Time, string, error) {
	if len(s) > maxDateInput {
		return time.Time{}, "", Errorf(TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", param, len(s), maxDateInput)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, "", Invalid("parameter %q: empty date", param)
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
	if dtIsNumeric(s) {
		if len(s) == 8 || len(s) == 14 {
			layout, name := "20060102", "basic_date"
			if len(s) == 14 {
				layout, name = "20060102150405", "basic_datetime"
			}
			if t, err := time.ParseInLocation(layout, s, c.loc); err == nil {
				return t, name, nil
			}
		}
		t, name, err := dtFromUnixString(param, s)
		if err != nil {
			return time.Time{}, "", err
		}
		return t.In(c.loc), name, nil
	}
	var list []dtLayout
	switch {
	case s[0] >= '0' && s[0] <= '9':
		switch {
		case len(s) >= 10 && s[4] == '-' && dtDigits(s[:4]):
			list = dtISOLayouts
		case len(s) >= 10 && s[4] == '/' && dtDigits(s[:4]):
			list = dtSlashYMD
		case strings.IndexByte(s, '/') > 0:
			return c.parseSlash(param, s)
		default:
			list = dtDayFirst
		}
	default:
		list = dtNamed
	}
	for _, l := range list {
		t, err := time.ParseInLocation(l.layout, s, c.loc)
		if err != nil {
			continue
		}
		if l.abbrev {
			if t, err = dtFixAbbrev(param, t); err != nil {
				return time.Time{}, "", err
			}
		}
		return t, l.name, nil
	}
	return time.Time{}, "", dtCannotParse(param, s)
}

func dtCannotParse(param, s string) error {
	return Invalid("parameter %q: cannot read %q as a date/time; operation formats lists the accepted forms, "+
		"or pass input_format", param, s)
}

// parseSlash reads d/m/yyyy or m/d/yyyy, with an optional time, when the
// order is clear from the numbers.
func (c *dtCtx) parseSlash(param, s string) (time.Time, string, error) {
	i := strings.IndexByte(s, '/')
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return time.Time{}, "", dtCannotParse(param, s)
	}
	a, err1 := strconv.Atoi(s[:i])
	b, err2 := strconv.Atoi(s[i+1 : i+1+j])
	if err1 != nil || err2 != nil {
		return time.Time{}, "", dtCannotParse(param, s)
	}
	var date, name string
	switch {
	case a > 12 && b <= 12:
		date, name = "2/1/2006", "day_first_slash"
	case b > 12 && a <= 12, a == b:
		date, name = "1/2/2006", "month_first_slash"
	default:
		return time.Time{}, "", Invalid("parameter %q: %q is ambiguous (month/day or day/month); "+
			"pass input_format, e.g. \"%%m/%%d/%%Y\" or \"%%d/%%m/%%Y\"", param, s)
	}
	for _, tm := range []string{"", " 15:04:05", " 15:04"} {
		if t, err := time.ParseInLocation(date+tm, s, c.loc); err == nil {
			return t, name, nil
		}
	}
	return time.Time{}, "", dtCannotParse(param, s)
}

func dtDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// dtIsNumeric reports whether s is [+-]digits[.digits].
func dtIsNumeric(s string) bool {
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

// dtUnitFor picks the unit of a unix timestamp from its magnitude.
func dtUnitFor(abs float64) (name string, perSec float64) {
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

func dtOutOfRange(param string) error {
	return Invalid("parameter %q: timestamp is outside the years 0001-9999", param)
}

func dtFromUnixInt(param string, n int64) (time.Time, string, error) {
	name, perSec := dtUnitFor(math.Abs(float64(n)))
	p := int64(perSec)
	if n/p > dtMaxAbsSecs || n/p < -dtMaxAbsSecs {
		return time.Time{}, "", dtOutOfRange(param)
	}
	return time.Unix(n/p, n%p*(1e9/p)), name, nil
}

func dtFromUnixString(param, s string) (time.Time, string, error) {
	if !strings.Contains(s, ".") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return dtFromUnixInt(param, n)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, "", dtOutOfRange(param)
	}
	return dtFromUnixFloat(param, f)
}

func dtFromUnixFloat(param string, f float64) (time.Time, string, error) {
	if f == math.Trunc(f) && math.Abs(f) < 1<<62 {
		return dtFromUnixInt(param, int64(f))
	}
	name, perSec := dtUnitFor(math.Abs(f))
	secs := f / perSec
	if math.Abs(secs) > dtMaxAbsSecs {
		return time.Time{}, "", dtOutOfRange(param)
	}
	w := math.Floor(secs)
	return time.Unix(int64(w), int64(math.Round((secs-w)*1e9))), name, nil
}

// --- input_format ---

type dtInputFormat struct {
	layout string
	name   string
	abbrev bool
	unix   bool
}

var dtParseDirectives = map[byte]string{
	'Y': "2006", 'm': "1", 'd': "2", 'e': "_2", 'H': "15", 'I': "3", 'M': "04", 'S': "05",
	'y': "06", 'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday", 'p': "PM",
	'z': "Z0700", 'Z': "MST", 'j': "002",
}

func dtCompileInputFormat(f string) (*dtInputFormat, error) {
	if len(f) > maxDateInput {
		return nil, Errorf(TypeTooLarge, "parameter \"input_format\": %d bytes exceeds the %d-byte limit", len(f), maxDateInput)
	}
	if !strings.Contains(f, "%") {
		nf, ok := dtNamedFormats[strings.ToLower(f)]
		if !ok {
			return nil, Invalid("parameter \"input_format\": unknown format name %q; use a name from operation formats "+
				"or a strftime pattern such as %q", f, "%d/%m/%Y")
		}
		return &dtInputFormat{layout: nf.layout, name: strings.ToLower(f), abbrev: strings.Contains(nf.layout, "MST"),
			unix: nf.layout == ""}, nil
	}
	var b strings.Builder
	abbrev := false
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			if c >= '0' && c <= '9' || c == '_' || c == 'J' || c == 'M' || c == 'P' || c == 'p' {
				return nil, Invalid("parameter \"input_format\": literal %q at offset %d is not supported; "+
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
			return nil, Invalid("parameter \"input_format\": pattern ends with a lone %%")
		}
		i++
		d := f[i]
		if d == '%' {
			return nil, Invalid("parameter \"input_format\": %%%% is not supported for reading")
		}
		l, ok := dtParseDirectives[d]
		if !ok {
			return nil, Invalid("parameter \"input_format\": directive %%%c is not supported for reading "+
				"(%%f only right after '.' or ','); supported: %%Y %%m %%d %%e %%H %%I %%M %%S %%f %%y %%b %%h %%B %%a %%A %%p %%z %%Z %%j", d)
		}
		if d == 'Z' {
			abbrev = true
		}
		b.WriteString(l)
	}
	return &dtInputFormat{layout: b.String(), name: "custom", abbrev: abbrev}, nil
}

func (f *dtInputFormat) parse(param, s string, loc *time.Location) (time.Time, string, error) {
	if f.unix {
		if !dtIsNumeric(s) {
			return time.Time{}, "", Invalid("parameter %q: %q is not a number (input_format %s)", param, s, f.name)
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			secs, nanos := n, int64(0)
			if f.name == "unix_ms" {
				secs, nanos = n/1000, n%1000*1e6
			}
			if secs > dtMaxAbsSecs || secs < -dtMaxAbsSecs {
				return time.Time{}, "", dtOutOfRange(param)
			}
			return time.Unix(secs, nanos).In(loc), f.name, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, "", dtOutOfRange(param)
		}
		if f.name == "unix_ms" {
			v /= 1000
		}
		if math.Abs(v) > dtMaxAbsSecs {
			return time.Time{}, "", dtOutOfRange(param)
		}
		w := math.Floor(v)
		return time.Unix(int64(w), int64(math.Round((v-w)*1e9))).In(loc), f.name, nil
	}
	t, err := time.ParseInLocation(f.layout, s, loc)
	if err != nil {
		return time.Time{}, "", Invalid("parameter %q: %q does not match input_format: %s", param, s, dtParseErr(err))
	}
	if f.abbrev {
		if t, err = dtFixAbbrev(param, t); err != nil {
			return time.Time{}, "", err
		}
	}
	return t, f.name, nil
}

// dtParseErr keeps the useful tail of a time.ParseError.
func dtParseErr(err error) string {
	if pe, ok := err.(*time.ParseError); ok && pe.Message != "" {
		return strings.TrimPrefix(pe.Message, ": ")
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// --- output formats ---

type dtNamedFormat struct {
	layout string // Go layout; "" for unix and unix_ms
	utc    bool   // shown in UTC
}

var dtNamedFormats = map[string]dtNamedFormat{
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

var dtNamedFormatOrder = []string{"rfc3339", "rfc3339_nano", "iso8601", "rfc1123", "rfc1123z", "rfc822", "rfc822z",
	"rfc850", "ansic", "unix_date", "http", "unix", "unix_ms", "date", "time", "datetime", "kitchen"}

// dtDirectives are the strftime directives format accepts, with meanings.
var dtDirectives = [][2]string{
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

func dtCheckFormat(f string) error {
	if len(f) > maxDateInput {
		return Errorf(TypeTooLarge, "parameter \"format\": %d bytes exceeds the %d-byte limit", len(f), maxDateInput)
	}
	if !strings.Contains(f, "%") {
		if _, ok := dtNamedFormats[strings.ToLower(f)]; !ok {
			return Invalid("parameter \"format\": unknown format name %q; use a name from operation formats "+
				"or a strftime pattern such as %q", f, "%Y-%m-%d %H:%M")
		}
		return nil
	}
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		if i+1 >= len(f) {
			return Invalid("parameter \"format\": pattern ends with a lone %%")
		}
		i++
		if !strings.Contains("YyCmbhBdejHIpMSfLNzZaAuwVGsFTDRcnt%", string(f[i])) {
			return Invalid("parameter \"format\": unknown directive %%%c; operation formats lists the directives", f[i])
		}
	}
	return nil
}

// dtFormat renders t; f passed dtCheckFormat.
func dtFormat(t time.Time, f string) string {
	if !strings.Contains(f, "%") {
		nf := dtNamedFormats[strings.ToLower(f)]
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
	return string(dtStrftime(make([]byte, 0, len(f)+16), t, f))
}

func dtPad(b []byte, v, width int, pad byte) []byte {
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

func dtStrftime(b []byte, t time.Time, f string) []byte {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b = append(b, f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			b = dtPad(b, t.Year(), 4, '0')
		case 'y':
			b = dtPad(b, t.Year()%100, 2, '0')
		case 'C':
			b = dtPad(b, t.Year()/100, 2, '0')
		case 'm':
			b = dtPad(b, int(t.Month()), 2, '0')
		case 'b', 'h':
			b = append(b, t.Month().String()[:3]...)
		case 'B':
			b = append(b, t.Month().String()...)
		case 'd':
			b = dtPad(b, t.Day(), 2, '0')
		case 'e':
			b = dtPad(b, t.Day(), 2, ' ')
		case 'j':
			b = dtPad(b, t.YearDay(), 3, '0')
		case 'H':
			b = dtPad(b, t.Hour(), 2, '0')
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b = dtPad(b, h, 2, '0')
		case 'p':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'M':
			b = dtPad(b, t.Minute(), 2, '0')
		case 'S':
			b = dtPad(b, t.Second(), 2, '0')
		case 'f':
			b = dtPad(b, t.Nanosecond()/1000, 6, '0')
		case 'L':
			b = dtPad(b, t.Nanosecond()/1e6, 3, '0')
		case 'N':
			b = dtPad(b, t.Nanosecond(), 9, '0')
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
			b = dtPad(b, wd, 1, '0')
		case 'w':
			b = dtPad(b, int(t.Weekday()), 1, '0')
		case 'V':
			_, w := t.ISOWeek()
			b = dtPad(b, w, 2, '0')
		case 'G':
			y, _ := t.ISOWeek()
			b = dtPad(b, y, 4, '0')
		case 's':
			b = strconv.AppendInt(b, t.Unix(), 10)
		case 'F':
			b = dtStrftime(b, t, "%Y-%m-%d")
		case 'T':
			b = dtStrftime(b, t, "%H:%M:%S")
		case 'D':
			b = dtStrftime(b, t, "%m/%d/%y")
		case 'R':
			b = dtStrftime(b, t, "%H:%M")
		case 'c':
			b = dtStrftime(b, t, "%a %b %e %H:%M:%S %Y")
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

// dtFormatsList answers operation formats.
func dtFormatsList() map[string]any {
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
	out := make([]any, len(dtNamedFormatOrder))
	for i, name := range dtNamedFormatOrder {
		out[i] = map[string]any{"name": name, "example": dtFormat(ref, name)}
	}
	dirs := make([]any, len(dtDirectives))
	for i, d := range dtDirectives {
		dirs[i] = map[string]any{"directive": d[0], "meaning": d[1], "example": dtFormat(ref, d[0])}
	}
	units := make([]any, len(dtUnits))
	for i, u := range dtUnits {
		units[i] = u
	}
	return map[string]any{"input_formats": in, "output_formats": out, "strftime_directives": dirs, "units": units,
		"abbreviations": "UTC, GMT, UT and " + strings.Join(dtAbbrevNames(), ", ")}
}

func dtAbbrevNames() []string { return slices.Sorted(maps.Keys(dtAbbrevs)) }
