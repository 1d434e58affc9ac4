package web_test

import (
	"context"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"

	json "github.com/go-json-experiment/json"

	"spellhost/tools"
	"spellhost/tools/perm"
	"spellhost/tools/web"
)

// gqlReply answers with a fixed status and body.
func gqlReply(status int, body string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

func TestGraphQLQuerySuccess(t *testing.T) {
	tool := web.GraphQLQuery(hxtConfig(t))
	tests := []struct {
		name    string
		reply   string
		params  map[string]any
		sent    map[string]any // the JSON body the server must receive
		want    map[string]any
		checkFn func(t *testing.T, got hxtSeen)
	}{
		{
			name:   "query with variables",
			reply:  `{"data":{"user":{"id":"1","name":"Ann"}}}`,
			params: map[string]any{"input": "query User($id: ID!) { user(id: $id) { id name } }", "variables": map[string]any{"id": "1"}, "operation_name": "User"},
			sent:   map[string]any{"query": "query User($id: ID!) { user(id: $id) { id name } }", "variables": map[string]any{"id": "1"}, "operationName": "User"},
			want:   map[string]any{"data": map[string]any{"user": map[string]any{"id": "1", "name": "Ann"}}, "errors": []any{}, "status_code": 200},
		},
		{
			name:   "shorthand query, headers and auth",
			reply:  `{"data":{"a":1},"extensions":{"cost":3}}`,
			params: map[string]any{"input": "{ a }", "headers": map[string]any{"X-Trace": "t1"}, "auth": map[string]any{"type": "bearer", "token": "tok"}},
			sent:   map[string]any{"query": "{ a }"},
			want:   map[string]any{"data": map[string]any{"a": 1.0}, "errors": []any{}, "status_code": 200, "extensions": map[string]any{"cost": 3.0}},
			checkFn: func(t *testing.T, got hxtSeen) {
				if got.Header.Get("X-Trace") != "t1" || got.Header.Get("Authorization") != "Bearer tok" {
					t.Errorf("headers %v", got.Header)
				}
			},
		},
		{
			name:   "mutation",
			reply:  `{"data":{"add":{"ok":true}}}`,
			params: map[string]any{"operation": "mutation", "input": "mutation Add { add(x: 1) { ok } }"},
			sent:   map[string]any{"query": "mutation Add { add(x: 1) { ok } }"},
			want:   map[string]any{"data": map[string]any{"add": map[string]any{"ok": true}}, "errors": []any{}, "status_code": 200},
		},
		{
			name:  "keywords in comments and strings are ignored",
			reply: `{"data":{"a":"x"}}`,
			params: map[string]any{"input": "# mutation M { x }\nquery Q { a(s: \"mutation {\", t: \"\"\"\nmutation { y }\"\"\") }\n" +
				"fragment F on T { b }"},
			sent: map[string]any{"query": "# mutation M { x }\nquery Q { a(s: \"mutation {\", t: \"\"\"\nmutation { y }\"\"\") }\nfragment F on T { b }"},
			want: map[string]any{"data": map[string]any{"a": "x"}, "errors": []any{}, "status_code": 200},
		},
		{
			name:   "operation_name picks the mutation",
			reply:  `{"data":{"b":2}}`,
			params: map[string]any{"operation": "mutation", "input": "query A { a } mutation B { b }", "operation_name": "B"},
			sent:   map[string]any{"query": "query A { a } mutation B { b }", "operationName": "B"},
			want:   map[string]any{"data": map[string]any{"b": 2.0}, "errors": []any{}, "status_code": 200},
		},
		{
			name:   "partial data with errors is a result",
			reply:  `{"data":{"a":1,"b":null},"errors":[{"message":"b failed","path":["b"]}]}`,
			params: map[string]any{"input": "{ a b }"},
			sent:   map[string]any{"query": "{ a b }"},
			want: map[string]any{"data": map[string]any{"a": 1.0, "b": nil}, "status_code": 200,
				"errors": []any{map[string]any{"message": "b failed", "path": []any{"b"}}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := hxtServe(t, gqlReply(200, tc.reply))
			tc.params["endpoint"] = srv.URL + "/graphql"
			res := call(t, tool, tc.params)
			if !reflect.DeepEqual(res, tc.want) {
				t.Errorf("result\n got %#v\nwant %#v", res, tc.want)
			}
			got := srv.last(t)
			if got.Method != "POST" || got.Path != "/graphql" || got.Header.Get("Content-Type") != "application/json" ||
				!strings.Contains(got.Header.Get("Accept"), "application/json") {
				t.Errorf("server got %s %s %v", got.Method, got.Path, got.Header)
			}
			var sent map[string]any
			if err := json.Unmarshal([]byte(got.Body), &sent); err != nil || !reflect.DeepEqual(sent, tc.sent) {
				t.Errorf("sent %s (%v), want %v", got.Body, err, tc.sent)
			}
			if tc.checkFn != nil {
				tc.checkFn(t, got)
			}
		})
	}
}

func TestGraphQLQueryIntrospection(t *testing.T) {
	srv := hxtServe(t, gqlReply(200, `{"data":{"__schema":{"queryType":{"name":"Query"}}}}`))
	res := call(t, web.GraphQLQuery(hxtConfig(t)), map[string]any{"operation": "introspection", "endpoint": srv.URL})
	want := map[string]any{"__schema": map[string]any{"queryType": map[string]any{"name": "Query"}}}
	if !reflect.DeepEqual(res["data"], want) {
		t.Errorf("data %v", res["data"])
	}
	var sent map[string]any
	json.Unmarshal([]byte(srv.last(t).Body), &sent)
	if q, _ := sent["query"].(string); !strings.HasPrefix(q, "query IntrospectionQuery {") || !strings.Contains(q, "__schema") ||
		sent["operationName"] != "IntrospectionQuery" {
		t.Errorf("sent %v", sent)
	}
}

func TestGraphQLQueryErrors(t *testing.T) {
	tool := web.GraphQLQuery(hxtConfig(t))
	tests := []struct {
		name   string
		status int
		reply  string
		typ    tools.ErrorType
		want   string
	}{
		{"errors and null data", 200, `{"data":null,"errors":[{"message":"not authorised"},{"message":"second"}]}`, tools.TypeExecution, "GraphQL error: not authorised (and 1 more)"},
		{"errors without data", 200, `{"errors":[{"message":"syntax error at 1:3"}]}`, tools.TypeExecution, "GraphQL error: syntax error at 1:3"},
		{"error without message", 200, `{"errors":[{}]}`, tools.TypeExecution, "error without a message"},
		{"400 with GraphQL errors", 400, `{"errors":[{"message":"bad variable"}]}`, tools.TypeExecution, "status 400: GraphQL error: bad variable"},
		{"500 text", 500, "internal   failure\n", tools.TypeExecution, "status 500: internal failure"},
		{"200 not json", 200, "<html>hi</html>", tools.TypeExecution, "reply is not a GraphQL JSON object: <html>hi</html>"},
		{"200 json array", 200, `[1]`, tools.TypeExecution, "not a GraphQL JSON object"},
		{"neither data nor errors", 200, `{"result":1}`, tools.TypeExecution, "neither data nor errors"},
		{"errors not a list", 200, `{"data":{"a":1},"errors":"oops"}`, tools.TypeExecution, "errors is not a list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := hxtServe(t, gqlReply(tc.status, tc.reply))
			msg := callErr(t, tool, map[string]any{"endpoint": srv.URL, "input": "{ a }"}, tc.typ)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
		})
	}
}

func TestGraphQLQueryBadInput(t *testing.T) {
	srv := hxtServe(t, gqlReply(200, `{"data":{}}`))
	tool := web.GraphQLQuery(hxtConfig(t))
	u := srv.URL
	hxtRunBad(t, tool, []hxtBadCase{
		{"missing endpoint", map[string]any{"input": "{ a }"}, tools.TypeValidation, `missing required parameter "endpoint"`},
		{"missing input", map[string]any{"endpoint": u}, tools.TypeValidation, `missing required parameter "input" for operation query`},
		{"blank input", map[string]any{"endpoint": u, "operation": "mutation", "input": "  "}, tools.TypeValidation, `"input" for operation mutation`},
		{"input with introspection", map[string]any{"endpoint": u, "operation": "introspection", "input": "{ a }"}, tools.TypeValidation, "not used with operation introspection"},
		{"unknown operation", map[string]any{"endpoint": u, "operation": "subscribe", "input": "{ a }"}, tools.TypeValidation, `unknown value "subscribe"`},
		{"unknown parameter", map[string]any{"endpoint": u, "input": "{ a }", "query": "x"}, tools.TypeValidation, `unknown parameter "query"`},
		{"variables wrong type", map[string]any{"endpoint": u, "input": "{ a }", "variables": "x"}, tools.TypeValidation, `"variables": expected object`},
		{"variables NaN", map[string]any{"endpoint": u, "input": "{ a }", "variables": map[string]any{"x": math.Inf(1)}}, tools.TypeValidation, `"variables": cannot encode`},
		{"mutation sent as query", map[string]any{"endpoint": u, "input": "mutation { del }"}, tools.TypeValidation, `is a mutation; set operation to "mutation"`},
		{"query sent as mutation", map[string]any{"endpoint": u, "operation": "mutation", "input": "{ a }"}, tools.TypeValidation, `is a query; set operation to "query"`},
		{"named op is a mutation", map[string]any{"endpoint": u, "input": "query A { a } mutation B { b }", "operation_name": "B"}, tools.TypeValidation, "is a mutation"},
		{"no mutation among several", map[string]any{"endpoint": u, "operation": "mutation", "input": "query A { a } query B { b }"}, tools.TypeValidation, "defines no mutation"},
		{"subscription", map[string]any{"endpoint": u, "operation": "query", "input": "subscription S { ev }"}, tools.TypeValidation, "subscriptions are not supported"},
		{"document too large", map[string]any{"endpoint": u, "input": "{ a " + strings.Repeat(" ", 1<<20) + "}"}, tools.TypeTooLarge, "1048576-byte limit"},
		{"ws endpoint", map[string]any{"endpoint": "ws://127.0.0.1/graphql", "input": "{ a }"}, tools.TypeValidation, `"endpoint": scheme "ws" is not supported`},
		{"timeout zero", map[string]any{"endpoint": u, "input": "{ a }", "timeout_ms": 0}, tools.TypeValidation, "out of range"},
		{"bad auth", map[string]any{"endpoint": u, "input": "{ a }", "auth": map[string]any{"type": "basic"}}, tools.TypeValidation, `"auth": type basic needs`},
		{"bad header", map[string]any{"endpoint": u, "input": "{ a }", "headers": map[string]any{"X": []any{"a"}}}, tools.TypeValidation, "expected string, got array"},
	})
	if n := srv.hits.Load(); n != 0 {
		t.Errorf("bad input reached the server %d times", n)
	}
}

func TestGraphQLQueryNetwork(t *testing.T) {
	tool := web.GraphQLQuery(hxtConfig(t))
	q := map[string]any{"input": "{ a }"}
	with := func(endpoint string, extra ...any) map[string]any {
		m := map[string]any{"endpoint": endpoint}
		for k, v := range q {
			m[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	msg := callErr(t, tool, with(hxtDenied), tools.TypePermission)
	if !strings.Contains(msg, "--allow-net=10.255.255.1:81") {
		t.Errorf("message %q", msg)
	}
	redir := hxtServe(t, hxtRedirectTo(hxtDenied+"graphql", http.StatusTemporaryRedirect))
	callErr(t, tool, with(redir.URL), tools.TypePermission)
	if msg := callErr(t, tool, with(hxtDeadURL(t)), tools.TypeExecution); !strings.Contains(msg, "refused") {
		t.Errorf("message %q", msg)
	}
	var blocker *hxtServer
	blocker = hxtServe(t, func(w http.ResponseWriter, r *http.Request, _ int) { blocker.block(r) })
	callErr(t, tool, with(blocker.URL, "timeout_ms", 50), tools.TypeTimeout)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, typ, _ := hxtCallCtx(ctx, tool, with(blocker.URL)); typ != tools.TypeCancelled {
		t.Errorf("cancelled call: type %s", typ)
	}

	big := hxtServe(t, gqlReply(200, `{"data":{"s":"`+strings.Repeat("x", 100)+`"}}`))
	small := web.GraphQLQuery(web.Config{Perm: hxtPerm(t, perm.Limits{MaxResponseBytes: 64})})
	if msg := callErr(t, small, with(big.URL), tools.TypeTooLarge); !strings.Contains(msg, "64-byte response limit") {
		t.Errorf("message %q", msg)
	}
}

func BenchmarkGraphQLQuery(b *testing.B) {
	srv := hxtServe(b, gqlReply(200, `{"data":{"user":{"id":"1","name":"Ann"}}}`))
	tool := web.GraphQLQuery(hxtConfig(b))
	params := map[string]any{"endpoint": srv.URL, "input": "query U($id: ID!) { user(id: $id) { id name } }", "variables": map[string]any{"id": "1"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tools.Call(ctx, tool, params); err != nil {
			b.Fatal(err)
		}
	}
}
