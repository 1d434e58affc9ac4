package citation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"spellhost/tools"
	"spellhost/tools/internal/clip"
)

// JSON and YAML input of citation-formatter: lists of entries with BibTeX or CSL
// field names.

// cslTypes maps CSL types to BibTeX types.
var cslTypes = map[string]string{
	"article-journal": "article", "article-magazine": "article", "article-newspaper": "article", "article": "article",
	"book": "book", "chapter": "incollection", "paper-conference": "inproceedings", "thesis": "phdthesis",
	"report": "techreport", "webpage": "online", "post-weblog": "online", "post": "online", "manuscript": "unpublished",
	"pamphlet": "booklet", "dataset": "misc", "software": "misc",
}

// cslFields maps CSL field names to BibTeX ones.
var cslFields = map[string]string{
	"doi": "doi", "url": "url", "page": "pages", "publisher-place": "address", "collection-title": "series",
	"issue": "number", "isbn": "isbn", "issn": "issn", "abstract": "abstract", "accessed": "urldate",
	"edition": "edition", "volume": "volume", "publisher": "publisher", "title": "title", "note": "note",
}

// fromList reads entries from a decoded JSON or YAML value: a list of
// entries, one entry, or an object holding the list under references,
// entries, bibliography or items.
func fromList(ctx context.Context, v any) ([]*entry, error) {
	var list []any
	switch t := v.(type) {
	case []any:
		list = t
	case map[string]any:
		for _, k := range []string{"references", "entries", "bibliography", "items"} {
			if l, ok := t[k].([]any); ok {
				list = l
				break
			}
		}
		if list == nil {
			list = []any{t}
		}
	default:
		return nil, tools.Invalid("parameter %q: expected a list of entries, got %s", "input", tools.KindOf(v))
	}
	if len(list) > maxEntries {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d entries exceed the limit of %d", "input", len(list), maxEntries)
	}
	out := make([]*entry, 0, len(list))
	for i, item := range list {
		if i&63 == 63 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		m, ok := item.(map[string]any)
		if !ok {
			return nil, tools.Invalid("parameter %q: entry %d: expected an object, got %s", "input", i+1, tools.KindOf(item))
		}
		e, err := fromMap(m, i+1)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func fromMap(m map[string]any, idx int) (*entry, error) {
	e := &entry{fields: map[string]string{}, line: idx}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	csl := false
	for _, k := range keys {
		v := m[k]
		lk := strings.ToLower(k)
		switch lk {
		case "key", "id", "citation_key", "citation-key", "citationkey":
			if e.key == "" {
				e.key = scalar(v)
			}
			continue
		case "type", "entry_type", "entrytype":
			e.typ = strings.ToLower(strings.TrimSpace(scalar(v)))
			continue
		case "author", "editor":
			ns, err := namesFrom(v)
			if err != nil {
				return nil, tools.Invalid("parameter %q: entry %d field %s: %v", "input", idx, k, err)
			}
			if lk == "author" {
				e.authors = ns
			} else {
				e.editors = ns
			}
			continue
		case "issued":
			csl = true
			y, mo := cslDate(v)
			if y != "" {
				e.fields["year"] = y
			}
			if mo != "" {
				e.fields["month"] = mo
			}
			continue
		case "container-title":
			csl = true
			e.fields["container"] = scalar(v)
			continue
		}
		switch v.(type) {
		case map[string]any, []any:
			if lk == "accessed" {
				if y, mo := cslDate(v); y != "" {
					e.fields["urldate"] = joinNonEmpty("-", y, mo)
				}
			}
			continue // other structured values carry nothing we format
		}
		if to, ok := cslFields[lk]; ok && lk != to {
			csl = true
			lk = to
		}
		s := strings.TrimSpace(scalar(v))
		if lk == "pages" {
			s = strings.ReplaceAll(strings.ReplaceAll(s, "--", "–"), "-", "–")
		}
		if _, dup := e.fields[lk]; dup && s != "" {
			e.problems = append(e.problems, fmt.Sprintf("field %s is given twice; the first value is used", lk))
			continue
		}
		e.fields[lk] = s
	}
	if t, ok := cslTypes[e.typ]; ok && (csl || e.typ != t) {
		e.typ = t
	}
	if e.typ == "" {
		e.typ = "misc"
	}
	if c := e.fields["container"]; c != "" {
		delete(e.fields, "container")
		if e.typ == "article" {
			e.fields["journal"] = c
		} else if e.typ == "online" {
			e.fields["howpublished"] = c
		} else {
			e.fields["booktitle"] = c
		}
	}
	if e.key == "" {
		e.key = fmt.Sprintf("entry%d", idx)
	}
	e.finish()
	return e, nil
}

// scalar renders a JSON or YAML scalar as text.
func scalar(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// cslDate reads {"date-parts": [[year, month, day]]} or a string.
func cslDate(v any) (year, month string) {
	switch t := v.(type) {
	case map[string]any:
		if parts, ok := t["date-parts"].([]any); ok && len(parts) > 0 {
			if first, ok := parts[0].([]any); ok {
				if len(first) > 0 {
					year = scalar(first[0])
				}
				if len(first) > 1 {
					month = scalar(first[1])
				}
			}
		} else if s, ok := t["raw"].(string); ok {
			return cslDate(s)
		} else if s, ok := t["literal"].(string); ok {
			return cslDate(s)
		}
	case string:
		s := strings.TrimSpace(t)
		if len(s) >= 4 && allDigits(s[:4]) {
			year = s[:4]
			if len(s) >= 7 && s[4] == '-' && allDigits(s[5:7]) {
				month = s[5:7]
			}
		}
	case float64:
		year = scalar(t)
	}
	return year, month
}

// namesFrom reads an author or editor list: a BibTeX name string, a
// list of name strings, or a list of {family, given, literal, ...}.
func namesFrom(v any) (names, error) {
	switch t := v.(type) {
	case string:
		return splitNames(t, false)
	case []any:
		if len(t) > maxNames {
			return names{}, fmt.Errorf("%d names exceed the limit of %d", len(t), maxNames)
		}
		var out names
		for i, item := range t {
			switch n := item.(type) {
			case string:
				if strings.EqualFold(strings.TrimSpace(n), "others") {
					out.others = true
					continue
				}
				out.names = append(out.names, parseName(n, false))
			case map[string]any:
				var nm name
				if lit := scalar(n["literal"]); lit != "" {
					nm.last, nm.literal = lit, true
				} else {
					nm.last = strings.TrimSpace(scalar(n["family"]))
					nm.first = strings.TrimSpace(scalar(n["given"]))
					nm.von = strings.TrimSpace(joinNonEmpty(" ", scalar(n["dropping-particle"]), scalar(n["non-dropping-particle"])))
					nm.jr = strings.TrimSpace(scalar(n["suffix"]))
				}
				if nm.last == "" {
					return out, fmt.Errorf("name %d has no family or literal name", i+1)
				}
				out.names = append(out.names, nm)
			default:
				return out, fmt.Errorf("name %d: expected a string or an object, got %s", i+1, tools.KindOf(item))
			}
		}
		return out, nil
	case nil:
		return names{}, nil
	}
	return names{}, fmt.Errorf("expected a string or a list of names, got %s", tools.KindOf(v))
}

// ---- YAML ----

// maxYAMLValues caps the values (scalars, lists and maps) of a YAML
// bibliography once its aliases are expanded; the text of its keys and
// scalars is capped at maxExpanded, as for BibTeX macros. Together they
// keep an alias bomb (aliases of lists of aliases) from multiplying a small
// input into gigabytes.
const maxYAMLValues = 500_000

// parseYAML reads a YAML bibliography (one document) with the YAML
// library and converts it to the values fromList reads. Scalars stay
// text as written ("2020", "012", "1.10"), so numbers keep their digits;
// null and ~ are nil. Aliases are expanded within the limits above,
// merge keys (<<) are applied, repeated keys are an error.
func parseYAML(ctx context.Context, src string) (any, error) {
	dec := yaml.NewDecoder(strings.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, tools.Invalid("parameter %q: empty YAML document", "input")
		}
		return nil, yamlError(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, tools.Invalid("parameter %q: YAML line %d: a second document; give one document holding the list", "input", next.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(err)
	}
	c := yamlConv{ctx: ctx, active: map[*yaml.Node]bool{}}
	return c.value(&doc, 0)
}

// yamlError turns a YAML library error ("yaml: line 3: ...") into a
// validation error of the input parameter.
func yamlError(err error) error {
	msg, _ := strings.CutPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		return tools.Invalid("parameter %q: YAML %s", "input", msg)
	}
	return tools.Invalid("parameter %q: YAML: %s", "input", msg)
}

// yamlConv converts a YAML node tree to plain values, counting what
// it produces.
type yamlConv struct {
	ctx    context.Context
	values int                 // values produced, aliases expanded
	text   int                 // bytes of keys and scalars produced
	active map[*yaml.Node]bool // anchored nodes being expanded, to catch an alias inside its own anchor
}

func (c *yamlConv) fail(n *yaml.Node, format string, args ...any) error {
	return tools.Invalid("parameter %q: YAML line %d: %s", "input", n.Line, fmt.Sprintf(format, args...))
}

func (c *yamlConv) addText(n int) error {
	c.text += n
	if c.text > maxExpanded {
		return tools.Errorf(tools.TypeTooLarge, "parameter %q: YAML keys and values expand past %d bytes (aliases included)", "input", maxExpanded)
	}
	return nil
}

func (c *yamlConv) value(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, c.fail(n, "nested deeper than %d", maxDepth)
	}
	c.values++
	if c.values > maxYAMLValues {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: YAML holds more than %d values (aliases included)", "input", maxYAMLValues)
	}
	if c.values&4095 == 0 && c.ctx.Err() != nil {
		return nil, context.Cause(c.ctx)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth)
	case yaml.AliasNode:
		if c.active[n.Alias] {
			return nil, c.fail(n, "alias *%s is inside its own anchor", clip.String(n.Value, 60))
		}
		c.active[n.Alias] = true
		v, err := c.value(n.Alias, depth)
		delete(c.active, n.Alias)
		return v, err
	case yaml.ScalarNode:
		if err := c.addText(len(n.Value)); err != nil {
			return nil, err
		}
		if n.ShortTag() == "!!null" {
			return nil, nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		if len(n.Content) > maxEntries {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: YAML line %d: a list has more than %d items", "input", n.Line, maxEntries)
		}
		if n.Anchor != "" {
			c.active[n] = true
			defer delete(c.active, n)
		}
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			v, err := c.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		if n.Anchor != "" {
			c.active[n] = true
			defer delete(c.active, n)
		}
		return c.mapping(n, depth)
	}
	return nil, c.fail(n, "unexpected YAML node kind %d", n.Kind)
}

// mapping converts a mapping: keys must be scalars and appear once; the
// mappings a merge key (<<) names fill in the keys not given.
func (c *yamlConv) mapping(n *yaml.Node, depth int) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, c.fail(k, "a key must be a scalar, not a list or a map")
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if _, dup := out[k.Value]; dup {
			return nil, c.fail(k, "key %q is repeated", clip.String(k.Value, 60))
		}
		if err := c.addText(len(k.Value)); err != nil {
			return nil, err
		}
		val, err := c.value(v, depth+1)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	for _, m := range merges {
		v, err := c.value(m, depth+1)
		if err != nil {
			return nil, err
		}
		srcs, ok := v.([]any)
		if !ok {
			srcs = []any{v}
		}
		for _, s := range srcs {
			sm, ok := s.(map[string]any)
			if !ok {
				return nil, c.fail(m, "<< merges a map or a list of maps, got %s", tools.KindOf(s))
			}
			for k, val := range sm {
				if _, set := out[k]; !set {
					out[k] = val
				}
			}
		}
	}
	return out, nil
}
