package durable

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The namespace's rate limit is one token bucket for the whole cluster:
// the kernel writes its settings (key "rate" of the meta bucket), and
// every worker takes a token (key "bucket", a compare-and-set) before it
// claims a task, so RatePerMinute bounds the attempts started by all
// workers together, retries included, as it bounds one manager's.

// rateConfig is the namespace's rate setting.
type rateConfig struct {
	PerMinute float64 `json:"per_minute"`
	Burst     int     `json:"burst"`
}

// bucketState is the shared token bucket.
type bucketState struct {
	Tokens float64   `json:"tokens"`
	At     time.Time `json:"at"`
}

// saveRate writes the kernel's rate setting for the workers.
func (q *Queue) saveRate(ctx context.Context) error {
	b, _ := json.Marshal(rateConfig{PerMinute: q.cfg.RatePerMinute, Burst: q.cfg.Burst})
	if _, err := q.st.meta.Put(ctx, "rate", b); err != nil {
		return storeError("rate", err)
	}
	return nil
}

// rate reads the namespace's rate setting; none is unlimited.
func (w *Worker) rate(ctx context.Context) rateConfig {
	var rc rateConfig
	if e, err := w.st.meta.Get(ctx, "rate"); err == nil {
		json.Unmarshal(e.Value(), &rc)
	}
	return rc
}

// token takes a token of the shared bucket, waiting for one as long as
// needed. It returns how long it waited, and false when the worker
// closed first or the store failed.
func (w *Worker) token(ctx context.Context, rc rateConfig) (time.Duration, bool) {
	per := rc.PerMinute / 60 // tokens a second
	burst := float64(max(1, rc.Burst))
	var waited time.Duration
	for range storeTries * 64 {
		now := time.Now()
		var b bucketState
		var rev uint64
		e, err := w.st.meta.Get(ctx, "bucket")
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			b = bucketState{Tokens: burst, At: now}
		case err != nil:
			return waited, false
		default:
			if json.Unmarshal(e.Value(), &b) != nil {
				b = bucketState{Tokens: burst, At: now}
			}
			rev = e.Revision()
		}
		b.Tokens = min(burst, b.Tokens+max(0, now.Sub(b.At).Seconds())*per)
		b.At = now
		if b.Tokens < 1 {
			d := time.Duration((1 - b.Tokens) / per * float64(time.Second))
			t := time.NewTimer(d)
			select {
			case <-t.C:
				waited += d
				continue
			case <-w.handed:
				t.Stop()
				return waited, false
			}
		}
		b.Tokens--
		v, _ := json.Marshal(b)
		if rev == 0 {
			_, err = w.st.meta.Create(ctx, "bucket", v)
		} else {
			_, err = w.st.meta.Update(ctx, "bucket", v, rev)
		}
		if conflict(err) {
			continue
		}
		return waited, err == nil
	}
	return waited, false
}

// rateNow returns the rate setting the heartbeat keeps current.
func (w *Worker) rateNow() rateConfig {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rc
}

// limit waits for a token when the namespace has a rate limit, keeping
// m's lease meanwhile. It reports false when the wait was cut short (the
// message is then nak'd for another worker).
func (w *Worker) limit(m jetstream.Msg, id string) bool {
	rc := w.rateNow()
	if rc.PerMinute <= 0 {
		return true
	}
	r := &run{id: id, msg: m, since: time.Now()}
	w.mu.Lock()
	w.runs[id] = r
	w.mu.Unlock()
	waited, ok := w.token(context.Background(), rc)
	w.mu.Lock()
	delete(w.runs, id)
	if waited > 0 {
		w.rlWaits++
		w.rlWait += waited
	}
	w.mu.Unlock()
	if !ok {
		m.Nak()
	}
	return ok
}
