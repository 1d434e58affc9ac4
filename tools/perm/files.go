package perm

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"

	"spellhost/tools"
)

// ErrTooLarge marks a file or body over a limit; tools.TypeOf classifies
// it as too_large.
var ErrTooLarge error = &kind{"too large", tools.TypeTooLarge}

// TooLarge returns an error that matches ErrTooLarge.
func TooLarge(format string, args ...any) error {
	return &permError{ErrTooLarge.(*kind), fmt.Sprintf(format, args...)}
}

// ErrNotRegular marks a folder, FIFO, device or socket where a regular
// file is needed. Errors that match it match ErrInvalid too, and are a
// *NotRegularError.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError is a path that is not a regular file.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	if e.Mode.IsDir() {
		return e.Path + " is a folder"
	}
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, Kind(e.Mode))
}

// Is matches ErrNotRegular and ErrInvalid.
func (e *NotRegularError) Is(target error) bool {
	return target == ErrNotRegular || target == ErrInvalid
}

// ErrorType makes a wrong kind of file a validation error, like ErrInvalid.
func (e *NotRegularError) ErrorType() tools.ErrorType { return tools.TypeValidation }

// Kind names the type of a file mode for messages: "a regular file", "a
// folder", "a FIFO (named pipe)", ...
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a file of an unknown kind"
}

// OpenRegular opens name in r for reading, refusing anything but a
// regular file without a window between the check and the open: the file
// is opened without blocking (a FIFO with no writer, a device), the opened
// handle is examined, and only a regular file is returned, in blocking
// mode again. A refused file is a *NotRegularError.
func OpenRegular(r *os.Root, name string) (*os.File, fs.FileInfo, error) {
	return openRegular(r, name, os.O_RDONLY, 0)
}

func openRegular(r *os.Root, name string, flag int, mode fs.FileMode) (*os.File, fs.FileInfo, error) {
	f, err := r.OpenFile(name, flag|openNonblock, mode)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENXIO):
			// A FIFO opened for writing with no reader, or a device
			// with nothing behind it.
			return nil, nil, &NotRegularError{Path: name, Mode: fs.ModeNamedPipe}
		case errors.Is(err, syscall.EISDIR):
			return nil, nil, &NotRegularError{Path: name, Mode: fs.ModeDir}
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &NotRegularError{Path: name, Mode: fi.Mode().Type()}
	}
	if err := clearNonblock(f); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// File is a regular file opened through an allowed folder's handle.
type File struct {
	*os.File
	// Info describes the opened file (not a path that may have changed).
	Info fs.FileInfo
	// Loc is where it was opened, after any link between allowed folders.
	Loc Loc
}

// notRegular restates a *NotRegularError from OpenRegular with the path
// the tool gave.
func (l Loc) notRegular(err error) error { return notRegularAt(l.given, err) }

func notRegularAt(given string, err error) error {
	var nr *NotRegularError
	if errors.As(err, &nr) {
		return &NotRegularError{Path: given, Mode: nr.Mode}
	}
	return err
}

// Open opens the regular file at l for reading (see OpenRegular), following
// links as far as they stay inside the allowed folders.
func (l Loc) Open() (*File, error) {
	f, at, err := retry(l, true, func(l Loc) (*File, error) {
		f, fi, err := OpenRegular(l.r.h, l.rel)
		if err != nil {
			return nil, l.notRegular(err)
		}
		return &File{File: f, Info: fi}, nil
	})
	if err != nil {
		return nil, err
	}
	f.Loc = at
	return f, nil
}

// ReadFile returns the contents of the regular file at l, refusing one
// over the file size limit, and where it was read.
func (l Loc) ReadFile() ([]byte, Loc, error) {
	f, err := l.Open()
	if err != nil {
		return nil, l, err
	}
	defer f.Close()
	max := l.s.lim.MaxFileBytes
	if f.Info.Size() > max {
		return nil, f.Loc, TooLarge("read %s: %d bytes exceeds the %d-byte file limit", l.given, f.Info.Size(), max)
	}
	data := make([]byte, 0, f.Info.Size()+1)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if int64(len(data)) > max {
			return nil, f.Loc, TooLarge("read %s: exceeds the %d-byte file limit", l.given, max)
		}
		if err == io.EOF {
			return data, f.Loc, nil
		}
		if err != nil {
			return nil, f.Loc, err
		}
	}
}

// ReadFile locates path for reading and returns its contents (see
// Loc.ReadFile) and the absolute path read.
func (s *Set) ReadFile(path string) ([]byte, string, error) {
	l, err := s.Locate(path, ForRead)
	if err != nil {
		return nil, "", err
	}
	data, at, err := l.ReadFile()
	return data, at.Path(), err
}

// tempSeq numbers temporary files; a name already taken is skipped.
var tempSeq atomic.Uint64

// tempName returns a fresh name for a temporary entry beside rel.
func tempName(rel string) string {
	n := tempSeq.Add(1)
	return filepath.Join(filepath.Dir(rel), "."+filepath.Base(rel)+".tmp-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(n, 10))
}

// WriteFile replaces the contents of the file at l atomically: the data
// goes to a new temporary file beside it, renamed over it once complete,
// so a failure never leaves a half-written file. A link at l is written
// through when its target is writable; a folder is refused. It returns
// where the file was written.
func (l Loc) WriteFile(data []byte) (Loc, error) {
	if int64(len(data)) > l.s.lim.MaxFileBytes {
		return l, TooLarge("write %s: %d bytes exceeds the %d-byte file limit", l.given, len(data), l.s.lim.MaxFileBytes)
	}
	_, at, err := retry(l, true, func(l Loc) (struct{}, error) { return struct{}{}, l.writeAtomic(data) })
	if errors.Is(err, errFollow) {
		err = &os.PathError{Op: "write", Path: l.given, Err: syscall.ELOOP}
	}
	return at, err
}

func (l Loc) writeAtomic(data []byte) error {
	mode := fs.FileMode(0o644)
	switch fi, err := l.r.h.Lstat(l.rel); {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return errFollow
	case err == nil && fi.IsDir():
		return &NotRegularError{Path: l.given, Mode: fs.ModeDir}
	case err == nil:
		mode = fi.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	tmp, f, err := l.createTemp(0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.r.h.Rename(tmp, l.rel)
	}
	if err != nil {
		l.r.h.Remove(tmp)
	}
	return err
}

// createTemp creates a new file beside l, never through a link.
func (l Loc) createTemp(mode fs.FileMode) (string, *os.File, error) {
	for range 100 {
		name := tempName(l.rel)
		f, err := l.r.h.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return name, f, err
	}
	return "", nil, fmt.Errorf("write %s: no free temporary name", l.given)
}

// WriteFile locates path for writing and replaces its contents (see
// Loc.WriteFile); it returns the absolute path written.
func (s *Set) WriteFile(path string, data []byte) (string, error) {
	l, err := s.Locate(path, ForWrite)
	if err != nil {
		return "", err
	}
	at, err := l.WriteFile(data)
	if err != nil {
		return "", err
	}
	return at.Path(), nil
}

// Append adds data to the end of the regular file at l, creating it if
// needed, refusing to make it larger than the file size limit. It returns
// the new size and where the file was written.
func (l Loc) Append(data []byte) (int64, Loc, error) {
	max := l.s.lim.MaxFileBytes
	if int64(len(data)) > max {
		return 0, l, TooLarge("append to %s: %d bytes exceeds the %d-byte file limit", l.given, len(data), max)
	}
	size, at, err := retry(l, true, func(l Loc) (int64, error) {
		f, fi, err := openRegular(l.r.h, l.rel, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return 0, l.notRegular(err)
		}
		defer f.Close()
		if fi.Size()+int64(len(data)) > max {
			return 0, TooLarge("appending %d bytes to %s (%d bytes) exceeds the %d-byte file limit", len(data), l.given, fi.Size(), max)
		}
		n, err := f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return fi.Size() + int64(n), err
	})
	return size, at, err
}

// Stat describes the file at l, following links as far as they stay
// inside the allowed folders; it returns where the file is.
func (l Loc) Stat() (fs.FileInfo, Loc, error) {
	return retry(l, true, func(l Loc) (fs.FileInfo, error) { return l.r.h.Stat(l.rel) })
}

// Lstat describes the entry at l without following a link in its last
// element.
func (l Loc) Lstat() (fs.FileInfo, Loc, error) {
	return retry(l, false, func(l Loc) (fs.FileInfo, error) { return l.r.h.Lstat(l.rel) })
}

// Readlink returns the target of the link at l, as written in the link.
func (l Loc) Readlink() (string, error) {
	t, _, err := retry(l, false, func(l Loc) (string, error) { return l.r.h.Readlink(l.rel) })
	return t, err
}

// Target returns where the link at l leads when that is inside the allowed
// folders (for l's access), and reports false otherwise.
func (l Loc) Target() (Loc, bool) {
	t, changed, err := l.s.resolve(l, true)
	return t, err == nil && changed
}

// Mkdir creates the folder at l; with parents, its missing parents too
// (and an existing folder is then no error).
func (l Loc) Mkdir(parents bool) (Loc, error) {
	_, at, err := retry(l, true, func(l Loc) (struct{}, error) {
		if parents {
			return struct{}{}, l.r.h.MkdirAll(l.rel, 0o755)
		}
		return struct{}{}, l.r.h.Mkdir(l.rel, 0o755)
	})
	return at, err
}

// MkdirParents creates the missing parent folders of l.
func (l Loc) MkdirParents() error {
	if l.rel == "." || filepath.Dir(l.rel) == "." {
		return nil
	}
	p := l
	p.rel = filepath.Dir(l.rel)
	_, err := p.Mkdir(true)
	return err
}

// Remove removes the file, link or empty folder at l (a link itself, not
// what it points to).
func (l Loc) Remove() error {
	_, _, err := retry(l, false, func(l Loc) (struct{}, error) { return struct{}{}, l.r.h.Remove(l.rel) })
	return err
}

// RemoveAll removes the entry at l and, for a folder, everything in it,
// never following a link.
func (l Loc) RemoveAll() error {
	_, _, err := retry(l, false, func(l Loc) (struct{}, error) { return struct{}{}, l.r.h.RemoveAll(l.rel) })
	return err
}

// Chmod sets the permission bits of the file or folder at l through an
// open handle (changing a mode by name could reach a link swapped in).
func (l Loc) Chmod(mode fs.FileMode) error {
	_, _, err := retry(l, true, func(l Loc) (struct{}, error) {
		f, err := l.r.h.OpenFile(l.rel, os.O_RDONLY|openNonblock, 0)
		if err != nil {
			return struct{}{}, err
		}
		err = f.Chmod(mode)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return struct{}{}, err
	})
	return err
}

// WriteAtomic writes data to path through a temporary file and a rename.
// It is for the command line's own output files, which no permission
// governs; tools write through Loc.WriteFile.
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return invalid("write %s: is a folder", path)
		}
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Chmod(mode)
	}
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(name, path)
	}
	if werr != nil {
		os.Remove(name)
		return werr
	}
	return nil
}
