package kernel_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"spellhost/host/kernel"
	"spellhost/tools"
)

func doJSON(t *testing.T, k *kernel.Kernel, req string) kernel.Reply {
	t.Helper()
	out := k.DoJSON(context.Background(), []byte(req))
	var rep kernel.Reply
	dec := json.NewDecoder(strings.NewReader(string(out)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("reply %s is not a reply: %v", out, err)
	}
	if rep.Status != "ok" && rep.Status != "error" {
		t.Fatalf("reply status %q", rep.Status)
	}
	if (rep.Status == "error") != (rep.Error != nil) {
		t.Fatalf("reply %s: status and error disagree", out)
	}
	return rep
}

func TestProtocolBadRequests(t *testing.T) {
	k := newKernel(t)
	cases := []struct {
		name, req string
		id        string
		want      tools.ErrorType
		msg       string
	}{
		{"empty", ``, "", tools.TypeValidation, "request: empty"},
		{"whitespace", "  \n", "", tools.TypeValidation, "request: empty"},
		{"malformed", `{"id":"a1","command":`, "a1", tools.TypeValidation, "malformed JSON"},
		{"garbage", `hello`, "", tools.TypeValidation, "malformed JSON at offset 0: invalid character 'h'"},
		{"array", `[1,2]`, "", tools.TypeValidation, "must be a JSON object, got array"},
		{"string", `"list"`, "", tools.TypeValidation, "must be a JSON object, got string"},
		{"null command", `{"id":"n","command":null}`, "n", tools.TypeValidation, `missing field "command"`},
		{"missing command", `{"id":"m"}`, "m", tools.TypeValidation, `missing field "command"; one of: health, info, invoke, list, search`},
		{"unknown command", `{"id":"u","command":"explode"}`, "u", tools.TypeNotFound, `unknown command "explode"`},
		{"command type", `{"id":"c","command":5}`, "c", tools.TypeValidation, `field "command": expected string, got number`},
		{"id type", `{"id":5,"command":"list"}`, "", tools.TypeValidation, `field "id": expected string, got number`},
		{"name type", `{"id":"x","command":"invoke","name":["calculator"]}`, "x", tools.TypeValidation, `field "name": expected string, got array`},
		{"params type", `{"id":"p","command":"invoke","name":"calculator","params":"1+1"}`, "p", tools.TypeValidation, `field "params": expected object, got string`},
		{"timeout text", `{"id":"t","command":"invoke","name":"calculator","params":{"input":"1"},"timeout":"soon"}`, "t", tools.TypeValidation, `bad duration "soon"`},
		{"timeout negative", `{"id":"t","command":"invoke","name":"calculator","params":{"input":"1"},"timeout":-1}`, "t", tools.TypeValidation, "not negative"},
		{"unknown field", `{"id":"f","command":"list","nmae":"x"}`, "f", tools.TypeValidation, `unknown field "nmae"`},
		{"field not for command", `{"id":"q","command":"list","query":"x"}`, "q", tools.TypeValidation, `field "query" does not apply to command list`},
		{"trailing data", `{"command":"list"} {"command":"list"}`, "", tools.TypeValidation, "unexpected data after the JSON object"},
		{"invoke without name", `{"id":"i","command":"invoke"}`, "i", tools.TypeValidation, `invoke: missing field "name"`},
		{"invoke unknown tool", `{"id":"i","command":"invoke","name":"nope"}`, "i", tools.TypeNotFound, `tool "nope" not found`},
		{"invoke bad params", `{"id":"i","command":"invoke","name":"calculator","params":{"input":1}}`, "i", tools.TypeValidation, `parameter "input": expected string, got number`},
		{"invoke failing tool", `{"id":"i","command":"invoke","name":"calculator","params":{"input":"1/0"}}`, "i", tools.TypeExecution, "division by zero"},
		{"invoke panicking tool", `{"id":"i","command":"invoke","name":"panicker"}`, "i", tools.TypeInternal, "panic"},
		{"info without name", `{"id":"i","command":"info"}`, "i", tools.TypeValidation, `info: missing field "name"`},
		{"info unknown", `{"id":"i","command":"info","name":"nope"}`, "i", tools.TypeNotFound, `tool "nope" not found`},
		{"search without query", `{"id":"s","command":"search"}`, "s", tools.TypeValidation, `search: missing field "query"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := doJSON(t, k, c.req)
			if rep.Status != "error" || rep.Error.Type != c.want || !strings.Contains(rep.Error.Message, c.msg) {
				t.Fatalf("reply %+v %+v, want %s containing %q", rep, rep.Error, c.want, c.msg)
			}
			if rep.ID != c.id {
				t.Fatalf("reply id %q, want %q", rep.ID, c.id)
			}
		})
	}
}

func TestProtocolTooLarge(t *testing.T) {
	reg, _ := tools.NewRegistry(testTools()...)
	k := kernel.New(reg, kernel.Options{MaxRequestBytes: 1024})
	defer k.Close()
	big := `{"id":"big","command":"invoke","name":"echo","params":{"input":"` + strings.Repeat("x", 2000) + `"}}`
	rep := doJSON(t, k, big)
	if rep.Error == nil || rep.Error.Type != tools.TypeTooLarge || rep.ID != "big" {
		t.Fatalf("reply %+v %+v, want too_large echoing id", rep, rep.Error)
	}
	if !strings.Contains(rep.Error.Message, "exceeds the 1024-byte limit") {
		t.Fatalf("message %q does not name the limit", rep.Error.Message)
	}
	// The kernel still serves a request within the limit.
	if rep := doJSON(t, k, `{"command":"health"}`); rep.Status != "ok" {
		t.Fatalf("after too_large: %+v", rep.Error)
	}
}

func TestProtocolCommands(t *testing.T) {
	k := newKernel(t)
	rep := doJSON(t, k, `{"id":"1","command":"list"}`)
	res := rep.Result.(map[string]any)
	if rep.ID != "1" || res["count"].(float64) != float64(len(testTools())) {
		t.Fatalf("list: %+v", rep)
	}
	rep = doJSON(t, k, `{"id":"2","command":"list","category":"utility"}`)
	if got := rep.Result.(map[string]any)["tools"].([]any); len(got) != 1 || got[0].(map[string]any)["name"] != "calculator" {
		t.Fatalf("list utility: %v", got)
	}
	rep = doJSON(t, k, `{"id":"3","command":"search","query":"CANCEL"}`)
	names := []string{}
	for _, tl := range rep.Result.(map[string]any)["tools"].([]any) {
		names = append(names, tl.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "sleeper,stubborn" {
		t.Fatalf("search cancel = %v, want sleeper,stubborn", names)
	}
	rep = doJSON(t, k, `{"id":"4","command":"info","name":"calculator"}`)
	info := rep.Result.(map[string]any)
	if info["name"] != "calculator" || len(info["parameters"].([]any)) != 3 {
		t.Fatalf("info: %v", info)
	}
	rep = doJSON(t, k, `{"id":"5","command":"invoke","name":"calculator","params":{"input":"x*2","variables":{"x":21}},"timeout":2}`)
	if rep.Status != "ok" || rep.Result.(map[string]any)["result"] != 42.0 {
		t.Fatalf("invoke: %+v", rep)
	}
	rep = doJSON(t, k, `{"id":"6","command":"health"}`)
	if rep.Result.(map[string]any)["status"] != "ok" {
		t.Fatalf("health: %+v", rep)
	}
}

func TestProtocolTimeoutReply(t *testing.T) {
	k := newKernel(t)
	rep := doJSON(t, k, `{"id":"slow","command":"invoke","name":"sleeper","params":{"ms":5000},"timeout":"20ms"}`)
	if rep.Error == nil || rep.Error.Type != tools.TypeTimeout || rep.Error.Message != "tool sleeper: timed out after 20ms" {
		t.Fatalf("reply %+v", rep.Error)
	}
}

func TestDoGoValues(t *testing.T) {
	k := newKernel(t)
	if rep := k.Do(context.Background(), nil); rep.Error == nil || rep.Error.Type != tools.TypeValidation {
		t.Fatalf("nil request: %+v", rep)
	}
	rep := k.Do(context.Background(), &kernel.Request{ID: "g", Command: "invoke", Name: "echo",
		Params: map[string]any{"input": "hi"}, Timeout: kernel.Duration(time.Second)})
	if rep.ID != "g" || rep.Result.(map[string]any)["output"] != "hi" {
		t.Fatalf("reply %+v", rep)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	rep = k.Do(context.Background(), &kernel.Request{Command: "invoke", Name: "failer"})
	if !strings.Contains(rep.Err().Error(), "disk on fire") || tools.TypeOf(rep.Err()) != tools.TypeExecution {
		t.Fatalf("Err() = %v", rep.Err())
	}
}

// TestLargePayloadRoundTrip sends a 1 MB string through the JSON protocol
// and checks it comes back byte for byte.
func TestLargePayloadRoundTrip(t *testing.T) {
	k := newKernel(t)
	payload := strings.Repeat("abcdefghij", 100_000)
	req, _ := json.Marshal(map[string]any{"id": "mb", "command": "invoke", "name": "echo", "params": map[string]any{"input": payload}})
	rep := doJSON(t, k, string(req))
	if rep.Status != "ok" || rep.Result.(map[string]any)["output"] != payload {
		t.Fatal("1 MB payload did not come back intact")
	}
}

func TestParseDuration(t *testing.T) {
	good := map[any]time.Duration{
		1.5: 1500 * time.Millisecond, 2: 2 * time.Second, int64(3): 3 * time.Second,
		"250ms": 250 * time.Millisecond, "2": 2 * time.Second, "1m30s": 90 * time.Second, " 0.5 ": 500 * time.Millisecond,
	}
	for in, want := range good {
		if got, err := kernel.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%v) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[any]string{
		"soon": "bad duration", -1.0: "not negative", "-2s": "not negative", true: "got boolean",
		"1000h": "30-day", nil: "got null",
	}
	for in, msg := range bad {
		if _, err := kernel.ParseDuration(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseDuration(%v) error %v, want %q", in, err, msg)
		}
	}
}

// TestParseTimeout: a timeout too small to be told from zero is an error,
// never silently the default; zero stays the default.
func TestParseTimeout(t *testing.T) {
	for in, want := range map[any]time.Duration{0.0: 0, "0s": 0, 0.001: time.Millisecond, "2s": 2 * time.Second} {
		if got, err := kernel.ParseTimeout(in); err != nil || got != want {
			t.Errorf("ParseTimeout(%v) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, msg := range map[any]string{1e-12: "1e-12s is below the 1ms minimum", "1ns": "is below the 1ms minimum",
		0.0009: "0.0009s is below", -1.0: "not negative"} {
		if _, err := kernel.ParseTimeout(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseTimeout(%v) error %v, want %q", in, err, msg)
		}
	}
	k := newKernel(t)
	rep := doJSON(t, k, `{"id":"1","command":"invoke","name":"calculator","params":{"input":"1+1"},"timeout":1e-12}`)
	if rep.Status != "error" || rep.Error.Type != "validation_error" || !strings.Contains(rep.Error.Message, "below the 1ms minimum") {
		t.Fatalf("a 1e-12s request timeout: %+v", rep)
	}
}

// TestListJSONFastPath: the cached list reply is the same JSON the
// encoder writes, with the request's id.
func TestListJSONFastPath(t *testing.T) {
	k := newKernel(t)
	req := []byte(`{"id":"a\"b","command":"list"}`)
	first := k.DoJSON(context.Background(), req)
	second := k.DoJSON(context.Background(), req) // from the cache
	rep := k.Do(context.Background(), &kernel.Request{ID: "a\"b", Command: "list"})
	want := kernel.EncodeReply(rep)
	if string(first) != string(want) || string(second) != string(want) {
		t.Fatalf("list JSON\n%s\n%s\nwant\n%s", first, second, want)
	}
	// After a registry change the reply follows.
	if err := k.Registry().Unregister("echo"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(k.DoJSON(context.Background(), req)), `"echo"`) {
		t.Fatal("the cached list outlived a registry change")
	}
}
