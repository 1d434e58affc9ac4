package files

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"spellhost/tools"
	"spellhost/tools/internal/fileio"
	"spellhost/tools/perm"
)

// file_watcher limits.
const (
	maxPaths     = 64      // paths in input
	maxWatches   = 1024    // folders and files watched at once
	maxWalk      = 100_000 // entries looked at when adding folders recursively
	maxTimeout   = 60_000  // ms
	maxDebounce  = 10_000  // ms
	maxEventsCap = 10_000
)

func fileWatcherSpec() tools.Spec {
	return tools.Spec{
		Name:     "file_watcher",
		Category: "filesystem",
		Description: "Watches files and folders for changes (create, write, remove, rename, chmod) for up to timeout_ms " +
			"and returns the events seen, or returns early once max_events events are in. Every path must be readable " +
			"(--allow-read); a link leading out of the sandbox is refused. Each folder and file is opened through its " +
			"allowed folder's handle and watched as opened (on Linux), so a path swapped for a link meanwhile changes " +
			"nothing. A watched folder " +
			"reports changes to its entries; with recursive its subfolders are watched too, including ones created " +
			"during the watch (links to folders are not followed). Watch a folder rather than a file to see a file that " +
			"is replaced by a rename. Limits: at most 64 paths, 1024 watched folders and files, timeout_ms at most " +
			"60000, max_events at most 10000. The call's own deadline also ends the wait, as a timeout error: keep " +
			"timeout_ms below it",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Required: true, Enum: []string{"watch", "config"},
				Description: "watch waits for events; config checks the parameters and paths and returns what would " +
					"be watched, without waiting"},
			{Name: "input", Type: tools.Any, Required: true,
				Description: "the path to watch, or an array of up to 64 paths, relative to the base folder; each must " +
					"exist and be readable"},
			{Name: "recursive", Type: tools.Boolean, Default: false,
				Description: "watch the subfolders of watched folders too, and folders created in them during the watch; " +
					"what a new folder already holds when it is watched is reported as created"},
			{Name: "pattern", Type: tools.String,
				Description: "report only events whose file name (the last path element) matches this glob, e.g. " +
					"\"*.txt\"; by default every event is reported"},
			{Name: "debounce_ms", Type: tools.Integer, Default: int64(0),
				Description: "merge the events of one path that follow each other within this many milliseconds into " +
					"one event listing every operation, reported once the path has been quiet that long (0 to 10000; " +
					"0 reports every event as it comes)"},
			{Name: "timeout_ms", Type: tools.Integer, Default: int64(1000),
				Description: "how long to watch, in milliseconds (1 to 60000)"},
			{Name: "max_events", Type: tools.Integer, Default: int64(100),
				Description: "return as soon as this many events are in (1 to 10000); later events are not reported"},
		},
		Returns: "watch: {events: [{path, op, time}], event_count, watched: [paths], watch_count, timed_out, dropped, " +
			"overflow}. path is absolute; op is create, write, remove, rename or chmod, or several joined by | when " +
			"debounce_ms merged them; time is when the event was first seen (RFC 3339, UTC). Events come in the order " +
			"they were first seen. timed_out tells whether the wait ran to timeout_ms (false when max_events ended it); " +
			"dropped counts events seen but left out because max_events was reached; overflow tells whether the operating " +
			"system's event queue overflowed and lost events. config: {watched, watch_count, recursive, pattern, " +
			"debounce_ms, timeout_ms, max_events}",
		Example: map[string]any{"operation": "config", "input": ".", "recursive": true},
	}
}

// Watcher returns the file_watcher tool. Every path goes through
// ps.
func Watcher(ps *perm.Set) tools.Tool {
	return tools.New(fileWatcherSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runWatcher(ctx, ps, p)
	})
}

// readyKey is the context key of a function the watch calls once its
// watches are in place, before it waits; tests use it to make changes only
// when they will be seen.
type readyKey struct{}

type options struct {
	recursive  bool
	pattern    string
	debounce   time.Duration
	timeout    time.Duration
	maxEvents  int
	debounceMS int
	timeoutMS  int
}

func runWatcher(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	paths, err := watchPaths(p)
	if err != nil {
		return nil, err
	}
	o := options{
		recursive:  p.Bool("recursive"),
		pattern:    p.String("pattern"),
		debounceMS: p.Int("debounce_ms"),
		timeoutMS:  p.Int("timeout_ms"),
		maxEvents:  p.Int("max_events"),
	}
	if o.debounceMS < 0 || o.debounceMS > maxDebounce {
		return nil, tools.Invalid("parameter \"debounce_ms\": must be between 0 and %d, got %d", maxDebounce, o.debounceMS)
	}
	if o.timeoutMS < 1 || o.timeoutMS > maxTimeout {
		return nil, tools.Invalid("parameter \"timeout_ms\": must be between 1 and %d, got %d", maxTimeout, o.timeoutMS)
	}
	if o.maxEvents < 1 || o.maxEvents > maxEventsCap {
		return nil, tools.Invalid("parameter \"max_events\": must be between 1 and %d, got %d", maxEventsCap, o.maxEvents)
	}
	if p.Has("pattern") {
		if _, err := filepath.Match(o.pattern, ""); err != nil || o.pattern == "" {
			return nil, tools.Invalid("parameter \"pattern\": %q is not a valid glob pattern", o.pattern)
		}
	}
	o.debounce = time.Duration(o.debounceMS) * time.Millisecond
	o.timeout = time.Duration(o.timeoutMS) * time.Millisecond
	if ps == nil {
		return nil, tools.Errorf(tools.TypePermission, "parameter \"input\": read %s: no file permissions are configured", paths[0])
	}

	// Locate and check every path, then open what to watch.
	roots := make([]perm.Loc, 0, len(paths))
	for _, path := range paths {
		l, err := fileio.Locate(ps, perm.ForRead, "input", path)
		if err != nil {
			return nil, err
		}
		_, at, err := l.Stat()
		if err != nil {
			return nil, fileio.Err("input", path, err)
		}
		if !slices.ContainsFunc(roots, at.Same) {
			roots = append(roots, at)
		}
	}
	ws := &watchSet{names: map[string]*watchTarget{}, keys: map[string]bool{}}
	defer ws.close()
	if p.String("operation") == "watch" {
		// Watch each folder as it is opened, before it is listed.
		if ws.w, err = fsnotify.NewWatcher(); err != nil {
			return nil, tools.Failed("start watching: %v", err)
		}
	}
	if err := ws.open(ctx, roots, o.recursive); err != nil {
		return nil, err
	}
	ws.live = true
	watched := make([]any, len(roots))
	for i, r := range roots {
		watched[i] = r.Path()
	}
	if p.String("operation") == "config" {
		var pattern any
		if p.Has("pattern") {
			pattern = o.pattern
		}
		return map[string]any{
			"watched": watched, "watch_count": len(ws.targets), "recursive": o.recursive, "pattern": pattern,
			"debounce_ms": o.debounceMS, "timeout_ms": o.timeoutMS, "max_events": o.maxEvents,
		}, nil
	}

	res, err := watch(ctx, ws, o)
	if err != nil {
		return nil, err
	}
	res["watched"] = watched
	return res, nil
}

// watchPaths returns the paths of input: one string or an array of strings.
func watchPaths(p tools.Params) ([]string, error) {
	v, _ := p.Get("input")
	switch in := v.(type) {
	case string:
		if in == "" {
			return nil, tools.Invalid("parameter \"input\": must not be empty")
		}
		return []string{in}, nil
	case []any:
		if len(in) == 0 {
			return nil, tools.Invalid("parameter \"input\": give at least one path")
		}
		if len(in) > maxPaths {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter \"input\": %d paths exceeds the limit of %d", len(in), maxPaths)
		}
		out := make([]string, len(in))
		for i, item := range in {
			s, ok := item.(string)
			if !ok || s == "" {
				return nil, tools.Invalid("parameter \"input\": item %d: expected a non-empty string, got %s", i+1, tools.KindOf(item))
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, tools.Invalid("parameter \"input\": expected a path or an array of paths, got %s", tools.KindOf(v))
}

// watchTarget is one watched folder or file, held open so that the watch
// is placed on it and not on whatever its name leads to later.
type watchTarget struct {
	shown string    // absolute path reported in events
	name  string    // the name given to the watcher (see watchName)
	f     *os.File  // the open folder or file
	dir   *perm.Dir // for a folder: its handle, to open new subfolders
}

// watchSet is what one call watches.
type watchSet struct {
	w       *fsnotify.Watcher // nil for config
	live    bool              // the watch has begun: errors skip a folder
	targets []*watchTarget
	names   map[string]*watchTarget // by watcher name
	keys    map[string]bool         // the watched files, by fileKey
	walked  int
}

func (ws *watchSet) close() {
	if ws.w != nil {
		ws.w.Close()
	}
	for _, t := range ws.targets {
		t.f.Close()
		if t.dir != nil {
			t.dir.Close()
		}
	}
}

// open opens the roots and, with recursive, every folder below a root
// folder (from handle to handle, never through a link).
func (ws *watchSet) open(ctx context.Context, roots []perm.Loc, recursive bool) error {
	for _, r := range roots {
		d, err := r.OpenDir()
		if err != nil {
			if !errors.Is(err, syscall.ENOTDIR) {
				return fileio.Err("input", r.Given(), err)
			}
			f, err := r.Open()
			if err != nil {
				return fileio.Err("input", r.Given(), err)
			}
			if _, err := ws.add(&watchTarget{shown: f.Loc.Path(), f: f.File}); err != nil {
				return err
			}
			continue
		}
		if err := ws.addDir(ctx, d, recursive, nil); err != nil {
			return err
		}
	}
	return nil
}

// add registers and watches t, unless its file is already watched. Once
// the watch has begun, a folder over the limit or that cannot be watched
// is skipped rather than an error. added tells whether t was taken.
func (ws *watchSet) add(t *watchTarget) (added bool, err error) {
	drop := func(err error) (bool, error) {
		t.f.Close()
		if t.dir != nil {
			t.dir.Close()
		}
		if ws.live {
			return false, nil
		}
		return false, err
	}
	ti, err := t.f.Stat()
	if err != nil {
		return drop(fileio.Err("input", t.shown, err))
	}
	key := fileKey(ti)
	if key != "" {
		if ws.keys[key] {
			return drop(nil)
		}
	} else {
		for _, o := range ws.targets {
			if fi, err := o.f.Stat(); err == nil && os.SameFile(fi, ti) {
				return drop(nil)
			}
		}
	}
	if len(ws.targets) >= maxWatches {
		return drop(tools.Errorf(tools.TypeTooLarge, "parameter \"input\": more than %d folders and files to watch", maxWatches))
	}
	t.name = watchName(t.f, t.shown)
	if ws.w != nil {
		if err := ws.w.Add(t.name); err != nil {
			return drop(addErr(t.shown, err))
		}
	}
	ws.targets = append(ws.targets, t)
	ws.names[t.name] = t
	if key != "" {
		ws.keys[key] = true
	}
	return true, nil
}

// shown returns the path to report for an event's name, and the watched
// target it belongs to (nil when none).
func (ws *watchSet) shown(name string) (string, *watchTarget) {
	if t, ok := ws.names[name]; ok {
		return t.shown, t
	}
	dir, base := filepath.Split(name)
	if t, ok := ws.names[strings.TrimSuffix(dir, string(filepath.Separator))]; ok {
		return filepath.Join(t.shown, base), t
	}
	return name, nil
}

// addDir registers the folder d and, with recursive, the folders below
// it, each watched before it is listed. When found is set, every entry
// below d is passed to it (a folder created during a watch reports what it
// already holds), so an entry made meanwhile is seen at least once
// (possibly twice), never missed.
func (ws *watchSet) addDir(ctx context.Context, d *perm.Dir, recursive bool, found func(path string)) error {
	f, err := d.Handle()
	if err != nil {
		d.Close()
		return fileio.Err("input", d.Path(), err)
	}
	added, err := ws.add(&watchTarget{shown: d.Path(), f: f, dir: d})
	if err != nil || !added || !recursive {
		return err
	}
	des, err := d.Entries()
	if err != nil {
		return nil // an unreadable folder is watched but not entered
	}
	for _, de := range des {
		if ws.walked++; ws.walked%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if ws.walked > maxWalk {
			return tools.Errorf(tools.TypeTooLarge, "parameter \"input\": more than %d entries below %s", maxWalk, d.Path())
		}
		shown := filepath.Join(d.Path(), de.Name())
		if found != nil {
			found(shown)
		}
		if !de.IsDir() {
			continue
		}
		sub, err := d.Sub(de.Name())
		if err != nil {
			continue // gone, unreadable or swapped: not watched
		}
		if err := ws.addDir(ctx, sub, true, found); err != nil {
			return err
		}
	}
	return nil
}

func addErr(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return tools.Failed("parameter \"input\": %s does not exist", path)
	}
	return tools.Failed("parameter \"input\": watch %s: %v (the system limit on watches may be reached)", path, err)
}

// event is one reported event; ops accumulate while debouncing.
type event struct {
	path        string
	op          fsnotify.Op
	first, last time.Time
}

// opNames lists the operations in the order they are named in results.
var opNames = []struct {
	op   fsnotify.Op
	name string
}{
	{fsnotify.Create, "create"}, {fsnotify.Write, "write"}, {fsnotify.Remove, "remove"},
	{fsnotify.Rename, "rename"}, {fsnotify.Chmod, "chmod"},
}

func opName(op fsnotify.Op) string {
	var b strings.Builder
	for _, o := range opNames {
		if op.Has(o.op) {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(o.name)
		}
	}
	return b.String()
}

// watcher gathers events until max_events are settled or the time is up.
type watcher struct {
	o        options
	ws       *watchSet
	done     []*event          // settled, reported
	pending  []*event          // debouncing, by first arrival
	byPath   map[string]*event // the pending event of each path
	dropped  int
	overflow bool
}

func watch(ctx context.Context, ws *watchSet, o options) (map[string]any, error) {
	x := &watcher{o: o, ws: ws, byPath: map[string]*event{}}
	w := ws.w
	if f, ok := ctx.Value(readyKey{}).(func()); ok {
		f()
	}
	deadline := time.NewTimer(o.timeout)
	defer deadline.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	timedOut := false
loop:
	for len(x.done) < o.maxEvents {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			timedOut = true
			break loop
		case err, ok := <-w.Errors:
			if !ok {
				break loop
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				x.overflow = true
				continue
			}
			return nil, tools.Failed("watch: %v", err)
		case ev, ok := <-w.Events:
			if !ok {
				break loop
			}
			x.event(ev, time.Now())
			x.schedule(settle)
		case now := <-settle.C:
			x.settle(now, false)
			x.schedule(settle)
		}
	}
	// Events still debouncing when the time is up happened all the same.
	x.settle(time.Now(), true)
	if len(x.done) > o.maxEvents {
		x.dropped += len(x.done) - o.maxEvents
		x.done = x.done[:o.maxEvents]
	}
	events := make([]any, len(x.done))
	for i, e := range x.done {
		events[i] = map[string]any{"path": e.path, "op": opName(e.op), "time": formatTime(e.first)}
	}
	return map[string]any{
		"events": events, "event_count": len(events), "watch_count": len(ws.targets),
		"timed_out": timedOut, "dropped": x.dropped, "overflow": x.overflow,
	}, nil
}

// event takes in one event from the watcher.
func (x *watcher) event(ev fsnotify.Event, now time.Time) {
	shown, t := x.ws.shown(ev.Name)
	if t == nil {
		return // a folder no longer watched
	}
	x.record(shown, ev.Op, now)
	if x.o.recursive && ev.Has(fsnotify.Create) && t.dir != nil && shown != t.shown {
		x.addFolder(t.dir, filepath.Base(shown), now)
	}
}

// record adds an event of path unless the pattern rules it out, merging it
// into the path's pending event when debouncing.
func (x *watcher) record(path string, op fsnotify.Op, now time.Time) {
	if op == 0 || x.o.pattern != "" && !match(x.o.pattern, path) {
		return
	}
	if x.o.debounce == 0 {
		if len(x.done) >= x.o.maxEvents {
			x.dropped++
			return
		}
		x.done = append(x.done, &event{path: path, op: op, first: now, last: now})
		return
	}
	if e, ok := x.byPath[path]; ok {
		e.op |= op
		e.last = now
		return
	}
	if len(x.done)+len(x.pending) >= x.o.maxEvents {
		x.dropped++
		return
	}
	e := &event{path: path, op: op, first: now, last: now}
	x.pending = append(x.pending, e)
	x.byPath[path] = e
}

func match(pattern, path string) bool {
	ok, _ := filepath.Match(pattern, filepath.Base(path))
	return ok
}

// settle moves the pending events that have been quiet for the debounce
// time (all of them if all) to the reported ones.
func (x *watcher) settle(now time.Time, all bool) {
	kept := x.pending[:0]
	for _, e := range x.pending {
		if all || now.Sub(e.last) >= x.o.debounce {
			x.done = append(x.done, e)
			delete(x.byPath, e.path)
		} else {
			kept = append(kept, e)
		}
	}
	clear(x.pending[len(kept):])
	x.pending = kept
	slices.SortStableFunc(x.done, func(a, b *event) int { return a.first.Compare(b.first) })
}

// schedule sets the timer to fire when the next pending event settles.
func (x *watcher) schedule(t *time.Timer) {
	if len(x.pending) == 0 {
		t.Stop()
		return
	}
	next := x.pending[0].last
	for _, e := range x.pending[1:] {
		if e.last.Before(next) {
			next = e.last
		}
	}
	t.Reset(max(time.Until(next.Add(x.o.debounce)), 0))
}

// addFolder watches a folder created during a recursive watch in the
// folder parent, and the folders already inside it, if it is a folder (not
// a link, opened from parent's handle) and the watch limit allows. What is
// already inside is reported as created.
func (x *watcher) addFolder(parent *perm.Dir, name string, now time.Time) {
	sub, err := parent.Sub(name)
	if err != nil {
		return
	}
	x.ws.walked = 0
	_ = x.ws.addDir(context.Background(), sub, true, func(path string) { x.record(path, fsnotify.Create, now) })
}
