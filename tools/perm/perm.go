// Package perm is spellhost's permission model: which files tools may read
// and write, which hosts they may reach, which programs they may run and
// which environment variables they may see. It follows Deno's flags
// (--allow-read, --allow-write, --allow-net, --allow-run, --allow-env,
// --allow-all).
//
// Containment is real: every allowed folder is opened once as a handle
// (os.Root) and every file operation goes through it, so the operating
// system itself refuses a path that leaves the folder, by ".." or by a
// link, even one swapped in after a check (see root.go). Paths are matched
// with the allowed folders element by element, so /tmp never admits
// /tmpfoo, and a link out of an allowed folder is refused.
//
// Network access is judged on the host as written, before any lookup: a
// name the allow list does not name is refused without a DNS query, and
// only the checked addresses are dialled, on every connection and every
// redirect (see net.go).
package perm

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"spellhost/tools"
)

// Sentinels. Each carries its tool error type (tools.Typed), so
// tools.TypeOf classifies ErrDenied as permission_denied and ErrInvalid as
// validation_error, and so does every error that matches them.
var (
	ErrDenied  error = &kind{"permission denied", tools.TypePermission}
	ErrInvalid error = &kind{"invalid argument", tools.TypeValidation}
)

// kind is a sentinel with its tool error type.
type kind struct {
	msg string
	typ tools.ErrorType
}

func (k *kind) Error() string              { return k.msg }
func (k *kind) ErrorType() tools.ErrorType { return k.typ }

type permError struct {
	kind *kind
	msg  string
}

func (e *permError) Error() string              { return e.msg }
func (e *permError) Is(target error) bool       { return target == e.kind }
func (e *permError) ErrorType() tools.ErrorType { return e.kind.typ }

func invalid(format string, args ...any) error {
	return &permError{ErrInvalid.(*kind), fmt.Sprintf(format, args...)}
}

// Limits on what tools may move. Zero fields take the defaults.
type Limits struct {
	// MaxFileBytes caps a file a tool reads or writes (default 64 MiB).
	MaxFileBytes int64
	// MaxResponseBytes caps an HTTP response body (default 16 MiB).
	MaxResponseBytes int64
	// MaxOutputBytes caps a process's stdout and stderr, each (default 1 MiB).
	MaxOutputBytes int64
}

// Default limits.
const (
	DefaultMaxFileBytes     = 64 << 20
	DefaultMaxResponseBytes = 16 << 20
	DefaultMaxOutputBytes   = 1 << 20
)

// Set is a resolved set of permissions. The zero value allows nothing; use
// New. A Set is immutable after New and safe for concurrent use.
type Set struct {
	all   bool
	base  string  // folder that relative paths resolve against
	roots []*root // allowed folders and files, opened
	net   netRules
	dns   *net.Resolver
	run   []string
	env   []string
	lim   Limits

	trOnce sync.Once
	tr     *http.Transport

	// linkMu is held while a link is made or moved (with the folder that
	// holds it), so that checking where a link leads and putting it there
	// is one step for every tool.
	linkMu sync.Mutex
}

// Config is what the command line asked for.
type Config struct {
	// Base resolves relative paths (the script's folder).
	Base string
	// Read and Write list allowed folders or files. Write implies read.
	// Base is readable only when listed.
	Read, Write []string
	// Net lists allowed hosts: "host", "host:port", an IP or "IP:port"
	// ("[::1]:8080"), or a CIDR ("10.0.0.0/8"); "*" allows any. Nil
	// allows loopback only (127.0.0.0/8, ::1 and localhost); a list, even
	// empty, allows exactly what it names, loopback included. A name
	// entry allows that name and whatever it resolves to; address entries
	// allow IP addresses, never names.
	Net []string
	// Run lists programs, by bare name (looked up in PATH) or path; "*"
	// allows any program.
	Run []string
	// Env lists variable names; a trailing * matches a prefix ("APP_*").
	// It governs what a script may read and what it may pass to the
	// programs it runs (ChildEnv).
	Env []string
	// All allows everything (--allow-all).
	All    bool
	Limits Limits
	// Resolver looks up the host names Net allows (default
	// net.DefaultResolver); it is the only resolver the tools use. Tests
	// point it at a local DNS stub to see which names were asked for.
	Resolver *net.Resolver
}

// New resolves cfg. Folders that do not exist are an error, so a typo in a
// flag is reported instead of silently allowing nothing.
func New(cfg Config) (*Set, error) {
	s := &Set{all: cfg.All, lim: cfg.Limits, run: slices.Clone(cfg.Run), dns: cfg.Resolver}
	if s.dns == nil {
		s.dns = net.DefaultResolver
	}
	if s.lim.MaxFileBytes <= 0 {
		s.lim.MaxFileBytes = DefaultMaxFileBytes
	}
	if s.lim.MaxResponseBytes <= 0 {
		s.lim.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if s.lim.MaxOutputBytes <= 0 {
		s.lim.MaxOutputBytes = DefaultMaxOutputBytes
	}
	base := cfg.Base
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("permissions: %w", err)
		}
		base = wd
	}
	b, err := resolveDir(base, "")
	if err != nil {
		return nil, fmt.Errorf("permissions: base folder: %w", err)
	}
	s.base = b
	if err := s.openRoots(cfg); err != nil {
		s.Close()
		return nil, err
	}
	for _, v := range cfg.Env {
		if v == "" || strings.ContainsAny(v, "=\x00") || strings.Contains(strings.TrimSuffix(v, "*"), "*") {
			return nil, fmt.Errorf("--allow-env=%s: want a variable name, or a prefix ending in *", v)
		}
		s.env = append(s.env, v)
	}
	for _, c := range cfg.Run {
		if c == "" || strings.ContainsAny(c, "\x00") {
			return nil, fmt.Errorf("--allow-run: empty program name")
		}
	}
	if s.net, err = parseNet(cfg.Net); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openRoots opens a handle on every allowed folder (for an allowed file,
// on its folder). With All, the handle is on the file system's root.
func (s *Set) openRoots(cfg Config) error {
	byPath := map[string]*root{}
	add := func(flag, d string, write bool) error {
		r, err := resolveDir(d, s.base)
		if err != nil {
			return fmt.Errorf("%s=%s: %w", flag, d, err)
		}
		fi, err := os.Stat(r)
		if err != nil {
			return fmt.Errorf("%s=%s: %w", flag, d, err)
		}
		dir, only := r, ""
		if !fi.IsDir() {
			dir, only = filepath.Dir(r), filepath.Base(r)
		}
		key := dir + "\x00" + only
		if old, ok := byPath[key]; ok {
			old.write = old.write || write
			return nil
		}
		h, err := os.OpenRoot(dir)
		if err != nil {
			return fmt.Errorf("%s=%s: %w", flag, d, err)
		}
		rt := &root{path: dir, h: h, write: write, only: only}
		byPath[key] = rt
		s.roots = append(s.roots, rt)
		return nil
	}
	if s.all {
		return add("--allow-all", string(filepath.Separator), true)
	}
	for _, d := range cfg.Read {
		if err := add("--allow-read", d, false); err != nil {
			return err
		}
	}
	for _, d := range cfg.Write {
		if err := add("--allow-write", d, true); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the handles on the allowed folders and the idle network
// connections. File operations fail after it.
func (s *Set) Close() error {
	for _, r := range s.roots {
		r.h.Close()
	}
	s.CloseIdle()
	return nil
}

func resolveDir(p, base string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	r, err := filepath.EvalSymlinks(filepath.Clean(p))
	if err != nil {
		return "", err
	}
	return r, nil
}

// Limits returns the size limits.
func (s *Set) Limits() Limits { return s.lim }

// Base returns the folder relative paths resolve against.
func (s *Set) Base() string { return s.base }

// AllowsAll reports whether --allow-all is in force.
func (s *Set) AllowsAll() bool { return s.all }

// Read checks that path may be read and returns where it leads (see
// Resolve). Folders allowed for writing are readable too.
func (s *Set) Read(path string) (string, error) { return s.Resolve(path, ForRead) }

// Write checks that path may be written (created, changed or removed) and
// returns where it leads (see Resolve).
func (s *Set) Write(path string) (string, error) { return s.Resolve(path, ForWrite) }

// Env checks that the variable may be read.
func (s *Set) Env(name string) error {
	if s.all {
		return nil
	}
	for _, v := range s.env {
		if v == name || strings.HasSuffix(v, "*") && strings.HasPrefix(name, strings.TrimSuffix(v, "*")) {
			return nil
		}
	}
	return denied("environment variable %s: not allowed; allow it with --allow-env=%s", name, name)
}

// EnvAllowed reports whether the variable may be read, without an error.
func (s *Set) EnvAllowed(name string) bool { return s.Env(name) == nil }

// Run checks that the program may be started and returns the path to run.
// A bare name is looked up in PATH; the allow list matches the name as
// given or the resolved path.
func (s *Set) Run(program string) (string, error) {
	if program == "" {
		return "", invalid("empty program name")
	}
	if strings.ContainsAny(program, "\x00\n") {
		return "", invalid("program name %q contains a control character", program)
	}
	path, err := lookPath(program, s.base)
	if err != nil {
		return "", fmt.Errorf("program %q: %w", program, err)
	}
	if s.all || slices.Contains(s.run, "*") {
		return path, nil
	}
	for _, a := range s.run {
		if a == program || a == path {
			return path, nil
		}
		if ap, err := lookPath(a, s.base); err == nil && ap == path {
			return path, nil
		}
	}
	return "", denied("run %s: not allowed; allow it with --allow-run=%s", program, program)
}

func lookPath(program, base string) (string, error) {
	if strings.ContainsRune(program, filepath.Separator) {
		p := program
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		r, err := filepath.EvalSymlinks(filepath.Clean(p))
		if err != nil {
			return "", err
		}
		return r, nil
	}
	p, err := execLookPath(program)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r, nil
	}
	return p, nil
}

func suggestDir(p string) string {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return p
	}
	return filepath.Dir(p)
}

func denied(format string, args ...any) error {
	return &permError{ErrDenied.(*kind), fmt.Sprintf(format, args...)}
}
