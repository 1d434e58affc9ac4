package tools_test

import (
	"context"
	"strings"
	"testing"

	"spellhost/tools"
)

func nop(name, category, desc string) tools.Tool {
	return tools.New(tools.Spec{Name: name, Category: category, Description: desc},
		func(context.Context, tools.Params) (any, error) { return map[string]any{}, nil })
}

func names(specs []*tools.Spec) string {
	var n []string
	for _, s := range specs {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

func TestRegistry(t *testing.T) {
	reg, err := tools.NewRegistry(
		nop("calculator", "utility", "Evaluates arithmetic expressions"),
		nop("hash_calculator", "utility", "Computes MD5, SHA-1 and SHA-256 digests"),
		nop("file_search", "filesystem", "Searches files for a pattern"),
		nop("web_search", "web", "Searches the web"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Len() != 4 || names(reg.List("")) != "calculator,file_search,hash_calculator,web_search" {
		t.Fatalf("list = %s", names(reg.List("")))
	}
	if got := names(reg.List("UTILITY")); got != "calculator,hash_calculator" {
		t.Fatalf("list utility = %s", got)
	}
	if got := reg.List("nope"); len(got) != 0 {
		t.Fatalf("unknown category listed %s", names(got))
	}
	if got := strings.Join(reg.Categories(), ","); got != "filesystem,utility,web" {
		t.Fatalf("categories = %s", got)
	}
	// Search filters: hash finds the hash tool, not the calculator.
	for q, want := range map[string]string{
		"hash":        "hash_calculator",
		"HASH":        "hash_calculator",
		"calc":        "calculator,hash_calculator",
		"search":      "file_search,web_search",
		"files":       "file_search", // description match
		"filesystem":  "file_search", // category match
		"web search":  "web_search",  // every word must match
		"sha-256 md5": "hash_calculator",
		"nothing":     "",
		"   ":         "",
	} {
		if got := names(reg.Search(q)); got != want {
			t.Errorf("search %q = %q, want %q", q, got, want)
		}
	}
	// Name matches rank before description matches.
	if got := names(reg.Search("search")); got != "file_search,web_search" {
		t.Fatalf("rank: %s", got)
	}
	if _, ok := reg.Lookup("calculator"); !ok {
		t.Fatal("lookup failed")
	}
	gen := reg.Generation()
	if err := reg.Register(nop("calculator", "utility", "again")); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("duplicate register: %v", err)
	}
	if err := reg.Register(nop("Bad Name", "x", "y")); tools.TypeOf(err) != tools.TypeValidation {
		t.Fatalf("bad spec register: %v", err)
	}
	if err := reg.Unregister("web_search"); err != nil {
		t.Fatal(err)
	}
	if reg.Generation() == gen {
		t.Fatal("generation did not change")
	}
	if err := reg.Unregister("web_search"); tools.TypeOf(err) != tools.TypeNotFound {
		t.Fatalf("second unregister: %v", err)
	}
	if _, err := reg.Get("web_serch"); err == nil || !strings.Contains(err.Error(), `did you mean "file_search"`) && !strings.Contains(err.Error(), "not found") {
		t.Fatalf("get removed: %v", err)
	}
	if _, err := reg.Get("calculatr"); !strings.Contains(err.Error(), `did you mean "calculator"`) {
		t.Fatalf("typo: %v", err)
	}
	if _, err := reg.Get("zzzzzzzzzz"); strings.Contains(err.Error(), "did you mean") {
		t.Fatalf("far name got a suggestion: %v", err)
	}
}

// TestRegistryHugeUnknownName: an unknown name far longer than any tool's
// gets a short not_found message and no guess.
func TestRegistryHugeUnknownName(t *testing.T) {
	r, err := tools.NewRegistry(nop("calculator", "math", "adds"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Get(strings.Repeat("a", 100000))
	if tools.TypeOf(err) != tools.TypeNotFound || len(err.Error()) > 200 || !strings.Contains(err.Error(), "100000 bytes") {
		t.Fatalf("got %v (%d bytes)", tools.TypeOf(err), len(err.Error()))
	}
}
