package perm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// How file access is contained.
//
// Every allowed folder is opened once, in New, as an os.Root: a handle on
// the folder through which the operating system refuses any path that
// leaves it, by ".." or by a symbolic link, at the moment of each system
// call. A tool's path is matched against the allowed folders lexically
// (made absolute, cleaned, compared element by element), giving a Loc: an
// allowed folder's handle and the path inside it. Every operation then goes
// through that handle; nothing opens the path again by name. A link or a
// folder swapped in between a check and a use can therefore only lead
// somewhere inside the same allowed folder.
//
// os.Root follows a link only while it stays inside its folder, and never
// an absolute one. When an operation fails and the path holds such a link,
// the link is read through the handle, its target is matched lexically
// against the allowed folders like a path a tool gave, and the operation is
// retried through the handle of the folder it leads to (or refused, naming
// the flag that would allow it). So a link from one allowed folder into
// another still works, and a link out is refused.

// Access is what a tool wants to do with a path.
type Access uint8

// Accesses. Folders allowed for writing are readable too.
const (
	ForRead Access = iota
	ForWrite
)

func (a Access) String() string {
	if a == ForWrite {
		return "write"
	}
	return "read"
}

// maxLinks bounds the links followed while resolving one path, as the
// operating system does.
const maxLinks = 40

// MaxPath is the longest path a tool may give, in bytes, as Linux's
// PATH_MAX: the handles would reach deeper, one element at a time, but a
// path no other program could open is refused rather than walked.
const MaxPath = 4096

// root is one allowed folder, opened once. An allowed file is the root of
// its folder restricted to that one entry.
type root struct {
	path  string // absolute and resolved
	h     *os.Root
	write bool
	only  string // for an allowed file: its name in path; else ""
}

// contains reports whether abs (absolute and clean) lies in r, and where.
func (r *root) contains(abs string) (rel string, ok bool) {
	if r.only != "" {
		if abs == filepath.Join(r.path, r.only) {
			return r.only, true
		}
		return "", false
	}
	if abs == r.path {
		return ".", true
	}
	prefix := r.path
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += string(filepath.Separator)
	}
	if strings.HasPrefix(abs, prefix) {
		return abs[len(prefix):], true
	}
	return "", false
}

// Loc is a path inside one allowed folder: the folder's handle and the
// clean path below it. Its methods reach the file only through the
// handle. The zero Loc is not usable; get one from Set.Locate.
type Loc struct {
	s     *Set
	r     *root
	rel   string // clean and relative, "." for the folder itself
	acc   Access
	given string // the path as the tool gave it, for messages
}

// Path returns the absolute path of l.
func (l Loc) Path() string {
	if l.rel == "." {
		return l.r.path
	}
	return filepath.Join(l.r.path, l.rel)
}

// Given returns the path as the tool gave it.
func (l Loc) Given() string { return l.given }

// IsAllowedFolder reports whether l is one of the allowed folders itself
// (or the base folder), which tools refuse to delete or move.
func (l Loc) IsAllowedFolder() bool {
	return l.rel == "." && l.r.only == "" || l.Path() == l.s.base
}

// Same reports whether l and m name the same path.
func (l Loc) Same(m Loc) bool { return l.Path() == m.Path() }

// Within reports whether l is m or lies below it.
func (l Loc) Within(m Loc) bool {
	p, d := l.Path(), m.Path()
	return p == d || strings.HasPrefix(p, strings.TrimSuffix(d, string(filepath.Separator))+string(filepath.Separator))
}

// Join returns the Loc of name (a relative slash-separated path) below l,
// in the same allowed folder. name must not climb out with "..".
func (l Loc) Join(name string) (Loc, error) {
	n := filepath.Clean(filepath.FromSlash(name))
	if n == ".." || strings.HasPrefix(n, ".."+string(filepath.Separator)) || filepath.IsAbs(n) {
		return Loc{}, invalid("%s: %q leaves the folder", l.given, name)
	}
	m := l
	m.rel = filepath.Join(l.rel, n)
	m.given = filepath.Join(l.given, n)
	return m, nil
}

// Locate matches path against the folders allowed for acc and returns
// where it lies. It looks at no file: links in the path are dealt with by
// the Loc's methods, through the folder's handle. Relative paths resolve
// against the base folder. An empty path or one holding a NUL byte is
// ErrInvalid; a path outside the allowed folders is ErrDenied, naming the
// flag that would allow it.
func (s *Set) Locate(path string, acc Access) (Loc, error) {
	if path == "" {
		return Loc{}, invalid("empty path")
	}
	if strings.ContainsRune(path, 0) {
		return Loc{}, invalid("path %q contains a NUL byte", clip(path))
	}
	if len(path) > MaxPath {
		return Loc{}, invalid("path of %d bytes is longer than the %d-byte limit", len(path), MaxPath)
	}
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(s.base, abs)
	}
	abs = filepath.Clean(abs)
	if len(abs) > MaxPath {
		return Loc{}, invalid("path %s is longer than the %d-byte limit once made absolute", clip(abs), MaxPath)
	}
	l, ok := s.locate(abs, acc)
	if !ok {
		// The path may reach an allowed folder through links above it
		// (/tmp leading to /private/tmp, /proc/self to /proc/PID): match
		// it once those are resolved. This only chooses the folder; what
		// follows goes through its handle all the same.
		if r, err := resolvePrefix(abs); err == nil && r != abs {
			l, ok = s.locate(r, acc)
		}
		if !ok {
			return Loc{}, s.refuse(path, abs, acc)
		}
	}
	l.given = path
	return l, nil
}

// resolvePrefix resolves the links in the longest existing prefix of abs
// (absolute and clean) and appends the rest.
func resolvePrefix(abs string) (string, error) {
	var rest []string
	cur := abs
	for {
		r, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
		cur = parent
	}
}

// clip shortens a path for a message.
func clip(p string) string {
	if len(p) > 200 {
		return p[:200] + "..."
	}
	return p
}

// locate finds the deepest allowed folder holding abs with access acc.
func (s *Set) locate(abs string, acc Access) (Loc, bool) {
	var best *root
	var bestRel string
	for _, r := range s.roots {
		if acc == ForWrite && !r.write {
			continue
		}
		rel, ok := r.contains(abs)
		if !ok {
			continue
		}
		if best == nil || len(r.path) > len(best.path) {
			best, bestRel = r, rel
		}
	}
	if best == nil {
		return Loc{}, false
	}
	return Loc{s: s, r: best, rel: bestRel, acc: acc}, true
}

func (s *Set) refuse(path, abs string, acc Access) error {
	if acc == ForWrite {
		return denied("write %s: outside the writable folders; allow it with --allow-write=%s", path, suggestDir(abs))
	}
	return denied("read %s: outside the readable folders; allow it with --allow-read=%s", path, suggestDir(abs))
}

// resolve follows the links in l's path one element at a time, through
// the handles: every link when last is true, every one but the last
// element's otherwise. A link's target is matched lexically against the
// allowed folders, so a link into another allowed folder leads there and
// a link out is refused. It stops at the first element that does not
// exist. changed reports whether any link was followed.
func (s *Set) resolve(l Loc, last bool) (out Loc, changed bool, err error) {
	hops := 0
restart:
	if l.rel == "." {
		return l, changed, nil
	}
	parts := strings.Split(l.rel, string(filepath.Separator))
	for i := range parts {
		if i == len(parts)-1 && !last {
			break
		}
		p := filepath.Join(parts[:i+1]...)
		fi, err := l.r.h.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			if err != nil {
				break // missing or unreadable: nothing further to follow
			}
			continue
		}
		target, err := l.r.h.Readlink(p)
		if err != nil {
			break
		}
		if hops++; hops > maxLinks {
			return l, changed, &os.PathError{Op: "resolve", Path: l.given, Err: syscall.ELOOP}
		}
		abs := target
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(l.r.path, filepath.Dir(p), target)
		}
		abs = filepath.Join(append([]string{abs}, parts[i+1:]...)...)
		nl, ok := s.locate(abs, l.acc)
		if !ok {
			link := filepath.Join(l.r.path, p)
			if l.acc == ForWrite {
				return l, changed, denied("write %s: link %s leads to %s, outside the writable folders; allow it with --allow-write=%s",
					l.given, link, abs, suggestDir(abs))
			}
			return l, changed, denied("read %s: link %s leads to %s, outside the readable folders; allow it with --allow-read=%s",
				l.given, link, abs, suggestDir(abs))
		}
		nl.given = l.given
		l, changed = nl, true
		goto restart
	}
	return l, changed, nil
}

// retry runs op at l. When op fails and l's path holds a link os.Root
// would not follow (absolute, or leading out of its folder), the link is
// resolved and op runs again where it leads; a link out of the allowed
// folders is refused. last says whether a link in the last element is
// followed. It returns where op last ran.
func retry[T any](l Loc, last bool, op func(Loc) (T, error)) (T, Loc, error) {
	v, err := op(l)
	for hops := 0; err != nil && hops < maxLinks; hops++ {
		if errors.Is(err, ErrDenied) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge) {
			break
		}
		nl, changed, rerr := l.s.resolve(l, last)
		if rerr != nil {
			var zero T
			return zero, l, rerr
		}
		if !changed {
			break
		}
		l = nl
		v, err = op(l)
	}
	return v, l, err
}

// errFollow asks retry to follow a link in the last element: an
// operation that writes through a link returns it on finding one.
var errFollow = errors.New("follow the link")

// Resolve returns where path leads once every link in it is followed
// through the handles, for callers that need a plain path (a working
// directory, a file system's statistics). Reading or writing a file goes
// through a Loc's methods instead: a plain path may be swapped before it
// is used.
func (s *Set) Resolve(path string, acc Access) (string, error) {
	l, err := s.Locate(path, acc)
	if err != nil {
		return "", err
	}
	l, _, err = s.resolve(l, true)
	if err != nil {
		return "", err
	}
	return l.Path(), nil
}
