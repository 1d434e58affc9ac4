package kernel_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"spellhost/host/kernel"
	"spellhost/tools"
	"spellhost/tools/builtin"
)

// benchKernel holds the built-in tools, as a real run does.
func benchKernel(b *testing.B) *kernel.Kernel {
	p := testPerm(b)
	reg, err := builtin.NewRegistry(builtin.Config{Perm: p})
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.Register(testTools()[5]); err != nil { // echo
		b.Fatal(err)
	}
	k := kernel.New(reg, kernel.Options{})
	b.Cleanup(func() { k.Close() })
	return k
}

// BenchmarkList is the list round trip through the in-process protocol
// (Go values). Target: under 20 µs.
func BenchmarkList(b *testing.B) {
	k := benchKernel(b)
	ctx := context.Background()
	req := &kernel.Request{ID: "1", Command: "list"}
	b.ReportAllocs()
	for b.Loop() {
		if rep := k.Do(ctx, req); rep.Status != "ok" {
			b.Fatal(rep.Error)
		}
	}
}

// BenchmarkListJSON is the same round trip as JSON bytes.
func BenchmarkListJSON(b *testing.B) {
	k := benchKernel(b)
	ctx := context.Background()
	req := []byte(`{"id":"1","command":"list"}`)
	b.ReportAllocs()
	for b.Loop() {
		k.DoJSON(ctx, req)
	}
}

// BenchmarkInvokeCalculator is invoke calculator through the in-process
// protocol, with a different expression each time. Target: under 10 µs.
func BenchmarkInvokeCalculator(b *testing.B) {
	k := benchKernel(b)
	ctx := context.Background()
	exprs := make([]string, 1024)
	for i := range exprs {
		exprs[i] = strconv.Itoa(i) + " + " + strconv.Itoa(i+1)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rep := k.Do(ctx, &kernel.Request{Command: "invoke", Name: "calculator", Params: map[string]any{"input": exprs[i&1023]}})
		if rep.Status != "ok" || rep.Result.(map[string]any)["result"] != float64(2*(i&1023)+1) {
			b.Fatal(rep.Error)
		}
		i++
	}
}

// BenchmarkInvokeCalculatorJSON is the same through JSON bytes.
func BenchmarkInvokeCalculatorJSON(b *testing.B) {
	k := benchKernel(b)
	ctx := context.Background()
	req := []byte(`{"id":"1","command":"invoke","name":"calculator","params":{"input":"41 + 1"}}`)
	b.ReportAllocs()
	for b.Loop() {
		k.DoJSON(ctx, req)
	}
}

// BenchmarkPayload1MB is the kernel's side of a 1 MB JSON request: decode
// the request, run the echo tool, encode the reply; the check that the
// reply holds the payload byte for byte is included. Target: under 5 ms.
func BenchmarkPayload1MB(b *testing.B) {
	k := benchKernel(b)
	ctx := context.Background()
	payload := strings.Repeat("abcdefghij", 100_000)
	req, err := jsonv2.Marshal(map[string]any{"id": "mb", "command": "invoke", "name": "echo", "params": map[string]any{"input": payload}})
	if err != nil {
		b.Fatal(err)
	}
	want := []byte(`"output":"` + payload + `"`)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if out := k.DoJSON(ctx, req); !bytes.Contains(out, want) {
			b.Fatal("payload did not come back intact")
		}
	}
}

// BenchmarkPayload1MBClient is a full JSON round trip of a 1 MB string: the
// client encodes the request, the kernel decodes it, runs the echo tool and
// encodes the reply, and the client decodes the reply and compares the
// content, so it counts the client's encoding and decoding too.
func BenchmarkPayload1MBClient(b *testing.B) {
	k := benchKernel(b)
	ctx := context.Background()
	payload := strings.Repeat("abcdefghij", 100_000)
	msg := map[string]any{"id": "mb", "command": "invoke", "name": "echo", "params": map[string]any{"input": payload}}
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		req, err := jsonv2.Marshal(msg)
		if err != nil {
			b.Fatal(err)
		}
		var rep kernel.Reply
		if err := jsonv2.Unmarshal(k.DoJSON(ctx, req), &rep); err != nil || rep.Result.(map[string]any)["output"] != payload {
			b.Fatal("payload did not come back intact")
		}
	}
}

// BenchmarkInfo1MBDescription is info of a tool whose spec carries 1 MB of
// text, as JSON.
func BenchmarkInfo1MBDescription(b *testing.B) {
	k := benchKernel(b)
	big := tools.New(tools.Spec{Name: "big", Category: "test", Description: strings.Repeat("d", 1<<20)},
		func(context.Context, tools.Params) (any, error) { return map[string]any{}, nil })
	if err := k.Registry().Register(big); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := []byte(`{"id":"i","command":"info","name":"big"}`)
	b.ReportAllocs()
	for b.Loop() {
		if out := k.DoJSON(ctx, req); len(out) < 1<<20 {
			b.Fatal("short reply")
		}
	}
}
