package text

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// Diff limits.
const (
	maxDiffBytes = 4 << 20   // bytes of one side (text, JSON text or file)
	maxWordWork  = 2_000_000 // steps of the word diff of the inline format, per call; past it lines are shown whole
	maxJSONDepth = 512       // nesting of a JSON value
	maxJSONNodes = 2_000_000 // values in both JSON documents together
	maxContext   = 1 << 20   // context_lines above this are treated as this
)

func diffCalculatorSpec() tools.Spec {
	return tools.Spec{
		Name:     "diff_calculator",
		Category: "utility",
		Description: "Compares two texts line by line (Myers' algorithm, a shortest edit script) and prints a unified, " +
			"context, inline (word-level) or simple diff, or compares two JSON values and lists the paths " +
			"added, removed, modified and unchanged. Each side comes from a parameter or a file.",
		Params: []tools.Param{
			{Name: "type", Type: tools.String, Default: "text", Enum: []string{"text", "json"},
				Description: "text compares lines (old_text/new_text or old_file/new_file); json compares structure " +
					"(old_json/new_json or old_file/new_file)"},
			{Name: "old_text", Type: tools.String, Description: "type text: the original text"},
			{Name: "new_text", Type: tools.String, Description: "type text: the changed text"},
			{Name: "old_json", Type: tools.Any, Description: "type json: the original value, either a JSON value (object, array, number...) " +
				"or a string holding JSON text, which is parsed; to compare a bare JSON string, pass it encoded, e.g. \"\\\"abc\\\"\", and null as \"null\""},
			{Name: "new_json", Type: tools.Any, Description: "type json: the changed value, as for old_json"},
			{Name: "old_file", Type: tools.String, Description: "path of a file holding the original side (instead of old_text or old_json); " +
				"relative paths resolve against the base folder; needs read permission"},
			{Name: "new_file", Type: tools.String, Description: "path of a file holding the changed side (instead of new_text or new_json)"},
			{Name: "format", Type: tools.String, Default: "unified", Enum: []string{"unified", "context", "inline", "simple"},
				Description: "type text: unified is diff -u output that patch applies (---/+++ headers, @@ -a,b +c,d @@ hunks); " +
					"context is diff -c output; inline shows hunks with changed words marked [-removed-]{+added+}; " +
					"simple lists only the removed (-) and added (+) lines. Ignored for type json"},
			{Name: "context_lines", Type: tools.Integer, Default: 3, Description: "type text: unchanged lines shown around each change (0 or more)"},
			{Name: "old_label", Type: tools.String, Description: "type text: name of the original in the diff header (default: old_file, or \"old\")"},
			{Name: "new_label", Type: tools.String, Description: "type text: name of the changed side in the diff header (default: new_file, or \"new\")"},
		},
		Returns: "type text: {diff, stats: {additions, deletions, unchanged, hunks}, identical} - additions, deletions and " +
			"unchanged count lines, hunks counts hunks at context_lines of context, diff is \"\" when identical. " +
			"type json: {added, removed, modified, unchanged, stats: {added, removed, modified, unchanged}, identical} - " +
			"added, removed and unchanged list paths such as \"a.b[2]\" (\"$\" is the whole value; unchanged lists the largest " +
			"equal parts), modified lists {path, old, new}; object keys are compared in sorted order and arrays index by index. " +
			"Limits: 4 MiB and 100000 lines per side; texts that differ too much for 50000000 steps of the algorithm " +
			"(about 100000 lines times lines changed) are too_large; JSON nests at most 512 levels",
		Example: map[string]any{
			"old_text": "apple\nbanana\ncherry\n",
			"new_text": "apple\nblueberry\ncherry\ndate\n",
		},
	}
}

// DiffCalculator returns the diff_calculator tool. Files are read through
// ps.
func DiffCalculator(ps *perm.Set) tools.Tool {
	return tools.New(diffCalculatorSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return diffCalculate(ctx, ps, p)
	})
}

func diffCalculate(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	if p.String("type") == "json" {
		for _, k := range []string{"old_text", "new_text", "old_label", "new_label"} {
			if p.Has(k) {
				return nil, tools.Invalid("parameter %q is for type text; for type json give old_json and new_json (values or JSON text) or old_file and new_file", k)
			}
		}
		a, err := jsonSide(ps, p, "old")
		if err != nil {
			return nil, err
		}
		b, err := jsonSide(ps, p, "new")
		if err != nil {
			return nil, err
		}
		return jsonDiff(ctx, a, b)
	}
	for _, k := range []string{"old_json", "new_json"} {
		if p.Has(k) {
			return nil, tools.Invalid("parameter %q is for type json; for type text give old_text and new_text or old_file and new_file", k)
		}
	}
	ctxLines := p.Int("context_lines")
	if ctxLines < 0 {
		return nil, tools.Invalid("parameter \"context_lines\": must be 0 or more, got %d", ctxLines)
	}
	ctxLines = min(ctxLines, maxContext)
	a, aLabel, err := textSide(ps, p, "old")
	if err != nil {
		return nil, err
	}
	b, bLabel, err := textSide(ps, p, "new")
	if err != nil {
		return nil, err
	}
	return textDiff(ctx, a, b, aLabel, bLabel, p.String("format"), ctxLines)
}

func readFile(ps *perm.Set, key, path string) ([]byte, error) {
	if ps == nil {
		return nil, tools.Failed("parameter %q: file access is not configured", key)
	}
	data, _, err := ps.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %w", key, err)
	}
	if len(data) > maxDiffBytes {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %s is %d bytes, over the %d-byte limit", key, path, len(data), maxDiffBytes)
	}
	return data, nil
}

// textSide returns one side of a text diff and its label.
func textSide(ps *perm.Set, p tools.Params, side string) (string, string, error) {
	tk, fk, lk := side+"_text", side+"_file", side+"_label"
	label := side
	if p.Has(lk) {
		label = p.String(lk)
		if strings.ContainsAny(label, "\r\n") {
			return "", "", tools.Invalid("parameter %q: must not contain line breaks", lk)
		}
	}
	var text string
	switch {
	case p.Has(tk) && p.Has(fk):
		return "", "", tools.Invalid("give %q or %q, not both", tk, fk)
	case p.Has(fk):
		path := p.String(fk)
		data, err := readFile(ps, fk, path)
		if err != nil {
			return "", "", err
		}
		if bytes.IndexByte(data, 0) >= 0 {
			return "", "", tools.Invalid("parameter %q: %s is a binary file (it contains NUL bytes)", fk, path)
		}
		text = string(data)
		if !p.Has(lk) && !strings.ContainsAny(path, "\r\n") {
			label = path
		}
	case p.Has(tk):
		text = p.String(tk)
		if len(text) > maxDiffBytes {
			return "", "", tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", tk, len(text), maxDiffBytes)
		}
	default:
		return "", "", tools.Invalid("missing %q (or %q) for type text", tk, fk)
	}
	return text, label, nil
}
