package media

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"

	"spellhost/tools"
	"spellhost/tools/internal/fileio"
	"spellhost/tools/perm"
)

// What audio_processor, video_processor and image_processor share: opening
// a source file through the permission set, reading byte ranges of it with
// bounds checks, and checking a target path before any work is done.

// file is a source file opened through the permission set. Parsers
// read it through ReadAt, so a large file is never loaded whole for
// metadata.
type file struct {
	f    *os.File
	path string // absolute
	size int64
}

// open opens the regular file at path (the value of parameter param)
// for reading through the permission set: a FIFO, device or folder is
// refused on the opened handle, without waiting on it.
func open(ps *perm.Set, param, path string) (*file, error) {
	l, err := fileio.Locate(ps, perm.ForRead, param, path)
	if err != nil {
		return nil, err
	}
	f, err := l.Open()
	if err != nil {
		return nil, fileErr(param, path, err)
	}
	return &file{f: f.File, path: f.Loc.Path(), size: f.Info.Size()}, nil
}

// fileErr names the parameter in an error from opening a file.
func fileErr(param, path string, err error) error {
	var nr *perm.NotRegularError
	if errors.As(err, &nr) {
		if nr.Mode.IsDir() {
			return tools.Invalid("parameter %q: %s is a folder", param, path)
		}
		return tools.Invalid("parameter %q: %s is %s, not a regular file", param, path, perm.Kind(nr.Mode))
	}
	return fileio.Err(param, path, err)
}

func (m *file) Close() error { return m.f.Close() }

// readFile returns the contents of the regular file at path, bounded
// by the file size limit, and its absolute path.
func readFile(ps *perm.Set, param, path string) ([]byte, string, error) {
	l, err := fileio.Locate(ps, perm.ForRead, param, path)
	if err != nil {
		return nil, "", err
	}
	data, at, err := l.ReadFile()
	if err != nil {
		return nil, "", fileErr(param, path, err)
	}
	return data, at.Path(), nil
}

// errTruncated marks a read past the end of the data; parsers turn it into
// an execution error that says which structure was cut short.
var errTruncated = errors.New("unexpected end of file")

// src reads byte ranges of a file or of bytes already in memory. Every
// read is bounds-checked against size, so a length field in a file can
// never make a parser read (or allocate) more than the file holds.
type src struct {
	r    io.ReaderAt
	size int64
}

// at returns n bytes at off, or errTruncated when they are not all there.
// n is capped by the caller; at refuses more than 64 MiB at once.
func (s src) at(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > s.size || n > s.size-off || n > 64<<20 {
		return nil, errTruncated
	}
	b := make([]byte, n)
	if _, err := s.r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && int64(len(b)) == n) {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errTruncated
		}
		return nil, err
	}
	return b, nil
}

// head returns up to n bytes from the start (fewer for a short file).
func (s src) head(n int64) ([]byte, error) {
	return s.at(0, min(n, s.size))
}

// target checks the target_path parameter of a writing operation
// before any work is done: it must be given, writable under the
// permissions, not a folder, in an existing folder, and either absent or
// replaceable (overwrite). It returns where it lies.
func target(ps *perm.Set, p tools.Params, op string) (perm.Loc, error) {
	if !p.Has("target_path") {
		return perm.Loc{}, tools.Invalid("missing parameter \"target_path\" for operation %s", op)
	}
	path := p.String("target_path")
	l, err := fileio.Locate(ps, perm.ForWrite, "target_path", path)
	if err != nil {
		return l, err
	}
	switch fi, _, err := l.Stat(); {
	case err == nil && fi.IsDir():
		return l, tools.Invalid("parameter \"target_path\": %s is a folder", path)
	case err == nil && !p.Bool("overwrite"):
		return l, tools.Invalid("parameter \"target_path\": %s exists; set overwrite to true to replace it", path)
	case err != nil && (errors.Is(err, perm.ErrDenied) || errors.Is(err, perm.ErrInvalid)):
		return l, fileio.Err("target_path", path, err)
	}
	if fi, _, err := l.Parent().Stat(); err != nil || !fi.IsDir() {
		return l, tools.Invalid("parameter \"target_path\": folder %s does not exist", filepath.Dir(path))
	}
	return l, nil
}

// write writes data to target_path atomically through the permission
// set, which also applies the file size limit.
func write(ctx context.Context, ps *perm.Set, path string, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	l, err := fileio.Locate(ps, perm.ForWrite, "target_path", path)
	if err != nil {
		return "", err
	}
	at, err := l.WriteFile(data)
	if err != nil {
		return "", fileErr("target_path", path, err)
	}
	return at.Path(), nil
}

// round rounds f to places decimals, for durations and rates.
func round(f float64, places int) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	p := math.Pow(10, float64(places))
	return math.Round(f*p) / p
}

// fourCC returns b (4 bytes) as a string when it is a printable
// four-character code (ASCII or the © that QuickTime uses), else "".
func fourCC(b []byte) string {
	if len(b) < 4 {
		return ""
	}
	for _, c := range b[:4] {
		if (c < 0x20 || c > 0x7e) && c != 0xa9 {
			return ""
		}
	}
	if b[0] == 0xa9 {
		return "©" + string(b[1:4])
	}
	return string(b[:4])
}

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)
