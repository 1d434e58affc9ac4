package scenario

// The options table as a script writes it: the structs the decoder
// (decode.go) fills, one field per key, before ParseOptions applies the
// defaults and the rules. A pointer field is nil when the key is absent
// (or its value was already reported as wrong).

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"spellhost/host/kernel"
	"spellhost/host/metrics"
)

// optionsTable is the options global.
type optionsTable struct {
	// Scenarios are decoded one by one (scenarioTable), and only when the
	// command line's shortcuts do not replace them.
	Scenarios       map[string]any           `opt:"scenarios"`
	Thresholds      map[string]thresholdList `opt:"thresholds"`
	SetupTimeout    *timeout                 `opt:"setupTimeout"`
	TeardownTimeout *timeout                 `opt:"teardownTimeout"`
	// VUs, Iterations and Duration are k6's shortcuts for one scenario of
	// the default function.
	VUs        int         `opt:"vus"`
	Iterations int         `opt:"iterations"`
	Duration   duration    `opt:"duration"`
	Memory     memoryTable `opt:"memory"`
	Tasks      tasksTable  `opt:"tasks"`
	// Tags are the run's global tags: every value recorded once the
	// script's top level has run carries them.
	Tags tags `opt:"tags"`
}

// memoryTable is options.memory.
type memoryTable struct {
	Interval duration  `opt:"interval"`
	WarmUp   duration  `opt:"warmUp"`
	Warn     *byteSize `opt:"warn"`
	Fail     *byteSize `opt:"fail"`
}

// tasksTable is options.tasks.
type tasksTable struct {
	Workers int      `opt:"workers"`
	Queue   int      `opt:"queue"`
	Rate    int      `opt:"rate"`
	Burst   int      `opt:"burst"`
	Timeout timeout  `opt:"timeout"`
	Budget  int      `opt:"budget"`
	Keep    int      `opt:"keep"`
	KeepFor duration `opt:"keepFor"`
	// The durable backend (see TaskOptions).
	Backend   string `opt:"backend"`
	NATS      string `opt:"nats"`
	Namespace string `opt:"namespace"`
	Local     *bool  `opt:"local"`
}

// scenarioTable is one entry of options.scenarios. Which fields it may
// hold depends on its executor (executorFields).
type scenarioTable struct {
	Executor     string    `opt:"executor"`
	Exec         *string   `opt:"exec"`
	StartTime    duration  `opt:"startTime"`
	StartAfter   names     `opt:"startAfter"`
	GracefulStop *duration `opt:"gracefulStop"`
	Timeout      timeout   `opt:"timeout"`
	Setup        string    `opt:"setup"`
	Teardown     string    `opt:"teardown"`
	Tags         tags      `opt:"tags"`

	VUs              *int      `opt:"vus"`
	Iterations       *int      `opt:"iterations"`
	MaxDuration      *duration `opt:"maxDuration"`
	Duration         *duration `opt:"duration"`
	StartVUs         *int      `opt:"startVUs"`
	Stages           *stages   `opt:"stages"`
	GracefulRampDown *duration `opt:"gracefulRampDown"`
	Rate             *int      `opt:"rate"`
	TimeUnit         *duration `opt:"timeUnit"`
	PreAllocatedVUs  *int      `opt:"preAllocatedVUs"`
	MaxVUs           *int      `opt:"maxVUs"`
	StartRate        *int      `opt:"startRate"`
}

// commonFields are the fields every scenario may hold; executorFields
// those of each executor.
var (
	commonFields   = []string{"executor", "exec", "startTime", "startAfter", "gracefulStop", "timeout", "setup", "teardown", "tags"}
	executorFields = map[string][]string{
		SharedIterations:    {"vus", "iterations", "maxDuration"},
		PerVUIterations:     {"vus", "iterations", "maxDuration"},
		ConstantVUs:         {"vus", "duration"},
		RampingVUs:          {"startVUs", "stages", "gracefulRampDown"},
		ConstantArrivalRate: {"rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"},
		RampingArrivalRate:  {"startRate", "timeUnit", "stages", "preAllocatedVUs", "maxVUs"},
	}
)

// decodeOption reads a scenario: its executor first, then the fields
// that executor takes. With no executor, or an unknown one, every
// scenario field is accepted, so only the executor is reported.
func (st *scenarioTable) decodeOption(d *decoder, path string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "want a table with named fields, got %s", describe(v))
		return
	}
	var sc *scope
	switch e := m["executor"].(type) {
	case nil:
		d.fail(path, "missing executor; one of %s", strings.Join(Executors, ", "))
	case string:
		if own, ok := executorFields[e]; ok {
			sc = &scope{name: e, common: commonFields, own: own}
			break
		}
		d.fail(path+".executor", "unknown executor %q; one of %s", e, strings.Join(Executors, ", "))
	}
	d.fields(path, m, reflect.ValueOf(st).Elem(), sc)
}

// thresholdList is one entry of options.thresholds: a string, a table, or
// a list of strings and tables.
type thresholdList []thresholdItem

// thresholdItem is one threshold with its abort settings.
type thresholdItem struct {
	Threshold      string   `opt:"threshold"`
	AbortOnFail    bool     `opt:"abortOnFail"`
	DelayAbortEval duration `opt:"delayAbortEval"`
}

func (l *thresholdList) decodeOption(d *decoder, path string, v any) {
	var items []any
	switch x := v.(type) {
	case string, map[string]any:
		items = []any{x}
	case []any:
		items = x
	default:
		d.fail(path, "want a string or a list, got %s", describe(v))
		return
	}
	out := make(thresholdList, 0, len(items))
	for i, it := range items {
		p := fmt.Sprintf("%s[%d]", path, i+1)
		switch x := it.(type) {
		case string:
			out = append(out, thresholdItem{Threshold: x})
		case map[string]any:
			var ti thresholdItem
			n := len(d.problems)
			d.fields(p, x, reflect.ValueOf(&ti).Elem(), nil)
			if _, ok := x["threshold"]; !ok {
				d.fail(p, "missing threshold = \"...\"")
			}
			if len(d.problems) == n {
				out = append(out, ti)
			}
		default:
			d.fail(p, "want a string or a table, got %s", describe(it))
		}
	}
	*l = out
}

// duration is a duration: a number of seconds or a string such as "30s".
type duration time.Duration

func (x *duration) decodeOption(d *decoder, path string, v any) {
	switch v.(type) {
	case string, float64:
	default:
		d.fail(path, "want a duration such as \"30s\" or a number of seconds, got %s", describe(v))
		return
	}
	t, err := kernel.ParseDuration(v)
	if err != nil {
		d.fail(path, "%v", err)
		return
	}
	*x = duration(t)
}

// timeout is a duration where a positive value under kernel.MinTimeout is
// an error, not zero (which would mean no timeout, or the default).
type timeout time.Duration

func (x *timeout) decodeOption(d *decoder, path string, v any) {
	var probe duration
	n := len(d.problems)
	if probe.decodeOption(d, path, v); len(d.problems) > n {
		return
	}
	t, err := kernel.ParseTimeout(v)
	if err != nil {
		d.fail(path, "%v", err)
		return
	}
	*x = timeout(t)
}

// byteSize is a size: a number of bytes or a string such as "20MiB"
// (kB, MB, GB: powers of 1,000; KiB, MiB, GiB: powers of 1,024).
type byteSize uint64

func (x *byteSize) decodeOption(d *decoder, path string, v any) {
	switch y := v.(type) {
	case float64:
		if y >= 0 && y < 1<<63 {
			*x = byteSize(y)
			return
		}
	case string:
		if b, err := humanize.ParseBytes(y); err == nil {
			*x = byteSize(b)
			return
		}
	}
	d.fail(path, "want a size such as \"20MiB\" or a number of bytes, got %s", describe(v))
}

// names is a scenario name or a list of them.
type names []string

func (x *names) decodeOption(d *decoder, path string, v any) {
	switch y := v.(type) {
	case string:
		*x = names{y}
		return
	case []any:
		out := make(names, 0, len(y))
		for i, it := range y {
			s, ok := it.(string)
			if !ok {
				d.fail(fmt.Sprintf("%s[%d]", path, i+1), "want a scenario name, got %s", describe(it))
				continue
			}
			out = append(out, s)
		}
		*x = out
		return
	}
	d.fail(path, "want a scenario name or a list of names, got %s", describe(v))
}

// tags are a scenario's tags, or the run's (options.tags): names to
// strings (numbers are written as strings), each a valid tag; "scenario"
// is spellhost's own.
type tags map[string]string

func (x *tags) decodeOption(d *decoder, path string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "want a table of names to strings, got %s", describe(v))
		return
	}
	out := tags{}
	for _, k := range sortedKeys(m) {
		p := key(path, k)
		var s string
		switch y := m[k].(type) {
		case string:
			s = y
		case float64:
			s = fmt.Sprint(y)
		default:
			d.fail(p, "want a string, got %s", describe(y))
			continue
		}
		switch {
		case k == "scenario":
			d.fail(p, "\"scenario\" is set by spellhost to the scenario's name")
			continue
		case metrics.CheckTagKey(k) != nil:
			d.fail(path, "%v", metrics.CheckTagKey(k))
			continue
		case metrics.CheckTagValue(s) != nil:
			d.fail(p, "%v", metrics.CheckTagValue(s))
			continue
		}
		out[k] = s
	}
	*x = out
}

// stages are a ramping executor's steps.
type stages []Stage

func (x *stages) decodeOption(d *decoder, path string, v any) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		d.fail(path, "want a non-empty list of {duration, target}, got %s", describe(v))
		return
	}
	var out stages
	for i, it := range list {
		p := fmt.Sprintf("%s[%d]", path, i+1)
		m, ok := it.(map[string]any)
		if !ok {
			d.fail(p, "want {duration, target}, got %s", describe(it))
			continue
		}
		var st struct {
			Duration *duration `opt:"duration"`
			Target   *int      `opt:"target"`
		}
		n := len(d.problems)
		d.fields(p, m, reflect.ValueOf(&st).Elem(), nil)
		if len(d.problems) > n {
			continue
		}
		if st.Duration == nil || st.Target == nil {
			d.fail(p, "needs both duration and target")
			continue
		}
		out = append(out, Stage{Duration: time.Duration(*st.Duration), Target: *st.Target})
	}
	*x = out
}
