package metrics

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A series' tags are held as one canonical string, "k1=v1,k2=v2" with the
// keys sorted, which keys the store's maps. A backslash escapes '\', ','
// and '=' inside keys and values, so any key and value round-trips
// through Tags and ParseTags: a check named "alpha, beta" stays one tag.

// Tags canonicalises a tag set; "" for none.
func Tags(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	n := 0
	for k, v := range m {
		n += len(k) + len(v) + 2
	}
	b.Grow(n)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		escapeTag(&b, k)
		b.WriteByte('=')
		escapeTag(&b, m[k])
	}
	return b.String()
}

func escapeTag(b *strings.Builder, s string) {
	i := 0
	for i < len(s) && s[i] != '\\' && s[i] != ',' && s[i] != '=' {
		i++
	}
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; c == '\\' || c == ',' || c == '=' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// ParseTags splits a canonical tag string made by Tags.
func ParseTags(s string) map[string]string {
	m := map[string]string{}
	if s == "" {
		return m
	}
	var key, cur strings.Builder
	inValue := false
	end := func() {
		if inValue {
			m[key.String()] = cur.String()
		} else {
			m[cur.String()] = ""
		}
		key.Reset()
		cur.Reset()
		inValue = false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case c == '=' && !inValue:
			key.WriteString(cur.String())
			cur.Reset()
			inValue = true
		case c == ',':
			end()
		default:
			cur.WriteByte(c)
		}
	}
	end()
	return m
}

// MaxTagBytes bounds one tag key or value.
const MaxTagBytes = 256

// CheckTagKey reports whether a tag key that a script names is usable: 1
// to MaxTagBytes bytes, without the characters a threshold's sub-metric
// syntax uses around keys (= , : { } ") or a newline.
func CheckTagKey(k string) error {
	if k == "" || len(k) > MaxTagBytes || strings.ContainsAny(k, "=,:{}\"\n") || strings.TrimSpace(k) != k {
		return fmt.Errorf("tag key %s: want 1 to %d bytes without = , : { } \" or newlines, and no space at either end", shownTag(k), MaxTagBytes)
	}
	return nil
}

// CheckTagValue reports whether a tag value that a script names is
// usable: 1 to MaxTagBytes bytes without a newline. Any other character
// is kept (a threshold names a value with , : { } or " in double quotes).
func CheckTagValue(v string) error {
	if v == "" || len(v) > MaxTagBytes || strings.ContainsRune(v, '\n') {
		return fmt.Errorf("tag value %s: want 1 to %d bytes without newlines", shownTag(v), MaxTagBytes)
	}
	return nil
}

func shownTag(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q... (%d bytes)", s[:40], len(s))
	}
	return strconv.Quote(s)
}

// Query selects series: a metric name and tags every series must carry
// ("tool_duration{tool:calculator}").
type Query struct {
	Metric string
	Tags   map[string]string
}

// String renders the query as metric{k:v,...}, keys sorted; a value that
// holds a character of the syntax (, : { } " or a space at either end) is
// quoted, so ParseQuery reads the string back to the same query.
func (q Query) String() string {
	if len(q.Tags) == 0 {
		return q.Metric
	}
	keys := make([]string, 0, len(q.Tags))
	for k := range q.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + quoteTagValue(q.Tags[k])
	}
	return q.Metric + "{" + strings.Join(parts, ",") + "}"
}

func quoteTagValue(v string) string {
	if v == "" || strings.ContainsAny(v, ",:{}\"\\\n") || strings.TrimSpace(v) != v {
		return strconv.Quote(v)
	}
	return v
}

// ParseQuery reads "metric" or "metric{k:v,k2:v2}". A value may be
// written in double quotes, with Go's escapes, to hold a comma, a colon
// or a brace: checks{check:"alpha, beta"}.
func ParseQuery(s string) (Query, error) {
	s = strings.TrimSpace(s)
	name, rest, hasTags := strings.Cut(s, "{")
	q := Query{Metric: strings.TrimSpace(name)}
	if !metricName.MatchString(q.Metric) {
		return q, fmt.Errorf("%q: %q is not a metric name", s, q.Metric)
	}
	if !hasTags {
		return q, nil
	}
	if !strings.HasSuffix(rest, "}") {
		return q, fmt.Errorf("%q: missing '}' after the tags", s)
	}
	rest = strings.TrimSuffix(rest, "}")
	q.Tags = map[string]string{}
	for {
		k, after, ok := strings.Cut(rest, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, ",\"") {
			item, _, _ := strings.Cut(rest, ",")
			return q, fmt.Errorf("%q: tag %q: want key:value", s, strings.TrimSpace(item))
		}
		after = strings.TrimLeft(after, " ")
		var v string
		more := false
		if strings.HasPrefix(after, `"`) {
			quoted, err := strconv.QuotedPrefix(after)
			if err != nil {
				return q, fmt.Errorf("%q: tag %s: the quoted value does not end", s, k)
			}
			v, _ = strconv.Unquote(quoted)
			after = strings.TrimLeft(after[len(quoted):], " ")
			if after != "" && after[0] != ',' {
				return q, fmt.Errorf("%q: tag %s: want ',' or '}' after the quoted value", s, k)
			}
			after, more = strings.CutPrefix(after, ",")
		} else {
			v, after, more = strings.Cut(after, ",")
			if v = strings.TrimSpace(v); v == "" {
				return q, fmt.Errorf("%q: tag %q: want key:value", s, k+":")
			}
			if strings.ContainsAny(v, "{}\"") {
				return q, fmt.Errorf("%q: tag %s: value %q: write a value with { } or \" in double quotes", s, k, v)
			}
		}
		q.Tags[k] = v
		if !more {
			break
		}
		rest = after
	}
	return q, nil
}
