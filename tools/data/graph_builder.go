package data

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/tools"
)

// graph-builder limits.
const (
	maxGraphNodes     = 10_000
	maxGraphEdges     = 100_000
	maxGraphIDLen     = 1024     // bytes of a node id
	maxGraphJSONBytes = 16 << 20 // bytes of import_json input
)

func graphBuilderSpec() tools.Spec {
	return tools.Spec{
		Inline:   true,
		Name:     "graph-builder",
		Category: "data",
		Description: "Builds and analyzes graphs without keeping state: each call takes a graph object " +
			"{graph_type, nodes: [{id, label?, data?}], edges: [{from, to, weight, label?, data?}]} and returns the new one. " +
			"Operations add and remove nodes and edges, analyze (degrees, weakly connected components, cycles, density), " +
			"find weighted shortest paths (Dijkstra), sort topologically, and convert to and from JSON. " +
			"Node ids are non-empty strings; there is at most one edge per ordered pair (per unordered pair when undirected); " +
			"self-loops are allowed. Output is deterministic: nodes sorted by id, edges by from then to. " +
			fmt.Sprintf("Limits: %d nodes, %d edges, ids of %d bytes (too_large beyond).", maxGraphNodes, maxGraphEdges, maxGraphIDLen),
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Default: "create_graph",
				Enum: []string{"create_graph", "add_node", "add_edge", "remove_node", "remove_edge", "analyze",
					"export_json", "import_json", "shortest_path", "topological_sort"},
				Description: "create_graph returns a new empty graph of graph_type (seeded with graph's nodes and edges when graph is given); " +
					"add_node (node_id, label, data); add_edge (from, to, weight, label, data, auto_create); remove_node (node_id, also removes its edges); " +
					"remove_edge (from, to); analyze; export_json (graph as a JSON string); import_json (input); " +
					"shortest_path (from, to); topological_sort (directed acyclic graphs only)"},
			{Name: "graph", Type: tools.Object,
				Description: "the graph, as returned by this tool in result.graph: {graph_type, nodes, edges}; required by every operation but create_graph and import_json"},
			{Name: "graph_type", Type: tools.String, Default: "directed", Enum: []string{"directed", "undirected"},
				Description: "create_graph: the new graph's type (when given, it converts a seeding graph); import_json: the type when the JSON has none; " +
					"other operations: when given, it must match the graph's type"},
			{Name: "node_id", Type: tools.String, Description: "the node to add or remove (add_node, remove_node)"},
			{Name: "label", Type: tools.String, Description: "optional label of the node or edge added (add_node, add_edge)"},
			{Name: "data", Type: tools.Any, Description: "optional JSON-like value attached to the node or edge added (add_node, add_edge)"},
			{Name: "from", Type: tools.String, Description: "source node id (add_edge, remove_edge, shortest_path)"},
			{Name: "to", Type: tools.String, Description: "target node id (add_edge, remove_edge, shortest_path)"},
			{Name: "weight", Type: tools.Number, Description: "the added edge's weight, a finite number; default 1 (add_edge)"},
			{Name: "auto_create", Type: tools.Boolean, Default: false,
				Description: "add_edge: create from and to when missing instead of failing"},
			{Name: "input", Type: tools.String,
				Description: fmt.Sprintf("import_json: a JSON graph object as export_json writes it; at most %d bytes", maxGraphJSONBytes)},
		},
		Returns: "create_graph, add_node, add_edge, remove_node, remove_edge, import_json: {graph, node_count, edge_count}; " +
			"export_json: {json, node_count, edge_count}; " +
			"analyze: {graph_type, node_count, edge_count, density, degrees {id: {in, out}} (undirected: {id: {degree}}, a self-loop counts 2), " +
			"components (weakly connected, each a sorted array of ids, ordered by first id), component_count, has_cycle, " +
			"cycle (one cycle as a path [a, b, ..., a], null when none), is_dag (false for undirected graphs), isolated_nodes}; " +
			"shortest_path: {from, to, path, distance (null when unreachable), reachable}; topological_sort: {order, count} " +
			"(smallest id first among ready nodes; a cycle is an execution error naming it)",
		Example: map[string]any{
			"operation": "analyze",
			"graph": map[string]any{
				"graph_type": "directed",
				"nodes":      []any{map[string]any{"id": "a"}, map[string]any{"id": "b"}, map[string]any{"id": "c"}},
				"edges":      []any{map[string]any{"from": "a", "to": "b"}, map[string]any{"from": "b", "to": "c", "weight": 2}},
			},
		},
	}
}

// GraphBuilder returns the graph-builder tool.
func GraphBuilder() tools.Tool { return tools.New(graphBuilderSpec(), buildGraph) }

type gNode struct {
	id       string
	label    string
	hasLabel bool
	removed  bool
	data     any
}

type gEdge struct {
	from, to int32 // indices into graph.nodes
	weight   float64
	label    string
	hasLabel bool
	data     any
}

type graph struct {
	directed bool
	nodes    []gNode // sorted by id after parsing; additions are appended
	index    map[string]int32
	edges    []gEdge
	edgeSet  map[uint64]struct{}
}

func (g *graph) edgeKey(a, b int32) uint64 {
	if !g.directed && a > b {
		a, b = b, a
	}
	return uint64(uint32(a))<<32 | uint64(uint32(b))
}

func (g *graph) typeName() string {
	if g.directed {
		return "directed"
	}
	return "undirected"
}

func buildGraph(ctx context.Context, p tools.Params) (any, error) {
	op := p.String("operation")
	var g *graph
	var err error
	switch op {
	case "create_graph":
		if p.Has("graph") {
			if g, err = parseGraph(ctx, p.Map("graph"), "graph", p.String("graph_type"), p.Has("graph_type")); err != nil {
				return nil, err
			}
		} else {
			g = &graph{directed: p.String("graph_type") == "directed"}
		}
		return graphResult(g), nil
	case "import_json":
		if !p.Has("input") {
			return nil, tools.Invalid("missing required parameter %q for operation %s", "input", op)
		}
		in := p.String("input")
		if len(in) > maxGraphJSONBytes {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", "input", len(in), maxGraphJSONBytes)
		}
		var v any
		if err := json.Unmarshal([]byte(in), &v, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)); err != nil {
			return nil, tools.Invalid("parameter %q: invalid JSON: %v", "input", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, tools.Invalid("parameter %q: expected a JSON object, got %s", "input", tools.KindOf(v))
		}
		if _, has := m["graph_type"]; !has {
			m["graph_type"] = p.String("graph_type")
		} else if err := checkGraphType(m["graph_type"], "input", p); err != nil {
			return nil, err
		}
		if g, err = parseGraph(ctx, m, "input", "", false); err != nil {
			return nil, err
		}
		return graphResult(g), nil
	}

	if !p.Has("graph") {
		return nil, tools.Invalid("missing required parameter %q for operation %s", "graph", op)
	}
	gm := p.Map("graph")
	if err := checkGraphType(gm["graph_type"], "graph", p); err != nil {
		return nil, err
	}
	if g, err = parseGraph(ctx, gm, "graph", "", false); err != nil {
		return nil, err
	}

	switch op {
	case "add_node":
		id, err := requireNodeParam(p, "node_id", op)
		if err != nil {
			return nil, err
		}
		if _, dup := g.index[id]; dup {
			return nil, tools.Invalid("parameter %q: node %q already exists", "node_id", id)
		}
		if err := g.addNode(id, p); err != nil {
			return nil, err
		}
	case "add_edge":
		if err := g.addEdgeOp(p); err != nil {
			return nil, err
		}
	case "remove_node":
		id, err := requireNodeParam(p, "node_id", op)
		if err != nil {
			return nil, err
		}
		i, ok := g.index[id]
		if !ok {
			return nil, tools.Invalid("parameter %q: node %q not found in the graph", "node_id", id)
		}
		g.nodes[i].removed = true
		delete(g.index, id)
		g.edges = slices.DeleteFunc(g.edges, func(e gEdge) bool { return e.from == i || e.to == i })
	case "remove_edge":
		a, b, err := g.endpoints(p, op)
		if err != nil {
			return nil, err
		}
		k := g.edgeKey(a, b)
		if _, ok := g.edgeSet[k]; !ok {
			return nil, tools.Invalid("no edge from %q to %q in the graph", g.nodes[a].id, g.nodes[b].id)
		}
		g.edges = slices.DeleteFunc(g.edges, func(e gEdge) bool { return g.edgeKey(e.from, e.to) == k })
	case "analyze":
		return g.analyze(ctx)
	case "export_json":
		gr := g.toMap()
		b, err := json.Marshal(gr, json.Deterministic(true), jsontext.EscapeForHTML(true), jsontext.AllowInvalidUTF8(true),
			json.FormatNilSliceAsNull(true), json.FormatNilMapAsNull(true))
		if err != nil {
			return nil, tools.Invalid("parameter %q: cannot encode as JSON: %v", "graph", err)
		}
		return map[string]any{"json": string(b), "node_count": len(g.nodes), "edge_count": len(g.edges)}, nil
	case "shortest_path":
		return g.shortestPath(ctx, p)
	case "topological_sort":
		return g.topoSort(ctx)
	}
	return graphResult(g), nil
}

func checkGraphType(v any, param string, p tools.Params) error {
	if v == nil {
		v = "directed"
	}
	s, ok := v.(string)
	if !ok || s != "directed" && s != "undirected" {
		return nil // parseGraph reports it
	}
	if p.Has("graph_type") && p.String("graph_type") != s {
		return tools.Invalid("parameter %q: %s does not match the %s graph in parameter %q", "graph_type", p.String("graph_type"), s, param)
	}
	return nil
}

func requireNodeParam(p tools.Params, name, op string) (string, error) {
	if !p.Has(name) {
		return "", tools.Invalid("missing required parameter %q for operation %s", name, op)
	}
	id := p.String(name)
	if err := checkNodeID(id); err != nil {
		return "", prefixErr(fmt.Sprintf("parameter %q", name), err)
	}
	return id, nil
}

func checkNodeID(id string) error {
	if id == "" {
		return tools.Invalid("empty node id")
	}
	if len(id) > maxGraphIDLen {
		return tools.Errorf(tools.TypeTooLarge, "node id of %d bytes exceeds the %d-byte limit", len(id), maxGraphIDLen)
	}
	return nil
}

// prefixErr returns err with prefix added to its message, keeping its type.
func prefixErr(prefix string, err error) error {
	return &tools.Error{Type: tools.TypeOf(err), Err: fmt.Errorf("%s: %w", prefix, unwrapToolErr(err))}
}

func unwrapToolErr(err error) error {
	if e, ok := err.(*tools.Error); ok && e.Err != nil {
		return e.Err
	}
	return err
}

func (g *graph) addNode(id string, p tools.Params) error {
	if len(g.index) >= maxGraphNodes {
		return tools.Errorf(tools.TypeTooLarge, "graph already has the maximum of %d nodes", maxGraphNodes)
	}
	n := gNode{id: id}
	if p.Has("label") {
		n.label, n.hasLabel = p.String("label"), true
	}
	if v, ok := p.Get("data"); ok {
		n.data = v
	}
	g.index[id] = int32(len(g.nodes))
	g.nodes = append(g.nodes, n)
	return nil
}

// endpoints resolves the from and to parameters to node indices.
func (g *graph) endpoints(p tools.Params, op string) (int32, int32, error) {
	var idx [2]int32
	for k, name := range [2]string{"from", "to"} {
		id, err := requireNodeParam(p, name, op)
		if err != nil {
			return 0, 0, err
		}
		i, ok := g.index[id]
		if !ok {
			return 0, 0, tools.Invalid("parameter %q: node %q not found in the graph", name, id)
		}
		idx[k] = i
	}
	return idx[0], idx[1], nil
}

func (g *graph) addEdgeOp(p tools.Params) error {
	if p.Bool("auto_create") {
		for _, name := range [2]string{"from", "to"} {
			id, err := requireNodeParam(p, name, "add_edge")
			if err != nil {
				return err
			}
			if _, ok := g.index[id]; !ok {
				if len(g.index) >= maxGraphNodes {
					return tools.Errorf(tools.TypeTooLarge, "graph already has the maximum of %d nodes", maxGraphNodes)
				}
				g.index[id] = int32(len(g.nodes))
				g.nodes = append(g.nodes, gNode{id: id})
			}
		}
	}
	a, b, err := g.endpoints(p, "add_edge")
	if err != nil {
		return err
	}
	e := gEdge{from: a, to: b, weight: 1}
	if p.Has("weight") {
		e.weight = p.Float("weight")
		if math.IsInf(e.weight, 0) {
			return tools.Invalid("parameter %q: expected a finite number", "weight")
		}
	}
	if p.Has("label") {
		e.label, e.hasLabel = p.String("label"), true
	}
	if v, ok := p.Get("data"); ok {
		e.data = v
	}
	if len(g.edges) >= maxGraphEdges {
		return tools.Errorf(tools.TypeTooLarge, "graph already has the maximum of %d edges", maxGraphEdges)
	}
	k := g.edgeKey(a, b)
	if _, dup := g.edgeSet[k]; dup {
		return tools.Invalid("edge from %q to %q already exists", g.nodes[a].id, g.nodes[b].id)
	}
	g.edgeSet[k] = struct{}{}
	g.edges = append(g.edges, e)
	return nil
}

// asList accepts an array, or an empty object (an empty Lua table).
func asList(v any) ([]any, bool) {
	switch l := v.(type) {
	case nil:
		return nil, true
	case []any:
		return l, true
	case map[string]any:
		return nil, len(l) == 0
	}
	return nil, false
}

// firstUnknownKey returns the smallest key of m not in known.
func firstUnknownKey(m map[string]any, known ...string) string {
	bad := ""
	for k := range m {
		if !slices.Contains(known, k) && (bad == "" || k < bad) {
			bad = k
		}
	}
	return bad
}

func checkCtx(ctx context.Context, i int) error {
	if i&4095 == 4095 {
		return ctx.Err()
	}
	return nil
}

// parseGraph reads a graph object. param names the parameter in errors.
// When override is set, typ replaces the object's graph_type.
func parseGraph(ctx context.Context, m map[string]any, param, typ string, override bool) (*graph, error) {
	if k := firstUnknownKey(m, "graph_type", "nodes", "edges"); k != "" {
		return nil, tools.Invalid("parameter %q: unknown key %q; known: graph_type, nodes, edges", param, k)
	}
	g := &graph{directed: true}
	switch t := m["graph_type"].(type) {
	case nil:
	case string:
		if t != "directed" && t != "undirected" {
			return nil, tools.Invalid("parameter %q: graph_type: unknown value %q; allowed: directed, undirected", param, t)
		}
		g.directed = t == "directed"
	default:
		return nil, tools.Invalid("parameter %q: graph_type: expected string, got %s", param, tools.KindOf(t))
	}
	if override {
		g.directed = typ == "directed"
	}
	nodes, ok := asList(m["nodes"])
	if !ok {
		return nil, tools.Invalid("parameter %q: nodes: expected array, got %s", param, tools.KindOf(m["nodes"]))
	}
	edges, ok := asList(m["edges"])
	if !ok {
		return nil, tools.Invalid("parameter %q: edges: expected array, got %s", param, tools.KindOf(m["edges"]))
	}
	if len(nodes) > maxGraphNodes {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d nodes exceed the limit of %d", param, len(nodes), maxGraphNodes)
	}
	if len(edges) > maxGraphEdges {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d edges exceed the limit of %d", param, len(edges), maxGraphEdges)
	}

	g.nodes = make([]gNode, 0, len(nodes)+1)
	for i, v := range nodes {
		if err := checkCtx(ctx, i); err != nil {
			return nil, err
		}
		nm, ok := v.(map[string]any)
		if !ok {
			return nil, tools.Invalid("parameter %q: node %d: expected object, got %s", param, i+1, tools.KindOf(v))
		}
		if k := firstUnknownKey(nm, "id", "label", "data"); k != "" {
			return nil, tools.Invalid("parameter %q: node %d: unknown key %q; known: id, label, data", param, i+1, k)
		}
		id, ok := nm["id"].(string)
		if !ok {
			if nm["id"] == nil {
				return nil, tools.Invalid("parameter %q: node %d: missing id", param, i+1)
			}
			return nil, tools.Invalid("parameter %q: node %d: id: expected string, got %s", param, i+1, tools.KindOf(nm["id"]))
		}
		if err := checkNodeID(id); err != nil {
			return nil, prefixErr(fmt.Sprintf("parameter %q: node %d", param, i+1), err)
		}
		n := gNode{id: id, data: nm["data"]}
		if l, has := nm["label"]; has && l != nil {
			if n.label, ok = l.(string); !ok {
				return nil, tools.Invalid("parameter %q: node %q: label: expected string, got %s", param, id, tools.KindOf(l))
			}
			n.hasLabel = true
		}
		g.nodes = append(g.nodes, n)
	}
	slices.SortFunc(g.nodes, func(a, b gNode) int { return strings.Compare(a.id, b.id) })
	g.index = make(map[string]int32, len(g.nodes)+1)
	for i := range g.nodes {
		if i > 0 && g.nodes[i].id == g.nodes[i-1].id {
			return nil, tools.Invalid("parameter %q: duplicate node %q", param, g.nodes[i].id)
		}
		g.index[g.nodes[i].id] = int32(i)
	}

	g.edges = make([]gEdge, 0, len(edges)+1)
	g.edgeSet = make(map[uint64]struct{}, len(edges)+1)
	for i, v := range edges {
		if err := checkCtx(ctx, i); err != nil {
			return nil, err
		}
		em, ok := v.(map[string]any)
		if !ok {
			return nil, tools.Invalid("parameter %q: edge %d: expected object, got %s", param, i+1, tools.KindOf(v))
		}
		if k := firstUnknownKey(em, "from", "to", "weight", "label", "data"); k != "" {
			return nil, tools.Invalid("parameter %q: edge %d: unknown key %q; known: from, to, weight, label, data", param, i+1, k)
		}
		var ends [2]int32
		for j, key := range [2]string{"from", "to"} {
			id, ok := em[key].(string)
			if !ok {
				if em[key] == nil {
					return nil, tools.Invalid("parameter %q: edge %d: missing %s", param, i+1, key)
				}
				return nil, tools.Invalid("parameter %q: edge %d: %s: expected string, got %s", param, i+1, key, tools.KindOf(em[key]))
			}
			idx, found := g.index[id]
			if !found {
				return nil, tools.Invalid("parameter %q: edge %d: %s: node %q not found in the graph", param, i+1, key, id)
			}
			ends[j] = idx
		}
		e := gEdge{from: ends[0], to: ends[1], weight: 1, data: em["data"]}
		if w, has := em["weight"]; has && w != nil {
			f, ok := tools.ToFloat(w)
			if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, tools.Invalid("parameter %q: edge %d: weight: expected a finite number, got %v", param, i+1, w)
			}
			e.weight = f
		}
		if l, has := em["label"]; has && l != nil {
			if e.label, ok = l.(string); !ok {
				return nil, tools.Invalid("parameter %q: edge %d: label: expected string, got %s", param, i+1, tools.KindOf(l))
			}
			e.hasLabel = true
		}
		k := g.edgeKey(e.from, e.to)
		if _, dup := g.edgeSet[k]; dup {
			return nil, tools.Invalid("parameter %q: duplicate edge from %q to %q", param, g.nodes[e.from].id, g.nodes[e.to].id)
		}
		g.edgeSet[k] = struct{}{}
		g.edges = append(g.edges, e)
	}
	slices.SortFunc(g.edges, func(a, b gEdge) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) })
	return g, nil
}

func graphResult(g *graph) map[string]any {
	m := g.toMap()
	return map[string]any{"graph": m, "node_count": len(m["nodes"].([]any)), "edge_count": len(g.edges)}
}

// toMap renders g with nodes sorted by id and edges by from, then to.
func (g *graph) toMap() map[string]any {
	order := make([]int32, 0, len(g.nodes))
	sorted := true
	for i := range g.nodes {
		if g.nodes[i].removed {
			continue
		}
		if n := len(order); n > 0 && g.nodes[order[n-1]].id > g.nodes[i].id {
			sorted = false
		}
		order = append(order, int32(i))
	}
	if !sorted {
		slices.SortFunc(order, func(a, b int32) int { return strings.Compare(g.nodes[a].id, g.nodes[b].id) })
		slices.SortFunc(g.edges, func(a, b gEdge) int {
			return cmp.Or(strings.Compare(g.nodes[a.from].id, g.nodes[b.from].id), strings.Compare(g.nodes[a.to].id, g.nodes[b.to].id))
		})
	} else if !slices.IsSortedFunc(g.edges, func(a, b gEdge) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) }) {
		slices.SortFunc(g.edges, func(a, b gEdge) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) })
	}
	nodes := make([]any, len(order))
	for k, i := range order {
		n := &g.nodes[i]
		nm := make(map[string]any, 3)
		nm["id"] = n.id
		if n.hasLabel {
			nm["label"] = n.label
		}
		if n.data != nil {
			nm["data"] = n.data
		}
		nodes[k] = nm
	}
	edges := make([]any, len(g.edges))
	for k := range g.edges {
		e := &g.edges[k]
		em := make(map[string]any, 5)
		em["from"] = g.nodes[e.from].id
		em["to"] = g.nodes[e.to].id
		em["weight"] = e.weight
		if e.hasLabel {
			em["label"] = e.label
		}
		if e.data != nil {
			em["data"] = e.data
		}
		edges[k] = em
	}
	return map[string]any{"graph_type": g.typeName(), "nodes": nodes, "edges": edges}
}
