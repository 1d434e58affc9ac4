package data

import (
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // IANA zones on hosts without zoneinfo

	"spellhost/tools"
)

// Time zones for date-time-handler: IANA names, UTC offsets and abbreviations.

var zoneCache sync.Map // name -> *time.Location, successes only (bounded by the zone database)

// zone resolves a zone parameter: an IANA name, UTC, Local or an offset.
func zone(param, name string) (*time.Location, error) {
	switch name {
	case "UTC", "utc", "Z", "z":
		return time.UTC, nil
	case "Local", "local":
		return time.Local, nil
	}
	if len(name) > maxZoneName {
		return nil, tools.Invalid("parameter %q: unknown time zone (name of %d bytes)", param, len(name))
	}
	if name[0] == '+' || name[0] == '-' {
		off, ok := parseOffset(name)
		if !ok {
			return nil, tools.Invalid("parameter %q: bad offset %q; want +hh:mm, +hhmm or +hh (at most 14 hours)", param, name)
		}
		return time.FixedZone(offsetName(off), off), nil
	}
	if v, ok := zoneCache.Load(name); ok {
		return v.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, tools.Invalid("parameter %q: unknown time zone %q; want an IANA name such as \"Europe/Berlin\", UTC or an offset such as \"+05:30\"", param, name)
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// parseOffset reads +hh, +hhmm or +hh:mm.
func parseOffset(s string) (int, bool) {
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

// abbrevs are the zone abbreviations a parsed input may carry besides
// UTC and GMT. Others are refused rather than read as UTC.
var abbrevs = map[string]int{
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600,
	"WET": 0, "WEST": 3600, "CET": 3600, "CEST": 2 * 3600, "EET": 2 * 3600, "EEST": 3 * 3600,
	"JST": 9 * 3600, "KST": 9 * 3600, "AEST": 10 * 3600, "AEDT": 11 * 3600,
	"NZST": 12 * 3600, "NZDT": 13 * 3600,
}

// fixAbbrev corrects a time whose zone came from an abbreviation Go did
// not know (it reads those as offset 0).
func fixAbbrev(param string, t time.Time) (time.Time, error) {
	abbr, off := t.Zone()
	if off != 0 {
		return t, nil
	}
	switch abbr {
	case "UTC", "GMT", "UT", "Z", "":
		return t, nil
	}
	if abbr[0] == '+' || abbr[0] == '-' { // a numeric offset where a name was expected
		o, ok := parseOffset(abbr)
		if !ok {
			return time.Time{}, tools.Invalid("parameter %q: bad offset %q", param, abbr)
		}
		y, m, d := t.Date()
		h, mi, s := t.Clock()
		return time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.FixedZone(offsetName(o), o)), nil
	}
	o, ok := abbrevs[strings.ToUpper(abbr)]
	if !ok {
		return time.Time{}, tools.Invalid("parameter %q: unknown time zone abbreviation %q; use a numeric offset", param, abbr)
	}
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.FixedZone(strings.ToUpper(abbr), o)), nil
}
