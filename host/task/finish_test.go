package task_test

// Cancellation and retention.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"spellhost/host/task"
	"spellhost/tools"
)

func TestCancelQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 1})
		g := newGate()
		submit(t, m, task.Spec{Run: g.run})
		ran := false
		id := submit(t, m, task.Spec{Run: func(context.Context, *task.Attempt) (any, error) { ran = true; return nil, nil }})
		synctest.Wait()
		time.Sleep(5 * time.Millisecond)
		st, err := m.Cancel(id)
		if err != nil || st.State != task.Cancelled || st.QueueWait != 5*time.Millisecond || st.Attempts != 0 {
			t.Fatalf("cancel: %+v, %v", st, err)
		}
		wantType(t, st.Err(), tools.TypeCancelled, "cancelled by Task.cancel")
		if s := m.Stats(); s.Queued != 0 || s.Cancelled != 1 || !s.Balanced() {
			t.Fatalf("stats %+v, want the task out of the queue", s)
		}
		close(g.release)
		synctest.Wait()
		if ran {
			t.Fatal("a cancelled task ran")
		}
	})
}

func TestCancelRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		g := newGate()
		id := submit(t, m, task.Spec{Run: g.run, Retries: 3})
		synctest.Wait()
		time.Sleep(30 * time.Millisecond)
		st, err := m.Cancel(id)
		if err != nil || st.State != task.Running || !st.CancelRequested {
			t.Fatalf("cancel: %+v, %v; want running with cancel requested", st, err)
		}
		cause := <-g.causes
		wantType(t, cause, tools.TypeCancelled, "task "+id+": cancelled by Task.cancel")
		st = wait(t, m, id)
		if st.State != task.Cancelled || st.Attempts != 1 || st.RunTime != 30*time.Millisecond || st.CancelRequested {
			t.Fatalf("after cancel: %+v, want cancelled after one attempt (no retry)", st)
		}
		wantType(t, st.Err(), tools.TypeCancelled, "cancelled by Task.cancel")
	})
}

// TestCancelWinsOverLateSuccess: a runner that ignores its context and
// succeeds after Cancel still ends cancelled, as Cancel promised.
func TestCancelWinsOverLateSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		id := submit(t, m, task.Spec{Run: func(context.Context, *task.Attempt) (any, error) {
			time.Sleep(time.Second)
			return "done anyway", nil
		}})
		synctest.Wait()
		m.Cancel(id)
		if st := wait(t, m, id); st.State != task.Cancelled || st.Result != nil {
			t.Fatalf("%+v", st)
		}
	})
}

func TestCancelRetrying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		attempts := 0
		id := submit(t, m, task.Spec{Retries: 5, Backoff: time.Hour, MaxBackoff: time.Hour,
			Run: func(context.Context, *task.Attempt) (any, error) { attempts++; return nil, errors.New("down") }})
		synctest.Wait()
		if st := status(t, m, id); st.State != task.Retrying {
			t.Fatalf("state %s, want retrying", st.State)
		}
		st, err := m.Cancel(id)
		if err != nil || st.State != task.Cancelled {
			t.Fatalf("cancel while retrying: %+v, %v", st, err)
		}
		time.Sleep(2 * time.Hour)
		if attempts != 1 {
			t.Fatalf("%d attempts after cancel, want 1", attempts)
		}
		if s := m.Stats(); s.Retrying != 0 || s.Cancelled != 1 || !s.Balanced() {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestCancelTerminalAndUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		id := submit(t, m, task.Spec{Run: returns("ok")})
		before := wait(t, m, id)
		after, err := m.Cancel(id)
		if err != nil || fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("cancel of a finished task: %+v, %v; want it unchanged, no error", after, err)
		}
		_, err = m.Cancel("t-999999")
		wantType(t, err, tools.TypeNotFound, "t-999999", "retention")
		_, err = m.Status("nope")
		wantType(t, err, tools.TypeNotFound, "task nope not found")
	})
}

func TestRetentionByCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{MaxFinished: 5})
		var ids []string
		for i := range 20 {
			id := submit(t, m, task.Spec{Run: returns(i)})
			wait(t, m, id)
			ids = append(ids, id)
		}
		s := m.Stats()
		if s.Retained != 5 || s.Dropped != 15 || s.Succeeded != 20 || !s.Balanced() {
			t.Fatalf("stats %+v, want 5 kept, 15 dropped", s)
		}
		_, err := m.Status(ids[14])
		wantType(t, err, tools.TypeNotFound, "dropped by retention", "latest 5")
		page, err := m.List(task.Filter{})
		if err != nil || page.Total != 5 || page.Tasks[0].ID != ids[15] {
			t.Fatalf("list %+v, %v; want the latest 5", page, err)
		}
	})
}

func TestRetentionByAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{MaxAge: time.Minute})
		old := submit(t, m, task.Spec{Run: returns(1)})
		wait(t, m, old)
		time.Sleep(30 * time.Second)
		young := submit(t, m, task.Spec{Run: returns(2)})
		wait(t, m, young)
		time.Sleep(30 * time.Second) // old is exactly 1m old: kept
		status(t, m, old)
		time.Sleep(time.Nanosecond)
		_, err := m.Status(old)
		wantType(t, err, tools.TypeNotFound, "at most 1m0s")
		status(t, m, young)
		time.Sleep(30 * time.Second)
		if s := m.Stats(); s.Retained != 0 || s.Dropped != 2 || !s.Balanced() {
			t.Fatalf("stats %+v, want both dropped", s)
		}
	})
}

// TestRetentionBound runs many tasks under a small limit: what is kept
// stays at the limit.
func TestRetentionBound(t *testing.T) {
	m := newManager(t, task.Config{Workers: 2, MaxFinished: 100})
	ids := make([]string, 0, 1000)
	for range 20 {
		ids = ids[:0]
		for range 1000 {
			ids = append(ids, submit(t, m, task.Spec{Run: returns(nil)}))
		}
		// Early ids may be dropped while WaitAll looks them up: wait on the last.
		wait(t, m, ids[len(ids)-1])
		for _, id := range ids[len(ids)-50:] {
			wait(t, m, id)
		}
	}
	s := m.Stats()
	if s.Retained > 100 || s.Submitted != 20000 || s.Dropped < 19000 {
		t.Fatalf("stats %+v, want at most 100 kept", s)
	}
}
