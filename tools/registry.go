package tools

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds tools by name. Reads (Lookup, List, Search) are lock-free:
// they load an immutable snapshot, and Register and Unregister publish a new
// one. Safe for concurrent use.
type Registry struct {
	mu   sync.Mutex // serialises writers
	snap atomic.Pointer[snapshot]
}

type entry struct {
	tool                   Tool
	spec                   *Spec
	name, category, descLC string // lowercased, for search
}

type snapshot struct {
	gen        uint64 // increases with every change
	byName     map[string]*entry
	sorted     []*entry // by name
	specs      []*Spec  // by name
	categories []string
}

var emptySnapshot = &snapshot{byName: map[string]*entry{}}

// NewRegistry returns a registry holding the given tools. It fails on the
// first tool whose spec is invalid or whose name is taken.
func NewRegistry(ts ...Tool) (*Registry, error) {
	r := &Registry{}
	r.snap.Store(emptySnapshot)
	for _, t := range ts {
		if err := r.Register(t); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Registry) load() *snapshot {
	if s := r.snap.Load(); s != nil {
		return s
	}
	return emptySnapshot
}

// Register adds t. It fails when t's spec is invalid or its name is taken.
func (r *Registry) Register(t Tool) error {
	spec := t.Spec()
	if err := spec.Check(); err != nil {
		return Invalid("register: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	if _, ok := old.byName[spec.Name]; ok {
		return Invalid("register: tool %q is already registered", spec.Name)
	}
	e := &entry{
		tool:     t,
		spec:     spec,
		name:     strings.ToLower(spec.Name),
		category: strings.ToLower(spec.Category),
		descLC:   strings.ToLower(spec.Description),
	}
	r.snap.Store(old.with(e, ""))
	return nil
}

// Unregister removes the named tool; it is a not_found error if there is none.
func (r *Registry) Unregister(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	if _, ok := old.byName[name]; !ok {
		return Errorf(TypeNotFound, "unregister: tool %q is not registered", name)
	}
	r.snap.Store(old.with(nil, name))
	return nil
}

// with returns a copy of s plus add (if not nil) minus the tool named drop.
func (s *snapshot) with(add *entry, drop string) *snapshot {
	n := &snapshot{gen: s.gen + 1, byName: make(map[string]*entry, len(s.byName)+1)}
	for name, e := range s.byName {
		if name != drop {
			n.byName[name] = e
		}
	}
	if add != nil {
		n.byName[add.spec.Name] = add
	}
	n.sorted = make([]*entry, 0, len(n.byName))
	cats := map[string]bool{}
	for _, e := range n.byName {
		n.sorted = append(n.sorted, e)
		if !cats[e.spec.Category] {
			cats[e.spec.Category] = true
			n.categories = append(n.categories, e.spec.Category)
		}
	}
	slices.SortFunc(n.sorted, func(a, b *entry) int { return cmp.Compare(a.spec.Name, b.spec.Name) })
	slices.Sort(n.categories)
	n.specs = make([]*Spec, len(n.sorted))
	for i, e := range n.sorted {
		n.specs[i] = e.spec
	}
	return n
}

// Lookup returns the named tool.
func (r *Registry) Lookup(name string) (Tool, bool) {
	e, ok := r.load().byName[name]
	if !ok {
		return nil, false
	}
	return e.tool, true
}

// Get returns the named tool or a not_found error that suggests a close name.
func (r *Registry) Get(name string) (Tool, error) {
	s := r.load()
	if e, ok := s.byName[name]; ok {
		return e.tool, nil
	}
	// A name longer than any tool's is not a typo: no guess, and the
	// message shows only its start, so a hostile name cannot flood a log.
	if len(name) > maxNameInMessage {
		return nil, Errorf(TypeNotFound, "tool %q... (%d bytes) not found", name[:maxNameInMessage], len(name))
	}
	if guess := s.closest(name); guess != "" {
		return nil, Errorf(TypeNotFound, "tool %q not found; did you mean %q?", name, guess)
	}
	return nil, Errorf(TypeNotFound, "tool %q not found", name)
}

// maxNameInMessage is the most of an unknown tool name an error repeats.
const maxNameInMessage = 64

// Generation returns a number that changes whenever a tool is registered
// or unregistered, so callers can cache what they derive from the list.
func (r *Registry) Generation() uint64 { return r.load().gen }

// Tools returns the registered tools, sorted by name.
func (r *Registry) Tools() []Tool {
	snap := r.load()
	out := make([]Tool, len(snap.sorted))
	for i, e := range snap.sorted {
		out[i] = e.tool
	}
	return out
}

// Len returns the number of tools.
func (r *Registry) Len() int { return len(r.load().sorted) }

// List returns the specs of all tools, or of one category, sorted by name.
// The specs are shared: callers must not change them.
func (r *Registry) List(category string) []*Spec {
	s := r.load()
	if category == "" {
		return slices.Clone(s.specs)
	}
	var out []*Spec
	for _, e := range s.sorted {
		if strings.EqualFold(e.spec.Category, category) {
			out = append(out, e.spec)
		}
	}
	return out
}

// Categories returns the categories in use, sorted.
func (r *Registry) Categories() []string { return slices.Clone(r.load().categories) }

// Search returns the tools matching query, best first. Matching is
// case-insensitive; every word of the query must occur in the tool's name,
// category or description. Name matches rank before category matches,
// which rank before description matches; ties go by name. An empty query
// matches nothing.
func (r *Registry) Search(query string) []*Spec {
	words := strings.Fields(strings.ToLower(query))
	if len(words) == 0 {
		return nil
	}
	type hit struct {
		spec *Spec
		rank int
	}
	var hits []hit
	for _, e := range r.load().sorted {
		rank := 0
		for _, w := range words {
			switch {
			case strings.Contains(e.name, w):
				// best rank, adds nothing
			case strings.Contains(e.category, w):
				rank++
			case strings.Contains(e.descLC, w):
				rank += 2
			default:
				rank = -1
			}
			if rank < 0 {
				break
			}
		}
		if rank >= 0 {
			hits = append(hits, hit{e.spec, rank})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(a.rank, b.rank) })
	out := make([]*Spec, len(hits))
	for i, h := range hits {
		out[i] = h.spec
	}
	return out
}

// closest returns the registered name nearest to name by edit distance, if
// one is near enough to be a likely typo.
func (s *snapshot) closest(name string) string {
	best, bestD := "", len(name)/3+1
	for _, e := range s.sorted {
		if d := distance(name, e.spec.Name); d < bestD {
			best, bestD = e.spec.Name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// String describes the registry for debugging.
func (r *Registry) String() string { return fmt.Sprintf("registry(%d tools)", r.Len()) }
