package kernel_test

import (
	"context"
	"encoding/json"
	"testing"

	"spellhost/host/kernel"
	"spellhost/tools"
	"spellhost/tools/data"
)

// FuzzDoJSON feeds arbitrary bytes to the protocol. Every input must get
// exactly one well-formed reply with a known status and, on error, a
// documented error type. The seed corpus runs in every `go test`.
func FuzzDoJSON(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"command":"list"}`, `{"id":"1","command":"info","name":"calculator"}`,
		`{"command":"search","query":"calc"}`, `{"command":"invoke","name":"calculator","params":{"input":"1+2"}}`,
		`{"command":"invoke","name":"calculator","params":{"input":"(((("}}`, `{"command":"health"}`,
		`{"command":"invoke","name":"echo","params":{"input":"\u0000\ud800"},"timeout":"1s"}`,
		`{"id":"x","command":"invoke","name":"calculator","params":{"input":"1","variables":{"a":"b"}}}`,
		`{"command":"list","category":7}`, `{"command":"invoke","timeout":1e309}`, `{"id":{"nested":1}}`,
		"{\"command\":\"list\"}\n", `{"command":"list"}x`, `{"command":"invoke","name":"panicker"}`,
	} {
		f.Add([]byte(s))
	}
	reg, err := tools.NewRegistry(data.Calculator(), testTools()[5], testTools()[3])
	if err != nil {
		f.Fatal(err)
	}
	k := kernel.New(reg, kernel.Options{MaxRequestBytes: 1 << 16})
	defer k.Close()
	known := map[tools.ErrorType]bool{}
	for _, t := range kernel.ErrorTypes {
		known[t] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := k.DoJSON(context.Background(), data)
		var rep kernel.Reply
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("reply %q is not JSON: %v", out, err)
		}
		switch rep.Status {
		case "ok":
			if rep.Error != nil {
				t.Fatalf("ok reply with an error: %s", out)
			}
		case "error":
			if rep.Error == nil || !known[rep.Error.Type] || rep.Error.Message == "" {
				t.Fatalf("bad error reply: %s", out)
			}
		default:
			t.Fatalf("reply status %q: %s", rep.Status, out)
		}
	})
}
