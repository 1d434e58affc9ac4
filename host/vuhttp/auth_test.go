package vuhttp_test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"spellhost/host/vuhttp"
)

func TestBasicAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "alice" || pass != "s3cret" {
			w.WriteHeader(401)
			return
		}
		w.Write([]byte("welcome"))
	}))
	t.Cleanup(srv.Close)
	c := client(t, vuhttp.Config{})
	url := "http://alice:s3cret@" + srv.URL[len("http://"):] + "/private"
	r := get(t, c, url)
	if r.Err != nil || r.Status != 200 || string(r.Body) != "welcome" {
		t.Fatalf("basic: err %v status %d", r.Err, r.Status)
	}
	if strings.Contains(r.URL, "s3cret") || strings.Contains(r.Name, "s3cret") || !strings.Contains(r.URL, "alice") {
		t.Fatalf("the password shows in the URL tag: %q / %q", r.URL, r.Name)
	}
	if r := get(t, c, "http://alice:wrong@"+srv.URL[len("http://"):]+"/"); r.Status != 401 {
		t.Fatalf("wrong password: status %d", r.Status)
	}
	if _, ok := vuhttp.ParseAuth("ntlm"); ok {
		t.Fatal("ntlm was accepted")
	}
}

// digestServer checks RFC 7616 digest answers for user "bob", password
// "hunter2", realm "test", with the algorithm given.
func digestServer(t *testing.T, alg string, newHash func() hash.Hash) *httptest.Server {
	h := func(parts ...string) string {
		x := newHash()
		x.Write([]byte(strings.Join(parts, ":")))
		return hex.EncodeToString(x.Sum(nil))
	}
	const nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Digest ") {
			w.Header().Set("WWW-Authenticate", `Basic realm="other"`)
			w.Header().Add("WWW-Authenticate", `Digest realm="test", qop="auth,auth-int", algorithm=`+alg+`, nonce="`+nonce+`", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
			w.WriteHeader(401)
			w.Write([]byte("challenge body"))
			return
		}
		p := map[string]string{}
		for _, kv := range strings.Split(auth[len("Digest "):], ", ") {
			k, v, _ := strings.Cut(kv, "=")
			p[k] = strings.Trim(v, `"`)
		}
		ha1 := h("bob", "test", "hunter2")
		ha2 := h(r.Method, r.URL.RequestURI())
		want := h(ha1, nonce, p["nc"], p["cnonce"], p["qop"], ha2)
		if p["username"] != "bob" || p["uri"] != r.URL.RequestURI() || p["response"] != want || p["opaque"] == "" || p["qop"] != "auth" {
			w.WriteHeader(403)
			return
		}
		w.Write([]byte("digest ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDigestAuth(t *testing.T) {
	for alg, newHash := range map[string]func() hash.Hash{"MD5": md5.New, "SHA-256": sha256.New} {
		t.Run(alg, func(t *testing.T) {
			srv := digestServer(t, alg, newHash)
			c := client(t, vuhttp.Config{})
			url := "http://bob:hunter2@" + srv.URL[len("http://"):] + "/files?id=1"
			r := do(t, c, &vuhttp.Request{URL: url, Auth: vuhttp.AuthDigest})
			if r.Err != nil || r.Status != 200 || string(r.Body) != "digest ok" {
				t.Fatalf("digest: err %v status %d body %q", r.Err, r.Status, r.Body)
			}
			if len(r.Hops) != 1 || r.Hops[0].Status != 401 || r.Hops[0].Expected || r.Hops[0].ErrorCode != 1401 {
				t.Fatalf("the challenge is not a hop: %+v", r.Hops)
			}
			// A wrong password is answered once, not in a loop.
			r = do(t, c, &vuhttp.Request{URL: "http://bob:no@" + srv.URL[len("http://"):] + "/", Auth: vuhttp.AuthDigest})
			if r.Status != 403 || len(r.Hops) != 1 {
				t.Fatalf("wrong password: status %d hops %d", r.Status, len(r.Hops))
			}
			// Without credentials, the 401 is the response.
			r = do(t, c, &vuhttp.Request{URL: srv.URL + "/", Auth: vuhttp.AuthDigest})
			if r.Status != 401 || len(r.Hops) != 0 {
				t.Fatalf("no credentials: status %d hops %d", r.Status, len(r.Hops))
			}
		})
	}
}
