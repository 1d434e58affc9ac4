package task_test

import (
	"testing"

	"spellhost/host/task"
	"spellhost/host/task/tasktest"
)

// TestQueueInvariants runs the backends' shared invariant suite against
// the in-process manager; package durable runs the same table against
// JetStream.
func TestQueueInvariants(t *testing.T) {
	tasktest.Run(t, func(t *testing.T, cfg task.Config) task.Queue {
		m, err := task.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		return m
	})
}
