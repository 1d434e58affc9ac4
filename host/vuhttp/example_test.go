package vuhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"spellhost/host/fault"
	"spellhost/host/vuhttp"
	"spellhost/tools/perm"
)

func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
			return
		}
		fmt.Fprint(w, "hello")
	}))
	defer srv.Close()
	p, _ := perm.New(perm.Config{}) // no --allow-net: loopback only
	c, _ := vuhttp.NewClient(vuhttp.Config{Perm: p})
	defer c.Close()

	resp := &vuhttp.Response{} // reuse it: Do allocates nothing on a kept-alive connection
	c.Do(context.Background(), &vuhttp.Request{URL: srv.URL + "/old", Name: "/old"}, resp)
	fmt.Println(resp.Status, string(resp.Body), resp.Name, len(resp.Hops), resp.Hops[0].Status)
	tm := resp.Timings
	fmt.Println(tm.Duration == tm.Sending+tm.Waiting+tm.Receiving)

	c.Do(context.Background(), &vuhttp.Request{URL: "http://example.test/"}, resp)
	fmt.Println(resp.ErrorCode, resp.Status)
	// Output:
	// 200 hello /old 1 301
	// true
	// 1111 0
}

func ExampleClient_Batch() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.URL.Path)
	}))
	defer srv.Close()
	p, _ := perm.New(perm.Config{})
	c, _ := vuhttp.NewClient(vuhttp.Config{Perm: p, BatchPerHost: 2})
	defer c.Close()
	reqs := []*vuhttp.Request{{URL: srv.URL + "/a"}, {URL: srv.URL + "/b"}, {URL: srv.URL + "/c"}}
	resps := make([]*vuhttp.Response, len(reqs))
	c.Batch(context.Background(), reqs, resps)
	for _, r := range resps {
		fmt.Print(string(r.Body), " ")
	}
	fmt.Println()
	// Output: /a /b /c
}

func ExampleConfig_faults() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	fs := fault.New(1)
	defer fs.Close()
	fs.EnableText("http:/checkout", "status(503)") // by name tag; no request reaches the server
	p, _ := perm.New(perm.Config{})
	c, _ := vuhttp.NewClient(vuhttp.Config{Perm: p, Faults: fs})
	defer c.Close()
	resp := &vuhttp.Response{}
	c.Do(context.Background(), &vuhttp.Request{Method: "POST", URL: srv.URL + "/pay?id=7", Name: "/checkout"}, resp)
	fmt.Println(resp.Status, resp.ErrorCode, resp.Expected, resp.Injected)
	// Output: 503 1503 false true
}
