package media

import . "spellhost/tools"
import "spellhost/tools/internal/fileio"

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"

	"spellhost/tools/perm"
)

// What audio_processor, video_processor and image_processor share: opening
// a source file through the permission set, reading byte ranges of it with
// bounds checks, and checking a target path before any work is done.

// mediaFile is a source file opened through the permission set. Parsers
// read it through ReadAt, so a large file is never loaded whole for
// metadata.
type mediaFile struct {
	f    *os.File
	path string // absolute
	size int64
}

// mediaOpen opens the regular file at path (the value of parameter param)
// for reading through the permission set: a FIFO, device or folder is
// refused on the opened handle, without waiting on it.
func mediaOpen(ps *perm.Set, param, path string) (*mediaFile, error) {
	l, err := fileio.Locate(ps, perm.ForRead, param, path)
	if err != nil {
		return nil, err
	}
	f, err := l.Open()
	if err != nil {
		return nil, mediaFileErr(param, path, err)
	}
	return &mediaFile{f: f.File, path: f.Loc.Path(), size: f.Info.Size()}, nil
}

// mediaFileErr names the parameter in an error from opening a file.
func mediaFileErr(param, path string, err error) error {
	var nr *perm.NotRegularError
	if errors.As(err, &nr) {
		if nr.Mode.IsDir() {
			return Invalid("parameter %q: %s is a folder", param, path)
		}
		return Invalid("parameter %q: %s is %s, not a regular file", param, path, perm.Kind(nr.Mode))
	}
	return fileio.Err(param, path, err)
}

func (m *mediaFile) Close() error { return m.f.Close() }

// mediaReadFile returns the contents of the regular file at path, bounded
// by the file size limit, and its absolute path.
func mediaReadFile(ps *perm.Set, param, path string) ([]byte, string, error) {
	l, err := fileio.Locate(ps, perm.ForRead, param, path)
	if err != nil {
		return nil, "", err
	}
	data, at, err := l.ReadFile()
	if err != nil {
		return nil, "", mediaFileErr(param, path, err)
	}
	return data, at.Path(), nil
}

// errMediaTruncated marks a read past the end of the data; parsers turn it into
// an execution error that says which structure was cut short.
var errMediaTruncated = errors.New("unexpected end of file")

// mediaSrc reads byte ranges of a file or of bytes already in memory. Every
// read is bounds-checked against size, so a length field in a file can
// never make a parser read (or allocate) more than the file holds.
type mediaSrc struct {
	r    io.ReaderAt
	size int64
}

// at returns n bytes at off, or errMediaTruncated when they are not all there.
// n is capped by the caller; at refuses more than 64 MiB at once.
func (s mediaSrc) at(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > s.size || n > s.size-off || n > 64<<20 {
		return nil, errMediaTruncated
	}
	b := make([]byte, n)
	if _, err := s.r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && int64(len(b)) == n) {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errMediaTruncated
		}
		return nil, err
	}
	return b, nil
}

// head returns up to n bytes from the start (fewer for a short file).
func (s mediaSrc) head(n int64) ([]byte, error) {
	return s.at(0, min(n, s.size))
}

// mediaTarget checks the target_path parameter of a writing operation
// before any work is done: it must be given, writable under the
// permissions, not a folder, in an existing folder, and either absent or
// replaceable (overwrite). It returns where it lies.
func mediaTarget(ps *perm.Set, p Params, op string) (perm.Loc, error) {
	if !p.Has("target_path") {
		return perm.Loc{}, Invalid("missing parameter \"target_path\" for operation %s", op)
	}
	path := p.String("target_path")
	l, err := fileio.Locate(ps, perm.ForWrite, "target_path", path)
	if err != nil {
		return l, err
	}
	switch fi, _, err := l.Stat(); {
	case err == nil && fi.IsDir():
		return l, Invalid("parameter \"target_path\": %s is a folder", path)
	case err == nil && !p.Bool("overwrite"):
		return l, Invalid("parameter \"target_path\": %s exists; set overwrite to true to replace it", path)
	case err != nil && (errors.Is(err, perm.ErrDenied) || errors.Is(err, perm.ErrInvalid)):
		return l, fileio.Err("target_path", path, err)
	}
	if fi, _, err := l.Parent().Stat(); err != nil || !fi.IsDir() {
		return l, Invalid("parameter \"target_path\": folder %s does not exist", filepath.Dir(path))
	}
	return l, nil
}

// mediaWrite writes data to target_path atomically through the permission
// set, which also applies the file size limit.
func mediaWrite(ctx context.Context, ps *perm.Set, path string, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	l, err := fileio.Locate(ps, perm.ForWrite, "target_path", path)
	if err != nil {
		return "", err
	}
	at, err := l.WriteFile(data)
	if err != nil {
		return "", mediaFileErr("target_path", path, err)
	}
	return at.Path(), nil
}

// mediaRound rounds f to places decimals, for durations and rates.
func mediaRound(f float64, places int) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	p := math.Pow(10, float64(places))
	return math.Round(f*p) / p
}

// mediaFourCC returns b (4 bytes) as a string when it is a printable
// four-character code (ASCII or the © that QuickTime uses), else "".
func mediaFourCC(b []byte) string {
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
	mediaLE = binary.LittleEndian
	mediaBE = binary.BigEndian
)
