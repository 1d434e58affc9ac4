package citation

import . "spellhost/tools"
import "spellhost/tools/internal/clip"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// JSON and YAML input of citation-formatter: lists of entries with BibTeX or CSL
// field names.

// citeCSLTypes maps CSL types to BibTeX types.
var citeCSLTypes = map[string]string{
	"article-journal": "article", "article-magazine": "article", "article-newspaper": "article", "article": "article",
	"book": "book", "chapter": "incollection", "paper-conference": "inproceedings", "thesis": "phdthesis",
	"report": "techreport", "webpage": "online", "post-weblog": "online", "post": "online", "manuscript": "unpublished",
	"pamphlet": "booklet", "dataset": "misc", "software": "misc",
}

// citeCSLFields maps CSL field names to BibTeX ones.
var citeCSLFields = map[string]string{
	"doi": "doi", "url": "url", "page": "pages", "publisher-place": "address", "collection-title": "series",
	"issue": "number", "isbn": "isbn", "issn": "issn", "abstract": "abstract", "accessed": "urldate",
	"edition": "edition", "volume": "volume", "publisher": "publisher", "title": "title", "note": "note",
}

// citeFromList reads entries from a decoded JSON or YAML value: a list of
// entries, one entry, or an object holding the list under references,
// entries, bibliography or items.
func citeFromList(ctx context.Context, v any) ([]*citeEntry, error) {
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
		return nil, Invalid("parameter %q: expected a list of entries, got %s", "input", KindOf(v))
	}
	if len(list) > citeMaxEntries {
		return nil, Errorf(TypeTooLarge, "parameter %q: %d entries exceed the limit of %d", "input", len(list), citeMaxEntries)
	}
	out := make([]*citeEntry, 0, len(list))
	for i, item := range list {
		if i&63 == 63 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		m, ok := item.(map[string]any)
		if !ok {
			return nil, Invalid("parameter %q: entry %d: expected an object, got %s", "input", i+1, KindOf(item))
		}
		e, err := citeFromMap(m, i+1)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func citeFromMap(m map[string]any, idx int) (*citeEntry, error) {
	e := &citeEntry{fields: map[string]string{}, line: idx}
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
				e.key = citeScalar(v)
			}
			continue
		case "type", "entry_type", "entrytype":
			e.typ = strings.ToLower(strings.TrimSpace(citeScalar(v)))
			continue
		case "author", "editor":
			ns, err := citeNamesFrom(v)
			if err != nil {
				return nil, Invalid("parameter %q: entry %d field %s: %v", "input", idx, k, err)
			}
			if lk == "author" {
				e.authors = ns
			} else {
				e.editors = ns
			}
			continue
		case "issued":
			csl = true
			y, mo := citeCSLDate(v)
			if y != "" {
				e.fields["year"] = y
			}
			if mo != "" {
				e.fields["month"] = mo
			}
			continue
		case "container-title":
			csl = true
			e.fields["container"] = citeScalar(v)
			continue
		}
		switch v.(type) {
		case map[string]any, []any:
			if lk == "accessed" {
				if y, mo := citeCSLDate(v); y != "" {
					e.fields["urldate"] = citeJoinNonEmpty("-", y, mo)
				}
			}
			continue // other structured values carry nothing we format
		}
		if to, ok := citeCSLFields[lk]; ok && lk != to {
			csl = true
			lk = to
		}
		s := strings.TrimSpace(citeScalar(v))
		if lk == "pages" {
			s = strings.ReplaceAll(strings.ReplaceAll(s, "--", "–"), "-", "–")
		}
		if _, dup := e.fields[lk]; dup && s != "" {
			e.problems = append(e.problems, fmt.Sprintf("field %s is given twice; the first value is used", lk))
			continue
		}
		e.fields[lk] = s
	}
	if t, ok := citeCSLTypes[e.typ]; ok && (csl || e.typ != t) {
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

// citeScalar renders a JSON or YAML scalar as text.
func citeScalar(v any) string {
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

// citeCSLDate reads {"date-parts": [[year, month, day]]} or a string.
func citeCSLDate(v any) (year, month string) {
	switch t := v.(type) {
	case map[string]any:
		if parts, ok := t["date-parts"].([]any); ok && len(parts) > 0 {
			if first, ok := parts[0].([]any); ok {
				if len(first) > 0 {
					year = citeScalar(first[0])
				}
				if len(first) > 1 {
					month = citeScalar(first[1])
				}
			}
		} else if s, ok := t["raw"].(string); ok {
			return citeCSLDate(s)
		} else if s, ok := t["literal"].(string); ok {
			return citeCSLDate(s)
		}
	case string:
		s := strings.TrimSpace(t)
		if len(s) >= 4 && citeAllDigits(s[:4]) {
			year = s[:4]
			if len(s) >= 7 && s[4] == '-' && citeAllDigits(s[5:7]) {
				month = s[5:7]
			}
		}
	case float64:
		year = citeScalar(t)
	}
	return year, month
}

// citeNamesFrom reads an author or editor list: a BibTeX name string, a
// list of name strings, or a list of {family, given, literal, ...}.
func citeNamesFrom(v any) (citeNames, error) {
	switch t := v.(type) {
	case string:
		return citeSplitNames(t, false)
	case []any:
		if len(t) > citeMaxNames {
			return citeNames{}, fmt.Errorf("%d names exceed the limit of %d", len(t), citeMaxNames)
		}
		var out citeNames
		for i, item := range t {
			switch n := item.(type) {
			case string:
				if strings.EqualFold(strings.TrimSpace(n), "others") {
					out.others = true
					continue
				}
				out.names = append(out.names, citeParseName(n, false))
			case map[string]any:
				var nm citeName
				if lit := citeScalar(n["literal"]); lit != "" {
					nm.last, nm.literal = lit, true
				} else {
					nm.last = strings.TrimSpace(citeScalar(n["family"]))
					nm.first = strings.TrimSpace(citeScalar(n["given"]))
					nm.von = strings.TrimSpace(citeJoinNonEmpty(" ", citeScalar(n["dropping-particle"]), citeScalar(n["non-dropping-particle"])))
					nm.jr = strings.TrimSpace(citeScalar(n["suffix"]))
				}
				if nm.last == "" {
					return out, fmt.Errorf("name %d has no family or literal name", i+1)
				}
				out.names = append(out.names, nm)
			default:
				return out, fmt.Errorf("name %d: expected a string or an object, got %s", i+1, KindOf(item))
			}
		}
		return out, nil
	case nil:
		return citeNames{}, nil
	}
	return citeNames{}, fmt.Errorf("expected a string or a list of names, got %s", KindOf(v))
}

// ---- YAML ----

// citeMaxYAMLValues caps the values (scalars, lists and maps) of a YAML
// bibliography once its aliases are expanded; the text of its keys and
// scalars is capped at citeMaxExpanded, as for BibTeX macros. Together they
// keep an alias bomb (aliases of lists of aliases) from multiplying a small
// input into gigabytes.
const citeMaxYAMLValues = 500_000

// citeParseYAML reads a YAML bibliography (one document) with the YAML
// library and converts it to the values citeFromList reads. Scalars stay
// text as written ("2020", "012", "1.10"), so numbers keep their digits;
// null and ~ are nil. Aliases are expanded within the limits above,
// merge keys (<<) are applied, repeated keys are an error.
func citeParseYAML(ctx context.Context, src string) (any, error) {
	dec := yaml.NewDecoder(strings.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Invalid("parameter %q: empty YAML document", "input")
		}
		return nil, citeYAMLError(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, Invalid("parameter %q: YAML line %d: a second document; give one document holding the list", "input", next.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, citeYAMLError(err)
	}
	c := citeYAMLConv{ctx: ctx, active: map[*yaml.Node]bool{}}
	return c.value(&doc, 0)
}

// citeYAMLError turns a YAML library error ("yaml: line 3: ...") into a
// validation error of the input parameter.
func citeYAMLError(err error) error {
	msg, _ := strings.CutPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		return Invalid("parameter %q: YAML %s", "input", msg)
	}
	return Invalid("parameter %q: YAML: %s", "input", msg)
}

// citeYAMLConv converts a YAML node tree to plain values, counting what
// it produces.
type citeYAMLConv struct {
	ctx    context.Context
	values int                 // values produced, aliases expanded
	text   int                 // bytes of keys and scalars produced
	active map[*yaml.Node]bool // anchored nodes being expanded, to catch an alias inside its own anchor
}

func (c *citeYAMLConv) fail(n *yaml.Node, format string, args ...any) error {
	return Invalid("parameter %q: YAML line %d: %s", "input", n.Line, fmt.Sprintf(format, args...))
}

func (c *citeYAMLConv) addText(n int) error {
	c.text += n
	if c.text > citeMaxExpanded {
		return Errorf(TypeTooLarge, "parameter %q: YAML keys and values expand past %d bytes (aliases included)", "input", citeMaxExpanded)
	}
	return nil
}

func (c *citeYAMLConv) value(n *yaml.Node, depth int) (any, error) {
	if depth > citeMaxDepth {
		return nil, c.fail(n, "nested deeper than %d", citeMaxDepth)
	}
	c.values++
	if c.values > citeMaxYAMLValues {
		return nil, Errorf(TypeTooLarge, "parameter %q: YAML holds more than %d values (aliases included)", "input", citeMaxYAMLValues)
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
		if len(n.Content) > citeMaxEntries {
			return nil, Errorf(TypeTooLarge, "parameter %q: YAML line %d: a list has more than %d items", "input", n.Line, citeMaxEntries)
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
func (c *citeYAMLConv) mapping(n *yaml.Node, depth int) (any, error) {
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
				return nil, c.fail(m, "<< merges a map or a list of maps, got %s", KindOf(s))
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
