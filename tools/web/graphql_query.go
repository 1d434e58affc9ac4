package web

import (
	"context"
	"strconv"
	"strings"
	"time"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// maxDocument caps the GraphQL document (bytes).
const maxDocument = 1 << 20

func graphqlQuerySpec() tools.Spec {
	return tools.Spec{
		Name:     "graphql_query",
		Category: "api",
		Description: "Sends a GraphQL query, mutation or the standard introspection query to an endpoint as a JSON " +
			"POST {query, variables, operationName} and returns data and errors. A reply with errors and null data is " +
			"an execution_error carrying the first error's message; a reply with data and errors (a partial result) is " +
			"a result listing the errors. A non-2xx status, or a reply that is not GraphQL JSON, is an execution_error. " +
			"The document is checked against operation: a mutation is never sent as operation query, and subscriptions " +
			"are refused (they need a stream). Only http and https; the host must be allowed by --allow-net (without the " +
			"flag, loopback only). " + bodyLimitDoc + "; a larger reply is too_large.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Default: "query", Enum: []string{"query", "mutation", "introspection"},
				Description: "query or mutation sends input, which must define an operation of that kind (the one " +
					"operation_name names, when given); introspection sends the standard introspection query"},
			{Name: "endpoint", Type: tools.String, Required: true, Description: "the GraphQL endpoint: " + urlDoc},
			{Name: "input", Type: tools.String, Description: "the GraphQL document; required unless operation is " +
				"introspection (where it must be omitted); at most 1 MiB"},
			{Name: "variables", Type: tools.Object, Description: "the operation's variables, {name: value}"},
			{Name: "operation_name", Type: tools.String, Description: "which operation of a document with several to run (operationName)"},
			{Name: "headers", Type: tools.Object, Description: headersDoc},
			{Name: "auth", Type: tools.Object, Description: authDoc},
			timeoutParam("one attempt (connecting, sending and reading the whole reply)"),
		},
		Returns: "{data (the reply's data), errors (the reply's errors, [] when none), status_code, " +
			"extensions (only when the reply has them)}",
	}
}

// GraphQLQuery returns the graphql_query tool. It reaches the network
// through cfg.Perm's HTTP client; cfg.HTTPTimeout (30 s when unset) is the
// default timeout.
func GraphQLQuery(cfg Config) tools.Tool {
	ps, def := cfg.Perm, cfg.HTTPTimeout
	return tools.New(graphqlQuerySpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runGraphQL(ctx, ps, def, p)
	})
}

func runGraphQL(ctx context.Context, ps *perm.Set, def time.Duration, p tools.Params) (any, error) {
	op := p.String("operation")
	opName := p.String("operation_name")
	doc := p.String("input")
	if op == "introspection" {
		if p.Has("input") {
			return nil, tools.Invalid("parameter %q: not used with operation introspection, which sends the standard introspection query", "input")
		}
		doc, opName = introspectionQuery, "IntrospectionQuery"
	} else {
		if len(doc) > maxDocument {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: document of %d bytes exceeds the %d-byte limit", "input", len(doc), maxDocument)
		}
		if strings.TrimSpace(doc) == "" {
			return nil, tools.Invalid("missing required parameter %q for operation %s", "input", op)
		}
		if err := checkKind(doc, op, opName); err != nil {
			return nil, err
		}
	}
	r, err := newRequest("POST", "endpoint", p.String("endpoint"))
	if err != nil {
		return nil, err
	}
	r.header["Accept"] = []string{"application/graphql-response+json, application/json;q=0.9"}
	if err := r.setHeaders("headers", p.Map("headers")); err != nil {
		return nil, err
	}
	if err := r.setAuth("auth", p.Map("auth")); err != nil {
		return nil, err
	}
	payload := map[string]any{"query": doc}
	if vars := p.Map("variables"); len(vars) > 0 {
		payload["variables"] = vars
	}
	if opName != "" {
		payload["operationName"] = opName
	}
	if err := r.setJSONBody("variables", payload); err != nil {
		return nil, err
	}
	pol := policy{attempts: 1}
	if pol.timeout, err = parseTimeout(p, def); err != nil {
		return nil, err
	}
	if ps != nil {
		pol.limit = ps.Limits().MaxResponseBytes
	}
	rep, err := exchange(ctx, ps, r, pol)
	if err != nil {
		return nil, err
	}
	v, isJSON := parseJSON(rep.body)
	reply, _ := v.(map[string]any)
	var errs []any
	if reply != nil {
		errs, _ = reply["errors"].([]any)
	}
	if rep.status < 200 || rep.status > 299 {
		detail := snippet(rep.body)
		if msg := firstMessage(errs); msg != "" {
			detail = "GraphQL error: " + msg
		}
		return nil, tools.Failed("%s: status %d: %s", r.what(), rep.status, detail)
	}
	if !isJSON || reply == nil {
		return nil, tools.Failed("%s: status %d: reply is not a GraphQL JSON object: %s", r.what(), rep.status, snippet(rep.body))
	}
	data, hasData := reply["data"]
	_, hasErrors := reply["errors"]
	if !hasData && !hasErrors {
		return nil, tools.Failed("%s: reply has neither data nor errors: %s", r.what(), snippet(rep.body))
	}
	if data == nil && len(errs) > 0 {
		msg := firstMessage(errs)
		if len(errs) > 1 {
			msg += " (and " + strconv.Itoa(len(errs)-1) + " more)"
		}
		return nil, tools.Failed("%s: GraphQL error: %s", r.what(), msg)
	}
	if hasErrors && errs == nil && reply["errors"] != nil {
		return nil, tools.Failed("%s: reply's errors is not a list: %s", r.what(), snippet(rep.body))
	}
	if errs == nil {
		errs = []any{}
	}
	res := map[string]any{"data": data, "errors": errs, "status_code": rep.status}
	if ext, ok := reply["extensions"]; ok && ext != nil {
		res["extensions"] = ext
	}
	return res, nil
}

// firstMessage returns the message of the first GraphQL error.
func firstMessage(errs []any) string {
	if len(errs) == 0 {
		return ""
	}
	if m, ok := errs[0].(map[string]any); ok {
		if s, ok := m["message"].(string); ok && s != "" {
			return s
		}
	}
	return "(error without a message)"
}

// operation is an operation defined at the top level of a document.
type operation struct{ kind, name string }

// checkKind checks that the operation that would run is of kind op.
// Documents it cannot read are left to the server.
func checkKind(doc, op, opName string) error {
	ops := operations(doc)
	var run *operation
	switch {
	case opName != "":
		for i := range ops {
			if ops[i].name == opName {
				run = &ops[i]
				break
			}
		}
	case len(ops) == 1:
		run = &ops[0]
	}
	if run == nil {
		for _, o := range ops {
			if o.kind == op {
				return nil
			}
		}
		if len(ops) > 0 {
			return tools.Invalid("parameter %q: the document defines no %s; set operation to match it", "input", op)
		}
		return nil
	}
	switch {
	case run.kind == "subscription":
		return tools.Invalid("parameter %q: subscriptions are not supported (they need a stream, not a POST)", "input")
	case run.kind != op:
		return tools.Invalid("parameter %q: the operation to run is a %s; set operation to %q to send it", "input", run.kind, run.kind)
	}
	return nil
}

// operations lists the operations defined at the top level of a GraphQL
// document, skipping strings, block strings and comments. The shorthand
// "{ ... }" is a query.
func operations(doc string) []operation {
	var ops []operation
	depth := 0
	expectDef := true // at depth 0, the next token starts a definition
	wantName := false // the last definition keyword may be followed by a name
	for i := 0; i < len(doc); {
		c := doc[i]
		switch {
		case c == '#':
			for i < len(doc) && doc[i] != '\n' && doc[i] != '\r' {
				i++
			}
			continue
		case c == '"':
			if strings.HasPrefix(doc[i:], `"""`) {
				i += 3
				for i < len(doc) && !strings.HasPrefix(doc[i:], `"""`) {
					if doc[i] == '\\' && strings.HasPrefix(doc[i+1:], `"""`) {
						i += 4
						continue
					}
					i++
				}
				i += 3
				continue
			}
			for i++; i < len(doc) && doc[i] != '"' && doc[i] != '\n'; i++ {
				if doc[i] == '\\' {
					i++
				}
			}
			i++
			wantName = false
			continue
		case c == '{' || c == '(' || c == '[':
			if depth == 0 && c == '{' && expectDef {
				ops = append(ops, operation{kind: "query"})
			}
			if depth == 0 && c == '{' {
				expectDef = false
			}
			wantName = false
			depth++
		case c == '}' || c == ')' || c == ']':
			if depth > 0 {
				depth--
			}
			if depth == 0 && c == '}' {
				expectDef = true
			}
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(doc) && (doc[j] == '_' || doc[j] >= 'a' && doc[j] <= 'z' || doc[j] >= 'A' && doc[j] <= 'Z' || doc[j] >= '0' && doc[j] <= '9') {
				j++
			}
			word := doc[i:j]
			if depth == 0 {
				switch {
				case expectDef:
					expectDef, wantName = false, false
					switch word {
					case "query", "mutation", "subscription":
						ops = append(ops, operation{kind: word})
						wantName = true
					}
				case wantName:
					ops[len(ops)-1].name = word
					wantName = false
				}
			}
			i = j
			continue
		default:
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ',' {
				wantName = false
			}
		}
		i++
	}
	return ops
}

// introspectionQuery is the standard introspection query of graphql-js.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives {
      name
      description
      locations
      args { ...InputValue }
    }
  }
}
fragment FullType on __Type {
  kind
  name
  description
  fields(includeDeprecated: true) {
    name
    description
    args { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) {
    name
    description
    isDeprecated
    deprecationReason
  }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
}
fragment TypeRef on __Type {
  kind
  name
  ofType {
    kind
    name
    ofType {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType { kind name }
            }
          }
        }
      }
    }
  }
}`
