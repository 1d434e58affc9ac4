package task_test

import (
	"context"
	"fmt"
	"time"

	"spellhost/host/task"
	"spellhost/tools"
)

func Example() {
	m, err := task.New(task.Config{Workers: 2})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	id, _ := m.Submit(task.Spec{
		Name:    "fn:add",
		Timeout: time.Second,
		Run: func(ctx context.Context, a *task.Attempt) (any, error) {
			return 2 + 3, nil
		},
	})
	st, _ := m.Wait(context.Background(), id)
	fmt.Println(st.ID, st.State, st.Result)

	calls := 0
	id, _ = m.Submit(task.Spec{
		Name:    "fn:flaky",
		Retries: 2,
		Backoff: time.Millisecond,
		Run: func(ctx context.Context, a *task.Attempt) (any, error) {
			if calls++; calls < 3 {
				return nil, tools.Failed("service unavailable")
			}
			return "ok", nil
		},
	})
	st, _ = m.Wait(context.Background(), id)
	fmt.Println(st.ID, st.State, st.Result, "after", st.Attempts, "attempts")

	id, _ = m.Submit(task.Spec{Name: "fn:broken", Run: func(context.Context, *task.Attempt) (any, error) {
		return nil, tools.Invalid("param x is required")
	}})
	st, _ = m.Wait(context.Background(), id)
	fmt.Println(st.ID, st.State, st.Error.Type, st.Error.Message)
	// Output:
	// t-000001 succeeded 5
	// t-000002 succeeded ok after 3 attempts
	// t-000003 failed validation_error param x is required
}
