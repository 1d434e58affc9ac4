package task_test

// Listing and waiting.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"spellhost/host/task"
	"spellhost/tools"
)

func TestList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{Workers: 1})
		g := newGate()
		running := submit(t, m, task.Spec{Run: g.run, Tags: map[string]string{"env": "a", "kind": "gate"}})
		synctest.Wait()
		var queued []string
		for i := range 10 {
			env := []string{"a", "b"}[i%2]
			queued = append(queued, submit(t, m, task.Spec{Run: returns(i), Tags: map[string]string{"env": env, "kind": "x"}}))
		}
		all := append([]string{running}, queued...)
		ids := func(p task.Page) []string {
			var out []string
			for _, st := range p.Tasks {
				out = append(out, st.ID)
			}
			return out
		}
		cases := []struct {
			f     task.Filter
			ids   []string
			total int
			next  int
		}{
			{task.Filter{}, all, 11, -1},
			{task.Filter{State: "running"}, []string{running}, 1, -1},
			{task.Filter{State: "queued"}, queued, 10, -1},
			{task.Filter{State: "succeeded"}, nil, 0, -1},
			{task.Filter{Tag: "env:a"}, []string{running, queued[0], queued[2], queued[4], queued[6], queued[8]}, 6, -1},
			{task.Filter{Tag: "env:a", Tags: map[string]string{"kind": "x"}}, []string{queued[0], queued[2], queued[4], queued[6], queued[8]}, 5, -1},
			{task.Filter{Tags: map[string]string{"env": "b", "kind": "x"}, Limit: 2}, []string{queued[1], queued[3]}, 5, 2},
			{task.Filter{Tag: "env:b", Offset: 2, Limit: 2}, []string{queued[5], queued[7]}, 5, 4},
			{task.Filter{Tag: "env:b", Offset: 4, Limit: 2}, []string{queued[9]}, 5, -1},
			{task.Filter{Tag: "env:c"}, nil, 0, -1},
			{task.Filter{Tag: "nokey:a"}, nil, 0, -1},
			{task.Filter{Offset: 3, Limit: 3}, all[3:6], 11, 6},
			{task.Filter{Offset: 50}, nil, 11, -1},
		}
		for _, c := range cases {
			p, err := m.List(c.f)
			if err != nil {
				t.Fatalf("%+v: %v", c.f, err)
			}
			if !slices.Equal(ids(p), c.ids) || p.Total != c.total || p.Next != c.next || p.Offset != c.f.Offset {
				t.Fatalf("%+v: got %v total %d next %d, want %v total %d next %d", c.f, ids(p), p.Total, p.Next, c.ids, c.total, c.next)
			}
		}
		// Pages walk every task exactly once, in submission order.
		var walked []string
		for off := 0; off >= 0; {
			p, err := m.List(task.Filter{Offset: off, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			walked = append(walked, ids(p)...)
			off = p.Next
		}
		if !slices.Equal(walked, all) {
			t.Fatalf("walked %v", walked)
		}
		close(g.release)
	})
}

func TestListDefaultLimit(t *testing.T) {
	m := newManager(t, task.Config{Workers: 1})
	var last string
	for range 150 {
		last = submit(t, m, task.Spec{Run: returns(nil)})
	}
	wait(t, m, last)
	p, err := m.List(task.Filter{State: "succeeded"})
	if err != nil || len(p.Tasks) != 100 || p.Total != 150 || p.Next != 100 {
		t.Fatalf("%d tasks of %d, next %d, %v; want 100 of 150", len(p.Tasks), p.Total, p.Next, err)
	}
}

func TestListBadFilters(t *testing.T) {
	m := newManager(t, task.Config{})
	cases := []struct {
		f    task.Filter
		says string
	}{
		{task.Filter{State: "done"}, `unknown task state "done"`},
		{task.Filter{State: "Queued"}, "want one of queued"},
		{task.Filter{Tag: "env"}, `tag "env": want key:value`},
		{task.Filter{Tag: ":a"}, "want key:value"},
		{task.Filter{Offset: -1}, "offset -1"},
		{task.Filter{Limit: -1}, "limit -1"},
		{task.Filter{Limit: 1001}, "limit 1001: want 1 to 1000"},
	}
	for _, c := range cases {
		_, err := m.List(c.f)
		wantType(t, err, tools.TypeValidation, c.says)
	}
}

func TestWaitDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newManager(t, task.Config{})
		slow := submit(t, m, task.Spec{Run: sleeps(time.Hour)})
		quick := submit(t, m, task.Spec{Run: sleeps(50 * time.Millisecond)})

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		st, err := m.Wait(ctx, slow)
		wantType(t, err, tools.TypeTimeout, "task "+slow+": wait ended with the task still running")
		if st.State != task.Running || st.ID != slow {
			t.Fatalf("status with the timeout: %+v", st)
		}

		ctx, cancelCause := context.WithCancelCause(context.Background())
		cancelCause(errors.New("user pressed ctrl-c"))
		_, err = m.Wait(ctx, slow)
		wantType(t, err, tools.TypeCancelled, "user pressed ctrl-c")

		// A finished task answers even on a done context.
		if st, err := m.Wait(ctx, quick); err != nil || st.State != task.Succeeded {
			t.Fatalf("wait on a finished task: %+v, %v", st, err)
		}

		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		sts, err := m.WaitAll(ctx, []string{quick, slow, quick})
		wantType(t, err, tools.TypeTimeout)
		if len(sts) != 3 || sts[0].State != task.Succeeded || sts[1].State != task.Running || sts[2].State != task.Succeeded {
			t.Fatalf("wait all: %+v", sts)
		}
		_, err = m.WaitAll(ctx, []string{quick, "t-424242"})
		wantType(t, err, tools.TypeNotFound, "t-424242")
		_, err = m.Wait(ctx, "t-424242")
		wantType(t, err, tools.TypeNotFound)

		var ids []string
		for i := range 5 {
			ids = append(ids, submit(t, m, task.Spec{Run: sleeps(time.Duration(i) * time.Millisecond)}))
		}
		sts, err = m.WaitAll(context.Background(), ids)
		if err != nil || len(sts) != 5 {
			t.Fatal(err)
		}
		for i, st := range sts {
			if st.ID != ids[i] || st.State != task.Succeeded {
				t.Fatalf("wait all: %+v", st)
			}
		}
		m.Cancel(slow)
	})
}
