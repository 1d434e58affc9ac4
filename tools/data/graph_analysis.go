package data

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"spellhost/tools"
)

// The graph's analyses: cycles, shortest paths, topological order.

type arc struct {
	to int32
	w  float64
}

// adjacency returns g's arcs in compressed form: the arcs of node i are
// arcs[off[i]:off[i+1]], sorted by target. An undirected edge gives an arc
// each way (a self-loop one). Only valid on a freshly parsed graph.
func (g *graph) adjacency() (off []int32, arcs []arc) {
	n := len(g.nodes)
	off = make([]int32, n+1)
	for _, e := range g.edges {
		off[e.from+1]++
		if !g.directed && e.from != e.to {
			off[e.to+1]++
		}
	}
	for i := 1; i <= n; i++ {
		off[i] += off[i-1]
	}
	arcs = make([]arc, off[n])
	fill := slices.Clone(off[:n])
	for _, e := range g.edges {
		arcs[fill[e.from]] = arc{e.to, e.weight}
		fill[e.from]++
		if !g.directed && e.from != e.to {
			arcs[fill[e.to]] = arc{e.from, e.weight}
			fill[e.to]++
		}
	}
	if !g.directed {
		for i := 0; i < n; i++ {
			seg := arcs[off[i]:off[i+1]]
			if !slices.IsSortedFunc(seg, func(a, b arc) int { return cmp.Compare(a.to, b.to) }) {
				slices.SortFunc(seg, func(a, b arc) int { return cmp.Compare(a.to, b.to) })
			}
		}
	}
	return off, arcs
}

// findCycle returns one cycle as node indices [v, ..., v], or nil.
func (g *graph) findCycle(ctx context.Context, off []int32, arcs []arc) ([]int32, error) {
	n := len(g.nodes)
	const white, grey, black = 0, 1, 2
	color := make([]uint8, n)
	parent := make([]int32, n)
	next := make([]int32, n) // next arc to explore
	stack := make([]int32, 0, 16)
	steps := 0
	for s := 0; s < n; s++ {
		if color[s] != white {
			continue
		}
		color[s], parent[s], next[s] = grey, -1, off[s]
		stack = append(stack[:0], int32(s))
		for len(stack) > 0 {
			steps++
			if err := checkCtx(ctx, steps); err != nil {
				return nil, err
			}
			u := stack[len(stack)-1]
			if next[u] == off[u+1] {
				color[u] = black
				stack = stack[:len(stack)-1]
				continue
			}
			v := arcs[next[u]].to
			next[u]++
			if !g.directed && v == parent[u] && v != u {
				continue // the tree edge back to the parent
			}
			switch color[v] {
			case white:
				color[v], parent[v], next[v] = grey, u, off[v]
				stack = append(stack, v)
			case grey:
				cyc := []int32{v}
				for x := u; x != v; x = parent[x] {
					cyc = append(cyc, x)
				}
				slices.Reverse(cyc[1:])
				return append(cyc, v), nil
			}
		}
	}
	return nil, nil
}

func (g *graph) ids(idx []int32) []any {
	out := make([]any, len(idx))
	for i, x := range idx {
		out[i] = g.nodes[x].id
	}
	return out
}

func (g *graph) analyze(ctx context.Context) (any, error) {
	n := len(g.nodes)
	in := make([]int, n)
	out := make([]int, n)
	// Weakly connected components by union-find.
	uf := make([]int32, n)
	for i := range uf {
		uf[i] = int32(i)
	}
	find := func(x int32) int32 {
		for uf[x] != x {
			uf[x] = uf[uf[x]]
			x = uf[x]
		}
		return x
	}
	for i, e := range g.edges {
		if err := checkCtx(ctx, i); err != nil {
			return nil, err
		}
		out[e.from]++
		in[e.to]++
		if a, b := find(e.from), find(e.to); a != b {
			if a < b {
				uf[b] = a
			} else {
				uf[a] = b
			}
		}
	}
	degrees := make(map[string]any, n)
	isolated := []any{}
	compOf := make(map[int32]int, 8)
	components := []any{}
	for i := 0; i < n; i++ {
		id := g.nodes[i].id
		if g.directed {
			degrees[id] = map[string]any{"in": in[i], "out": out[i]}
		} else {
			degrees[id] = map[string]any{"degree": in[i] + out[i]}
		}
		if in[i]+out[i] == 0 {
			isolated = append(isolated, id)
		}
		r := find(int32(i))
		c, ok := compOf[r]
		if !ok {
			c = len(components)
			compOf[r] = c
			components = append(components, []any{})
		}
		components[c] = append(components[c].([]any), id)
	}
	off, arcs := g.adjacency()
	cyc, err := g.findCycle(ctx, off, arcs)
	if err != nil {
		return nil, err
	}
	var cycle any
	if cyc != nil {
		cycle = g.ids(cyc)
	}
	density := 0.0
	if n > 1 {
		density = float64(len(g.edges)) / (float64(n) * float64(n-1))
		if !g.directed {
			density *= 2
		}
	}
	return map[string]any{
		"graph_type":      g.typeName(),
		"node_count":      n,
		"edge_count":      len(g.edges),
		"density":         density,
		"degrees":         degrees,
		"components":      components,
		"component_count": len(components),
		"has_cycle":       cyc != nil,
		"cycle":           cycle,
		"is_dag":          g.directed && cyc == nil,
		"isolated_nodes":  isolated,
	}, nil
}

type distItem struct {
	d float64
	v int32
}

type distHeap []distItem

func (h distHeap) Len() int { return len(h) }
func (h distHeap) Less(i, j int) bool {
	return h[i].d < h[j].d || h[i].d == h[j].d && h[i].v < h[j].v
}
func (h distHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *distHeap) Push(x any)   { *h = append(*h, x.(distItem)) }
func (h *distHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (g *graph) shortestPath(ctx context.Context, p tools.Params) (any, error) {
	src, dst, err := g.endpoints(p, "shortest_path")
	if err != nil {
		return nil, err
	}
	for _, e := range g.edges {
		if e.weight < 0 {
			return nil, tools.Invalid("parameter %q: edge from %q to %q has negative weight %v; shortest_path needs weights >= 0",
				"graph", g.nodes[e.from].id, g.nodes[e.to].id, e.weight)
		}
	}
	res := map[string]any{"from": g.nodes[src].id, "to": g.nodes[dst].id}
	off, arcs := g.adjacency()
	n := len(g.nodes)
	dist := make([]float64, n)
	prev := make([]int32, n)
	done := make([]bool, n)
	for i := range dist {
		dist[i], prev[i] = math.Inf(1), -1
	}
	dist[src] = 0
	h := &distHeap{{0, src}}
	steps := 0
	for h.Len() > 0 {
		steps++
		if err := checkCtx(ctx, steps); err != nil {
			return nil, err
		}
		it := heap.Pop(h).(distItem)
		u := it.v
		if done[u] {
			continue
		}
		done[u] = true
		if u == dst {
			break
		}
		for _, a := range arcs[off[u]:off[u+1]] {
			if nd := it.d + a.w; nd < dist[a.to] {
				dist[a.to], prev[a.to] = nd, u
				heap.Push(h, distItem{nd, a.to})
			}
		}
	}
	if !done[dst] {
		res["path"], res["distance"], res["reachable"] = []any{}, nil, false
		return res, nil
	}
	var path []int32
	for x := dst; x != -1; x = prev[x] {
		path = append(path, x)
	}
	slices.Reverse(path)
	res["path"], res["distance"], res["reachable"] = g.ids(path), dist[dst], true
	return res, nil
}

type idxHeap []int32

func (h idxHeap) Len() int           { return len(h) }
func (h idxHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h idxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idxHeap) Push(x any)        { *h = append(*h, x.(int32)) }
func (h *idxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (g *graph) topoSort(ctx context.Context) (any, error) {
	if !g.directed {
		return nil, tools.Invalid("parameter %q: topological_sort needs a directed graph, got an undirected one", "graph")
	}
	n := len(g.nodes)
	off, arcs := g.adjacency()
	indeg := make([]int32, n)
	for _, a := range arcs {
		indeg[a.to]++
	}
	ready := make(idxHeap, 0, n)
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			ready = append(ready, int32(i))
		}
	}
	heap.Init(&ready)
	order := make([]any, 0, n)
	for ready.Len() > 0 {
		if err := checkCtx(ctx, len(order)); err != nil {
			return nil, err
		}
		u := heap.Pop(&ready).(int32)
		order = append(order, g.nodes[u].id)
		for _, a := range arcs[off[u]:off[u+1]] {
			if indeg[a.to]--; indeg[a.to] == 0 {
				heap.Push(&ready, a.to)
			}
		}
	}
	if len(order) < n {
		cyc, err := g.findCycle(ctx, off, arcs)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(cyc))
		for i, x := range cyc {
			names[i] = fmt.Sprintf("%q", g.nodes[x].id)
		}
		return nil, tools.Failed("graph has a cycle (%s), so it has no topological order", strings.Join(names, " -> "))
	}
	return map[string]any{"order": order, "count": len(order)}, nil
}
