package kernel

import (
	"sync"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"spellhost/tools"
)

// listCache holds the list reply for one registry generation; list is the
// kernel's hottest read, and its reply only changes with the registry.
type listCache struct {
	gen   uint64
	reply map[string]any
	// json is the reply encoded, made on first use by the JSON path.
	json     jsontext.Value
	jsonOnce sync.Once
}

// encoded returns the cached reply as JSON.
func (c *listCache) encoded() jsontext.Value {
	c.jsonOnce.Do(func() {
		b, err := json.Marshal(c.reply, encodeOpts)
		if err == nil {
			c.json = b
		}
	})
	return c.json
}

// Summary is one tool in list and search replies.
func Summary(s *tools.Spec) map[string]any {
	return map[string]any{"name": s.Name, "category": s.Category, "description": s.Description}
}

func summaries(specs []*tools.Spec) []any {
	out := make([]any, len(specs))
	for i, s := range specs {
		out[i] = Summary(s)
	}
	return out
}

// list answers the list command. The reply for all tools is cached per
// registry generation and shared: callers must not modify it.
func (k *Kernel) list(category string) map[string]any {
	if category != "" {
		specs := k.reg.List(category)
		return map[string]any{"tools": summaries(specs), "count": len(specs), "category": category}
	}
	gen := k.reg.Generation()
	if c := k.listC.Load(); c != nil && c.gen == gen {
		return c.reply
	}
	specs := k.reg.List("")
	reply := map[string]any{"tools": summaries(specs), "count": len(specs)}
	k.listC.Store(&listCache{gen: gen, reply: reply})
	return reply
}

func (k *Kernel) info(name string) (any, error) {
	if name == "" {
		return nil, tools.Invalid("info: missing field \"name\"")
	}
	t, err := k.reg.Get(name)
	if err != nil {
		return nil, err
	}
	return SpecMap(t.Spec()), nil
}

func (k *Kernel) search(query string) (any, error) {
	if query == "" {
		return nil, tools.Invalid("search: missing field \"query\"")
	}
	specs := k.reg.Search(query)
	return map[string]any{"query": query, "tools": summaries(specs), "count": len(specs)}, nil
}

// SpecMap renders a spec as a JSON-like map, the shape of the info reply
// and of the Lua Tool.get().
func SpecMap(s *tools.Spec) map[string]any {
	params := make([]any, len(s.Params))
	for i, p := range s.Params {
		m := map[string]any{
			"name": p.Name, "type": string(p.Type), "required": p.Required, "description": p.Description,
		}
		if p.Default != nil {
			m["default"] = p.Default
		}
		if len(p.Enum) > 0 {
			enum := make([]any, len(p.Enum))
			for j, e := range p.Enum {
				enum[j] = e
			}
			m["enum"] = enum
		}
		params[i] = m
	}
	out := map[string]any{
		"name": s.Name, "category": s.Category, "description": s.Description, "parameters": params,
	}
	if s.Returns != "" {
		out["returns"] = s.Returns
	}
	if s.Example != nil {
		out["example"] = s.Example
	}
	return out
}
