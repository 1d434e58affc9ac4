package files

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"spellhost/tools"
	"spellhost/tools/internal/fileio"
	"spellhost/tools/perm"
)

// file_operations limits.
const (
	maxEntries   = 10_000 // entries listed by list_dir, or copied/moved in one folder
	maxListDepth = 100    // deepest max_depth accepted
	folderFactor = 16     // a folder copy may total this many times the file limit
	sniffBytes   = 8 << 10
)

func fileOperationsSpec() tools.Spec {
	return tools.Spec{
		Name:     "file_operations",
		Category: "filesystem",
		Description: "Reads, writes, appends, deletes, copies, moves, lists and inspects files and folders inside the sandbox " +
			"(--allow-read / --allow-write). Relative paths resolve against the base folder. Every file is reached through " +
			"a handle on its allowed folder, so neither .. nor a link, even one swapped in during the call, leads out: a " +
			"link is followed only while it stays inside the sandbox, and one leading out is refused. delete and move act " +
			"on a link itself, metadata and exists describe a link's target only when it is inside the sandbox, and " +
			"list_dir lists links without following them. A folder copy recreates each link as a link, and a move moves " +
			"it, only when from its new place it still leads inside the same allowed folder; otherwise the copy or move " +
			"is refused (validation_error naming the link) before anything is written. FIFOs, devices and sockets are " +
			"never opened: read, append and copy refuse them, a folder copy leaves them out. " +
			"write replaces the file atomically (temporary file and rename). Limits: a file read, " +
			"written, appended to or copied is at most the file limit (64 MiB by default); list_dir returns at most 10000 " +
			"entries; a folder copy holds at most 10000 entries and 16 times the file limit in total",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Required: true,
				Enum: []string{"read", "write", "append", "delete", "create_dir", "list_dir", "copy", "move", "metadata", "exists"},
				Description: "read returns a file's contents; write replaces a file; append adds to the end of a file (creating it); " +
					"delete removes a file, link or folder; create_dir makes a folder; list_dir lists a folder; copy and move take " +
					"source_path to target_path; metadata describes a path; exists tells whether a path exists"},
			{Name: "path", Type: tools.String,
				Description: "the file or folder to act on, for every operation except copy and move; reading needs read " +
					"permission, changing needs write permission"},
			{Name: "input", Type: tools.String,
				Description: "write and append: the content (text, or base64 when encoding is base64); required for both"},
			{Name: "encoding", Type: tools.String, Enum: []string{"utf-8", "base64"},
				Description: "read: utf-8 returns the text (a file that is not valid UTF-8 is an error), base64 returns the bytes " +
					"encoded; when omitted, text files come back as utf-8 and binary files (a NUL byte in the first 8 KiB, or " +
					"invalid UTF-8) as base64, and the result says which. write and append: base64 means input is base64 and is " +
					"decoded before writing (default utf-8: input is written as is)"},
			{Name: "source_path", Type: tools.String,
				Description: "copy and move: the file or folder to copy or move; copy needs read permission on it, move write permission"},
			{Name: "target_path", Type: tools.String,
				Description: "copy and move: the new path, which must not be an existing folder; needs write permission"},
			{Name: "recursive", Type: tools.Boolean, Default: false,
				Description: "create_dir: create missing parent folders too (and succeed if the folder exists); delete: remove a " +
					"folder with everything in it (without it a non-empty folder is refused); copy: copy a folder; list_dir: list " +
					"subfolders too, down to max_depth; write, append, copy and move: create missing parent folders of the target"},
			{Name: "overwrite", Type: tools.Boolean, Default: true,
				Description: "copy and move: replace an existing file at target_path; false refuses to replace it"},
			{Name: "max_depth", Type: tools.Integer, Default: int64(20),
				Description: "list_dir with recursive: how many levels of subfolders to descend into (0 lists only the folder's own entries; at most 100)"},
		},
		Returns: "read: {path, content, size, encoding (utf-8 or base64)}; write and append: {path, bytes_written, size}; " +
			"delete: {path, deleted, type}; create_dir: {path, created}; list_dir: {path, entries: [{name, type " +
			"(file|dir|symlink|other), size, modified}], count, truncated} where name is relative to path (with / between " +
			"folders when recursive) and links are listed, not followed; metadata: {path, name, size, type, mode (octal), " +
			"permissions, modified, is_symlink, target (the resolved path, for a link inside the sandbox)}; exists: {path, " +
			"exists, type (null when absent)}; copy and move: {source, target, bytes, type}. Paths in results are absolute " +
			"(a link into another allowed folder shown as where it leads); times are RFC 3339 in UTC. A link whose target is missing or outside the sandbox is described as " +
			"type symlink",
		Example: map[string]any{"operation": "list_dir", "path": "."},
	}
}

// Operations returns the file_operations tool. Every path goes through
// ps.
func Operations(ps *perm.Set) tools.Tool {
	return tools.New(fileOperationsSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runOperation(ctx, ps, p)
	})
}

func runOperation(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	op := p.String("operation")
	if ps == nil {
		return nil, tools.Errorf(tools.TypePermission, "operation %s: no file permissions are configured", op)
	}
	switch op {
	case "copy", "move":
		for _, k := range []string{"source_path", "target_path"} {
			if !p.Has(k) {
				return nil, tools.Invalid("missing parameter %q for operation %s", k, op)
			}
		}
		if op == "copy" {
			return copyPaths(ctx, ps, p)
		}
		return movePaths(ctx, ps, p)
	}
	if !p.Has("path") {
		return nil, tools.Invalid("missing parameter %q for operation %s", "path", op)
	}
	path := p.String("path")
	switch op {
	case "read":
		return readFile(ps, path, p.String("encoding"))
	case "write", "append":
		if !p.Has("input") {
			return nil, tools.Invalid("missing parameter %q (the content) for operation %s", "input", op)
		}
		data, err := content(p)
		if err != nil {
			return nil, err
		}
		if op == "write" {
			return writeFile(ps, path, data, p.Bool("recursive"))
		}
		return appendFile(ps, path, data, p.Bool("recursive"))
	case "delete":
		return deletePath(ctx, ps, path, p.Bool("recursive"))
	case "create_dir":
		return createDir(ps, path, p.Bool("recursive"))
	case "list_dir":
		depth := 0
		if p.Bool("recursive") {
			depth = p.Int("max_depth")
			if depth < 0 || depth > maxListDepth {
				return nil, tools.Invalid("parameter \"max_depth\": must be between 0 and %d, got %d", maxListDepth, depth)
			}
		}
		return listDir(ctx, ps, path, depth)
	case "metadata":
		return metadata(ps, path)
	case "exists":
		return exists(ps, path)
	}
	return nil, tools.Invalid("parameter \"operation\": unknown value %q", op)
}

// content returns the bytes of a write or append.
func content(p tools.Params) ([]byte, error) {
	in := p.String("input")
	if p.String("encoding") != "base64" {
		return []byte(in), nil
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(in))
	if err != nil {
		if data, err2 := base64.RawStdEncoding.DecodeString(strings.TrimSpace(in)); err2 == nil {
			return data, nil
		}
		return nil, tools.Invalid("parameter \"input\": not valid base64 (encoding is base64): %v", err)
	}
	return data, nil
}

// isFolder reports whether err says a folder was found where a file
// was needed.
func isFolder(err error) bool {
	var nr *perm.NotRegularError
	return errors.As(err, &nr) && nr.Mode.IsDir()
}

func tooLarge(param, path string, size, max int64) error {
	return tools.Errorf(tools.TypeTooLarge, "parameter %q: %s is %d bytes, over the %d-byte file limit", param, path, size, max)
}

func typeName(m fs.FileMode) string {
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

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// isBinary reports whether data looks binary: a NUL byte in its first
// 8 KiB.
func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), sniffBytes)], 0) >= 0
}

func readFile(ps *perm.Set, path, encoding string) (any, error) {
	l, err := fileio.Locate(ps, perm.ForRead, "path", path)
	if err != nil {
		return nil, err
	}
	f, err := l.Open()
	if err != nil {
		if isFolder(err) {
			return nil, tools.Invalid("parameter \"path\": %s is a folder; use operation list_dir", path)
		}
		return nil, fileio.Err("path", path, err)
	}
	max := ps.Limits().MaxFileBytes
	if f.Info.Size() > max {
		f.Close()
		return nil, tooLarge("path", path, f.Info.Size(), max)
	}
	data := make([]byte, 0, f.Info.Size()+1)
	data, err = readAll(f, data, max)
	f.Close()
	if err != nil {
		if tools.TypeOf(err) == tools.TypeTooLarge {
			return nil, tooLarge("path", path, int64(len(data)), max)
		}
		return nil, fileio.OSErr("path", path, err)
	}
	res := map[string]any{"path": f.Loc.Path(), "size": int64(len(data))}
	switch {
	case encoding == "base64" || encoding == "" && (isBinary(data) || !utf8.Valid(data)):
		res["content"] = base64.StdEncoding.EncodeToString(data)
		res["encoding"] = "base64"
	default:
		if encoding == "utf-8" && !utf8.Valid(data) {
			return nil, tools.Failed("parameter \"path\": %s is not valid UTF-8 text (at byte offset %d); read it with encoding base64",
				path, invalidUTF8(data))
		}
		res["content"] = string(data)
		res["encoding"] = "utf-8"
	}
	return res, nil
}

// readAll reads f into buf, failing with a too_large error past max bytes.
func readAll(f io.Reader, buf []byte, max int64) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return buf, tools.Errorf(tools.TypeTooLarge, "over the limit")
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// invalidUTF8 returns the offset of the first byte that is not part of
// valid UTF-8.
func invalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// missingFolder is the error of a write into a folder that does not
// exist.
func missingFolder(path string) error {
	return tools.Failed("parameter \"path\": the folder of %s does not exist (set recursive to create it)", path)
}

func writeFile(ps *perm.Set, path string, data []byte, parents bool) (any, error) {
	l, err := fileio.Locate(ps, perm.ForWrite, "path", path)
	if err != nil {
		return nil, err
	}
	if parents {
		if err := l.MkdirParents(); err != nil {
			return nil, fileio.Err("path", path, err)
		}
	}
	at, err := l.WriteFile(data)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, missingFolder(path)
		}
		return nil, fileio.Err("path", path, err)
	}
	return map[string]any{"path": at.Path(), "bytes_written": int64(len(data)), "size": int64(len(data))}, nil
}

func appendFile(ps *perm.Set, path string, data []byte, parents bool) (any, error) {
	l, err := fileio.Locate(ps, perm.ForWrite, "path", path)
	if err != nil {
		return nil, err
	}
	if parents {
		if err := l.MkdirParents(); err != nil {
			return nil, fileio.Err("path", path, err)
		}
	}
	size, at, err := l.Append(data)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, missingFolder(path)
		}
		return nil, fileio.Err("path", path, err)
	}
	return map[string]any{"path": at.Path(), "bytes_written": int64(len(data)), "size": size}, nil
}

func deletePath(ctx context.Context, ps *perm.Set, path string, recursive bool) (any, error) {
	l, err := fileio.Locate(ps, perm.ForWrite, "path", path)
	if err != nil {
		return nil, err
	}
	fi, at, err := l.Lstat()
	if err != nil {
		return nil, fileio.Err("path", path, err)
	}
	if fi.IsDir() && at.IsAllowedFolder() {
		return nil, tools.Invalid("parameter \"path\": refusing to delete %s: it is the base folder or an allowed folder itself", path)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if fi.IsDir() && recursive {
		err = at.RemoveAll()
	} else {
		err = at.Remove()
	}
	if err != nil {
		if fi.IsDir() && (errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)) {
			return nil, tools.Invalid("parameter \"path\": folder %s is not empty; set recursive to delete it with its contents", path)
		}
		return nil, fileio.Err("path", path, err)
	}
	return map[string]any{"path": at.Path(), "deleted": true, "type": typeName(fi.Mode())}, nil
}

func createDir(ps *perm.Set, path string, parents bool) (any, error) {
	l, err := fileio.Locate(ps, perm.ForWrite, "path", path)
	if err != nil {
		return nil, err
	}
	switch fi, at, err := l.Stat(); {
	case err == nil && !fi.IsDir():
		return nil, tools.Failed("parameter \"path\": %s exists and is not a folder", path)
	case err == nil:
		return map[string]any{"path": at.Path(), "created": false}, nil
	case errors.Is(err, perm.ErrDenied):
		return nil, fileio.Err("path", path, err)
	}
	at, err := l.Mkdir(parents)
	if err != nil {
		if !parents && errors.Is(err, fs.ErrNotExist) {
			return nil, tools.Failed("parameter \"path\": the parent of %s does not exist (set recursive to create it)", path)
		}
		return nil, fileio.Err("path", path, err)
	}
	return map[string]any{"path": at.Path(), "created": true}, nil
}

func listDir(ctx context.Context, ps *perm.Set, path string, maxDepth int) (any, error) {
	l, err := fileio.Locate(ps, perm.ForRead, "path", path)
	if err != nil {
		return nil, err
	}
	d, err := l.OpenDir()
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, perm.ErrNotRegular) {
			return nil, tools.Invalid("parameter \"path\": %s is not a folder", path)
		}
		return nil, fileio.Err("path", path, err)
	}
	defer d.Close()
	ls := lister{ctx: ctx, entries: make([]any, 0, 16), maxDepth: maxDepth}
	if err := ls.walk(d, "", 0); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fileio.OSErr("path", path, err)
	}
	return map[string]any{"path": d.Path(), "entries": ls.entries, "count": len(ls.entries), "truncated": ls.truncated}, nil
}

type lister struct {
	ctx       context.Context
	entries   []any
	maxDepth  int
	truncated bool
}

// walk lists d in name order, descending into subfolders (never through
// links: each is opened from its parent's handle) down to maxDepth.
func (ls *lister) walk(d *perm.Dir, rel string, depth int) error {
	if err := ls.ctx.Err(); err != nil {
		return err
	}
	des, err := d.Entries()
	if err != nil && len(des) == 0 {
		if depth > 0 {
			return nil // an unreadable subfolder is listed but not entered
		}
		return err
	}
	for _, de := range des {
		if len(ls.entries) >= maxEntries {
			ls.truncated = true
			return nil
		}
		name := de.Name()
		if rel != "" {
			name = rel + "/" + name
		}
		entry := map[string]any{"name": name, "type": typeName(de.Type())}
		if info, err := de.Info(); err == nil {
			entry["size"] = info.Size()
			entry["modified"] = formatTime(info.ModTime())
			entry["type"] = typeName(info.Mode())
		} else {
			entry["size"] = int64(0)
			entry["modified"] = nil
		}
		ls.entries = append(ls.entries, entry)
		if de.IsDir() && depth < ls.maxDepth {
			sub, err := d.Sub(de.Name())
			if err != nil {
				continue // gone, unreadable or swapped: listed, not entered
			}
			err = ls.walk(sub, name, depth+1)
			sub.Close()
			if err != nil {
				return err
			}
			if ls.truncated {
				return nil
			}
		}
	}
	return nil
}

// statPath describes the entry at path: a link is followed when its target
// is inside the sandbox and exists, else described itself.
func statPath(ps *perm.Set, path string) (entry perm.Loc, lfi, fi fs.FileInfo, target string, err error) {
	l, err := fileio.Locate(ps, perm.ForRead, "path", path)
	if err != nil {
		return l, nil, nil, "", err
	}
	lfi, entry, err = l.Lstat()
	if err != nil {
		return entry, nil, nil, "", err
	}
	fi = lfi
	if lfi.Mode()&fs.ModeSymlink != 0 {
		if t, ok := entry.Target(); ok {
			if tfi, at, err := t.Stat(); err == nil {
				fi, target = tfi, at.Path()
			}
		}
	}
	return entry, lfi, fi, target, nil
}

func metadata(ps *perm.Set, path string) (any, error) {
	entry, lfi, fi, target, err := statPath(ps, path)
	if err != nil {
		if tools.TypeOf(err) == tools.TypePermission {
			return nil, err
		}
		return nil, fileio.Err("path", path, err)
	}
	res := map[string]any{
		"path":        entry.Path(),
		"name":        filepath.Base(entry.Path()),
		"size":        fi.Size(),
		"type":        typeName(fi.Mode()),
		"mode":        fmt.Sprintf("%04o", fi.Mode().Perm()),
		"permissions": fi.Mode().Perm().String(),
		"modified":    formatTime(fi.ModTime()),
		"is_symlink":  lfi.Mode()&fs.ModeSymlink != 0,
	}
	if target != "" {
		res["target"] = target
	}
	return res, nil
}

func exists(ps *perm.Set, path string) (any, error) {
	entry, _, fi, _, err := statPath(ps, path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return map[string]any{"path": entry.Path(), "exists": false, "type": nil}, nil
		}
		if tools.TypeOf(err) == tools.TypePermission {
			return nil, err
		}
		return nil, fileio.Err("path", path, err)
	}
	return map[string]any{"path": entry.Path(), "exists": true, "type": typeName(fi.Mode())}, nil
}
