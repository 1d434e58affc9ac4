package tools

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"spellhost/tools/perm"
)

// What audio_processor, video_processor and image_processor share: opening
// a source file through the permission set, reading byte ranges of it with
// bounds checks, and checking a target path before any work is done.

// mediaFile is a source file opened after a permission check. Parsers read
// it through ReadAt, so a large file is never loaded whole for metadata.
type mediaFile struct {
	f    *os.File
	path string // resolved
	size int64
}

// mediaOpen checks that path (the value of parameter param) may be read and
// opens it. The file must be a regular file.
func mediaOpen(ps *perm.Set, param, path string) (*mediaFile, error) {
	if ps == nil {
		return nil, Errorf(TypePermission, "parameter %q: read %s: no file permissions are configured", param, path)
	}
	resolved, err := ps.Read(path)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %w", param, err)
	}
	// Check the kind before opening: opening a FIFO would block.
	if err := mediaRegular(param, path, resolved); err != nil {
		return nil, err
	}
	f, err := os.Open(resolved)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %w", param, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("parameter %q: %w", param, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, Invalid("parameter %q: %s is not a regular file", param, path)
	}
	return &mediaFile{f: f, path: resolved, size: fi.Size()}, nil
}

// mediaRegular checks that resolved (path as given) is a regular file.
func mediaRegular(param, path, resolved string) error {
	fi, err := os.Stat(resolved)
	if err != nil {
		return fmt.Errorf("parameter %q: %w", param, err)
	}
	if fi.IsDir() {
		return Invalid("parameter %q: %s is a folder", param, path)
	}
	if !fi.Mode().IsRegular() {
		return Invalid("parameter %q: %s is not a regular file", param, path)
	}
	return nil
}

func (m *mediaFile) Close() error { return m.f.Close() }

// mediaReadFile checks that path may be read and returns its contents,
// bounded by the file size limit, and its resolved path.
func mediaReadFile(ps *perm.Set, param, path string) ([]byte, string, error) {
	if ps == nil {
		return nil, "", Errorf(TypePermission, "parameter %q: read %s: no file permissions are configured", param, path)
	}
	r, err := ps.Read(path)
	if err != nil {
		return nil, "", fmt.Errorf("parameter %q: %w", param, err)
	}
	if err := mediaRegular(param, path, r); err != nil {
		return nil, "", err
	}
	data, resolved, err := ps.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("parameter %q: %w", param, err)
	}
	return data, resolved, nil
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
// replaceable (overwrite). It returns the resolved path.
func mediaTarget(ps *perm.Set, p Params, op string) (string, error) {
	if !p.Has("target_path") {
		return "", Invalid("missing parameter \"target_path\" for operation %s", op)
	}
	path := p.String("target_path")
	if ps == nil {
		return "", Errorf(TypePermission, "parameter \"target_path\": write %s: no file permissions are configured", path)
	}
	resolved, err := ps.Write(path)
	if err != nil {
		return "", fmt.Errorf("parameter \"target_path\": %w", err)
	}
	if fi, err := os.Stat(resolved); err == nil {
		if fi.IsDir() {
			return "", Invalid("parameter \"target_path\": %s is a folder", path)
		}
		if !p.Bool("overwrite") {
			return "", Invalid("parameter \"target_path\": %s exists; set overwrite to true to replace it", path)
		}
	}
	if fi, err := os.Stat(filepath.Dir(resolved)); err != nil || !fi.IsDir() {
		return "", Invalid("parameter \"target_path\": folder %s does not exist", filepath.Dir(path))
	}
	return resolved, nil
}

// mediaWrite writes data to target_path atomically through the permission
// set, which also applies the file size limit.
func mediaWrite(ctx context.Context, ps *perm.Set, path string, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	resolved, err := ps.WriteFile(path, data)
	if err != nil {
		return "", fmt.Errorf("parameter \"target_path\": %w", err)
	}
	return resolved, nil
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
