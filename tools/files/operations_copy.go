package files

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"

	"spellhost/tools"
	"spellhost/tools/internal/fileio"
	"spellhost/tools/perm"
)

// file_operations copy and move. Every file is reached through the
// sandbox's folder handles; a link in a copied or moved folder is
// recreated only when it still leads inside the same allowed folder from
// its new place, so a copy or move never makes a way out.

// item is one entry of a folder being copied or moved, relative to the
// folder.
type item struct {
	rel    string // slash-separated
	mode   fs.FileMode
	size   int64
	target string // a link's target
}

// tree lists the folder d (links are listed, not followed), enforcing
// the entry and size limits of a folder copy and checking that every link
// would lead inside the allowed folder once under dst.
func tree(ctx context.Context, d *perm.Dir, dst perm.Loc, maxFile, maxTotal int64) ([]item, int64, error) {
	var items []item
	var total int64
	var walk func(d *perm.Dir, rel string) error
	walk = func(d *perm.Dir, rel string) error {
		des, err := d.Entries()
		if err != nil {
			return err
		}
		for _, de := range des {
			if len(items)%64 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if len(items) >= maxEntries {
				return tools.Errorf(tools.TypeTooLarge, "parameter \"source_path\": the folder holds more than %d entries", maxEntries)
			}
			info, err := de.Info()
			if err != nil {
				return err
			}
			it := item{rel: path.Join(rel, de.Name()), mode: info.Mode()}
			switch {
			case info.Mode().IsRegular():
				it.size = info.Size()
				if it.size > maxFile {
					return tooLarge("source_path", path.Join(d.Path(), de.Name()), it.size, maxFile)
				}
				if total += it.size; total > maxTotal {
					return tools.Errorf(tools.TypeTooLarge, "parameter \"source_path\": the folder holds more than %d bytes, the folder copy limit", maxTotal)
				}
			case info.Mode()&fs.ModeSymlink != 0:
				if it.target, err = d.Readlink(de.Name()); err != nil {
					return err
				}
				to, err := dst.Join(it.rel)
				if err != nil {
					return err
				}
				if err := to.CheckLink(it.target); err != nil {
					return fileio.Err("source_path", it.rel, err)
				}
			case !info.IsDir():
				continue // FIFOs, devices and sockets are not copied
			}
			items = append(items, it)
			if info.IsDir() {
				sub, err := d.Sub(de.Name())
				if err != nil {
					return err
				}
				err = walk(sub, it.rel)
				sub.Close()
				if err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := walk(d, "")
	return items, total, err
}

// targetReady checks the target of a copy or move: an existing folder is
// refused, an existing file only replaced with overwrite, and missing
// parents created with recursive.
func targetReady(p tools.Params, target string, dst perm.Loc, srcIsDir bool) error {
	fi, _, err := dst.Lstat()
	switch {
	case err == nil:
		if fi.IsDir() {
			return tools.Invalid("parameter \"target_path\": %s is an existing folder; give the full path of the new entry", target)
		}
		if srcIsDir {
			return tools.Invalid("parameter \"target_path\": %s exists; a folder cannot replace it", target)
		}
		if !p.Bool("overwrite") {
			return tools.Invalid("parameter \"target_path\": %s exists and overwrite is false", target)
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
	default:
		return fileio.Err("target_path", target, err)
	}
	if _, _, err := dst.Parent().Stat(); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fileio.Err("target_path", target, err)
		}
		if !p.Bool("recursive") {
			return tools.Failed("parameter \"target_path\": the folder of %s does not exist (set recursive to create it)", target)
		}
		if err := dst.MkdirParents(); err != nil {
			return fileio.Err("target_path", target, err)
		}
	}
	return nil
}

func copyPaths(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	src, dst := p.String("source_path"), p.String("target_path")
	ls, err := fileio.Locate(ps, perm.ForRead, "source_path", src)
	if err != nil {
		return nil, err
	}
	lt, err := fileio.Locate(ps, perm.ForWrite, "target_path", dst)
	if err != nil {
		return nil, err
	}
	fi, ls, err := ls.Stat()
	if err != nil {
		return nil, fileio.Err("source_path", src, err)
	}
	if ls.Same(lt) {
		return nil, tools.Invalid("parameters \"source_path\" and \"target_path\": both are %s", ls.Path())
	}
	maxFile := ps.Limits().MaxFileBytes
	if fi.IsDir() {
		if !p.Bool("recursive") {
			return nil, tools.Invalid("parameter \"source_path\": %s is a folder; set recursive to copy it", src)
		}
		if lt.Within(ls) {
			return nil, tools.Invalid("parameter \"target_path\": %s is inside the folder being copied", dst)
		}
		d, err := ls.OpenDir()
		if err != nil {
			return nil, fileio.Err("source_path", src, err)
		}
		items, total, err := tree(ctx, d, lt, maxFile, maxFile*folderFactor)
		d.Close()
		if err != nil {
			return nil, treeErr(ctx, src, err)
		}
		if err := targetReady(p, dst, lt, true); err != nil {
			return nil, err
		}
		if err := copyTree(ctx, ls, fi.Mode().Perm(), lt, items, maxFile); err != nil {
			return nil, treeErr(ctx, src, err)
		}
		return map[string]any{"source": ls.Path(), "target": lt.Path(), "bytes": total, "type": "dir"}, nil
	}
	f, err := ls.Open()
	if err != nil {
		return nil, fileio.Err("source_path", src, err)
	}
	defer f.Close()
	if f.Info.Size() > maxFile {
		return nil, tooLarge("source_path", src, f.Info.Size(), maxFile)
	}
	if err := targetReady(p, dst, lt, false); err != nil {
		return nil, err
	}
	n, err := copyFile(ctx, f, lt, f.Info.Mode().Perm(), maxFile)
	if err != nil {
		return nil, copyErr(ctx, src, n, maxFile, err)
	}
	return map[string]any{"source": f.Loc.Path(), "target": lt.Path(), "bytes": n, "type": "file"}, nil
}

func copyErr(ctx context.Context, src string, n, maxFile int64, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if tools.TypeOf(err) == tools.TypeTooLarge {
		return tooLarge("source_path", src, n, maxFile)
	}
	return fileio.Err("source_path", src, err)
}

func treeErr(ctx context.Context, src string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var te *tools.Error
	if errors.As(err, &te) {
		return err
	}
	return fileio.Err("source_path", src, err)
}

// copyFile copies in to dst through a temporary file beside dst and a
// rename, so dst is never half-written. It stops when ctx ends.
func copyFile(ctx context.Context, in io.Reader, dst perm.Loc, mode fs.FileMode, max int64) (int64, error) {
	tmp, f, err := dst.CreateTemp()
	if err != nil {
		return 0, err
	}
	n, err := copyData(ctx, f, in, max)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = tmp.Rename(dst)
	}
	if err != nil {
		tmp.Remove()
		return n, err
	}
	return n, nil
}

// copyData copies in chunks, checking ctx and the size limit between them.
func copyData(ctx context.Context, w io.Writer, r io.Reader, max int64) (int64, error) {
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
				return n, tools.Errorf(tools.TypeTooLarge, "over the limit")
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

// copyTree copies the listed entries of the folder src into a new
// temporary folder beside dst and renames it to dst once complete. Links
// are recreated with the same target text (never followed), each checked
// again as it is made; other special files are skipped.
func copyTree(ctx context.Context, src perm.Loc, mode fs.FileMode, dst perm.Loc, items []item, maxFile int64) error {
	tmp, err := dst.MkdirTemp()
	if err != nil {
		return err
	}
	err = func() error {
		for _, it := range items {
			from, err := src.Join(it.rel)
			if err != nil {
				return err
			}
			to, err := tmp.Join(it.rel)
			if err != nil {
				return err
			}
			switch {
			case it.mode.IsDir():
				_, err = to.Mkdir(false)
			case it.mode.IsRegular():
				err = copyInto(ctx, from, to, it.mode.Perm(), maxFile)
			case it.mode&fs.ModeSymlink != 0:
				err = to.Symlink(it.target)
			}
			if err != nil {
				return err
			}
		}
		for i := len(items) - 1; i >= 0; i-- { // folders were made writable to fill them
			if it := items[i]; it.mode.IsDir() {
				to, _ := tmp.Join(it.rel)
				if err := to.Chmod(it.mode.Perm()); err != nil {
					return err
				}
			}
		}
		if err := tmp.Chmod(mode); err != nil {
			return err
		}
		return tmp.Rename(dst)
	}()
	if err != nil {
		tmp.RemoveAll()
	}
	return err
}

// copyInto copies the regular file at from to a new file at to.
func copyInto(ctx context.Context, from, to perm.Loc, mode fs.FileMode, max int64) error {
	in, err := from.Open()
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := to.Create(0o600)
	if err != nil {
		return err
	}
	_, err = copyData(ctx, out, in, max)
	if err == nil {
		err = out.Chmod(mode)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func movePaths(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	src, dst := p.String("source_path"), p.String("target_path")
	ls, err := fileio.Locate(ps, perm.ForWrite, "source_path", src)
	if err != nil {
		return nil, err
	}
	lt, err := fileio.Locate(ps, perm.ForWrite, "target_path", dst)
	if err != nil {
		return nil, err
	}
	fi, ls, err := ls.Lstat()
	if err != nil {
		return nil, fileio.Err("source_path", src, err)
	}
	isDir, isLink := fi.IsDir(), fi.Mode()&fs.ModeSymlink != 0
	if isDir && ls.IsAllowedFolder() {
		return nil, tools.Invalid("parameter \"source_path\": refusing to move %s: it is the base folder or an allowed folder itself", src)
	}
	if ls.Same(lt) {
		return nil, tools.Invalid("parameters \"source_path\" and \"target_path\": both are %s", ls.Path())
	}
	if isDir && lt.Within(ls) {
		return nil, tools.Invalid("parameter \"target_path\": %s is inside the folder being moved", dst)
	}
	maxFile := ps.Limits().MaxFileBytes
	var items []item
	size := fi.Size()
	switch {
	case isDir:
		d, err := ls.OpenDir()
		if err != nil {
			return nil, fileio.Err("source_path", src, err)
		}
		items, size, err = tree(ctx, d, lt, maxFile, maxFile*folderFactor)
		d.Close()
		if err != nil {
			return nil, treeErr(ctx, src, err)
		}
	case isLink:
		size = 0
	case !fi.Mode().IsRegular():
		return nil, tools.Invalid("parameter \"source_path\": %s is %s, not a regular file, link or folder", src, perm.Kind(fi.Mode()))
	case size > maxFile:
		return nil, tooLarge("source_path", src, size, maxFile)
	}
	if err := targetReady(p, dst, lt, isDir); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	err = ls.Rename(lt)
	if errors.Is(err, perm.ErrOtherFolder) {
		// No allowed folder holds both: copy, then remove the source.
		switch {
		case isDir:
			err = copyTree(ctx, ls, fi.Mode().Perm(), lt, items, maxFile)
		case isLink:
			var t string
			if t, err = ls.Readlink(); err == nil {
				err = lt.Symlink(t)
			}
		default:
			var f *perm.File
			if f, err = ls.Open(); err == nil {
				_, err = copyFile(ctx, f, lt, f.Info.Mode().Perm(), maxFile)
				f.Close()
			}
		}
		if err == nil {
			err = ls.RemoveAll()
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fileio.Err("source_path", src, err)
	}
	return map[string]any{"source": ls.Path(), "target": lt.Path(), "bytes": size, "type": typeName(fi.Mode())}, nil
}
