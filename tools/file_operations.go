package tools

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"spellhost/tools/perm"
)

// file_operations limits.
const (
	fopMaxEntries   = 10_000 // entries listed by list_dir, or copied/moved in one folder
	fopMaxDepth     = 100    // deepest max_depth accepted
	fopFolderFactor = 16     // a folder copy may total this many times the file limit
	fopSniffBytes   = 8 << 10
)

func fileOperationsSpec() Spec {
	return Spec{
		Name:     "file_operations",
		Category: "filesystem",
		Description: "Reads, writes, appends, deletes, copies, moves, lists and inspects files and folders inside the sandbox " +
			"(--allow-read / --allow-write). Relative paths resolve against the base folder. Links are resolved before the " +
			"sandbox check, so a link leading out is refused; delete and move act on a link itself, metadata and exists " +
			"describe a link's target only when it is inside the sandbox, and list_dir lists links without following them. " +
			"write replaces the file atomically (temporary file and rename). Limits: a file read, " +
			"written, appended to or copied is at most the file limit (64 MiB by default); list_dir returns at most 10000 " +
			"entries; a folder copy holds at most 10000 entries and 16 times the file limit in total",
		Params: []Param{
			{Name: "operation", Type: String, Required: true,
				Enum: []string{"read", "write", "append", "delete", "create_dir", "list_dir", "copy", "move", "metadata", "exists"},
				Description: "read returns a file's contents; write replaces a file; append adds to the end of a file (creating it); " +
					"delete removes a file, link or folder; create_dir makes a folder; list_dir lists a folder; copy and move take " +
					"source_path to target_path; metadata describes a path; exists tells whether a path exists"},
			{Name: "path", Type: String,
				Description: "the file or folder to act on, for every operation except copy and move; reading needs read " +
					"permission, changing needs write permission"},
			{Name: "input", Type: String,
				Description: "write and append: the content (text, or base64 when encoding is base64); required for both"},
			{Name: "encoding", Type: String, Enum: []string{"utf-8", "base64"},
				Description: "read: utf-8 returns the text (a file that is not valid UTF-8 is an error), base64 returns the bytes " +
					"encoded; when omitted, text files come back as utf-8 and binary files (a NUL byte in the first 8 KiB, or " +
					"invalid UTF-8) as base64, and the result says which. write and append: base64 means input is base64 and is " +
					"decoded before writing (default utf-8: input is written as is)"},
			{Name: "source_path", Type: String,
				Description: "copy and move: the file or folder to copy or move; copy needs read permission on it, move write permission"},
			{Name: "target_path", Type: String,
				Description: "copy and move: the new path, which must not be an existing folder; needs write permission"},
			{Name: "recursive", Type: Boolean, Default: false,
				Description: "create_dir: create missing parent folders too (and succeed if the folder exists); delete: remove a " +
					"folder with everything in it (without it a non-empty folder is refused); copy: copy a folder; list_dir: list " +
					"subfolders too, down to max_depth; write, append, copy and move: create missing parent folders of the target"},
			{Name: "overwrite", Type: Boolean, Default: true,
				Description: "copy and move: replace an existing file at target_path; false refuses to replace it"},
			{Name: "max_depth", Type: Integer, Default: int64(20),
				Description: "list_dir with recursive: how many levels of subfolders to descend into (0 lists only the folder's own entries; at most 100)"},
		},
		Returns: "read: {path, content, size, encoding (utf-8 or base64)}; write and append: {path, bytes_written, size}; " +
			"delete: {path, deleted, type}; create_dir: {path, created}; list_dir: {path, entries: [{name, type " +
			"(file|dir|symlink|other), size, modified}], count, truncated} where name is relative to path (with / between " +
			"folders when recursive) and links are listed, not followed; metadata: {path, name, size, type, mode (octal), " +
			"permissions, modified, is_symlink, target (the resolved path, for a link inside the sandbox)}; exists: {path, " +
			"exists, type (null when absent)}; copy and move: {source, target, bytes, type}. Paths in results are absolute " +
			"and resolved; times are RFC 3339 in UTC. A link whose target is missing or outside the sandbox is described as " +
			"type symlink",
		Example: map[string]any{"operation": "list_dir", "path": "."},
	}
}

// FileOperations returns the file_operations tool. Every path goes through
// cfg.Perm.
func FileOperations(cfg Config) Tool {
	ps := cfg.Perm
	return New(fileOperationsSpec(), func(ctx context.Context, p Params) (any, error) {
		return fopRun(ctx, ps, p)
	})
}

func fopRun(ctx context.Context, ps *perm.Set, p Params) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	op := p.String("operation")
	if ps == nil {
		return nil, Errorf(TypePermission, "operation %s: no file permissions are configured", op)
	}
	switch op {
	case "copy", "move":
		for _, k := range []string{"source_path", "target_path"} {
			if !p.Has(k) {
				return nil, Invalid("missing parameter %q for operation %s", k, op)
			}
		}
		if op == "copy" {
			return fopCopy(ctx, ps, p)
		}
		return fopMove(ctx, ps, p)
	}
	if !p.Has("path") {
		return nil, Invalid("missing parameter %q for operation %s", "path", op)
	}
	path := p.String("path")
	switch op {
	case "read":
		return fopRead(ps, path, p.String("encoding"))
	case "write", "append":
		if !p.Has("input") {
			return nil, Invalid("missing parameter %q (the content) for operation %s", "input", op)
		}
		data, err := fopContent(p)
		if err != nil {
			return nil, err
		}
		if op == "write" {
			return fopWrite(ps, path, data, p.Bool("recursive"))
		}
		return fopAppend(ps, path, data, p.Bool("recursive"))
	case "delete":
		return fopDelete(ctx, ps, path, p.Bool("recursive"))
	case "create_dir":
		return fopCreateDir(ps, path, p.Bool("recursive"))
	case "list_dir":
		depth := 0
		if p.Bool("recursive") {
			depth = p.Int("max_depth")
			if depth < 0 || depth > fopMaxDepth {
				return nil, Invalid("parameter \"max_depth\": must be between 0 and %d, got %d", fopMaxDepth, depth)
			}
		}
		return fopListDir(ctx, ps, path, depth)
	case "metadata":
		return fopMetadata(ps, path)
	case "exists":
		return fopExists(ps, path)
	}
	return nil, Invalid("parameter \"operation\": unknown value %q", op)
}

// fopContent returns the bytes of a write or append.
func fopContent(p Params) ([]byte, error) {
	in := p.String("input")
	if p.String("encoding") != "base64" {
		return []byte(in), nil
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(in))
	if err != nil {
		if data, err2 := base64.RawStdEncoding.DecodeString(strings.TrimSpace(in)); err2 == nil {
			return data, nil
		}
		return nil, Invalid("parameter \"input\": not valid base64 (encoding is base64): %v", err)
	}
	return data, nil
}

// fopCheck runs the sandbox check of one path parameter: read or write.
// A nil set refuses everything.
func fopCheck(ps *perm.Set, write bool, param, path string) (string, error) {
	if ps == nil {
		verb := "read"
		if write {
			verb = "write"
		}
		return "", Errorf(TypePermission, "parameter %q: %s %s: no file permissions are configured", param, verb, path)
	}
	var r string
	var err error
	if write {
		r, err = ps.Write(path)
	} else {
		r, err = ps.Read(path)
	}
	if err != nil {
		return "", fmt.Errorf("parameter %q: %w", param, err)
	}
	return r, nil
}

// fopEntry checks path like fopCheck but does not follow its last element:
// the parent folder is resolved and checked, and the entry inside it is
// returned as is, so a link is acted on (removed, renamed, described)
// rather than followed. When the parent itself is not allowed, the fully
// resolved path is judged instead and root is true: the path is one of the
// allowed folders (or files) itself.
func fopEntry(ps *perm.Set, write bool, param, path string) (entry string, root bool, err error) {
	if ps == nil || path == "" || strings.ContainsRune(path, 0) {
		entry, err = fopCheck(ps, write, param, path)
		return entry, false, err
	}
	abs := path
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(ps.Base(), abs)
	}
	abs = filepath.Clean(abs)
	dir, name := filepath.Dir(abs), filepath.Base(abs)
	if dir != abs {
		if rdir, err := fopCheck(ps, write, param, dir); err == nil {
			return filepath.Join(rdir, name), false, nil
		}
	}
	entry, err = fopCheck(ps, write, param, path)
	return entry, err == nil, err
}

// fopOSErr turns an error from the operating system into an execution
// error naming the parameter.
func fopOSErr(param, path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Failed("parameter %q: %s does not exist", param, path)
	case errors.Is(err, fs.ErrPermission):
		return Failed("parameter %q: %s: the operating system refused access", param, path)
	case errors.Is(err, syscall.ENOTDIR):
		return Failed("parameter %q: %s: a parent is not a folder", param, path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return Failed("parameter %q: %s: %v", param, path, err)
}

func fopTooLarge(param, path string, size, max int64) error {
	return Errorf(TypeTooLarge, "parameter %q: %s is %d bytes, over the %d-byte file limit", param, path, size, max)
}

func fopType(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "other"
}

func fopTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// fopIsBinary reports whether data looks binary: a NUL byte in its first
// 8 KiB.
func fopIsBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), fopSniffBytes)], 0) >= 0
}

func fopRead(ps *perm.Set, path, encoding string) (any, error) {
	r, err := fopCheck(ps, false, "path", path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(r)
	if err != nil {
		return nil, fopOSErr("path", path, err)
	}
	if fi.IsDir() {
		return nil, Invalid("parameter \"path\": %s is a folder; use operation list_dir", path)
	}
	if !fi.Mode().IsRegular() {
		return nil, Invalid("parameter \"path\": %s is not a regular file", path)
	}
	max := ps.Limits().MaxFileBytes
	if fi.Size() > max {
		return nil, fopTooLarge("path", path, fi.Size(), max)
	}
	f, err := os.Open(r)
	if err != nil {
		return nil, fopOSErr("path", path, err)
	}
	data := make([]byte, 0, fi.Size()+1)
	data, err = fopReadAll(f, data, max)
	f.Close()
	if err != nil {
		if TypeOf(err) == TypeTooLarge {
			return nil, fopTooLarge("path", path, int64(len(data)), max)
		}
		return nil, fopOSErr("path", path, err)
	}
	res := map[string]any{"path": r, "size": int64(len(data))}
	switch {
	case encoding == "base64" || encoding == "" && (fopIsBinary(data) || !utf8.Valid(data)):
		res["content"] = base64.StdEncoding.EncodeToString(data)
		res["encoding"] = "base64"
	default:
		if encoding == "utf-8" && !utf8.Valid(data) {
			return nil, Failed("parameter \"path\": %s is not valid UTF-8 text (at byte offset %d); read it with encoding base64",
				path, fopInvalidUTF8(data))
		}
		res["content"] = string(data)
		res["encoding"] = "utf-8"
	}
	return res, nil
}

// fopReadAll reads f into buf, failing with a too_large error past max bytes.
func fopReadAll(f io.Reader, buf []byte, max int64) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return buf, Errorf(TypeTooLarge, "over the limit")
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// fopInvalidUTF8 returns the offset of the first byte that is not part of
// valid UTF-8.
func fopInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// fopMkParents creates the missing parent folders of a resolved path that
// the sandbox allows writing.
func fopMkParents(param, path, resolved string) error {
	if err := os.MkdirAll(filepath.Dir(resolved), 0o755); err != nil {
		return fopOSErr(param, path, err)
	}
	return nil
}

func fopWrite(ps *perm.Set, path string, data []byte, parents bool) (any, error) {
	if parents {
		r, err := fopCheck(ps, true, "path", path)
		if err != nil {
			return nil, err
		}
		if err := fopMkParents("path", path, r); err != nil {
			return nil, err
		}
	}
	r, err := ps.WriteFile(path, data)
	if err != nil {
		if errors.Is(err, perm.ErrDenied) || errors.Is(err, perm.ErrInvalid) || errors.Is(err, perm.ErrTooLarge) {
			return nil, fmt.Errorf("parameter \"path\": %w", err)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, Failed("parameter \"path\": the folder of %s does not exist (set recursive to create it)", path)
		}
		return nil, fopOSErr("path", path, err)
	}
	return map[string]any{"path": r, "bytes_written": int64(len(data)), "size": int64(len(data))}, nil
}

func fopAppend(ps *perm.Set, path string, data []byte, parents bool) (any, error) {
	r, err := fopCheck(ps, true, "path", path)
	if err != nil {
		return nil, err
	}
	max := ps.Limits().MaxFileBytes
	var size int64
	switch fi, err := os.Stat(r); {
	case err == nil:
		if fi.IsDir() {
			return nil, Invalid("parameter \"path\": %s is a folder", path)
		}
		if !fi.Mode().IsRegular() {
			return nil, Invalid("parameter \"path\": %s is not a regular file", path)
		}
		size = fi.Size()
	case errors.Is(err, fs.ErrNotExist):
		if parents {
			if err := fopMkParents("path", path, r); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fopOSErr("path", path, err)
	}
	if size+int64(len(data)) > max {
		return nil, Errorf(TypeTooLarge, "parameter \"path\": appending %d bytes to %s (%d bytes) exceeds the %d-byte file limit",
			len(data), path, size, max)
	}
	f, err := os.OpenFile(r, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, Failed("parameter \"path\": the folder of %s does not exist (set recursive to create it)", path)
		}
		return nil, fopOSErr("path", path, err)
	}
	n, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fopOSErr("path", path, werr)
	}
	return map[string]any{"path": r, "bytes_written": int64(n), "size": size + int64(n)}, nil
}

func fopDelete(ctx context.Context, ps *perm.Set, path string, recursive bool) (any, error) {
	e, root, err := fopEntry(ps, true, "path", path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(e)
	if err != nil {
		return nil, fopOSErr("path", path, err)
	}
	if fi.IsDir() && (root || e == ps.Base()) {
		return nil, Invalid("parameter \"path\": refusing to delete %s: it is the base folder or an allowed folder itself", path)
	}
	typ := fopType(fi.Mode())
	if fi.IsDir() {
		if !recursive {
			empty, err := fopDirEmpty(e)
			if err != nil {
				return nil, fopOSErr("path", path, err)
			}
			if !empty {
				return nil, Invalid("parameter \"path\": folder %s is not empty; set recursive to delete it with its contents", path)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err = os.RemoveAll(e)
	} else {
		err = os.Remove(e)
	}
	if err != nil {
		return nil, fopOSErr("path", path, err)
	}
	return map[string]any{"path": e, "deleted": true, "type": typ}, nil
}

func fopDirEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return len(names) == 0, err
}

func fopCreateDir(ps *perm.Set, path string, parents bool) (any, error) {
	r, err := fopCheck(ps, true, "path", path)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(r); err == nil {
		if !fi.IsDir() {
			return nil, Failed("parameter \"path\": %s exists and is not a folder", path)
		}
		return map[string]any{"path": r, "created": false}, nil
	}
	if parents {
		err = os.MkdirAll(r, 0o755)
	} else {
		err = os.Mkdir(r, 0o755)
	}
	if err != nil {
		if !parents && errors.Is(err, fs.ErrNotExist) {
			return nil, Failed("parameter \"path\": the parent of %s does not exist (set recursive to create it)", path)
		}
		return nil, fopOSErr("path", path, err)
	}
	return map[string]any{"path": r, "created": true}, nil
}

func fopListDir(ctx context.Context, ps *perm.Set, path string, maxDepth int) (any, error) {
	r, err := fopCheck(ps, false, "path", path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(r)
	if err != nil {
		return nil, fopOSErr("path", path, err)
	}
	if !fi.IsDir() {
		return nil, Invalid("parameter \"path\": %s is not a folder", path)
	}
	l := fopLister{ctx: ctx, entries: make([]any, 0, 16), maxDepth: maxDepth}
	if err := l.walk(r, "", 0); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fopOSErr("path", path, err)
	}
	return map[string]any{"path": r, "entries": l.entries, "count": len(l.entries), "truncated": l.truncated}, nil
}

type fopLister struct {
	ctx       context.Context
	entries   []any
	maxDepth  int
	truncated bool
}

// walk lists dir in name order, descending into subfolders (never through
// links) down to maxDepth.
func (l *fopLister) walk(dir, rel string, depth int) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	des, err := os.ReadDir(dir)
	if err != nil && len(des) == 0 {
		if depth > 0 {
			return nil // an unreadable subfolder is listed but not entered
		}
		return err
	}
	for _, de := range des {
		if len(l.entries) >= fopMaxEntries {
			l.truncated = true
			return nil
		}
		name := de.Name()
		if rel != "" {
			name = rel + "/" + name
		}
		entry := map[string]any{"name": name, "type": fopType(de.Type())}
		if info, err := de.Info(); err == nil {
			entry["size"] = info.Size()
			entry["modified"] = fopTime(info.ModTime())
			entry["type"] = fopType(info.Mode())
		} else {
			entry["size"] = int64(0)
			entry["modified"] = nil
		}
		l.entries = append(l.entries, entry)
		if de.IsDir() && depth < l.maxDepth {
			if err := l.walk(filepath.Join(dir, de.Name()), name, depth+1); err != nil {
				return err
			}
			if l.truncated {
				return nil
			}
		}
	}
	return nil
}

// fopStat describes the entry at path: a link is followed when its target
// is inside the sandbox and exists, else described itself.
func fopStat(ps *perm.Set, path string) (entry string, lfi, fi fs.FileInfo, target string, err error) {
	entry, _, err = fopEntry(ps, false, "path", path)
	if err != nil {
		return "", nil, nil, "", err
	}
	lfi, err = os.Lstat(entry)
	if err != nil {
		return entry, nil, nil, "", err
	}
	fi = lfi
	if lfi.Mode()&fs.ModeSymlink != 0 {
		if r, err := ps.Read(path); err == nil {
			if tfi, err := os.Stat(r); err == nil {
				fi, target = tfi, r
			}
		}
	}
	return entry, lfi, fi, target, nil
}

func fopMetadata(ps *perm.Set, path string) (any, error) {
	entry, lfi, fi, target, err := fopStat(ps, path)
	if err != nil {
		if lfi == nil && entry != "" {
			return nil, fopOSErr("path", path, err)
		}
		return nil, err
	}
	res := map[string]any{
		"path":        entry,
		"name":        filepath.Base(entry),
		"size":        fi.Size(),
		"type":        fopType(fi.Mode()),
		"mode":        fmt.Sprintf("%04o", fi.Mode().Perm()),
		"permissions": fi.Mode().Perm().String(),
		"modified":    fopTime(fi.ModTime()),
		"is_symlink":  lfi.Mode()&fs.ModeSymlink != 0,
	}
	if target != "" {
		res["target"] = target
	}
	return res, nil
}

func fopExists(ps *perm.Set, path string) (any, error) {
	entry, _, fi, _, err := fopStat(ps, path)
	if err != nil {
		if entry == "" {
			return nil, err
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return map[string]any{"path": entry, "exists": false, "type": nil}, nil
		}
		return nil, fopOSErr("path", path, err)
	}
	return map[string]any{"path": entry, "exists": true, "type": fopType(fi.Mode())}, nil
}

// fopItem is one entry of a folder being copied or moved, relative to its
// root.
type fopItem struct {
	rel  string
	mode fs.FileMode
	size int64
}

// fopTree lists the folder at root (links are listed, not followed),
// enforcing the entry and size limits of a folder copy.
func fopTree(ctx context.Context, root string, maxFile, maxTotal int64) ([]fopItem, int64, error) {
	var items []fopItem
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if len(items)%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if len(items) >= fopMaxEntries {
			return Errorf(TypeTooLarge, "parameter \"source_path\": the folder holds more than %d entries", fopMaxEntries)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		it := fopItem{rel: rel, mode: info.Mode()}
		if info.Mode().IsRegular() {
			it.size = info.Size()
			if it.size > maxFile {
				return fopTooLarge("source_path", p, it.size, maxFile)
			}
			total += it.size
			if total > maxTotal {
				return Errorf(TypeTooLarge, "parameter \"source_path\": the folder holds more than %d bytes, the folder copy limit", maxTotal)
			}
		}
		items = append(items, it)
		return nil
	})
	return items, total, err
}

// fopWithin reports whether p is dir or below it.
func fopWithin(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// fopTargetReady checks the target of a copy or move: an existing folder is
// refused, an existing file only replaced with overwrite, and missing
// parents created with recursive.
func fopTargetReady(p Params, target, resolved string, srcIsDir bool) error {
	fi, err := os.Lstat(resolved)
	switch {
	case err == nil:
		if fi.IsDir() {
			return Invalid("parameter \"target_path\": %s is an existing folder; give the full path of the new entry", target)
		}
		if srcIsDir {
			return Invalid("parameter \"target_path\": %s exists; a folder cannot replace it", target)
		}
		if !p.Bool("overwrite") {
			return Invalid("parameter \"target_path\": %s exists and overwrite is false", target)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
	default:
		return fopOSErr("target_path", target, err)
	}
	if _, err := os.Stat(filepath.Dir(resolved)); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fopOSErr("target_path", target, err)
		}
		if !p.Bool("recursive") {
			return Failed("parameter \"target_path\": the folder of %s does not exist (set recursive to create it)", target)
		}
		return fopMkParents("target_path", target, resolved)
	}
	return nil
}

func fopCopy(ctx context.Context, ps *perm.Set, p Params) (any, error) {
	src, dst := p.String("source_path"), p.String("target_path")
	rs, err := fopCheck(ps, false, "source_path", src)
	if err != nil {
		return nil, err
	}
	rt, _, err := fopEntry(ps, true, "target_path", dst)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(rs)
	if err != nil {
		return nil, fopOSErr("source_path", src, err)
	}
	if rs == rt {
		return nil, Invalid("parameters \"source_path\" and \"target_path\": both are %s", rs)
	}
	maxFile := ps.Limits().MaxFileBytes
	if fi.IsDir() {
		if !p.Bool("recursive") {
			return nil, Invalid("parameter \"source_path\": %s is a folder; set recursive to copy it", src)
		}
		if fopWithin(rt, rs) {
			return nil, Invalid("parameter \"target_path\": %s is inside the folder being copied", dst)
		}
		items, total, err := fopTree(ctx, rs, maxFile, maxFile*fopFolderFactor)
		if err != nil {
			return nil, fopTreeErr(ctx, src, err)
		}
		if err := fopTargetReady(p, dst, rt, true); err != nil {
			return nil, err
		}
		if err := fopCopyTree(ctx, rs, rt, items, maxFile); err != nil {
			return nil, fopTreeErr(ctx, src, err)
		}
		return map[string]any{"source": rs, "target": rt, "bytes": total, "type": "dir"}, nil
	}
	if !fi.Mode().IsRegular() {
		return nil, Invalid("parameter \"source_path\": %s is not a regular file or folder", src)
	}
	if fi.Size() > maxFile {
		return nil, fopTooLarge("source_path", src, fi.Size(), maxFile)
	}
	if err := fopTargetReady(p, dst, rt, false); err != nil {
		return nil, err
	}
	n, err := fopCopyFile(ctx, rs, rt, fi.Mode().Perm(), maxFile)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if TypeOf(err) == TypeTooLarge {
			return nil, fopTooLarge("source_path", src, n, maxFile)
		}
		return nil, fopOSErr("source_path", src, err)
	}
	return map[string]any{"source": rs, "target": rt, "bytes": n, "type": "file"}, nil
}

func fopTreeErr(ctx context.Context, src string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	return fopOSErr("source_path", src, err)
}

// fopCopyFile copies src to dst through a temporary file in dst's folder and
// a rename, so dst is never half-written. It stops when ctx ends.
func fopCopyFile(ctx context.Context, src, dst string, mode fs.FileMode, max int64) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return 0, err
	}
	n, err := fopCopyData(ctx, tmp, in, max)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return n, err
	}
	return n, nil
}

// fopCopyData copies in chunks, checking ctx and the size limit between them.
func fopCopyData(ctx context.Context, w io.Writer, r io.Reader, max int64) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := r.Read(buf)
		if k > 0 {
			n += int64(k)
			if n > max {
				return n, Errorf(TypeTooLarge, "over the limit")
			}
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// fopCopyTree copies the listed entries of src into a temporary folder next
// to dst and renames it to dst once complete. Links are recreated with the
// same target text (never followed); other special files are skipped.
func fopCopyTree(ctx context.Context, src, dst string, items []fopItem, maxFile int64) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	err = func() error {
		for _, it := range items {
			from, to := filepath.Join(src, it.rel), filepath.Join(tmp, it.rel)
			var err error
			switch {
			case it.mode.IsDir():
				err = os.Mkdir(to, it.mode.Perm()|0o700)
			case it.mode.IsRegular():
				_, err = fopCopyFile(ctx, from, to, it.mode.Perm(), maxFile)
			case it.mode&fs.ModeSymlink != 0:
				var t string
				if t, err = os.Readlink(from); err == nil {
					err = os.Symlink(t, to)
				}
			}
			if err != nil {
				return err
			}
		}
		for i := len(items) - 1; i >= 0; i-- { // folders were made writable to fill them
			if it := items[i]; it.mode.IsDir() {
				if err := os.Chmod(filepath.Join(tmp, it.rel), it.mode.Perm()); err != nil {
					return err
				}
			}
		}
		if err := os.Chmod(tmp, fi.Mode().Perm()); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	}()
	if err != nil {
		os.RemoveAll(tmp)
	}
	return err
}

func fopMove(ctx context.Context, ps *perm.Set, p Params) (any, error) {
	src, dst := p.String("source_path"), p.String("target_path")
	rs, root, err := fopEntry(ps, true, "source_path", src)
	if err != nil {
		return nil, err
	}
	rt, _, err := fopEntry(ps, true, "target_path", dst)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(rs)
	if err != nil {
		return nil, fopOSErr("source_path", src, err)
	}
	if fi.IsDir() && (root || rs == ps.Base()) {
		return nil, Invalid("parameter \"source_path\": refusing to move %s: it is the base folder or an allowed folder itself", src)
	}
	if rs == rt {
		return nil, Invalid("parameters \"source_path\" and \"target_path\": both are %s", rs)
	}
	isDir := fi.IsDir()
	if isDir && fopWithin(rt, rs) {
		return nil, Invalid("parameter \"target_path\": %s is inside the folder being moved", dst)
	}
	maxFile := ps.Limits().MaxFileBytes
	var items []fopItem
	size := fi.Size()
	typ := fopType(fi.Mode())
	if isDir {
		items, size, err = fopTree(ctx, rs, maxFile, maxFile*fopFolderFactor)
		if err != nil {
			return nil, fopTreeErr(ctx, src, err)
		}
	} else if !fi.Mode().IsRegular() && fi.Mode()&fs.ModeSymlink == 0 {
		return nil, Invalid("parameter \"source_path\": %s is not a regular file, link or folder", src)
	} else if fi.Mode().IsRegular() && size > maxFile {
		return nil, fopTooLarge("source_path", src, size, maxFile)
	}
	if err := fopTargetReady(p, dst, rt, isDir); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err = os.Rename(rs, rt)
	if errors.Is(err, syscall.EXDEV) {
		// Another file system: copy, then remove the source.
		switch {
		case isDir:
			err = fopCopyTree(ctx, rs, rt, items, maxFile)
		case fi.Mode()&fs.ModeSymlink != 0:
			var t string
			if t, err = os.Readlink(rs); err == nil {
				err = os.Symlink(t, rt)
			}
		default:
			_, err = fopCopyFile(ctx, rs, rt, fi.Mode().Perm(), maxFile)
		}
		if err == nil {
			err = os.RemoveAll(rs)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fopOSErr("source_path", src, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		size = 0
	}
	return map[string]any{"source": rs, "target": rt, "bytes": size, "type": typ}, nil
}
