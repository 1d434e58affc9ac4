package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"spellhost/host/exitcode"
)

// The adversarial suite: every testdata/adversarial/SURFACE/NAME.lua is an
// attack on the sandbox, run as a user would run it, with its expected
// outcome in its header:
//
//	-- adversarial: what the script tries
//	-- run: run --allow-read={{ALLOWED}} {{SCRIPT}} -- a b    (default: run {{SCRIPT}})
//	-- exit: N
//	-- stdout: text the standard output must contain (repeatable)
//	-- stderr: text the standard error must contain (repeatable)
//	-- not: text no output may contain (repeatable)
//	-- allow: dns | canary     (relax a global rule below, with a reason)
//	-- mode: exec              (run the built binary as a subprocess)
//	-- fifo: PATH              (make a FIFO at PATH before the run, relative to
//	                            the script's folder; placeholders allowed; repeatable)
//
// Placeholders, in the run line and in the script's source:
//
//	{{SCRIPT}}   the script's path          {{DIR}}      its folder
//	{{ALLOWED}}  a folder for --allow-read/--allow-write
//	{{OUTSIDE}}  a folder no flag of the suite allows; it holds secret.txt
//	{{SECRET}}   {{OUTSIDE}}/secret.txt
//	{{OK_PORT}}  a loopback HTTP server a script may be allowed to reach
//	{{CANARY_PORT}} a loopback HTTP server no script may reach
//	{{DNS}}      the local DNS stub's address (in-process mode only)
//
// A folder NAME.files beside a script is copied into the script's folder
// first, and a folder NAME.allowed into {{ALLOWED}}, symbolic links as
// links (so a fixture can hold a link that already leads out of an allowed
// folder, which no tool may make).
//
// Rules that hold for every script, whatever its header:
//   - the secret's token never appears in any output, nor in any file under
//     the fixture (allowed folder included), except the secret itself;
//   - nothing under the fixture outside {{ALLOWED}} is created, changed or
//     removed;
//   - the canary server gets no request (unless "-- allow: canary");
//   - the DNS stub gets no query (unless "-- allow: dns"): a name the
//     permissions refuse is refused without a lookup.
//
// The script's folder sits three levels below the fixture's root
// (root/home/user/script), so a relative escape such as ../../.. lands
// inside the fixture where the rules above can see it.

// secretToken is the content of the secret no script may read.
const secretToken = "SPELLHOST-CANARY-5e3c1f9a"

var (
	advDirective = regexp.MustCompile(`(?m)^-- (adversarial|run|exit|stdout|stderr|not|allow|mode|fifo): ?(.*?)\s*$`)
)

type advHeader struct {
	what    string
	run     string
	exit    exitcode.Code
	stdout  []string
	stderr  []string
	not     []string
	allow   map[string]bool
	fifos   []string
	exec    bool
	hasExit bool
}

func parseAdvHeader(src string) (advHeader, error) {
	h := advHeader{allow: map[string]bool{}}
	for _, m := range advDirective.FindAllStringSubmatch(src, -1) {
		key, val := m[1], m[2]
		switch key {
		case "adversarial":
			h.what = val
		case "run":
			if h.run != "" {
				return h, errors.New("two run lines")
			}
			h.run = val
		case "exit":
			n, err := strconv.Atoi(val)
			if err != nil || h.hasExit {
				return h, fmt.Errorf("bad or repeated exit line %q", val)
			}
			h.exit, h.hasExit = exitcode.Code(n), true
		case "stdout":
			h.stdout = append(h.stdout, val)
		case "stderr":
			h.stderr = append(h.stderr, val)
		case "not":
			h.not = append(h.not, val)
		case "allow":
			w, _, _ := strings.Cut(val, " ")
			if w != "dns" && w != "canary" {
				return h, fmt.Errorf("allow %q: want dns or canary", w)
			}
			h.allow[w] = true
		case "mode":
			if val != "exec" {
				return h, fmt.Errorf("mode %q: want exec", val)
			}
			h.exec = true
		case "fifo":
			if val == "" {
				return h, errors.New("fifo: want a path")
			}
			h.fifos = append(h.fifos, val)
		}
	}
	if h.what == "" {
		return h, errors.New(`no "-- adversarial: ..." line`)
	}
	if !h.hasExit {
		return h, errors.New(`no "-- exit: N" line`)
	}
	if h.run == "" {
		h.run = "run {{SCRIPT}}"
	}
	return h, nil
}

// advFixture is the world one adversarial script runs in.
type advFixture struct {
	root, dir, allowed, outside string
	okSrv, canary               *httptest.Server
	canaryHits                  atomic.Int64
	dns                         *dnsStub
}

func newAdvFixture(t *testing.T) *advFixture {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &advFixture{
		root:    root,
		dir:     filepath.Join(root, "home", "user", "script"),
		allowed: filepath.Join(root, "allowed"),
		outside: filepath.Join(root, "outside"),
	}
	for _, d := range []string{f.dir, f.allowed, f.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(f.outside, "secret.txt"), []byte(secretToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.okSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(f.okSrv.Close)
	f.canary = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.canaryHits.Add(1)
		fmt.Fprintln(w, "canary")
	}))
	t.Cleanup(f.canary.Close)
	f.dns = startDNSStub(t)
	return f
}

func port(srv *httptest.Server) string {
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return p
}

func (f *advFixture) expand(s, script string) string {
	return strings.NewReplacer(
		"{{SCRIPT}}", script,
		"{{DIR}}", f.dir,
		"{{ALLOWED}}", f.allowed,
		"{{OUTSIDE}}", f.outside,
		"{{SECRET}}", filepath.Join(f.outside, "secret.txt"),
		"{{OK_PORT}}", port(f.okSrv),
		"{{CANARY_PORT}}", port(f.canary),
		"{{DNS}}", f.dns.addr,
	).Replace(s)
}

// snapshot describes every entry under root except the allowed folder:
// path, type, size, mode and link target.
func (f *advFixture) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(f.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == f.allowed {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		if fi.Mode().IsRegular() {
			desc += " " + strconv.FormatInt(fi.Size(), 10)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		out[p] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return out
}

// tokenIn lists the regular files under root, other than the secret, that
// contain the secret's token.
func (f *advFixture) tokenIn(t *testing.T) []string {
	t.Helper()
	var found []string
	secret := filepath.Join(f.outside, "secret.txt")
	filepath.WalkDir(f.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == secret || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(secretToken)) {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// dnsStub answers every DNS query with NXDOMAIN and records the names
// asked for.
type dnsStub struct {
	addr  string
	conn  net.PacketConn
	mu    sync.Mutex
	names []string
	done  chan struct{}
}

func startDNSStub(t *testing.T) *dnsStub {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsStub{addr: pc.LocalAddr().String(), conn: pc, done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() { pc.Close(); <-s.done })
	return s
}

func (s *dnsStub) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		s.mu.Lock()
		s.names = append(s.names, q.Name.String())
		s.mu.Unlock()
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RCode: dnsmessage.RCodeNameError})
		b.EnableCompression()
		b.StartQuestions()
		b.Question(q)
		if msg, err := b.Finish(); err == nil {
			s.conn.WriteTo(msg, from)
		}
	}
}

func (s *dnsStub) queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.names)
}

// resolver sends every lookup to the stub.
func (s *dnsStub) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.addr)
	}}
}

var (
	advBinOnce sync.Once
	advBin     string
	advBinErr  error
)

// builtBinary builds cmd/spellhost once per test binary, for scripts that
// need a real process (signals, resident memory).
func builtBinary(t *testing.T) string {
	t.Helper()
	advBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spellhost-adv-bin-")
		if err != nil {
			advBinErr = err
			return
		}
		advBin = filepath.Join(dir, "spellhost")
		out, err := exec.Command("go", "build", "-o", advBin, ".").CombinedOutput()
		if err != nil {
			advBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if advBinErr != nil {
		t.Fatal(advBinErr)
	}
	return advBin
}

func removeAdvBin() {
	if advBin != "" {
		os.RemoveAll(filepath.Dir(advBin))
	}
}

// copyTree copies src into dst, links as links.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, 0o644)
		}
	})
}

// TestAdversarial runs the adversarial suite.
func TestAdversarial(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "adversarial", "*", "*.lua"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no scripts under testdata/adversarial")
	}
	t.Cleanup(removeAdvBin)
	for _, path := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(path), "testdata/adversarial/"), ".lua")
		t.Run(name, func(t *testing.T) { runAdversarial(t, path) })
	}
}

func runAdversarial(t *testing.T, path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseAdvHeader(string(src))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	f := newAdvFixture(t)
	for suffix, dst := range map[string]string{".files": f.dir, ".allowed": f.allowed} {
		if extra := strings.TrimSuffix(path, ".lua") + suffix; dirExists(extra) {
			if err := copyTree(extra, dst); err != nil {
				t.Fatalf("copy %s: %v", extra, err)
			}
		}
	}
	script := filepath.Join(f.dir, filepath.Base(path))
	for _, p := range h.fifos {
		p = f.expand(p, script)
		if !filepath.IsAbs(p) {
			p = filepath.Join(f.dir, p)
		}
		if err := mkfifo(p); err != nil {
			t.Skipf("fifo %s: %v", p, err)
		}
	}
	if err := os.WriteFile(script, []byte(f.expand(string(src), script)), 0o644); err != nil {
		t.Fatal(err)
	}
	before := f.snapshot(t)
	args := strings.Fields(f.expand(h.run, script))
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("run line %q: want run ...", h.run)
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--timeout") }) {
		// A safety net: a hung script fails with 102 instead of hanging.
		args = append([]string{"run", "--timeout=60s"}, args[1:]...)
	}

	var code exitcode.Code
	var stdout, stderr string
	t0 := time.Now()
	if h.exec {
		code, stdout, stderr = execSpellhost(t, f, args)
	} else {
		gs, out, errb := testState(t, nil)
		gs.getwd = func() (string, error) { return f.dir, nil }
		gs.resolver = f.dns.resolver()
		code = Main(gs, args)
		stdout, stderr = out.String(), errb.String()
	}
	took := time.Since(t0)
	show := func() string {
		return fmt.Sprintf("spellhost %s (took %v)\n--- stdout:\n%s\n--- stderr:\n%s",
			strings.Join(args, " "), took.Round(time.Millisecond), stdout, stderr)
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if code != h.exit {
		bad("exit %d, want %d", code, h.exit)
	}
	for _, s := range h.stdout {
		if !strings.Contains(stdout, f.expand(s, script)) {
			bad("stdout lacks %q", s)
		}
	}
	for _, s := range h.stderr {
		if !strings.Contains(stderr, f.expand(s, script)) {
			bad("stderr lacks %q", s)
		}
	}
	for _, s := range append(slices.Clone(h.not), secretToken) {
		if strings.Contains(stdout+stderr, f.expand(s, script)) {
			bad("the output contains %q", s)
		}
	}
	if found := f.tokenIn(t); len(found) > 0 {
		bad("the secret's token was copied into %s", strings.Join(found, ", "))
	}
	after := f.snapshot(t)
	for p, d := range after {
		if b, ok := before[p]; !ok {
			bad("created outside the allowed folder: %s (%s)", p, d)
		} else if b != d {
			bad("changed outside the allowed folder: %s (%s, was %s)", p, d, b)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			bad("removed outside the allowed folder: %s", p)
		}
	}
	if n := f.canaryHits.Load(); n > 0 && !h.allow["canary"] {
		bad("the canary server was reached %d times", n)
	}
	if q := f.dns.queries(); len(q) > 0 && !h.allow["dns"] && !h.exec {
		bad("DNS was asked for %s", strings.Join(q, ", "))
	}
	if len(problems) > 0 {
		t.Fatalf("%s\n%s", strings.Join(problems, "\n"), show())
	}
	t.Logf("%s: exit %d in %v", h.what, code, took.Round(time.Millisecond))
}

// execSpellhost runs the built binary with args in the script's folder.
func execSpellhost(t *testing.T, f *advFixture, args []string) (exitcode.Code, string, string) {
	t.Helper()
	bin := builtBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = f.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.dir, "TMPDIR=" + os.TempDir()}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return exitcode.Code(ee.ExitCode()), out.String(), errb.String()
	default:
		t.Fatalf("%s: %v (%s)", bin, err, runtime.GOOS)
		return 0, "", ""
	}
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// TestAdversarialHeader checks the header reader, so a broken header fails
// clearly rather than passing.
func TestAdversarialHeader(t *testing.T) {
	h, err := parseAdvHeader("-- adversarial: x\n-- run: run --allow-net {{SCRIPT}}\n-- exit: 107\n-- stderr: boom\n-- allow: dns because\n")
	if err != nil || h.exit != 107 || h.run != "run --allow-net {{SCRIPT}}" || !h.allow["dns"] || len(h.stderr) != 1 {
		t.Fatalf("%+v %v", h, err)
	}
	for src, want := range map[string]string{
		"-- exit: 0\n":                                   "adversarial",
		"-- adversarial: x\n":                            "exit",
		"-- adversarial: x\n-- exit: x\n":                "bad or repeated exit",
		"-- adversarial: x\n-- exit: 0\n-- allow: all\n": "want dns or canary",
		"-- adversarial: x\n-- exit: 0\n-- mode: fork\n": "want exec",
		"-- adversarial: x\n-- exit: 0\n-- fifo:\n":      "fifo: want a path",
	} {
		if _, err := parseAdvHeader(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want an error containing %q", src, err, want)
		}
	}
}
