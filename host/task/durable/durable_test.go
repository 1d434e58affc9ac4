package durable_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"spellhost/host/task"
	"spellhost/host/task/durable"
	"spellhost/host/task/tasktest"
)

func TestMain(m *testing.M) {
	// The test binary is also the server and the worker processes of
	// TestProcesses (processes_test.go).
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(child(role))
	}
	goleak.VerifyTestMain(m)
}

// testLease is the consumers' AckWait in tests: short, so a lost worker's
// task comes back quickly.
const testLease = 500 * time.Millisecond

// embed starts an embedded server on a temporary folder for the test.
func embed(t *testing.T, dir string) *durable.Embedded {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	e, err := durable.Embed(durable.EmbedOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

func connect(t *testing.T, e *durable.Embedded) *nats.Conn {
	t.Helper()
	nc, err := e.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

var nsCount atomic.Int64

// namespace is a fresh namespace, so cases sharing a server do not meet.
func namespace() string { return fmt.Sprintf("t%d", nsCount.Add(1)) }

// TestQueueInvariants runs the invariant suite the in-process manager
// passes against the durable backend on an embedded server.
func TestQueueInvariants(t *testing.T) {
	e := embed(t, "")
	tasktest.Run(t, func(t *testing.T, cfg task.Config) task.Queue {
		nc := connect(t, e)
		q, err := durable.New(context.Background(), nc, durable.Config{Config: cfg, Namespace: namespace(),
			Lease: testLease, CancelOnClose: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(q.Close)
		return q
	})
}

// TestToken: an embedded server with a token refuses a client without
// it and serves one with it; Dial refuses contradictory settings.
func TestToken(t *testing.T) {
	e, err := durable.Embed(durable.EmbedOptions{Dir: t.TempDir(), Listen: "127.0.0.1:0", Token: "s3cret-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	if nc, err := nats.Connect(e.URL()); err == nil {
		nc.Close()
		t.Fatal("a client without the token connected")
	}
	nc, release, err := durable.Dial(durable.Connection{URL: e.URL(), Token: "s3cret-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	q, err := durable.New(context.Background(), nc, durable.Config{Namespace: namespace(), Lease: testLease})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	id, err := q.Submit(task.Spec{Name: "fn", Run: func(context.Context, *task.Attempt) (any, error) { return 1, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitAll(t, q, []string{id})[0]; st.State != task.Succeeded {
		t.Fatalf("status %+v", st)
	}
	for _, c := range []durable.Connection{
		{Creds: "a", Token: "b", URL: "nats://127.0.0.1:1"},
		{TLSCert: "a", URL: "nats://127.0.0.1:1"},
		{URL: "nats://127.0.0.1:1", DataDir: "x"},
	} {
		if _, _, err := durable.Dial(c); err == nil {
			t.Errorf("Dial(%+v) succeeded", c)
		}
	}
}
