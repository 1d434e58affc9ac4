package data_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"spellhost/tools"
	"spellhost/tools/data"
)

// gr builds a graph object: nodes are ids, edges are "from>to" or
// "from>to:weight".
func gr(typ string, nodes []string, edges ...string) map[string]any {
	ns := make([]any, len(nodes))
	for i, id := range nodes {
		ns[i] = map[string]any{"id": id}
	}
	es := make([]any, len(edges))
	for i, e := range edges {
		from, rest, _ := strings.Cut(e, ">")
		to, w, hasW := strings.Cut(rest, ":")
		em := map[string]any{"from": from, "to": to}
		if hasW {
			var f float64
			fmt.Sscan(w, &f)
			em["weight"] = f
		}
		es[i] = em
	}
	return map[string]any{"graph_type": typ, "nodes": ns, "edges": es}
}

// out is a graph as the tool returns it (all weights present).
func out(typ string, nodes []any, edges ...[3]any) map[string]any {
	es := make([]any, len(edges))
	for i, e := range edges {
		es[i] = map[string]any{"from": e[0], "to": e[1], "weight": e[2]}
	}
	if nodes == nil {
		nodes = []any{}
	}
	return map[string]any{"graph_type": typ, "nodes": nodes, "edges": es}
}

func ids(list ...string) []any {
	ns := make([]any, len(list))
	for i, id := range list {
		ns[i] = map[string]any{"id": id}
	}
	return ns
}

func TestGraphBuilderSpec(t *testing.T) {
	tool := data.GraphBuilder()
	spec := tool.Spec()
	if err := spec.Check(); err != nil {
		t.Fatal(err)
	}
	if spec.Name != "graph-builder" || spec.Returns == "" || spec.Example == nil {
		t.Fatalf("incomplete spec %+v", spec)
	}
	for _, p := range spec.Params {
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
	res := call(t, tool, spec.Example)
	if res["is_dag"] != true || res["edge_count"] != 2 {
		t.Errorf("example result %v", res)
	}
}

func TestGraphBuilderMutations(t *testing.T) {
	tool := data.GraphBuilder()
	abc := gr("directed", []string{"c", "a", "b"}, "b>c", "a>b:2.5")
	tests := []struct {
		name   string
		params map[string]any
		want   map[string]any
	}{
		{"create default", map[string]any{}, out("directed", nil)},
		{"create undirected", map[string]any{"operation": "create_graph", "graph_type": "undirected"}, out("undirected", nil)},
		{"create seeded sorts", map[string]any{"graph": abc},
			out("directed", ids("a", "b", "c"), [3]any{"a", "b", 2.5}, [3]any{"b", "c", 1.0})},
		{"create converts type", map[string]any{"graph": abc, "graph_type": "undirected"},
			out("undirected", ids("a", "b", "c"), [3]any{"a", "b", 2.5}, [3]any{"b", "c", 1.0})},
		{"create from empty lua tables", map[string]any{"graph": []any{}}, out("directed", nil)},
		{"add node", map[string]any{"operation": "add_node", "graph": abc, "node_id": "aa", "label": "A A", "data": map[string]any{"x": 1}},
			out("directed", []any{map[string]any{"id": "a"}, map[string]any{"id": "aa", "label": "A A", "data": map[string]any{"x": 1}},
				map[string]any{"id": "b"}, map[string]any{"id": "c"}}, [3]any{"a", "b", 2.5}, [3]any{"b", "c", 1.0})},
		{"add node to empty lua graph", map[string]any{"operation": "add_node", "graph": map[string]any{"nodes": map[string]any{}}, "node_id": "x"},
			out("directed", ids("x"))},
		{"add edge", map[string]any{"operation": "add_edge", "graph": abc, "from": "a", "to": "c", "weight": 4, "label": "ac"},
			map[string]any{"graph_type": "directed", "nodes": ids("a", "b", "c"), "edges": []any{
				map[string]any{"from": "a", "to": "b", "weight": 2.5},
				map[string]any{"from": "a", "to": "c", "weight": 4.0, "label": "ac"},
				map[string]any{"from": "b", "to": "c", "weight": 1.0}}}},
		{"add reverse edge directed", map[string]any{"operation": "add_edge", "graph": abc, "from": "c", "to": "b"},
			out("directed", ids("a", "b", "c"), [3]any{"a", "b", 2.5}, [3]any{"b", "c", 1.0}, [3]any{"c", "b", 1.0})},
		{"add self loop", map[string]any{"operation": "add_edge", "graph": abc, "from": "a", "to": "a"},
			out("directed", ids("a", "b", "c"), [3]any{"a", "a", 1.0}, [3]any{"a", "b", 2.5}, [3]any{"b", "c", 1.0})},
		{"add edge auto create", map[string]any{"operation": "add_edge", "graph": abc, "from": "0", "to": "z", "auto_create": true},
			out("directed", ids("0", "a", "b", "c", "z"), [3]any{"0", "z", 1.0}, [3]any{"a", "b", 2.5}, [3]any{"b", "c", 1.0})},
		{"remove node", map[string]any{"operation": "remove_node", "graph": abc, "node_id": "b"}, out("directed", ids("a", "c"))},
		{"remove edge", map[string]any{"operation": "remove_edge", "graph": abc, "from": "b", "to": "c"},
			out("directed", ids("a", "b", "c"), [3]any{"a", "b", 2.5})},
		{"remove undirected edge reversed", map[string]any{"operation": "remove_edge", "graph": gr("undirected", []string{"a", "b"}, "a>b"), "from": "b", "to": "a"},
			out("undirected", ids("a", "b"))},
		{"import", map[string]any{"operation": "import_json", "input": `{"nodes":[{"id":"y","label":"Y"},{"id":"x"}],"edges":[{"from":"x","to":"y","weight":3,"data":[1,"two"]}]}`},
			map[string]any{"graph_type": "directed", "nodes": []any{map[string]any{"id": "x"}, map[string]any{"id": "y", "label": "Y"}},
				"edges": []any{map[string]any{"from": "x", "to": "y", "weight": 3.0, "data": []any{1.0, "two"}}}}},
		{"import type from param", map[string]any{"operation": "import_json", "input": `{"nodes":[{"id":"x"}]}`, "graph_type": "undirected"},
			out("undirected", ids("x"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, tool, tc.params)
			if !reflect.DeepEqual(res["graph"], tc.want) {
				t.Errorf("graph\n got  %v\n want %v", res["graph"], tc.want)
			}
			nodes := tc.want["nodes"].([]any)
			edges := tc.want["edges"].([]any)
			if res["node_count"] != len(nodes) || res["edge_count"] != len(edges) {
				t.Errorf("counts %v/%v, want %d/%d", res["node_count"], res["edge_count"], len(nodes), len(edges))
			}
		})
	}
}

func TestGraphBuilderChain(t *testing.T) {
	// Stateless round trip: each call feeds the next, then export and import.
	tool := data.GraphBuilder()
	g := call(t, tool, map[string]any{"graph_type": "undirected"})["graph"]
	for _, id := range []string{"b", "a", "c"} {
		g = call(t, tool, map[string]any{"operation": "add_node", "graph": g, "node_id": id})["graph"]
	}
	g = call(t, tool, map[string]any{"operation": "add_edge", "graph": g, "from": "c", "to": "a", "weight": 2})["graph"]
	exp := call(t, tool, map[string]any{"operation": "export_json", "graph": g})
	want := `{"edges":[{"from":"c","to":"a","weight":2}],"graph_type":"undirected","nodes":[{"id":"a"},{"id":"b"},{"id":"c"}]}`
	if exp["json"] != want || exp["node_count"] != 3 || exp["edge_count"] != 1 {
		t.Fatalf("export = %v\nwant json %s", exp, want)
	}
	back := call(t, tool, map[string]any{"operation": "import_json", "input": exp["json"]})["graph"]
	if !reflect.DeepEqual(back, g) {
		t.Errorf("import(export(g))\n got  %v\n want %v", back, g)
	}
}

func TestGraphBuilderAnalyze(t *testing.T) {
	tool := data.GraphBuilder()
	dir := func(in, out int) map[string]any { return map[string]any{"in": in, "out": out} }
	deg := func(d int) map[string]any { return map[string]any{"degree": d} }
	tests := []struct {
		name  string
		graph map[string]any
		want  map[string]any
	}{
		{"directed with cycle", gr("directed", []string{"e", "d", "c", "b", "a"}, "c>a", "a>b", "b>c", "c>d"), map[string]any{
			"graph_type": "directed", "node_count": 5, "edge_count": 4, "density": 0.2,
			"degrees":    map[string]any{"a": dir(1, 1), "b": dir(1, 1), "c": dir(1, 2), "d": dir(1, 0), "e": dir(0, 0)},
			"components": []any{[]any{"a", "b", "c", "d"}, []any{"e"}}, "component_count": 2,
			"has_cycle": true, "cycle": []any{"a", "b", "c", "a"}, "is_dag": false, "isolated_nodes": []any{"e"},
		}},
		{"dag", gr("directed", []string{"a", "b", "c", "d"}, "a>b", "a>c", "b>d", "c>d"), map[string]any{
			"graph_type": "directed", "node_count": 4, "edge_count": 4, "density": 4.0 / 12,
			"degrees":    map[string]any{"a": dir(0, 2), "b": dir(1, 1), "c": dir(1, 1), "d": dir(2, 0)},
			"components": []any{[]any{"a", "b", "c", "d"}}, "component_count": 1,
			"has_cycle": false, "cycle": nil, "is_dag": true, "isolated_nodes": []any{},
		}},
		{"directed self loop", gr("directed", []string{"a", "b"}, "b>b"), map[string]any{
			"graph_type": "directed", "node_count": 2, "edge_count": 1, "density": 0.5,
			"degrees":    map[string]any{"a": dir(0, 0), "b": dir(1, 1)},
			"components": []any{[]any{"a"}, []any{"b"}}, "component_count": 2,
			"has_cycle": true, "cycle": []any{"b", "b"}, "is_dag": false, "isolated_nodes": []any{"a"},
		}},
		{"undirected triangle", gr("undirected", []string{"a", "b", "c", "d"}, "c>a", "a>b", "b>c"), map[string]any{
			"graph_type": "undirected", "node_count": 4, "edge_count": 3, "density": 0.5,
			"degrees":    map[string]any{"a": deg(2), "b": deg(2), "c": deg(2), "d": deg(0)},
			"components": []any{[]any{"a", "b", "c"}, []any{"d"}}, "component_count": 2,
			"has_cycle": true, "cycle": []any{"a", "b", "c", "a"}, "is_dag": false, "isolated_nodes": []any{"d"},
		}},
		{"undirected tree", gr("undirected", []string{"a", "b", "c"}, "b>a", "c>b"), map[string]any{
			"graph_type": "undirected", "node_count": 3, "edge_count": 2, "density": 2.0 / 3,
			"degrees":    map[string]any{"a": deg(1), "b": deg(2), "c": deg(1)},
			"components": []any{[]any{"a", "b", "c"}}, "component_count": 1,
			"has_cycle": false, "cycle": nil, "is_dag": false, "isolated_nodes": []any{},
		}},
		{"undirected self loop", gr("undirected", []string{"a"}, "a>a"), map[string]any{
			"graph_type": "undirected", "node_count": 1, "edge_count": 1, "density": 0.0,
			"degrees":    map[string]any{"a": deg(2)},
			"components": []any{[]any{"a"}}, "component_count": 1,
			"has_cycle": true, "cycle": []any{"a", "a"}, "is_dag": false, "isolated_nodes": []any{},
		}},
		{"empty", gr("directed", nil), map[string]any{
			"graph_type": "directed", "node_count": 0, "edge_count": 0, "density": 0.0,
			"degrees": map[string]any{}, "components": []any{}, "component_count": 0,
			"has_cycle": false, "cycle": nil, "is_dag": true, "isolated_nodes": []any{},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, tool, map[string]any{"operation": "analyze", "graph": tc.graph})
			if !reflect.DeepEqual(res, tc.want) {
				t.Errorf("got  %v\nwant %v", res, tc.want)
			}
		})
	}
}

func TestGraphBuilderPaths(t *testing.T) {
	tool := data.GraphBuilder()
	weighted := gr("directed", []string{"a", "b", "c", "d", "e"}, "a>b:1", "b>c:1.5", "a>c:5", "c>d:0", "e>a")
	tests := []struct {
		name   string
		params map[string]any
		want   map[string]any
	}{
		{"weighted", map[string]any{"graph": weighted, "from": "a", "to": "d"},
			map[string]any{"from": "a", "to": "d", "path": []any{"a", "b", "c", "d"}, "distance": 2.5, "reachable": true}},
		{"unreachable against direction", map[string]any{"graph": weighted, "from": "d", "to": "a"},
			map[string]any{"from": "d", "to": "a", "path": []any{}, "distance": nil, "reachable": false}},
		{"same node", map[string]any{"graph": weighted, "from": "c", "to": "c"},
			map[string]any{"from": "c", "to": "c", "path": []any{"c"}, "distance": 0.0, "reachable": true}},
		{"undirected goes both ways", map[string]any{"graph": gr("undirected", []string{"a", "b", "c"}, "b>a:2", "c>b:3"), "from": "a", "to": "c"},
			map[string]any{"from": "a", "to": "c", "path": []any{"a", "b", "c"}, "distance": 5.0, "reachable": true}},
		{"tie picks smaller ids", map[string]any{"graph": gr("directed", []string{"s", "x", "y", "t"}, "s>y", "s>x", "x>t", "y>t"), "from": "s", "to": "t"},
			map[string]any{"from": "s", "to": "t", "path": []any{"s", "x", "t"}, "distance": 2.0, "reachable": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.params["operation"] = "shortest_path"
			res := call(t, tool, tc.params)
			if !reflect.DeepEqual(res, tc.want) {
				t.Errorf("got  %v\nwant %v", res, tc.want)
			}
		})
	}

	topo := []struct {
		name  string
		graph map[string]any
		want  []any
	}{
		{"smallest ready first", gr("directed", []string{"d", "c", "b", "a"}, "b>a", "c>a"), []any{"b", "c", "a", "d"}},
		{"chain", gr("directed", []string{"a", "b", "c"}, "c>b", "b>a"), []any{"c", "b", "a"}},
		{"empty", gr("directed", nil), []any{}},
	}
	for _, tc := range topo {
		t.Run("topological_sort "+tc.name, func(t *testing.T) {
			res := call(t, tool, map[string]any{"operation": "topological_sort", "graph": tc.graph})
			if !reflect.DeepEqual(res["order"], tc.want) || res["count"] != len(tc.want) {
				t.Errorf("got %v, want order %v", res, tc.want)
			}
		})
	}
}

func TestGraphBuilderErrors(t *testing.T) {
	tool := data.GraphBuilder()
	ab := gr("directed", []string{"a", "b"}, "a>b")
	node := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	withNodes := func(ns ...any) map[string]any { return map[string]any{"nodes": ns} }
	manyNodes := make([]any, 10_001)
	for i := range manyNodes {
		manyNodes[i] = map[string]any{"id": fmt.Sprintf("n%05d", i)}
	}
	fullNodes := manyNodes[:10_000]
	manyEdges := make([]any, 100_001)
	for i := range manyEdges {
		manyEdges[i] = map[string]any{"from": "a", "to": "b"}
	}
	tests := []struct {
		name   string
		params map[string]any
		typ    tools.ErrorType
		msg    string
	}{
		{"unknown operation", map[string]any{"operation": "merge"}, tools.TypeValidation, `"operation": unknown value "merge"`},
		{"unknown graph_type", map[string]any{"graph_type": "mixed"}, tools.TypeValidation, `"graph_type": unknown value "mixed"`},
		{"unknown parameter", map[string]any{"nodes": []any{}}, tools.TypeValidation, `unknown parameter "nodes"`},
		{"graph wrong type", map[string]any{"operation": "analyze", "graph": "a-b"}, tools.TypeValidation, `"graph": expected object, got string`},
		{"weight wrong type", map[string]any{"operation": "add_edge", "graph": ab, "from": "b", "to": "a", "weight": "2"}, tools.TypeValidation, `"weight": expected number`},
		{"missing graph", map[string]any{"operation": "add_node", "node_id": "a"}, tools.TypeValidation, `missing required parameter "graph" for operation add_node`},
		{"missing node_id", map[string]any{"operation": "add_node", "graph": ab}, tools.TypeValidation, `missing required parameter "node_id" for operation add_node`},
		{"empty node_id", map[string]any{"operation": "add_node", "graph": ab, "node_id": ""}, tools.TypeValidation, `parameter "node_id": empty node id`},
		{"long node_id", map[string]any{"operation": "add_node", "graph": ab, "node_id": strings.Repeat("x", 1025)}, tools.TypeTooLarge, `parameter "node_id": node id of 1025 bytes`},
		{"duplicate node", map[string]any{"operation": "add_node", "graph": ab, "node_id": "a"}, tools.TypeValidation, `node "a" already exists`},
		{"missing from", map[string]any{"operation": "add_edge", "graph": ab, "to": "a"}, tools.TypeValidation, `missing required parameter "from" for operation add_edge`},
		{"missing to", map[string]any{"operation": "remove_edge", "graph": ab, "from": "a"}, tools.TypeValidation, `missing required parameter "to" for operation remove_edge`},
		{"edge to missing node", map[string]any{"operation": "add_edge", "graph": ab, "from": "a", "to": "zz"}, tools.TypeValidation, `parameter "to": node "zz" not found`},
		{"duplicate edge", map[string]any{"operation": "add_edge", "graph": ab, "from": "a", "to": "b"}, tools.TypeValidation, `edge from "a" to "b" already exists`},
		{"duplicate undirected edge", map[string]any{"operation": "add_edge", "graph": gr("undirected", []string{"a", "b"}, "a>b"), "from": "b", "to": "a"}, tools.TypeValidation, `edge from "b" to "a" already exists`},
		{"remove missing node", map[string]any{"operation": "remove_node", "graph": ab, "node_id": "q"}, tools.TypeValidation, `parameter "node_id": node "q" not found`},
		{"remove missing edge", map[string]any{"operation": "remove_edge", "graph": ab, "from": "b", "to": "a"}, tools.TypeValidation, `no edge from "b" to "a"`},
		{"graph_type mismatch", map[string]any{"operation": "analyze", "graph": ab, "graph_type": "undirected"}, tools.TypeValidation, `"graph_type": undirected does not match the directed graph`},
		{"graph unknown key", map[string]any{"operation": "analyze", "graph": map[string]any{"graph": ab}}, tools.TypeValidation, `unknown key "graph"`},
		{"graph bad type value", map[string]any{"operation": "analyze", "graph": map[string]any{"graph_type": "both"}}, tools.TypeValidation, `graph_type: unknown value "both"`},
		{"nodes not array", map[string]any{"operation": "analyze", "graph": map[string]any{"nodes": "a"}}, tools.TypeValidation, `nodes: expected array, got string`},
		{"node not object", map[string]any{"operation": "analyze", "graph": withNodes("a")}, tools.TypeValidation, `node 1: expected object, got string`},
		{"node missing id", map[string]any{"operation": "analyze", "graph": withNodes(node("label", "x"))}, tools.TypeValidation, `node 1: missing id`},
		{"node id number", map[string]any{"operation": "analyze", "graph": withNodes(node("id", 1))}, tools.TypeValidation, `node 1: id: expected string, got number`},
		{"node unknown key", map[string]any{"operation": "analyze", "graph": withNodes(node("id", "a", "weight", 1))}, tools.TypeValidation, `node 1: unknown key "weight"`},
		{"node bad label", map[string]any{"operation": "analyze", "graph": withNodes(node("id", "a", "label", true))}, tools.TypeValidation, `node "a": label: expected string`},
		{"graph duplicate node", map[string]any{"operation": "analyze", "graph": gr("directed", []string{"a", "b", "a"})}, tools.TypeValidation, `duplicate node "a"`},
		{"graph edge missing node", map[string]any{"operation": "analyze", "graph": gr("directed", []string{"a"}, "a>ghost")}, tools.TypeValidation, `edge 1: to: node "ghost" not found`},
		{"graph duplicate edge", map[string]any{"operation": "analyze", "graph": gr("undirected", []string{"a", "b"}, "a>b", "b>a")}, tools.TypeValidation, `duplicate edge from "b" to "a"`},
		{"graph edge bad weight", map[string]any{"operation": "analyze", "graph": map[string]any{"nodes": ids("a"), "edges": []any{node("from", "a", "to", "a", "weight", "x")}}}, tools.TypeValidation, `edge 1: weight: expected a finite number`},
		{"graph edge missing from", map[string]any{"operation": "analyze", "graph": map[string]any{"nodes": ids("a"), "edges": []any{node("to", "a")}}}, tools.TypeValidation, `edge 1: missing from`},
		{"create converts into duplicate", map[string]any{"graph": gr("directed", []string{"a", "b"}, "a>b", "b>a"), "graph_type": "undirected"}, tools.TypeValidation, `duplicate edge`},
		{"shortest missing to", map[string]any{"operation": "shortest_path", "graph": ab, "from": "a"}, tools.TypeValidation, `missing required parameter "to" for operation shortest_path`},
		{"shortest unknown node", map[string]any{"operation": "shortest_path", "graph": ab, "from": "x", "to": "a"}, tools.TypeValidation, `parameter "from": node "x" not found`},
		{"shortest negative weight", map[string]any{"operation": "shortest_path", "graph": gr("directed", []string{"a", "b"}, "a>b:-1"), "from": "a", "to": "b"}, tools.TypeValidation, `negative weight -1`},
		{"topological cycle", map[string]any{"operation": "topological_sort", "graph": gr("directed", []string{"a", "b", "c", "d"}, "a>b", "b>c", "c>b", "c>d")}, tools.TypeExecution, `cycle ("b" -> "c" -> "b")`},
		{"topological undirected", map[string]any{"operation": "topological_sort", "graph": gr("undirected", []string{"a"})}, tools.TypeValidation, `needs a directed graph`},
		{"import missing input", map[string]any{"operation": "import_json"}, tools.TypeValidation, `missing required parameter "input" for operation import_json`},
		{"import malformed", map[string]any{"operation": "import_json", "input": `{"nodes": [`}, tools.TypeValidation, `parameter "input": invalid JSON`},
		{"import not object", map[string]any{"operation": "import_json", "input": `[1,2]`}, tools.TypeValidation, `expected a JSON object, got array`},
		{"import bad structure", map[string]any{"operation": "import_json", "input": `{"nodes":[{"id":"a"}],"edges":[{"from":"a","to":"b"}]}`}, tools.TypeValidation, `parameter "input": edge 1: to: node "b" not found`},
		{"import type mismatch", map[string]any{"operation": "import_json", "input": `{"graph_type":"directed"}`, "graph_type": "undirected"}, tools.TypeValidation, `does not match the directed graph in parameter "input"`},
		{"import too large", map[string]any{"operation": "import_json", "input": strings.Repeat(" ", 16<<20+1)}, tools.TypeTooLarge, `exceeds the 16777216-byte limit`},
		{"export unencodable", map[string]any{"operation": "export_json", "graph": withNodes(node("id", "a", "data", map[string]any{"f": func() {}}))}, tools.TypeValidation, `cannot encode as JSON`},
		{"too many nodes", map[string]any{"operation": "analyze", "graph": map[string]any{"nodes": manyNodes}}, tools.TypeTooLarge, `10001 nodes exceed the limit of 10000`},
		{"too many edges", map[string]any{"operation": "analyze", "graph": map[string]any{"nodes": ids("a", "b"), "edges": manyEdges}}, tools.TypeTooLarge, `100001 edges exceed the limit of 100000`},
		{"add node over limit", map[string]any{"operation": "add_node", "graph": map[string]any{"nodes": fullNodes}, "node_id": "new"}, tools.TypeTooLarge, `maximum of 10000 nodes`},
		{"auto create over limit", map[string]any{"operation": "add_edge", "graph": map[string]any{"nodes": fullNodes}, "from": "n00000", "to": "new", "auto_create": true}, tools.TypeTooLarge, `maximum of 10000 nodes`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := callErr(t, tool, tc.params, tc.typ)
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q does not contain %q", msg, tc.msg)
			}
		})
	}
}

func TestGraphBuilderLarge(t *testing.T) {
	// A chain at the node limit: analysis and paths stay iterative.
	tool := data.GraphBuilder()
	const n = 10_000
	nodes := make([]any, n)
	edges := make([]any, n-1)
	for i := range nodes {
		nodes[i] = map[string]any{"id": fmt.Sprintf("n%05d", i)}
		if i > 0 {
			edges[i-1] = map[string]any{"from": fmt.Sprintf("n%05d", i-1), "to": fmt.Sprintf("n%05d", i)}
		}
	}
	g := map[string]any{"nodes": nodes, "edges": edges}
	res := call(t, tool, map[string]any{"operation": "analyze", "graph": g})
	if res["is_dag"] != true || res["component_count"] != 1 {
		t.Errorf("chain: is_dag %v, components %v", res["is_dag"], res["component_count"])
	}
	sp := call(t, tool, map[string]any{"operation": "shortest_path", "graph": g, "from": "n00000", "to": "n09999"})
	if sp["distance"] != float64(n-1) {
		t.Errorf("distance %v", sp["distance"])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tools.Call(ctx, tool, map[string]any{"operation": "analyze", "graph": g})
	if got := tools.TypeOf(err); got != tools.TypeCancelled {
		t.Errorf("cancelled analyze: error type %s (%v)", got, err)
	}
}

func BenchmarkGraphBuilder(b *testing.B) {
	tool := data.GraphBuilder()
	params := map[string]any{"operation": "analyze", "graph": gr("directed",
		[]string{"a", "b", "c", "d", "e", "f"}, "a>b", "b>c", "c>a", "c>d", "d>e")}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzGraphBuilder imports arbitrary JSON and, when it is a valid graph,
// runs every read-only operation on it: none may panic, and export then
// import gives the same graph back.
func FuzzGraphBuilder(f *testing.F) {
	for _, s := range []string{
		`{"nodes":[{"id":"a"},{"id":"b"}],"edges":[{"from":"a","to":"b","weight":2}]}`,
		`{"graph_type":"undirected","nodes":[{"id":"a"},{"id":"b"},{"id":"c"}],"edges":[{"from":"a","to":"b"},{"from":"c","to":"b"},{"from":"a","to":"c"}]}`,
		`{"nodes":[{"id":"x","data":{"k":[1,null]}}],"edges":[{"from":"x","to":"x","label":"self"}]}`,
		`{"nodes":[{"id":"a"},{"id":"b"}],"edges":[{"from":"a","to":"b","weight":-1},{"from":"b","to":"a"}]}`,
	} {
		f.Add(s)
	}
	tool := data.GraphBuilder()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, s string) {
		res, err := tools.Call(ctx, tool, map[string]any{"operation": "import_json", "input": s})
		if err != nil {
			if typ := tools.TypeOf(err); typ != tools.TypeValidation && typ != tools.TypeTooLarge {
				t.Fatalf("import %q: error type %s: %v", s, typ, err)
			}
			return
		}
		g := res.(map[string]any)["graph"].(map[string]any)
		for _, op := range []string{"analyze", "topological_sort"} {
			if _, err := tools.Call(ctx, tool, map[string]any{"operation": op, "graph": g}); err != nil {
				if typ := tools.TypeOf(err); typ != tools.TypeValidation && typ != tools.TypeExecution {
					t.Fatalf("%s: error type %s: %v", op, typ, err)
				}
			}
		}
		if nodes := g["nodes"].([]any); len(nodes) > 0 {
			from := nodes[0].(map[string]any)["id"]
			to := nodes[len(nodes)-1].(map[string]any)["id"]
			_, err := tools.Call(ctx, tool, map[string]any{"operation": "shortest_path", "graph": g, "from": from, "to": to})
			if err != nil && tools.TypeOf(err) != tools.TypeValidation {
				t.Fatalf("shortest_path: %v", err)
			}
		}
		exp, err := tools.Call(ctx, tool, map[string]any{"operation": "export_json", "graph": g})
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		back, err := tools.Call(ctx, tool, map[string]any{"operation": "import_json", "input": exp.(map[string]any)["json"]})
		if err != nil {
			t.Fatalf("import of export: %v", err)
		}
		if !reflect.DeepEqual(back.(map[string]any)["graph"], g) {
			t.Fatalf("round trip changed the graph:\n%v\n%v", g, back.(map[string]any)["graph"])
		}
	})
}
