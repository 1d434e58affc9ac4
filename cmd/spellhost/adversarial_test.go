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
	"syscall"
	"testing"
	"time"

	"github.com/dustin/go-humanize"
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
//	-- file: PATH [has TEXT]   (after the run PATH exists, is not empty and
//	                            contains TEXT; repeatable)
//	-- mkdir: PATH             (a folder made before the run; repeatable)
//	-- limits: 1GiB 512MiB     (run once per value, as {{LIMIT}})
//	-- peak: 1.25              (exec: the process's peak resident memory
//	                            stays within 1.25 times --max-memory)
//	-- signal: TEXT -> INT INT (exec: once stdout has TEXT, send these
//	                            signals to the process group, back to back;
//	                            a duration such as 1200ms waits between)
//	-- fifo: PATH              (make a FIFO at PATH before the run, relative to
//	                            the script's folder; placeholders allowed; repeatable)
//
// Placeholders, in the run line and in the script's source:
//
//	{{SCRIPT}}   the script's path          {{DIR}}      its folder
//	{{ALLOWED}}  a folder for --allow-read/--allow-write
//	{{OUTSIDE}}  a folder no flag of the suite allows; it holds secret.txt
//	{{SECRET}}   {{OUTSIDE}}/secret.txt
//	{{OK_PORT}}  a loopback HTTP server a script may be allowed to reach;
//	             it answers "ok", and /redirect?to=URL[&code=N] with a
//	             redirect to URL (status N, default 302)
//	{{CANARY_PORT}} a loopback HTTP server no script may reach
//	{{DNS}}      the local DNS stub's address (in-process mode only)
//	{{SECRET_VAR}} an environment variable holding the secret's token, set
//	             for the run (in-process: the process environment, which
//	             tools and children see, and the one env() reads; exec: the
//	             binary's environment)
//	{{LIMIT}}    the value of the run (see limits)
//
// A folder NAME.files beside a script is copied into the script's folder
// first, and a folder NAME.allowed into {{ALLOWED}}, symbolic links as
// links and permission bits kept (so a fixture can hold programs, or a
// link that already leads out of an allowed folder, which no tool may
// make).
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

// secretToken is the content of the secret no script may read, and the
// value of the variable secretVar.
const (
	secretToken = "SPELLHOST-CANARY-5e3c1f9a"
	secretVar   = "SPELLHOST_ADV_SECRET"
)

var (
	advDirective = regexp.MustCompile(`(?m)^-- (adversarial|run|exit|stdout|stderr|not|allow|mode|file|mkdir|limits|peak|signal|fifo): ?(.*?)\s*$`)
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
	files   []advFile
	mkdirs  []string
	limits  []string
	peak    float64
	signal  *advSignal
}

// advFile is a file the run must leave behind.
type advFile struct{ path, has string }

// advSignal is when and what to signal.
type advSignal struct {
	after string
	steps []string // signal names (INT, TERM) and durations
}

var advSignals = map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM}

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
		case "file":
			path, has, _ := strings.Cut(val, " has ")
			h.files = append(h.files, advFile{path: path, has: has})
		case "mkdir":
			h.mkdirs = append(h.mkdirs, val)
		case "limits":
			h.limits = strings.Fields(val)
		case "peak":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || f < 1 {
				return h, fmt.Errorf("peak %q: want a factor of at least 1", val)
			}
			h.peak = f
		case "signal":
			after, steps, ok := strings.Cut(val, " -> ")
			if !ok || after == "" {
				return h, fmt.Errorf("signal %q: want TEXT -> INT ...", val)
			}
			sig := &advSignal{after: after, steps: strings.Fields(steps)}
			for _, st := range sig.steps {
				if _, ok := advSignals[st]; !ok {
					if _, err := time.ParseDuration(st); err != nil {
						return h, fmt.Errorf("signal step %q: want INT, TERM or a duration", st)
					}
				}
			}
			h.signal = sig
		case "fifo":
			if val == "" {
				return h, errors.New("fifo: want a path")
			}
			h.fifos = append(h.fifos, val)
		}
	}
	if (h.peak > 0 || h.signal != nil) && !h.exec {
		return h, errors.New("peak and signal need mode: exec")
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
		if r.URL.Path == "/redirect" {
			code, err := strconv.Atoi(r.URL.Query().Get("code"))
			if err != nil || code < 300 || code > 399 {
				code = http.StatusFound
			}
			http.Redirect(w, r, r.URL.Query().Get("to"), code)
			return
		}
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
		"{{SECRET_VAR}}", secretVar,
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
	advBinMu sync.Mutex
	advBin   string
)

// builtBinary builds cmd/spellhost once per test binary (again if a test's
// cleanup removed it), for tests that need a real process (signals,
// resident memory).
func builtBinary(t *testing.T) string {
	t.Helper()
	advBinMu.Lock()
	defer advBinMu.Unlock()
	if advBin != "" {
		if _, err := os.Stat(advBin); err == nil {
			return advBin
		}
	}
	dir, err := os.MkdirTemp("", "spellhost-adv-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "spellhost")
	for pkg, out := range map[string]string{".": bin, "./testdata/rsslauncher": filepath.Join(dir, "rsslauncher")} {
		if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	advBin = bin
	return bin
}

func removeAdvBin() {
	advBinMu.Lock()
	defer advBinMu.Unlock()
	if advBin != "" {
		os.RemoveAll(filepath.Dir(advBin))
		advBin = ""
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
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, fi.Mode().Perm())
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
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		h, err := parseAdvHeader(string(src))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(h.limits) == 0 {
			t.Run(name, func(t *testing.T) { runAdversarial(t, path, string(src), h, "") })
			continue
		}
		for _, limit := range h.limits {
			t.Run(name+"/"+limit, func(t *testing.T) { runAdversarial(t, path, string(src), h, limit) })
		}
	}
}

func runAdversarial(t *testing.T, path, src string, h advHeader, limit string) {
	src = strings.ReplaceAll(src, "{{LIMIT}}", limit)
	h.run = strings.ReplaceAll(h.run, "{{LIMIT}}", limit)
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
	if err := os.WriteFile(script, []byte(f.expand(src, script)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range h.mkdirs {
		d = f.expand(d, script)
		if rel, err := filepath.Rel(f.allowed, d); err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("mkdir %s: outside {{ALLOWED}}", d)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
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
	var peak uint64
	t0 := time.Now()
	if h.exec {
		code, stdout, stderr, peak = execSpellhost(t, f, args, h.signal)
	} else {
		t.Setenv(secretVar, secretToken)
		gs, out, errb := testState(t, map[string]string{secretVar: secretToken})
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
	for _, want := range h.files {
		p := f.expand(want.path, script)
		if b, err := os.ReadFile(p); err != nil || len(b) == 0 {
			bad("file %s: %v (%d bytes)", p, err, len(b))
		} else if want.has != "" && !strings.Contains(string(b), f.expand(want.has, script)) {
			bad("file %s lacks %q", p, want.has)
		}
	}
	if h.peak > 0 {
		max, err := maxMemoryArg(args)
		switch {
		case err != nil:
			bad("peak: %v", err)
		case peak > uint64(h.peak*float64(max)):
			bad("peak resident memory %d MiB, over %.2f times --max-memory (%d MiB)", peak>>20, h.peak, max>>20)
		default:
			t.Logf("peak resident memory %d MiB, %.2f times --max-memory=%d MiB", peak>>20, float64(peak)/float64(max), max>>20)
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

// execSpellhost runs the built binary with args in the script's folder, in
// a process group of its own, sends it sig's signals when asked, and
// returns its exit code, streams and peak resident memory.
func execSpellhost(t *testing.T, f *advFixture, args []string, sig *advSignal) (exitcode.Code, string, string, uint64) {
	t.Helper()
	bin := builtBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The binary starts from a small launcher, so its peak resident memory
	// is its own and not this test process's (see testdata/rsslauncher).
	peakFile := filepath.Join(t.TempDir(), "peak")
	cmd := exec.CommandContext(ctx, filepath.Join(filepath.Dir(bin), "rsslauncher"), append([]string{peakFile, bin}, args...)...)
	cmd.Dir = f.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.dir, "TMPDIR=" + os.TempDir(), secretVar + "=" + secretToken}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errb bytes.Buffer
	cmd.Stderr = &errb
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read stdout as it comes, to signal once it shows the trigger.
	buf := make([]byte, 4096)
	sent := sig == nil
	for {
		n, rerr := pipe.Read(buf)
		out.Write(buf[:n])
		if !sent && strings.Contains(out.String(), sig.after) {
			sent = true
			for _, st := range sig.steps {
				if s, ok := advSignals[st]; ok {
					syscall.Kill(-cmd.Process.Pid, s)
				} else {
					d, _ := time.ParseDuration(st)
					time.Sleep(d)
				}
			}
		}
		if rerr != nil {
			break
		}
	}
	err = cmd.Wait()
	var peak uint64
	if b, rerr := os.ReadFile(peakFile); rerr == nil {
		peak, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String(), peak
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return exitcode.Code(ee.ExitCode()), out.String(), errb.String(), peak
	default:
		t.Fatalf("%s: %v (%s)", bin, err, runtime.GOOS)
		return 0, "", "", 0
	}
}

// maxMemoryArg returns the --max-memory value of a run line.
func maxMemoryArg(args []string) (uint64, error) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--max-memory="); ok {
			return humanize.ParseBytes(v)
		}
		if a == "--max-memory" && i+1 < len(args) {
			return humanize.ParseBytes(args[i+1])
		}
	}
	return 0, errors.New("the run line has no --max-memory")
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
	h, err = parseAdvHeader("-- adversarial: x\n-- exit: 105\n-- mode: exec\n-- file: {{ALLOWED}}/s.json has \"status\": \"x\"\n" +
		"-- limits: 1GiB 512MiB\n-- peak: 1.25\n-- signal: ready now -> INT 1200ms TERM\n")
	if err != nil || len(h.files) != 1 || h.files[0] != (advFile{"{{ALLOWED}}/s.json", `"status": "x"`}) ||
		!slices.Equal(h.limits, []string{"1GiB", "512MiB"}) || h.peak != 1.25 ||
		h.signal.after != "ready now" || !slices.Equal(h.signal.steps, []string{"INT", "1200ms", "TERM"}) {
		t.Fatalf("%+v %+v %v", h, h.signal, err)
	}
	if n, err := maxMemoryArg([]string{"run", "--max-memory=512MiB", "x.lua"}); err != nil || n != 512<<20 {
		t.Fatalf("maxMemoryArg: %d %v", n, err)
	}
	for src, want := range map[string]string{
		"-- exit: 0\n":                                                              "adversarial",
		"-- adversarial: x\n":                                                       "exit",
		"-- adversarial: x\n-- exit: x\n":                                           "bad or repeated exit",
		"-- adversarial: x\n-- exit: 0\n-- allow: all\n":                            "want dns or canary",
		"-- adversarial: x\n-- exit: 0\n-- mode: fork\n":                            "want exec",
		"-- adversarial: x\n-- exit: 0\n-- peak: 0.5\n":                             "want a factor",
		"-- adversarial: x\n-- exit: 0\n-- peak: 1.25\n":                            "need mode: exec",
		"-- adversarial: x\n-- exit: 0\n-- mode: exec\n-- signal: INT INT\n":        "want TEXT ->",
		"-- adversarial: x\n-- exit: 0\n-- mode: exec\n-- signal: go -> INT KILL\n": "want INT, TERM or a duration",
		"-- adversarial: x\n-- exit: 0\n-- fifo:\n":                                 "fifo: want a path",
	} {
		if _, err := parseAdvHeader(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want an error containing %q", src, err, want)
		}
	}
}
