package perm_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"spellhost/tools/perm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// layout makes root/{allowed,allowedfoo,outside} with a file in each.
func layout(t *testing.T) (root string) {
	t.Helper()
	root = t.TempDir()
	for _, d := range []string{"allowed/sub", "allowedfoo", "outside"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"allowed/in.txt", "allowed/sub/deep.txt", "allowedfoo/x.txt", "outside/secret.txt"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func isDenied(err error) bool { return errors.Is(err, perm.ErrDenied) }

func TestReadContainment(t *testing.T) {
	root := layout(t)
	allowed := filepath.Join(root, "allowed")
	// Links: one out of the sandbox, one inside it, a dangling one pointing
	// out, and a cycle.
	must(t, os.Symlink(filepath.Join(root, "outside"), filepath.Join(allowed, "escape")))
	must(t, os.Symlink(filepath.Join(root, "outside", "secret.txt"), filepath.Join(allowed, "secret-link")))
	must(t, os.Symlink(filepath.Join(allowed, "sub"), filepath.Join(allowed, "inner")))
	must(t, os.Symlink(filepath.Join(root, "outside", "new.txt"), filepath.Join(allowed, "dangling")))
	must(t, os.Symlink(filepath.Join(allowed, "loop2"), filepath.Join(allowed, "loop1")))
	must(t, os.Symlink(filepath.Join(allowed, "loop1"), filepath.Join(allowed, "loop2")))
	p, err := perm.New(perm.Config{Base: allowed, Read: []string{allowed}, Write: []string{}})
	must(t, err)

	ok := []string{"in.txt", "sub/deep.txt", "./sub/../in.txt", filepath.Join(allowed, "in.txt"), "inner/deep.txt", "not-yet.txt", "."}
	for _, path := range ok {
		if _, err := p.Read(path); err != nil {
			t.Errorf("Read(%q) = %v, want allowed", path, err)
		}
	}
	denied := []string{
		"../outside/secret.txt",                      // dot-dot
		"sub/../../outside/secret.txt",               // dot-dot through a sub folder
		filepath.Join(root, "allowedfoo", "x.txt"),   // prefix trick
		filepath.Join(root, "allowed") + "foo/x.txt", // prefix trick, spelled as a string
		"escape/secret.txt",                          // symlinked folder out
		"secret-link",                                // symlinked file out
		"dangling",                                   // dangling link out
		"/etc/hostname",                              // absolute
		"..",                                         // parent
	}
	for _, path := range denied {
		_, err := p.Read(path)
		if !isDenied(err) {
			t.Errorf("Read(%q) = %v, want permission denied", path, err)
			continue
		}
		if !strings.Contains(err.Error(), "--allow-read=") {
			t.Errorf("Read(%q): message %q does not name the flag", path, err)
		}
	}
	if _, err := p.Read("loop1"); err == nil || isDenied(err) {
		t.Errorf("Read(loop1) = %v, want a resolution error", err)
	}
	for _, bad := range []string{"", "a\x00b"} {
		if _, err := p.Read(bad); !errors.Is(err, perm.ErrInvalid) {
			t.Errorf("Read(%q) = %v, want invalid", bad, err)
		}
	}
}

func TestWriteContainment(t *testing.T) {
	root := layout(t)
	allowed := filepath.Join(root, "allowed")
	must(t, os.Symlink(filepath.Join(root, "outside"), filepath.Join(allowed, "escape")))
	p, err := perm.New(perm.Config{Base: root, Read: nil, Write: []string{allowed}})
	must(t, err)
	if _, err := p.Write("allowed/new/file.txt"); err != nil {
		t.Errorf("write to a new path inside: %v", err)
	}
	if _, err := p.Read("allowed/in.txt"); err != nil {
		t.Errorf("write folders are readable: %v", err)
	}
	for _, path := range []string{"outside/x", "allowed/escape/x", "allowedfoo/x", "allowed/../outside/x"} {
		_, err := p.Write(path)
		if !isDenied(err) || !strings.Contains(err.Error(), "--allow-write=") {
			t.Errorf("Write(%q) = %v, want denied naming --allow-write", path, err)
		}
	}
	// WriteFile is atomic and leaves no temporary file behind.
	dst, err := p.WriteFile("allowed/out.txt", []byte("hello"))
	must(t, err)
	if b, _ := os.ReadFile(dst); string(b) != "hello" {
		t.Fatalf("wrote %q", b)
	}
	entries, _ := os.ReadDir(allowed)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
	if _, err := p.WriteFile("allowed/sub", []byte("x")); !errors.Is(err, perm.ErrInvalid) {
		t.Fatalf("writing over a folder: %v", err)
	}
}

func TestFileLimits(t *testing.T) {
	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}, Write: []string{dir}, Limits: perm.Limits{MaxFileBytes: 10}})
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "big"), []byte(strings.Repeat("x", 11)), 0o644))
	if _, _, err := p.ReadFile("big"); !errors.Is(err, perm.ErrTooLarge) {
		t.Fatalf("ReadFile over limit: %v", err)
	}
	if _, err := p.WriteFile("w", []byte(strings.Repeat("x", 11))); !errors.Is(err, perm.ErrTooLarge) {
		t.Fatalf("WriteFile over limit: %v", err)
	}
	if _, _, err := p.ReadFile("."); !errors.Is(err, perm.ErrInvalid) {
		t.Fatalf("ReadFile of a folder: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	cases := []perm.Config{
		{Base: dir, Read: []string{filepath.Join(dir, "missing")}},
		{Base: dir, Write: []string{""}},
		{Base: dir, Env: []string{"A=B"}},
		{Base: dir, Env: []string{"A*B*"}},
		{Base: dir, Net: []string{"host:99999"}},
		{Base: dir, Net: []string{"http://x/"}},
		{Base: filepath.Join(dir, "missing")},
	}
	for _, c := range cases {
		if _, err := perm.New(c); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", c)
		}
	}
}

func TestEnvAndRun(t *testing.T) {
	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir, Env: []string{"HOME", "APP_*"}, Run: []string{"true"}})
	must(t, err)
	for name, want := range map[string]bool{"HOME": true, "APP_X": true, "APP_": true, "APPX": false, "PATH": false, "HOMEX": false} {
		if got := p.EnvAllowed(name); got != want {
			t.Errorf("env %s allowed = %v, want %v", name, got, want)
		}
	}
	if err := p.Env("PATH"); !isDenied(err) || !strings.Contains(err.Error(), "--allow-env=PATH") {
		t.Errorf("Env(PATH) = %v", err)
	}
	if _, err := p.Run("true"); err != nil {
		t.Errorf("Run(true) = %v", err)
	}
	for _, prog := range []string{"sh", "true; rm -rf /", "/bin/sh"} {
		if _, err := p.Run(prog); err == nil {
			t.Errorf("Run(%q) allowed", prog)
		}
	}
	if _, err := p.Run("sh"); !isDenied(err) || !strings.Contains(err.Error(), "--allow-run=sh") {
		t.Errorf("Run(sh) = %v, want denied naming the flag", err)
	}
	if _, err := p.Run(""); !errors.Is(err, perm.ErrInvalid) {
		t.Errorf("Run(\"\") = %v", err)
	}
	all, _ := perm.New(perm.Config{Base: dir, Run: []string{"*"}})
	if _, err := all.Run("sh"); err != nil {
		t.Errorf("--allow-run=* refused sh: %v", err)
	}
}

func TestNet(t *testing.T) {
	refused := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.255.255.1:81/private", http.StatusFound)
	}))
	defer refused.Close()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }))
	defer ok.Close()

	dir := t.TempDir()
	p, err := perm.New(perm.Config{Base: dir})
	must(t, err)
	defer p.CloseIdle()
	client := p.HTTPClient(0)
	get := func(url string) (string, error) {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get(ok.URL); err != nil || body != "hi" {
		t.Fatalf("loopback: %q %v", body, err)
	}
	if body, err := get(strings.Replace(ok.URL, "127.0.0.1", "localhost", 1)); err != nil || body != "hi" {
		t.Fatalf("localhost resolves to loopback: %q %v", body, err)
	}
	_, err = get(refused.URL)
	if !isDenied(err) || !strings.Contains(err.Error(), "--allow-net=10.255.255.1:81") {
		t.Fatalf("redirect to a refused host: %v", err)
	}
	if _, err := get("http://10.255.255.1/"); !isDenied(err) {
		t.Fatalf("direct private address: %v", err)
	}
	// Allowing the address by CIDR lets the check pass (the dial itself
	// is not attempted here: CheckAddr only decides).
	wide, _ := perm.New(perm.Config{Base: dir, Net: []string{"10.0.0.0/8", "example.test:443"}})
	if _, err := wide.CheckAddr(context.Background(), "10.255.255.1:81"); err != nil {
		t.Fatalf("CIDR allow: %v", err)
	}
	if _, err := wide.CheckAddr(context.Background(), "192.168.1.1:80"); !isDenied(err) {
		t.Fatalf("outside CIDR: %v", err)
	}
	portOnly, _ := perm.New(perm.Config{Base: dir, Net: []string{"10.1.1.1:80"}})
	if _, err := portOnly.CheckAddr(context.Background(), "10.1.1.1:81"); !isDenied(err) {
		t.Fatalf("wrong port allowed: %v", err)
	}
	if _, err := portOnly.CheckAddr(context.Background(), "10.1.1.1:80"); err != nil {
		t.Fatalf("right port refused: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadFileRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	p, err := perm.New(perm.Config{Base: dir, Read: []string{dir}})
	must(t, err)
	_, _, err = p.ReadFile(fifo)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("reading a FIFO: %v", err)
	}
}
