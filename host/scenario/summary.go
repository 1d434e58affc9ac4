package scenario

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"spellhost/host/exitcode"
	"spellhost/host/luavm"
	"spellhost/host/report"
	"spellhost/host/result"
)

// handleSummaryTimeout bounds the script's handleSummary.
const handleSummaryTimeout = time.Minute

// handleSummary calls the script's handleSummary(data), when it defines
// one, with the run's summary in k6's shape (report.SummaryData), and
// keeps what it returned in res.HandleSummary: a table of outputs,
// "stdout", "stderr" or a file name, each to its text. It runs after the
// run's outcome is known, even after an interruption or a limit, but not
// when the script's state ran away or spellhost hit a bug. A failure is
// kept as the output's Err; the caller then prints the default summary.
func (r *runState) handleSummary(ctx context.Context, res *result.Run, runErr error) {
	if r.vm0 == nil || r.vm0Lost || r.cfg.NoHandleSummary || r.vm0.Broken() != nil || errors.Is(runErr, ErrRunaway) ||
		exitcode.Of(runErr) == exitcode.Panic {
		return
	}
	fn := r.vm0.Global("handleSummary")
	if !fn.IsFunction() {
		return
	}
	hs := &result.HandleSummary{}
	res.HandleSummary = hs
	hctx, cancel := context.WithTimeoutCause(context.WithoutCancel(ctx), handleSummaryTimeout,
		&StopError{Reason: fmt.Sprintf("handleSummary() overran its %v timeout", handleSummaryTimeout), Status: "timeout",
			Code: exitcode.Timeout, timeout: true})
	defer cancel()
	r.vm0mu.Lock()
	defer r.vm0mu.Unlock()
	var out luavm.Ref
	err := Guard(hctx, func() error {
		var err error
		out, err = r.vm0.Call(hctx, fn, r.vm0.ToLua(report.SummaryData(res, r.cfg.Summary)))
		return err
	})
	if errors.Is(err, ErrRunaway) {
		r.vm0Lost = true
	}
	if err != nil {
		if cause := context.Cause(hctx); hctx.Err() != nil && cause != nil {
			err = cause
		}
		hs.Err = err.Error()
		return
	}
	if !out.IsNil() {
		hs.Outputs, err = summaryOutputs(r.vm0, out, r.k.Options().MaxRequestBytes)
		if err != nil {
			hs.Err = err.Error()
		}
	}
}

// summaryOutputs reads handleSummary's table: names to strings.
func summaryOutputs(vm *luavm.VM, v luavm.Ref, maxBytes int) ([]result.SummaryOutput, error) {
	g, err := vm.FromLua(v, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("handleSummary returned %w", err)
	}
	var m map[string]any
	switch x := g.(type) {
	case map[string]any:
		m = x
	case []any:
		if len(x) > 0 {
			return nil, errors.New("handleSummary returned a list; want a table of outputs, as {stdout = text, [\"summary.json\"] = text}")
		}
	default:
		return nil, fmt.Errorf("handleSummary returned %s; want a table of outputs, as {stdout = text, [\"summary.json\"] = text}", describe(g))
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	// stdout and stderr first, then the files by name.
	sort.Slice(names, func(i, j int) bool {
		rank := func(s string) int {
			switch s {
			case "stdout":
				return 0
			case "stderr":
				return 1
			}
			return 2
		}
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	out := make([]result.SummaryOutput, 0, len(names))
	for _, k := range names {
		text, ok := m[k].(string)
		if !ok {
			return nil, fmt.Errorf("handleSummary: the output %q: want a string, got %s", k, describe(m[k]))
		}
		if k == "" {
			return nil, errors.New("handleSummary: an output with an empty name")
		}
		out = append(out, result.SummaryOutput{Name: k, Text: text})
	}
	return out, nil
}
