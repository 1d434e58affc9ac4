package durable

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"spellhost/host/task"
	"spellhost/tools"
)

// view is a kernel's copy of the namespace's records, kept current by a
// watch on the bucket and by this process's own writes, so Status, List,
// Stats and Wait read memory, not the store. Each record is applied once
// per revision, newer over older, whichever way it arrived.
type view struct {
	q *Queue

	mu      sync.Mutex
	closed  bool
	ents    map[string]*entry
	gone    map[string]uint64 // dropped by retention: the revision then, until the store's purge shows
	fin     []*entry          // finished, in the order they were seen to finish, from finHead
	finHead int
	nlive   map[task.State]int
	counts  task.Stats // the cumulative counters

	kw        jetstream.KeyWatcher
	stopWatch context.CancelFunc
	watchDone chan struct{}
	purge     chan string
	purgeDone chan struct{}
}

// entry is one task in the view. It keeps the record as the store sent
// it and decodes it only when asked (a status, a list, an observer):
// the state and the retry count, which the counters need, are read from
// the bytes without decoding.
type entry struct {
	id       string
	num      uint64
	rev      uint64
	raw      []byte // the record's JSON
	state    task.State
	finished time.Time // of a terminal record
	seq      uint64    // its message's, when this kernel submitted it
	retries  int       // retrying transitions in its history
	done     chan struct{}
	watchers []chan task.Status
}

// rec decodes the record. Nothing is cached: the view holds only the
// bytes, the smaller form.
func (en *entry) rec() *record {
	r := new(record)
	if json.Unmarshal(en.raw, r) != nil {
		r = &record{ID: en.id, Name: "?", State: en.state}
	}
	return r
}

var (
	finishedKey = []byte(`"finished":"`)
	stateKey    = []byte(`"state":"`)
	historyKey  = []byte(`"history":`)
	retryingEv  = []byte(`"state":"retrying"`)
)

// scanFinished reads a record's finish time from its JSON (the first
// "finished" key is the record's own: it comes right after the state,
// before tags, results and history), or now when it has none.
func scanFinished(raw []byte) time.Time {
	if i := bytes.Index(raw, finishedKey); i >= 0 {
		rest := raw[i+len(finishedKey):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			if t, err := time.Parse(time.RFC3339Nano, string(rest[:j])); err == nil {
				return t
			}
		}
	}
	return time.Now()
}

// scan reads a record's state and the retries in its history from its
// JSON without decoding it. The first "state" key is the record's own:
// the fields before it are strings, where a quote is escaped.
func scan(raw []byte) (task.State, int, bool) {
	i := bytes.Index(raw, stateKey)
	if i < 0 {
		return "", 0, false
	}
	rest := raw[i+len(stateKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", 0, false
	}
	st := task.State(rest[:j])
	retries := 0
	if h := bytes.Index(rest, historyKey); h >= 0 {
		retries = bytes.Count(rest[h:], retryingEv)
	}
	return st, retries, true
}

// purgeBuffer bounds the record purges waiting for the store.
const purgeBuffer = 1 << 16

func newView(ctx context.Context, q *Queue) (*view, error) {
	v := &view{q: q, ents: map[string]*entry{}, gone: map[string]uint64{}, nlive: map[task.State]int{},
		watchDone: make(chan struct{}), purge: make(chan string, purgeBuffer), purgeDone: make(chan struct{})}
	v.counts.Workers, v.counts.QueueCap = q.cfg.Workers, q.cfg.QueueCap
	if q.cfg.NoLocalWorkers {
		v.counts.Workers = 0
	}
	// The watch lives as long as the view, not as ctx: close ends it.
	wctx, stopWatch := context.WithCancel(context.Background())
	kw, err := q.st.tasks.WatchAll(wctx)
	if err != nil {
		stopWatch()
		return nil, storeError("watch", err)
	}
	v.stopWatch = stopWatch
	v.kw = kw
	// The records already there, up to the marker that ends them.
	t := time.NewTimer(time.Minute)
	defer t.Stop()
load:
	for {
		select {
		case e, ok := <-kw.Updates():
			if !ok {
				return nil, storeError("watch", context.Canceled)
			}
			if e == nil {
				break load
			}
			v.mu.Lock()
			v.applyLocked(e.Key(), e, nil, 0, false)
			v.mu.Unlock()
		case <-t.C:
			stopWatch()
			kw.Stop()
			for range kw.Updates() {
			}
			return nil, storeError("watch", context.DeadlineExceeded)
		case <-ctx.Done():
			stopWatch()
			kw.Stop()
			for range kw.Updates() {
			}
			return nil, storeError("watch", ctx.Err())
		}
	}
	v.mu.Lock()
	v.pruneLocked(time.Now())
	v.mu.Unlock()
	go v.follow()
	go v.purger()
	return v, nil
}

// follow applies the watch's updates until the watch stops.
func (v *view) follow() {
	defer close(v.watchDone)
	for e := range v.kw.Updates() {
		if e == nil {
			continue
		}
		v.mu.Lock()
		evs := v.applyLocked(e.Key(), e, nil, 0, true)
		v.mu.Unlock()
		v.fire(evs)
	}
}

// purger removes the records retention dropped from the store.
func (v *view) purger() {
	defer close(v.purgeDone)
	ctx := context.Background()
	n := 0
	for id := range v.purge {
		v.q.st.tasks.Purge(ctx, id)
		if n++; n%10000 == 0 {
			v.q.st.tasks.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(time.Minute))
		}
	}
}

// observed is an observer event, fired outside the lock.
type observed struct {
	kind    task.State // Running: started; Retrying: retried; terminal: finished
	wait    time.Duration
	running int
	tags    map[string]string // the task's tags (read-only)
	st      task.Status
}

func (v *view) fire(evs []observed) {
	obs := v.q.obs
	if obs == nil {
		return
	}
	for _, ev := range evs {
		switch {
		case ev.kind == task.Running:
			obs.TaskStarted(ev.tags, ev.wait, ev.running)
		case ev.kind == task.Retrying:
			obs.TaskRetried(ev.tags)
		case ev.kind.Terminal():
			obs.TaskFinished(ev.st)
		}
	}
}

// applyLocked applies revision rev of id: from a watch entry e, or the
// JSON of a record this process wrote. It returns the observer's events.
func (v *view) applyLocked(id string, e jetstream.KeyValueEntry, raw []byte, rev uint64, notify bool) []observed {
	if !strings.HasPrefix(id, "t-") {
		return nil
	}
	if e != nil {
		rev = e.Revision()
		if e.Operation() != jetstream.KeyValuePut {
			v.removeLocked(id, rev)
			return nil
		}
		raw = e.Value()
	}
	state, retries, ok := scan(raw)
	if !ok {
		return nil
	}
	if g, ok := v.gone[id]; ok && rev <= g {
		return nil
	}
	en := v.ents[id]
	if en != nil && rev <= en.rev {
		return nil
	}
	var evs []observed
	var old task.State
	oldAttempts, oldWait := 0, time.Duration(0)
	if en == nil {
		n, _ := strconv.ParseUint(strings.TrimPrefix(id, "t-"), 10, 64)
		en = &entry{id: id, num: n}
		v.ents[id] = en
		v.counts.Submitted++
	} else {
		if en.state.Terminal() {
			// A terminal record does not change; a later revision is the
			// store's own bookkeeping.
			en.rev = rev
			return nil
		}
		old = en.state
		if notify && v.q.obs != nil && state == task.Running {
			r := en.rec()
			oldAttempts, oldWait = r.Attempts, r.QueueWait
		}
		v.nlive[old]--
	}
	en.rev, en.raw, en.state = rev, raw, state
	v.counts.Retries += int64(retries - en.retries)
	en.retries = retries
	now := time.Now()
	observe := notify && v.q.obs != nil
	if state.Terminal() {
		switch state {
		case task.Succeeded:
			v.counts.Succeeded++
		case task.Failed:
			v.counts.Failed++
		case task.TimedOut:
			v.counts.TimedOut++
		case task.Cancelled:
			v.counts.Cancelled++
		}
		en.finished = scanFinished(raw)
		v.fin = append(v.fin, en)
		if en.done != nil {
			close(en.done)
			en.done = nil
		}
		if observe {
			evs = append(evs, observed{kind: state, st: en.rec().status(now)})
		}
	} else {
		v.nlive[state]++
	}
	if observe {
		switch {
		case state == task.Running:
			if r := en.rec(); old != task.Running || r.Attempts != oldAttempts {
				evs = append(evs, observed{kind: task.Running, wait: max(0, r.QueueWait-oldWait), running: v.nlive[task.Running], tags: r.Tags})
			}
		case state == task.Retrying && old != task.Retrying:
			evs = append(evs, observed{kind: task.Retrying, tags: en.rec().Tags})
		}
	}
	if len(en.watchers) > 0 && (old != state || state == task.Running) {
		st := en.rec().status(now)
		for _, ch := range en.watchers {
			send(ch, st)
			if state.Terminal() {
				close(ch)
			}
		}
		if state.Terminal() {
			en.watchers = nil
		}
	}
	return evs
}

// removeLocked forgets a record the store deleted or purged.
func (v *view) removeLocked(id string, rev uint64) {
	if _, ok := v.gone[id]; ok {
		delete(v.gone, id) // our own purge, arrived
		return
	}
	en := v.ents[id]
	if en == nil || rev <= en.rev {
		return
	}
	delete(v.ents, id)
	if en.state.Terminal() {
		v.counts.Dropped++
		return // its place in fin is skipped by pruneLocked
	}
	v.nlive[en.state]--
	if en.state == task.Queued && en.rec().Attempts == 0 {
		// A submission withdrawn (its message was refused): never queued.
		v.counts.Submitted--
	} else {
		// A live record removed by hand: it counts as cancelled, so the
		// accounting still balances.
		v.counts.Cancelled++
	}
	if en.done != nil {
		close(en.done)
		en.done = nil
	}
	for _, ch := range en.watchers {
		close(ch)
	}
	en.watchers = nil
}

// send delivers st, dropping the oldest status held when the buffer is
// full; the view's lock makes it the only sender.
func send(ch chan task.Status, st task.Status) {
	for {
		select {
		case ch <- st:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

// pruneLocked drops the finished tasks over the retention limits, oldest
// first, and queues their records for purging.
func (v *view) pruneLocked(now time.Time) {
	cfg := v.q.cfg
	for v.finHead < len(v.fin) {
		en := v.fin[v.finHead]
		if v.ents[en.id] != en {
			v.fin[v.finHead] = nil
			v.finHead++
			continue // removed meanwhile
		}
		if len(v.fin)-v.finHead <= cfg.MaxFinished && now.Sub(en.finished) <= cfg.MaxAge {
			break
		}
		v.fin[v.finHead] = nil
		v.finHead++
		delete(v.ents, en.id)
		v.counts.Dropped++
		if !v.closed {
			select {
			case v.purge <- en.id:
				v.gone[en.id] = en.rev
			default: // the store keeps it; the next kernel to load it drops it
			}
		}
	}
	if v.finHead > 0 && v.finHead >= len(v.fin)/2 {
		n := copy(v.fin, v.fin[v.finHead:])
		clear(v.fin[n:])
		v.fin, v.finHead = v.fin[:n], 0
	}
}

func (v *view) notFound(id string) error {
	return tools.Errorf(tools.TypeNotFound,
		"task %s not found: no such task, or it finished and was dropped by retention (the latest %d finished tasks are kept, for at most %v)",
		id, v.q.cfg.MaxFinished, v.q.cfg.MaxAge)
}

// find returns id's entry, reading the store when the watch has not
// brought it yet (another kernel submitted it a moment ago).
func (v *view) find(id string) (*entry, error) {
	now := time.Now()
	v.mu.Lock()
	v.pruneLocked(now)
	en := v.ents[id]
	_, gone := v.gone[id]
	v.mu.Unlock()
	if en != nil {
		return en, nil
	}
	if gone || !strings.HasPrefix(id, "t-") {
		return nil, v.notFound(id)
	}
	e, err := v.q.st.tasks.Get(context.Background(), id)
	if err != nil {
		return nil, v.notFound(id)
	}
	v.mu.Lock()
	evs := v.applyLocked(id, e, nil, 0, true)
	en = v.ents[id]
	v.mu.Unlock()
	v.fire(evs)
	if en == nil {
		return nil, v.notFound(id)
	}
	return en, nil
}

func (v *view) statusOf(en *entry) task.Status {
	v.mu.Lock()
	defer v.mu.Unlock()
	return en.rec().status(time.Now())
}

func (v *view) status(id string) (task.Status, error) {
	en, err := v.find(id)
	if err != nil {
		return task.Status{}, err
	}
	return v.statusOf(en), nil
}

// wait waits until en is terminal or ctx ends.
func (v *view) wait(ctx context.Context, en *entry) (task.Status, error) {
	v.mu.Lock()
	if en.state.Terminal() {
		st := en.rec().status(time.Now())
		v.mu.Unlock()
		return st, nil
	}
	if en.done == nil {
		en.done = make(chan struct{})
	}
	done := en.done
	v.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
	}
	st := v.statusOf(en)
	if st.State.Terminal() {
		return st, nil
	}
	return st, task.WaitError(ctx, en.id, st.State)
}

// wrote applies the JSON of a record this process wrote.
func (v *view) wrote(id string, raw []byte, rev uint64) {
	v.mu.Lock()
	evs := v.applyLocked(id, nil, raw, rev, true)
	v.mu.Unlock()
	v.fire(evs)
}

// submitted applies a task this kernel submitted.
func (v *view) submitted(id string, raw []byte, rev, seq uint64) {
	v.mu.Lock()
	v.applyLocked(id, nil, raw, rev, false)
	if en := v.ents[id]; en != nil {
		en.seq = seq
	}
	depth := v.nlive[task.Queued] + v.nlive[task.Retrying]
	v.mu.Unlock()
	if v.q.obs != nil {
		v.q.obs.TaskQueued(depth)
	}
}

// withdraw forgets a record whose message the stream refused: the task
// was never queued. The purge that follows clears the tombstone.
func (v *view) withdraw(id string, rev uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if en := v.ents[id]; en != nil {
		delete(v.ents, id)
		v.nlive[en.state]--
		v.counts.Submitted--
	}
	v.gone[id] = rev
}

func (v *view) rejected() {
	v.mu.Lock()
	v.counts.Rejected++
	v.mu.Unlock()
}

func (v *view) seqOf(id string, recSeq uint64) uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if en := v.ents[id]; en != nil && en.seq != 0 {
		return en.seq
	}
	return recSeq
}

// live returns the ids of the live tasks, in submission order.
func (v *view) live() []string {
	v.mu.Lock()
	var ens []*entry
	for _, en := range v.ents {
		if !en.state.Terminal() {
			ens = append(ens, en)
		}
	}
	v.mu.Unlock()
	slices.SortFunc(ens, func(a, b *entry) int { return cmpNum(a.num, b.num) })
	ids := make([]string, len(ens))
	for i, en := range ens {
		ids[i] = en.id
	}
	return ids
}

func cmpNum(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (v *view) pinnedHere(id, node string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	en := v.ents[id]
	return en != nil && !en.state.Terminal() && en.rec().Pin == node
}

// list returns a page of the tasks that match f, in submission order.
func (v *view) list(f task.Filter) (task.Page, error) {
	var state task.State
	if f.State != "" {
		var err error
		if state, err = task.ParseState(f.State); err != nil {
			return task.Page{}, tools.WithOp("task list", err)
		}
	}
	var tagK, tagV string
	if f.Tag != "" {
		var ok bool
		if tagK, tagV, ok = strings.Cut(f.Tag, ":"); !ok || tagK == "" {
			return task.Page{}, tools.Invalid("task list: tag %q: want key:value", f.Tag)
		}
	}
	switch {
	case f.Offset < 0:
		return task.Page{}, tools.Invalid("task list: offset %d: want 0 or more", f.Offset)
	case f.Limit < 0 || f.Limit > task.MaxListLimit:
		return task.Page{}, tools.Invalid("task list: limit %d: want 1 to %d, or 0 for %d", f.Limit, task.MaxListLimit, task.DefaultListLimit)
	}
	limit := f.Limit
	if limit == 0 {
		limit = task.DefaultListLimit
	}
	now := time.Now()
	page := task.Page{Tasks: []task.Status{}, Offset: f.Offset, Next: -1}
	v.mu.Lock()
	v.pruneLocked(now)
	var ens []*entry
	for _, en := range v.ents {
		r := en.rec()
		st := r.status(now)
		if state != "" && st.State != state {
			continue
		}
		if f.Tag != "" && r.Tags[tagK] != tagV {
			continue
		}
		if _, has := r.Tags[tagK]; f.Tag != "" && !has {
			continue
		}
		ok := true
		for k, want := range f.Tags {
			if got, has := r.Tags[k]; !has || got != want {
				ok = false
				break
			}
		}
		if ok {
			ens = append(ens, en)
		}
	}
	slices.SortFunc(ens, func(a, b *entry) int { return cmpNum(a.num, b.num) })
	page.Total = len(ens)
	for i := f.Offset; i < len(ens) && len(page.Tasks) < limit; i++ {
		page.Tasks = append(page.Tasks, ens[i].rec().status(now))
	}
	v.mu.Unlock()
	if end := f.Offset + len(page.Tasks); end < page.Total {
		page.Next = end
	}
	return page, nil
}

// stats returns the counters.
func (v *view) stats() task.Stats {
	now := time.Now()
	v.mu.Lock()
	v.pruneLocked(now)
	s := v.counts
	s.Queued, s.Running, s.Retrying = v.nlive[task.Queued], v.nlive[task.Running], v.nlive[task.Retrying]
	retained := 0
	for _, en := range v.fin[v.finHead:] {
		if v.ents[en.id] == en {
			retained++
		}
	}
	s.Retained = retained
	v.mu.Unlock()
	if w := v.q.w; w != nil {
		w.mu.Lock()
		s.RateLimitWaits, s.RateLimitWait = w.rlWaits, w.rlWait
		w.mu.Unlock()
	}
	return s
}

// watch follows a task's changes of state.
func (v *view) watch(id string) (<-chan task.Status, func(), error) {
	en, err := v.find(id)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan task.Status, task.WatchBuffer)
	v.mu.Lock()
	defer v.mu.Unlock()
	ch <- en.rec().status(time.Now())
	if en.state.Terminal() || v.ents[id] != en {
		close(ch)
		return ch, func() {}, nil
	}
	en.watchers = append(en.watchers, ch)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			v.mu.Lock()
			defer v.mu.Unlock()
			en.watchers = slices.DeleteFunc(en.watchers, func(c chan task.Status) bool { return c == ch })
		})
	}
	return ch, stop, nil
}

func (v *view) isClosed() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.closed
}

// closing refuses further submissions.
func (v *view) closing() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
}

// close stops the watch and the purger and waits for them.
func (v *view) close() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	v.stopWatch()
	v.kw.Stop()
	<-v.watchDone
	close(v.purge)
	<-v.purgeDone
}
