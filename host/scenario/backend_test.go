package scenario

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"spellhost/host/exitcode"
	lualib "spellhost/lua"
)

func TestTaskBackendOptions(t *testing.T) {
	for _, c := range []struct{ src, msg string }{
		{`options = {tasks = {backend = "disk"}}`, `options.tasks.backend: "disk": want "memory" or "jetstream"`},
		{`options = {tasks = {backend = "memory", nats = "nats://127.0.0.1:4222"}}`, "a NATS URL goes with backend"},
		{`options = {tasks = {namespace = "a"}}`, "go with backend"},
		{`options = {tasks = {["local"] = false}}`, "go with backend"},
		{`options = {tasks = {backend = "jetstream", namespace = "a.b"}, scenarios = {s = {executor = "shared-iterations", exec = "f"}}}
function f() Task.submit{tool = "calculator", params = {input = "1"}} end`, `task namespace "a.b"`},
		{`options = {tasks = {nats = "nats://127.0.0.1:4222"}}`, "needs the run's network permissions"},
	} {
		path := filepath.Join(t.TempDir(), "s.lua")
		os.WriteFile(path, []byte(c.src+"\n"), 0o644)
		res, err := Run(context.Background(), Config{Script: path, Lib: lualib.FS})
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if res != nil {
			for _, s := range res.Scenarios {
				for _, e := range s.FirstErrors {
					msg += " " + e.Message
				}
			}
		}
		if !strings.Contains(msg, c.msg) {
			t.Errorf("%s: error %q, want %q", c.src, msg, c.msg)
		}
	}
}

// TestNATSAddressUnderAllowNet: a script's NATS address is reached as
// tools reach the network, under --allow-net (loopback only here): a
// name is refused before any lookup or connection.
func TestNATSAddressUnderAllowNet(t *testing.T) {
	res, code, _ := runScript(t, `
options = {tasks = {nats = "nats://nats.example.com:4222"}, scenarios = {s = {executor = "shared-iterations", exec = "f"}}}
function f() Task.submit{tool = "calculator", params = {input = "1"}} end
`, Overrides{})
	msg := ""
	for _, s := range res.Scenarios {
		for _, e := range s.FirstErrors {
			msg += e.Message
		}
	}
	if !strings.Contains(msg, "permission_denied") || !strings.Contains(msg, "nats.example.com") || !strings.Contains(msg, "allow-net") {
		t.Fatalf("exit %d, errors %q", code, msg)
	}
}

// TestJetStreamBackend runs Task.* against the durable backend on an
// embedded server: tool tasks, Lua function tasks, retries, a cancel, a
// full queue, listing and the accounting, as the in-process backend does.
func TestJetStreamBackend(t *testing.T) {
	res, code, out := runScript(t, `
options = {
  tasks = {backend = "jetstream", workers = 2, queue = 50},
  scenarios = {s = {executor = "shared-iterations", exec = "f"}},
  thresholds = {checks = {"rate==1"}},
}
function double(x) return x * 2 end
function f()
  local ids = {}
  for i = 1, 10 do ids[#ids + 1] = Task.submit{tool = "calculator", params = {input = i .. "*7"}, tags = {kind = "tool"}} end
  for i = 1, 10 do ids[#ids + 1] = Task.submit{fn = function(n) return double(n) end, args = {i}, tags = {kind = "fn"}} end
  local flaky = Task.submit{fn = function() error("again") end, retries = 2, backoff = "1ms"}
  local long = Task.submit{fn = function() sleep(30) return 1 end}
  local sts = Task.wait_all(ids, 60)
  local ok = true
  for i = 1, 10 do ok = ok and sts[i].state == "succeeded" and sts[i].result.result == i * 7 and sts[i].worker ~= nil end
  for i = 1, 10 do ok = ok and sts[10 + i].state == "succeeded" and sts[10 + i].result == 2 * i end
  local fst = Task.wait(flaky, 60)
  local c = Task.cancel(long)
  local lst = Task.wait(long, 60)
  local page = Task.list{tag = "kind:fn", limit = 5}
  local s = Task.stats()
  check(s, {
    ["tool and fn tasks succeed with their results"] = function() return ok end,
    ["retries run out"] = function() return fst.state == "failed" and fst.attempts == 3 end,
    ["cancel ends a task"] = function() return lst.state == "cancelled" end,
    ["list filters"] = function() return page.total == 10 and #page.tasks == 5 end,
    ["balanced"] = function(s) return s.balanced and s.submitted == 22 and s.retries == 2 end,
    ["nodes"] = function(s) return #s.nodes == 1 and s.nodes[1].slots == 2 end,
  })
end
`, Overrides{})
	if code != exitcode.OK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	passed := 0
	for _, c := range res.Checks {
		if c.Fails > 0 {
			t.Errorf("check %q failed", c.Name)
		}
		passed++
	}
	var rows []string
	for _, sec := range res.Sections {
		if sec.Title == "tasks" {
			for _, r := range sec.Rows {
				rows = append(rows, strings.Join(r, " "))
			}
		}
	}
	summary := strings.Join(rows, "\n")
	if passed != 6 || !strings.Contains(summary, "balanced: every task in exactly one state") || !strings.Contains(summary, "worker ") {
		t.Fatalf("%d checks; the summary's tasks:\n%s", passed, summary)
	}
}
