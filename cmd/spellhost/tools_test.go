package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"spellhost/host/exitcode"
)

func TestToolsList(t *testing.T) {
	code, out, _ := run(t, "tools", "list")
	if code != 0 || !strings.Contains(out, "calculator") || !strings.Contains(out, "NAME") {
		t.Fatalf("code %d, out %q", code, out)
	}
	code, out, _ = run(t, "tools", "list", "--json", "--category", "utility")
	var res struct {
		Tools []map[string]string
		Count int
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Count != len(res.Tools) || res.Count == 0 {
		t.Fatalf("json list: %d %q", code, out)
	}
	for _, tl := range res.Tools {
		if tl["category"] != "utility" {
			t.Fatalf("category filter let through %v", tl)
		}
	}
}

func TestToolsInfoSearchInvoke(t *testing.T) {
	code, out, _ := run(t, "tools", "info", "calculator")
	if code != 0 || !strings.Contains(out, "Parameters:") || !strings.Contains(out, "variables") {
		t.Fatalf("info: %d %q", code, out)
	}
	code, out, _ = run(t, "tools", "info", "calculator", "--json")
	if code != 0 || !json.Valid([]byte(out)) || !strings.Contains(out, `"parameters"`) {
		t.Fatalf("info json: %d %q", code, out)
	}
	code, out, _ = run(t, "tools", "search", "calc")
	if code != 0 || !strings.Contains(out, "calculator") {
		t.Fatalf("search: %d %q", code, out)
	}
	code, out, _ = run(t, "tools", "invoke", "calculator", `{"input":"x+1"}`, "-p", "variables={\"x\":41}")
	if code != 0 || !strings.Contains(out, `"result": 42`) {
		t.Fatalf("invoke: %d %q", code, out)
	}
	code, out, _ = run(t, "tools", "invoke", "calculator", "-p", "input=2*21")
	if code != 0 || !strings.Contains(out, `"result": 42`) {
		t.Fatalf("invoke -p string: %d %q", code, out)
	}
}

func TestToolsBadInput(t *testing.T) {
	cases := []struct {
		args []string
		code exitcode.Code
		msg  string
	}{
		{[]string{"tools"}, exitcode.Usage, "missing subcommand"},
		{[]string{"tools", "frobnicate"}, exitcode.Usage, `unknown subcommand "frobnicate"`},
		{[]string{"tools", "list", "--nope"}, exitcode.Usage, "unknown flag: --nope"},
		{[]string{"tools", "list", "utility"}, exitcode.Usage, "did you mean --category utility"},
		{[]string{"tools", "list", "--category", "nope"}, exitcode.Failure, `no category "nope"`},
		{[]string{"tools", "info"}, exitcode.Usage, "info takes one tool name"},
		{[]string{"tools", "info", "calculater"}, exitcode.Failure, `did you mean "calculator"`},
		{[]string{"tools", "search"}, exitcode.Usage, "search needs a query"},
		{[]string{"tools", "invoke"}, exitcode.Usage, "invoke takes a tool name"},
		{[]string{"tools", "invoke", "calculator", "{not json"}, exitcode.Usage, "want a JSON object"},
		{[]string{"tools", "invoke", "calculator", "[1]"}, exitcode.Usage, "want a JSON object"},
		{[]string{"tools", "invoke", "calculator", "-p", "novalue"}, exitcode.Usage, `-p "novalue": want key=value`},
		{[]string{"tools", "invoke", "calculator", "-p", "input=1", "--timeout", "-3s"}, exitcode.Usage, "--timeout=-3s"},
		{[]string{"tools", "invoke", "calculator", "-p", "input=1", "--max-file-size", "lots"}, exitcode.Usage, "--max-file-size=lots"},
		{[]string{"tools", "invoke", "calculator", "-p", "input=1", "--allow-read=/does/not/exist"}, exitcode.Usage, "--allow-read=/does/not/exist"},
		{[]string{"tools", "invoke", "calculator", "-p", "input=1/0"}, exitcode.Failure, "execution_error: tool calculator: division by zero"},
		{[]string{"tools", "invoke", "calculator"}, exitcode.Failure, `validation_error: tool calculator: missing required parameter "input"`},
		{[]string{"tools", "invoke", "nope"}, exitcode.Failure, `not_found: tool "nope" not found`},
		{[]string{"tools", "docs", "extra"}, exitcode.Usage, "docs takes no arguments"},
		{[]string{"frobnicate"}, exitcode.Usage, `unknown command "frobnicate"`},
		{[]string{"version", "extra"}, exitcode.Usage, "version takes no arguments"},
	}
	for _, c := range cases {
		code, _, errOut := run(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: code %d, stderr %q; want %d containing %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"help"}, {"help", "tools"}, {"tools", "--help"}, {"tools", "list", "--help"},
		{"tools", "info", "-h"}, {"tools", "invoke", "--help"}, {"tools", "search", "--help"},
		{"tools", "docs", "--help"}, {"version", "--help"}, {"run", "--help"}, {"check", "-h"},
	} {
		code, out, _ := run(t, args...)
		if code != 0 || !strings.Contains(out, "Usage") && !strings.Contains(out, "usage") {
			t.Errorf("%v: code %d, out %q", args, code, out)
		}
		if n := strings.Count(out, "Usage:"); n > 1 {
			t.Errorf("%v: usage printed %d times", args, n)
		}
	}
	code, out, _ := run(t)
	if code != exitcode.Usage || !strings.Contains(out, "Commands:") {
		t.Fatalf("no args: %d %q", code, out)
	}
	code, out, _ = run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "spellhost ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

// TestDocsCurrent fails when docs/tools.md differs from what the specs
// generate. Run `make docs` (or go test -run TestDocsCurrent -update).
func TestDocsCurrent(t *testing.T) {
	code, out, errOut := run(t, "tools", "docs")
	if code != 0 {
		t.Fatalf("tools docs: %d %s", code, errOut)
	}
	const path = "../../docs/tools.md"
	if *update {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run make docs)", err)
	}
	if string(have) != out {
		t.Fatal("docs/tools.md is stale: run `make docs`")
	}
}

func TestThirtyTools(t *testing.T) {
	code, out, _ := run(t, "tools", "list")
	if code != 0 || !strings.Contains(out, "30 tools in") {
		t.Fatalf("tools list: %d\n%s", code, out)
	}
	for _, name := range []string{"calculator", "base64_encoder", "hash_calculator", "uuid_generator", "text_manipulator",
		"date_time_handler", "data_validation", "diff_calculator", "file_operations", "file_search", "file_converter",
		"file_watcher", "environment_reader", "process_executor", "service_checker", "system_monitor", "http_request",
		"graphql_query", "web_search", "web-scraper", "url-analyzer", "api-tester", "webhook-caller", "webpage-monitor",
		"sitemap-crawler", "citation-formatter", "graph-builder", "audio_processor", "video_processor", "image_processor"} {
		if !strings.Contains(out, name+" ") {
			t.Errorf("tools list lacks %s", name)
		}
	}
}
