package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"spellhost/host/server"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their files and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "spellhost test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	ts := start(t, func(c *server.Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile })
	ts.url = strings.Replace(ts.url, "http://", "https://", 1)
	ts.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	r := ts.must(ts.do("POST", "/v1/tools/calculator/invoke", `{"input": "20+22"}`), 200, "")
	if r.env.Result["result"] != 42.0 {
		t.Fatalf("invoke over TLS: %s", r.body)
	}
	res, err := ts.client.Get(ts.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || res.TLS == nil {
		t.Fatalf("proto %s, TLS %v", res.Proto, res.TLS != nil)
	}
	// Plain HTTP to the TLS port is refused.
	if res, err := http.Get("http://" + ts.addr + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to TLS: %d", res.StatusCode)
		}
	}
	// An HTTP/2 stream cannot be taken over: drop aborts it.
	ts.enable("1*drop->off")
	if _, err := ts.try("GET", "/v1/tools/calculator", "", "Connection", ""); err == nil {
		// Go's client may retry an aborted stream once; the rule fired once.
		if ts.hits() != 1 {
			t.Fatalf("drop over HTTP/2 fired %d times", ts.hits())
		}
	}
	ts.client.CloseIdleConnections()

	if _, err := server.New(server.Config{Kernel: ts.k, TLSCertFile: certFile}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Fatalf("a certificate without a key: %v", err)
	}
	if _, err := server.New(server.Config{Kernel: ts.k, TLSCertFile: keyFile, TLSKeyFile: certFile}); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("swapped files: %v", err)
	}
}
