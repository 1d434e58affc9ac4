package task_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"spellhost/host/task"
	"spellhost/tools"
)

// states drains a watch channel until it closes and returns the states seen.
func states(ch <-chan task.Status) (out []task.State, last task.Status) {
	for st := range ch {
		out = append(out, st.State)
		last = st
	}
	return out, last
}

func TestWatchFollowsEveryState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 1, Seed: 1})
		release := make(chan struct{})
		var calls atomic.Int32
		id := submit(t, m, task.Spec{Retries: 1, Backoff: time.Second, Run: func(ctx context.Context, a *task.Attempt) (any, error) {
			if calls.Add(1) == 1 {
				return nil, tools.Failed("first attempt fails")
			}
			<-release
			return "done", nil
		}})
		// Watch before the worker takes the task: the first status is queued.
		ch, stop, err := m.Watch(id)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		var got []task.State
		for st := range ch {
			got = append(got, st.State)
			// Read as the states come, so none is dropped.
			if st.State == task.Running && st.Attempts == 2 {
				close(release)
			}
		}
		want := []task.State{task.Queued, task.Running, task.Retrying, task.Queued, task.Running, task.Succeeded}
		if strings.Join(statesText(got), ",") != strings.Join(statesText(want), ",") {
			t.Fatalf("states %v, want %v", got, want)
		}
	})
}

func statesText(ss []task.State) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// TestWatchSlowReaderGetsTheEnd: a reader that reads nothing until the task
// ended sees at most WatchBuffer statuses, the last one final.
func TestWatchSlowReaderGetsTheEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 1, Seed: 1})
		gate := make(chan struct{})
		id := submit(t, m, task.Spec{Retries: 20, Backoff: time.Millisecond, Run: func(ctx context.Context, a *task.Attempt) (any, error) {
			if a.Number() == 1 {
				<-gate
			}
			return nil, tools.Failed("attempt %d fails", a.Number())
		}})
		ch, stop, err := m.Watch(id)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		close(gate)
		if _, err := m.Wait(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		got, last := states(ch)
		if len(got) > task.WatchBuffer || last.State != task.Failed || last.Attempts != 21 {
			t.Fatalf("a slow reader got %v (last %+v), want at most %d ending failed after 21 attempts", got, last.State, task.WatchBuffer)
		}
	})
}

func TestWatchTerminalUnknownAndStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 1})
		id := submit(t, m, task.Spec{Run: returns(7)})
		wait(t, m, id)
		ch, stop, err := m.Watch(id)
		if err != nil {
			t.Fatal(err)
		}
		stop()
		stop()
		if got, last := states(ch); len(got) != 1 || last.State != task.Succeeded || last.Result != 7 {
			t.Fatalf("watch of a finished task: %v %+v", got, last)
		}
		if _, _, err := m.Watch("t-999999"); !errors.Is(err, tools.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}

		// A stopped watch receives nothing more, and the task still ends.
		block := make(chan struct{})
		id = submit(t, m, task.Spec{Run: func(ctx context.Context, _ *task.Attempt) (any, error) {
			<-block
			return nil, nil
		}})
		ch, stop, err = m.Watch(id)
		if err != nil {
			t.Fatal(err)
		}
		first := <-ch
		stop()
		close(block)
		if st := wait(t, m, id); st.State != task.Succeeded {
			t.Fatalf("task %+v", st)
		}
		select {
		case st, ok := <-ch:
			// At most the status sent before stop took effect.
			if !ok || st.State.Terminal() {
				t.Fatalf("a stopped watch got %+v (open %v) after %v", st, ok, first.State)
			}
		default:
		}
	})
}

func TestCancelAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 2, Seed: 1})
		running := submit(t, m, task.Spec{Run: sleeps(time.Hour)})
		retrying := submit(t, m, task.Spec{Retries: 3, Backoff: time.Hour, Run: fails(tools.Failed("no"))})
		synctest.Wait()
		blocker := submit(t, m, task.Spec{Run: sleeps(time.Hour)})
		synctest.Wait()
		queued := submit(t, m, task.Spec{Run: returns(1)})
		ch, stop, err := m.Watch(running)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		for id, want := range map[string]task.State{running: task.Running, retrying: task.Retrying, blocker: task.Running, queued: task.Queued} {
			if st := status(t, m, id); st.State != want {
				t.Fatalf("setup: %s is %s, want %s", id, st.State, want)
			}
		}
		ids := m.CancelAll("server shutting down")
		if strings.Join(ids, ",") != running+","+blocker {
			t.Fatalf("still running %v, want [%s %s]", ids, running, blocker)
		}
		sts, err := m.WaitAll(context.Background(), []string{running, retrying, blocker, queued})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range sts {
			if st.State != task.Cancelled || !strings.HasSuffix(st.Error.Message, "cancelled: server shutting down") {
				t.Errorf("%s ended %s: %+v", st.ID, st.State, st.Error)
			}
		}
		_, last := states(ch)
		if last.State != task.Cancelled {
			t.Fatalf("the watch ended with %s", last.State)
		}
		if s := m.Stats(); !s.Balanced() || s.Cancelled != 4 {
			t.Fatalf("stats %+v", s)
		}
		if len(m.CancelAll("again")) != 0 {
			t.Fatal("CancelAll found live tasks after all ended")
		}
	})
}
