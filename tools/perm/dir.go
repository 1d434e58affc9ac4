package perm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dir is a folder inside an allowed folder, opened as a handle of its own:
// walking a tree goes from handle to handle, never re-reading a path by
// name, and never through a link.
type Dir struct {
	h   *os.Root
	loc Loc
}

// OpenDir opens the folder at l, following links as far as they stay
// inside the allowed folders. A path that is not a folder is a
// *NotRegularError naming its kind, or ENOTDIR.
func (l Loc) OpenDir() (*Dir, error) {
	d, _, err := retry(l, true, func(l Loc) (*Dir, error) {
		h, err := openDirRoot(l.r.h, l.rel)
		if err != nil {
			return nil, err
		}
		return &Dir{h: h, loc: l}, nil
	})
	return d, err
}

// openDirRoot opens the folder name in parent as a handle of its own. It
// never blocks: the name is opened as a folder only, without waiting, so a
// FIFO or device swapped in for the folder is refused rather than opened
// (os.Root.OpenRoot would open it and wait).
func openDirRoot(parent *os.Root, name string) (*os.Root, error) {
	f, err := parent.OpenFile(name, os.O_RDONLY|openDirectory|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &NotRegularError{Path: name, Mode: fi.Mode().Type()}
	}
	return rootOf(f, parent, name)
}

// reopenRoot opens name in parent as a handle and checks it is the folder
// f holds.
func reopenRoot(f *os.File, parent *os.Root, name string) (*os.Root, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h, err := parent.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	if now, err := h.Stat("."); err != nil || !os.SameFile(fi, now) {
		h.Close()
		return nil, fmt.Errorf("open %s: it changed while being opened", name)
	}
	return h, nil
}

// Close releases the folder's handle.
func (d *Dir) Close() error { return d.h.Close() }

// Loc returns where the folder was opened.
func (d *Dir) Loc() Loc { return d.loc }

// Path returns the folder's absolute path as opened.
func (d *Dir) Path() string { return d.loc.Path() }

// Entries lists the folder in name order. Each entry's Info describes the
// entry itself (a link is not followed), read through the handle.
func (d *Dir) Entries() ([]fs.DirEntry, error) {
	f, err := d.h.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	des, err := f.ReadDir(-1)
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return des, err
}

// Handle opens the folder itself, for what needs an open file (watching
// it, reading the statistics of its file system).
func (d *Dir) Handle() (*os.File, error) { return d.h.Open(".") }

// Sub opens the subfolder name, refusing a link (even one that stays
// inside) and anything swapped in for the folder while it was opened.
func (d *Dir) Sub(name string) (*Dir, error) {
	if err := plainName(name); err != nil {
		return nil, err
	}
	fi, err := d.h.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &NotRegularError{Path: filepath.Join(d.loc.given, name), Mode: fi.Mode().Type()}
	}
	h, err := openDirRoot(d.h, name)
	if err != nil {
		return nil, err
	}
	if now, err := h.Stat("."); err != nil || !os.SameFile(fi, now) {
		h.Close()
		return nil, fmt.Errorf("open %s: it changed while being opened", filepath.Join(d.loc.given, name))
	}
	sub, _ := d.loc.Join(name)
	return &Dir{h: h, loc: sub}, nil
}

// Lstat describes the entry name without following a link.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	if err := plainName(name); err != nil {
		return nil, err
	}
	return d.h.Lstat(name)
}

// Readlink returns the target of the link name, as written in it.
func (d *Dir) Readlink(name string) (string, error) {
	if err := plainName(name); err != nil {
		return "", err
	}
	return d.h.Readlink(name)
}

// Open opens the regular file name in the folder (see OpenRegular). A
// link is followed as far as it stays inside the allowed folders.
func (d *Dir) Open(name string) (*File, error) {
	if err := plainName(name); err != nil {
		return nil, err
	}
	f, fi, err := OpenRegular(d.h, name)
	if err == nil {
		at, _ := d.loc.Join(name)
		return &File{File: f, Info: fi, Loc: at}, nil
	}
	if errors.Is(err, ErrNotRegular) {
		return nil, notRegularAt(filepath.Join(d.loc.given, name), err)
	}
	// A link out of this folder: resolve it as a path of its own.
	if lfi, lerr := d.h.Lstat(name); lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
		l, _ := d.loc.Join(name)
		return l.Open()
	}
	return nil, err
}

func plainName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, filepath.Separator) || strings.ContainsRune(name, 0) {
		return invalid("%q is not a name inside a folder", name)
	}
	return nil
}

// Symlink creates at l a link to target, as written. It refuses (with
// ErrInvalid) a target that, read from l's folder, leads outside l's
// allowed folder: copies and moves never make a way out.
func (l Loc) Symlink(target string) error {
	l.s.linkMu.Lock()
	defer l.s.linkMu.Unlock()
	// Where the link lands, every link on the way resolved: the target is
	// read from there. Every tool that makes or moves a link holds linkMu,
	// so no link on the way changes meanwhile.
	at, _, err := l.s.resolve(l, false)
	if err != nil {
		return err
	}
	if err := at.linkInside(at.rel, target); err != nil {
		return err
	}
	return at.r.h.Symlink(target, at.rel)
}

// linkInside checks that a link at rel in l's allowed folder, holding
// target, leads inside that folder.
func (l Loc) linkInside(rel, target string) error {
	if target == "" || strings.ContainsRune(target, 0) {
		return invalid("link %s: empty or invalid target", filepath.Join(l.r.path, rel))
	}
	abs := target
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(l.r.path, filepath.Dir(rel), target)
	}
	abs = filepath.Clean(abs)
	if l.r.only == "" {
		if _, ok := l.r.contains(abs); ok {
			return nil
		}
	}
	return invalid("link %s -> %s would lead to %s, outside the allowed folder %s; refusing to create it",
		filepath.Join(l.r.path, rel), target, abs, l.r.path)
}

// ErrOtherFolder marks a rename between two allowed folders that share no
// handle: the caller copies and removes instead.
var ErrOtherFolder = errors.New("in another allowed folder")

// maxCheck bounds the entries of a folder whose links a move checks.
const maxCheck = 100_000

// Rename moves the entry at l to to (a link is moved, not followed; an
// existing file or link at to is replaced). Moving a link, or a folder
// holding links, is refused (ErrInvalid) when a link would then lead
// outside the allowed folder. When no allowed folder holds both paths it
// returns ErrOtherFolder.
func (l Loc) Rename(to Loc) error {
	l.s.linkMu.Lock()
	defer l.s.linkMu.Unlock()
	fi, _, err := l.Lstat()
	if err != nil {
		return err
	}
	moved := fi.Mode()&fs.ModeSymlink != 0 || fi.IsDir()
	if !moved {
		// A file holds no link: rename it where the paths lie, unless a
		// link on the way needs resolving (below).
		if r := l.s.common(l, to); r != nil && r.h.Rename(mustRel(r, l.Path()), mustRel(r, to.Path())) == nil {
			return nil
		}
	}
	// Both ends with every link on the way resolved, so the links moved are
	// checked from where they really land (see Symlink).
	if l, _, err = l.s.resolve(l, false); err != nil {
		return err
	}
	if to, _, err = to.s.resolve(to, false); err != nil {
		return err
	}
	r := l.s.common(l, to)
	if r == nil {
		return ErrOtherFolder
	}
	from, dst := l, to
	from.r, from.rel = r, mustRel(r, l.Path())
	dst.r, dst.rel = r, mustRel(r, to.Path())
	if fi, err = r.h.Lstat(from.rel); err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := r.h.Readlink(from.rel)
		if err != nil {
			return err
		}
		if err := dst.linkInside(dst.rel, t); err != nil {
			return err
		}
	case fi.IsDir():
		if err := from.checkLinks(dst); err != nil {
			return err
		}
	}
	return r.h.Rename(from.rel, dst.rel)
}

// common returns a folder allowed for writing that holds both a and b.
func (s *Set) common(a, b Loc) *root {
	if a.r == b.r && a.r.only == "" {
		return a.r
	}
	var best *root
	for _, r := range s.roots {
		if !r.write || r.only != "" {
			continue
		}
		_, okA := r.contains(a.Path())
		_, okB := r.contains(b.Path())
		if okA && okB && (best == nil || len(r.path) > len(best.path)) {
			best = r
		}
	}
	return best
}

func mustRel(r *root, abs string) string {
	rel, _ := r.contains(abs)
	return rel
}

// checkLinks walks the folder at l (never through a link) and checks that
// every link in it would still lead inside the allowed folder once the
// folder is at to.
func (l Loc) checkLinks(to Loc) error {
	d, err := l.OpenDir()
	if err != nil {
		return err
	}
	defer d.Close()
	seen := 0
	var walk func(d *Dir, rel string) error
	walk = func(d *Dir, rel string) error {
		des, err := d.Entries()
		if err != nil {
			return err
		}
		for _, de := range des {
			if seen++; seen > maxCheck {
				return TooLarge("move %s: more than %d entries to check", l.given, maxCheck)
			}
			name := filepath.Join(rel, de.Name())
			switch {
			case de.Type()&fs.ModeSymlink != 0:
				t, err := d.Readlink(de.Name())
				if err != nil {
					return err
				}
				if err := to.linkInside(filepath.Join(to.rel, name), t); err != nil {
					return err
				}
			case de.IsDir():
				sub, err := d.Sub(de.Name())
				if err != nil {
					return err
				}
				err = walk(sub, name)
				sub.Close()
				if err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(d, "")
}

// MkdirTemp creates a new, empty folder beside l, for a copy to fill
// before it is renamed to l.
func (l Loc) MkdirTemp() (Loc, error) {
	for range 100 {
		t := l
		t.rel = tempName(l.rel)
		t.given = filepath.Join(filepath.Dir(l.given), filepath.Base(t.rel))
		err := l.r.h.Mkdir(t.rel, 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return t, err
	}
	return l, fmt.Errorf("copy to %s: no free temporary name", l.given)
}

// Create creates a new regular file at l (never through a link, never
// replacing anything) for writing.
func (l Loc) Create(mode fs.FileMode) (*os.File, error) {
	f, _, err := retry(l, false, func(l Loc) (*os.File, error) {
		return l.r.h.OpenFile(l.rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	})
	return f, err
}

// CreateTemp creates a new file beside l, for data to be renamed to l
// once complete.
func (l Loc) CreateTemp() (Loc, *os.File, error) {
	name, f, err := l.createTemp(0o600)
	if err != nil {
		return l, nil, err
	}
	t := l
	t.rel = name
	t.given = filepath.Join(filepath.Dir(l.given), filepath.Base(name))
	return t, f, nil
}

// CheckLink reports (with ErrInvalid) whether a link at l holding target
// would lead outside l's allowed folder, as Symlink would refuse it. It
// lets a copy refuse before it writes anything; Symlink checks again.
func (l Loc) CheckLink(target string) error {
	at, _, err := l.s.resolve(l, false)
	if err != nil {
		return err
	}
	return at.linkInside(at.rel, target)
}

// Parent returns the Loc of l's folder, in the same allowed folder (an
// allowed folder is its own parent).
func (l Loc) Parent() Loc {
	p := l
	p.rel = filepath.Dir(l.rel)
	p.given = filepath.Dir(l.given)
	return p
}
