package perm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrTooLarge marks a file or body over a limit; tools.TypeOf maps it to
// too_large.
var ErrTooLarge = errors.New("too large")

// TooLarge returns an error that matches ErrTooLarge.
func TooLarge(format string, args ...any) error {
	return &permError{ErrTooLarge, fmt.Sprintf(format, args...)}
}

// ReadFile checks that path may be read, refuses a file over the size
// limit, and returns its contents and resolved path.
func (s *Set) ReadFile(path string) ([]byte, string, error) {
	r, err := s.Read(path)
	if err != nil {
		return nil, "", err
	}
	// Opening a FIFO or a device blocks or never ends: only regular files
	// (and folders, refused below with a clearer message) are opened.
	if st, err := os.Stat(r); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		return nil, r, invalid("read %s: not a regular file (%s)", path, st.Mode().Type())
	}
	f, err := os.Open(r)
	if err != nil {
		return nil, r, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, r, err
	}
	if fi.IsDir() {
		return nil, r, invalid("read %s: is a folder", path)
	}
	max := s.lim.MaxFileBytes
	if fi.Size() > max {
		return nil, r, TooLarge("read %s: %d bytes exceeds the %d-byte file limit", path, fi.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, r, err
	}
	if int64(len(data)) > max {
		return nil, r, TooLarge("read %s: exceeds the %d-byte file limit", path, max)
	}
	return data, r, nil
}

// WriteFile checks that path may be written and replaces its contents
// atomically: the data goes to a temporary file in the same folder, which
// is renamed over path only once complete, so a failure never leaves a
// half-written file. It returns the resolved path.
func (s *Set) WriteFile(path string, data []byte) (string, error) {
	r, err := s.Write(path)
	if err != nil {
		return "", err
	}
	if int64(len(data)) > s.lim.MaxFileBytes {
		return "", TooLarge("write %s: %d bytes exceeds the %d-byte file limit", path, len(data), s.lim.MaxFileBytes)
	}
	return r, WriteAtomic(r, data, 0o644)
}

// WriteAtomic writes data to path through a temporary file and a rename.
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
