package scenario

import (
	"cmp"
	"reflect"
	"strings"
	"time"

	"spellhost/host/task"
)

// Describe renders the resolved options as plain values for JSON (what
// spellhost inspect prints): scenarios with their defaults filled,
// thresholds parsed, durations as strings such as "30s".
func (o *Options) Describe() map[string]any {
	scen := map[string]any{}
	for _, sc := range o.Scenarios {
		scen[sc.Name] = plain(reflect.ValueOf(*sc))
	}
	var ths []any
	for _, t := range o.Thresholds {
		th := map[string]any{"metric": t.Query.String(), "threshold": t.Source, "aggregation": t.Agg, "op": t.Op, "limit": t.Limit}
		if t.Agg == "p" {
			th["percentile"] = t.Percentile
		}
		if t.AbortOnFail {
			th["abortOnFail"] = true
			th["delayAbortEval"] = t.DelayAbortEval.String()
		}
		ths = append(ths, th)
	}
	if ths == nil {
		ths = []any{}
	}
	mem := o.Memory
	if mem.Interval == 0 {
		mem.Interval = 100 * time.Millisecond
	}
	memd := plain(reflect.ValueOf(mem)).(map[string]any)
	if mem.WarmUp == 0 {
		memd["warmUp"] = "auto: 10% of the run, at most 30s"
	}
	tk := o.Tasks
	tk.Workers = cmp.Or(tk.Workers, task.DefaultWorkers)
	tk.Queue = cmp.Or(tk.Queue, task.DefaultQueueCap)
	tk.Timeout = cmp.Or(tk.Timeout, task.DefaultTimeout)
	tk.Keep = cmp.Or(tk.Keep, task.DefaultMaxFinished)
	tk.KeepFor = cmp.Or(tk.KeepFor, task.DefaultMaxAge)
	tags := map[string]any{}
	for k, v := range o.Tags {
		tags[k] = v
	}
	return map[string]any{
		"tags":            tags,
		"scenarios":       scen,
		"thresholds":      ths,
		"memory":          memd,
		"tasks":           plain(reflect.ValueOf(tk)),
		"setupTimeout":    o.SetupTimeout.String(),
		"teardownTimeout": o.TeardownTimeout.String(),
	}
}

var durationType = reflect.TypeFor[time.Duration]()

// plain turns a struct into a map by its json tags, durations into
// strings, and skips fields tagged "-" or empty ones tagged omitempty or
// omitzero.
func plain(v reflect.Value) any {
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fv := v.Field(i)
			if (strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")) && fv.IsZero() {
				continue
			}
			m[name] = plain(fv)
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = plain(v.Index(i))
		}
		return out
	case reflect.Map:
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[k.String()] = plain(v.MapIndex(k))
		}
		return m
	}
	return v.Interface()
}
