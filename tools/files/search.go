package files

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"

	"spellhost/tools"
	"spellhost/tools/internal/fileio"
	"spellhost/tools/perm"
)

// file_search limits.
const (
	defaultMaxFileSize = 1 << 20
	maxContext         = 10
	maxResultsCap      = 100_000
	maxDepthCap        = 1000
	maxFiles           = 100_000   // files visited in one search
	searchMaxEntries   = 1_000_000 // folder entries looked at in one search
	maxPattern         = 4096      // bytes of pattern
	maxLine            = 1000      // bytes of a line shown in a result
	ctxEveryLines      = 4096
)

// defaultExclude is exclude_dirs when the caller gives none.
var defaultExclude = []string{".git", "node_modules"}

func fileSearchSpec() tools.Spec {
	return tools.Spec{
		Name:     "file_search",
		Category: "filesystem",
		Description: "Searches the lines of a file, or of the files in a folder tree, for a text or an RE2 regular expression, " +
			"grep-style: one match per matching line, with the line, its number, the column of the first match and optional " +
			"context lines. The path must be readable (--allow-read). Folders are walked in name order without following " +
			"links to folders; a link to a file is searched only when its target is inside the sandbox (links leading out " +
			"are skipped and counted as skipped_outside). Binary files (a NUL byte in the first 8 KiB) are skipped. Limits: " +
			"files over max_file_size are skipped, at most 100000 files are read, 1000000 folder entries looked at and " +
			"max_results matches returned (then truncated is true); lines in results are cut to 1000 bytes",
		Params: []tools.Param{
			{Name: "pattern", Type: tools.String, Required: true,
				Description: "the text to find, or an RE2 regular expression with use_regex (matched against each line, " +
					"without its line break); at most 4096 bytes"},
			{Name: "path", Type: tools.String, Required: true,
				Description: "the file or folder to search, relative to the base folder; needs read permission"},
			{Name: "recursive", Type: tools.Boolean, Default: true,
				Description: "search subfolders too (down to max_depth); false searches only the folder's own files"},
			{Name: "case_sensitive", Type: tools.Boolean, Default: false,
				Description: "match letter case exactly; by default case is ignored"},
			{Name: "use_regex", Type: tools.Boolean, Default: false,
				Description: "treat pattern as an RE2 regular expression (https://github.com/google/re2/wiki/Syntax); ^ and $ " +
					"match at the start and end of each line"},
			{Name: "context_lines", Type: tools.Integer, Default: int64(0),
				Description: "how many lines before and after each match to return (0 to 10)"},
			{Name: "include_extensions", Type: tools.Array,
				Description: "only search files whose names end with one of these extensions, e.g. [\".go\", \"md\"] (case " +
					"ignored; the dot is optional); by default every file is searched. Not applied when path is a file"},
			{Name: "exclude_dirs", Type: tools.Array,
				Description: "names (or glob patterns such as \"build*\") of folders not to enter; default [\".git\", " +
					"\"node_modules\"]; [] enters every folder"},
			{Name: "max_file_size", Type: tools.Integer, Default: int64(defaultMaxFileSize),
				Description: "skip files larger than this many bytes (counted as skipped_large); default 1 MiB, at most the " +
					"file limit (64 MiB by default). When path is a single file over it, the search fails with too_large"},
			{Name: "max_depth", Type: tools.Integer, Default: int64(20),
				Description: "how many levels of subfolders below path to enter (0: only the files directly in path)"},
			{Name: "max_results", Type: tools.Integer, Default: int64(1000),
				Description: "stop after this many matches (1 to 100000) and set summary.truncated"},
		},
		Returns: "{matches: [{file_path, line_number, column, line, match, context_before: [lines], context_after: [lines]}], " +
			"summary: {files_scanned, files_matched, matches, truncated, skipped_binary, skipped_large, skipped_outside, " +
			"skipped_unreadable}}. file_path is absolute; line_number and column count from 1, column in characters; match " +
			"is the matched text",
		Example: map[string]any{"pattern": "TODO", "path": ".", "include_extensions": []any{".go", ".lua", ".md"}},
	}
}

// Search returns the file_search tool. Every path goes through ps.
func Search(ps *perm.Set) tools.Tool {
	return tools.New(fileSearchSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runSearch(ctx, ps, p)
	})
}

// matcher finds the first match in a line, or the next matching line in
// a buffer.
type matcher struct {
	lit  []byte         // literal pattern (lowercase when fold)
	fold bool           // ASCII case folding of a literal
	re   *regexp.Regexp // per-line regular expression
	// reBuf, when set, finds candidate positions in a whole buffer: it is
	// re in multi-line mode, and its leftmost match is never after the
	// first line that re matches.
	reBuf *regexp.Regexp
}

// regexps caches compiled expressions: stress runs repeat the same
// pattern, and a Regexp is safe for concurrent use.
var regexps struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}

const regexpCacheSize = 256

func compile(expr string) (*regexp.Regexp, error) {
	regexps.Lock()
	re, ok := regexps.m[expr]
	regexps.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	regexps.Lock()
	if regexps.m == nil || len(regexps.m) >= regexpCacheSize {
		regexps.m = make(map[string]*regexp.Regexp, regexpCacheSize)
	}
	regexps.m[expr] = re
	regexps.Unlock()
	return re, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func newMatcher(pattern string, useRegex, caseSensitive bool) (*matcher, error) {
	if pattern == "" {
		return nil, tools.Invalid("parameter \"pattern\": must not be empty")
	}
	if len(pattern) > maxPattern {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter \"pattern\": %d bytes exceeds the %d-byte limit", len(pattern), maxPattern)
	}
	if !useRegex {
		if strings.ContainsAny(pattern, "\r\n") {
			return nil, tools.Invalid("parameter \"pattern\": must not contain a line break (lines are searched one by one)")
		}
		if caseSensitive {
			return &matcher{lit: []byte(pattern)}, nil
		}
		if isASCII(pattern) {
			return &matcher{lit: []byte(strings.ToLower(pattern)), fold: true}, nil
		}
		pattern = regexp.QuoteMeta(pattern)
	}
	flags := ""
	if !caseSensitive {
		flags = "(?i)"
	}
	re, err := compile(flags + pattern)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, tools.Invalid("parameter \"pattern\": invalid regular expression: %s", se.Code)
		}
		return nil, tools.Invalid("parameter \"pattern\": invalid regular expression: %v", err)
	}
	m := &matcher{re: re}
	// Buffer-wide skipping is exact unless the pattern anchors to the whole
	// text or changes flags itself.
	if !strings.Contains(pattern, `\A`) && !strings.Contains(pattern, `\z`) && !strings.Contains(pattern, "(?") {
		if rb, err := compile("(?m)" + flags + pattern); err == nil {
			m.reBuf = rb
		}
	}
	return m, nil
}

type search struct {
	ctx        context.Context
	ps         *perm.Set
	m          *matcher
	context    int
	exts       []string
	exclude    []string
	maxSize    int64
	maxDepth   int
	maxResults int

	matches                                                []any
	filesScanned, filesMatched, filesVisited, entries      int
	skippedBinary, skippedLarge, skippedOutside, skippedIO int
	truncated                                              bool
	buf, lower                                             []byte
}

var bufPool = sync.Pool{New: func() any { return new([]byte) }}

func runSearch(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &search{ctx: ctx, ps: ps, context: p.Int("context_lines"), maxDepth: p.Int("max_depth"), maxResults: p.Int("max_results")}
	if s.context < 0 || s.context > maxContext {
		return nil, tools.Invalid("parameter \"context_lines\": must be between 0 and %d, got %d", maxContext, s.context)
	}
	if s.maxDepth < 0 || s.maxDepth > maxDepthCap {
		return nil, tools.Invalid("parameter \"max_depth\": must be between 0 and %d, got %d", maxDepthCap, s.maxDepth)
	}
	if !p.Bool("recursive") {
		s.maxDepth = 0
	}
	if s.maxResults < 1 || s.maxResults > maxResultsCap {
		return nil, tools.Invalid("parameter \"max_results\": must be between 1 and %d, got %d", maxResultsCap, s.maxResults)
	}
	s.maxSize = int64(p.Int("max_file_size"))
	if s.maxSize < 1 {
		return nil, tools.Invalid("parameter \"max_file_size\": must be at least 1, got %d", s.maxSize)
	}
	exts, err := p.Strings("include_extensions")
	if err != nil {
		return nil, err
	}
	for _, e := range exts {
		if e == "" || e == "." || strings.ContainsAny(e, "/\\") {
			return nil, tools.Invalid("parameter \"include_extensions\": %q is not a file extension", e)
		}
		if e[0] != '.' {
			e = "." + e
		}
		s.exts = append(s.exts, e)
	}
	s.exclude = defaultExclude
	if p.Has("exclude_dirs") {
		if s.exclude, err = p.Strings("exclude_dirs"); err != nil {
			return nil, err
		}
		for _, d := range s.exclude {
			if _, err := filepath.Match(d, ""); err != nil || d == "" {
				return nil, tools.Invalid("parameter \"exclude_dirs\": %q is not a folder name or glob pattern", d)
			}
		}
	}
	if s.m, err = newMatcher(p.String("pattern"), p.Bool("use_regex"), p.Bool("case_sensitive")); err != nil {
		return nil, err
	}
	path := p.String("path")
	l, err := fileio.Locate(ps, perm.ForRead, "path", path)
	if err != nil {
		return nil, err
	}
	s.maxSize = min(s.maxSize, ps.Limits().MaxFileBytes)
	bp := bufPool.Get().(*[]byte)
	s.buf = *bp
	defer func() {
		if cap(s.buf) <= 4<<20 {
			*bp = s.buf[:0]
			bufPool.Put(bp)
		}
	}()
	// A file is opened as a file and a folder as a folder, each checked on
	// the opened handle, never looked at first and opened again.
	f, err := l.Open()
	var nr *perm.NotRegularError
	switch {
	case err == nil:
		if f.Info.Size() > s.maxSize {
			f.Close()
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter \"path\": %s is %d bytes, over max_file_size (%d bytes)", path, f.Info.Size(), s.maxSize)
		}
		err = s.file(f.Loc.Path(), f, true)
	case errors.As(err, &nr) && nr.Mode.IsDir():
		d, derr := l.OpenDir()
		if derr != nil {
			return nil, fileio.Err("path", path, derr)
		}
		err = s.dir(d, 0)
		d.Close()
	case errors.As(err, &nr):
		return nil, tools.Invalid("parameter \"path\": %s is %s, not a regular file or folder", path, perm.Kind(nr.Mode))
	default:
		return nil, fileio.Err("path", path, err)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"matches": s.matches,
		"summary": map[string]any{
			"files_scanned":      s.filesScanned,
			"files_matched":      s.filesMatched,
			"matches":            len(s.matches),
			"truncated":          s.truncated,
			"skipped_binary":     s.skippedBinary,
			"skipped_large":      s.skippedLarge,
			"skipped_outside":    s.skippedOutside,
			"skipped_unreadable": s.skippedIO,
		},
	}, nil
}

func (s *search) excluded(name string) bool {
	for _, d := range s.exclude {
		if d == name {
			return true
		}
		if ok, _ := filepath.Match(d, name); ok {
			return true
		}
	}
	return false
}

func (s *search) wanted(name string) bool {
	if len(s.exts) == 0 {
		return true
	}
	for _, e := range s.exts {
		if len(name) > len(e) && strings.EqualFold(name[len(name)-len(e):], e) {
			return true
		}
	}
	return false
}

// dir searches the folder d, opened from its parent's handle: the walk
// never enters a link, so every plain entry below it is inside the
// sandbox. A link to a file is followed only as far as the sandbox allows.
func (s *search) dir(d *perm.Dir, depth int) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	des, err := d.Entries()
	if err != nil && len(des) == 0 {
		if depth == 0 {
			return fileio.OSErr("path", d.Path(), err)
		}
		s.skippedIO++
		return nil
	}
	for _, de := range des {
		if s.truncated {
			return nil
		}
		if s.entries++; s.entries > searchMaxEntries {
			s.truncated = true
			return nil
		}
		name := de.Name()
		full := filepath.Join(d.Path(), name)
		t := de.Type()
		switch {
		case t.IsDir():
			if depth < s.maxDepth && !s.excluded(name) {
				sub, err := d.Sub(name)
				if err != nil {
					s.skippedIO++
					continue
				}
				err = s.dir(sub, depth+1)
				sub.Close()
				if err != nil {
					return err
				}
			}
		case t&fs.ModeSymlink != 0, t.IsRegular():
			if !s.wanted(name) {
				continue
			}
			f, err := d.Open(name)
			switch {
			case errors.Is(err, perm.ErrDenied):
				s.skippedOutside++
				continue
			case errors.Is(err, perm.ErrNotRegular) || errors.Is(err, fs.ErrNotExist):
				continue // a link to a folder, a dangling link, a file swapped or gone
			case err != nil:
				s.skippedIO++
				continue
			}
			if f.Info.Size() > s.maxSize {
				f.Close()
				s.skippedLarge++
				continue
			}
			if err := s.file(full, f, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// file searches the open file f (closing it); shown is the path reported.
func (s *search) file(shown string, f *perm.File, explicit bool) error {
	defer f.Close()
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if s.filesVisited >= maxFiles {
		s.truncated = true
		return nil
	}
	s.filesVisited++
	data, err := s.read(f.File)
	if err != nil {
		if explicit {
			if tools.TypeOf(err) == tools.TypeTooLarge {
				return err
			}
			return fileio.OSErr("path", shown, err)
		}
		if tools.TypeOf(err) == tools.TypeTooLarge {
			s.skippedLarge++
		} else {
			s.skippedIO++
		}
		return nil
	}
	if isBinary(data) {
		s.skippedBinary++
		return nil
	}
	s.filesScanned++
	before := len(s.matches)
	if err := s.scan(shown, data); err != nil {
		return err
	}
	if len(s.matches) > before {
		s.filesMatched++
	}
	return nil
}

// read reads f into the reusable buffer, refusing more than maxSize bytes.
func (s *search) read(f *os.File) ([]byte, error) {
	size := int64(0)
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	if size > s.maxSize {
		return nil, tools.Errorf(tools.TypeTooLarge, "file of %d bytes is over max_file_size (%d bytes)", size, s.maxSize)
	}
	if int64(cap(s.buf)) < size+1 {
		s.buf = make([]byte, 0, size+512)
	}
	data, err := readAll(f, s.buf[:0], s.maxSize)
	s.buf = data[:0]
	if err != nil {
		if tools.TypeOf(err) == tools.TypeTooLarge {
			return nil, tools.Errorf(tools.TypeTooLarge, "file grew over max_file_size (%d bytes)", s.maxSize)
		}
		return nil, err
	}
	return data, nil
}

// scan finds the matching lines of data.
func (s *search) scan(path string, data []byte) error {
	m := s.m
	if m.re == nil {
		hay := data
		if m.fold {
			if cap(s.lower) < len(data) {
				s.lower = make([]byte, len(data))
			}
			hay = s.lower[:len(data)]
			for i, c := range data {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				hay[i] = c
			}
		}
		line, counted := 1, 0
		for pos := 0; pos <= len(hay); {
			i := bytes.Index(hay[pos:], m.lit)
			if i < 0 {
				break
			}
			i += pos
			ls := bytes.LastIndexByte(hay[pos:i], '\n') + 1 + pos
			le := bytes.IndexByte(hay[i:], '\n')
			if le < 0 {
				le = len(hay)
			} else {
				le += i
			}
			line += bytes.Count(hay[counted:ls], []byte{'\n'})
			counted = ls
			if s.add(path, data, ls, le, i-ls, i-ls+len(m.lit), line) {
				return nil
			}
			pos = le + 1
		}
		return nil
	}
	skip := m.reBuf != nil && bytes.IndexByte(data, '\r') < 0
	line, counted := 1, 0
	for ls, n := 0, 0; ls < len(data) || ls == 0 && len(data) == 0; n++ {
		if n%ctxEveryLines == ctxEveryLines-1 {
			if err := s.ctx.Err(); err != nil {
				return err
			}
		}
		if skip {
			loc := m.reBuf.FindIndex(data[ls:])
			if loc == nil {
				return nil
			}
			if j := bytes.LastIndexByte(data[ls:ls+loc[0]], '\n'); j >= 0 {
				ls += j + 1 // the first line that may match
			}
		}
		le := bytes.IndexByte(data[ls:], '\n')
		if le < 0 {
			le = len(data)
		} else {
			le += ls
		}
		text := data[ls:le]
		if k := len(text); k > 0 && text[k-1] == '\r' {
			text = text[:k-1]
		}
		if loc := m.re.FindIndex(text); loc != nil {
			line += bytes.Count(data[counted:ls], []byte{'\n'})
			counted = ls
			if s.add(path, data, ls, le, loc[0], loc[1], line) {
				return nil
			}
		}
		if le >= len(data) {
			break
		}
		ls = le + 1
	}
	return nil
}

// add records a match on the line data[ls:le] (number line), matching
// bytes [ms, me) of the line. It reports whether the result cap is reached.
func (s *search) add(path string, data []byte, ls, le, ms, me, line int) bool {
	raw := data[ls:le]
	text := lineText(raw)
	res := map[string]any{
		"file_path":      path,
		"line_number":    line,
		"column":         utf8.RuneCount(raw[:ms]) + 1,
		"line":           text,
		"match":          lineText(raw[ms:me]),
		"context_before": contextBefore(data, ls, s.context),
		"context_after":  contextAfter(data, le, s.context),
	}
	s.matches = append(s.matches, res)
	if len(s.matches) >= s.maxResults {
		s.truncated = true
		return true
	}
	return false
}

// lineText returns a line for a result: without its carriage return,
// cut to maxLine bytes at a character boundary, valid UTF-8.
func lineText(b []byte) string {
	if k := len(b); k > 0 && b[k-1] == '\r' {
		b = b[:k-1]
	}
	if len(b) > maxLine {
		cut := maxLine
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = b[:cut]
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

// contextBefore returns up to n lines before the line starting at ls.
func contextBefore(data []byte, ls, n int) []any {
	if n == 0 || ls == 0 {
		return []any{}
	}
	out := make([]any, 0, n)
	end := ls - 1 // the '\n' ending the previous line
	for len(out) < n && end >= 0 {
		start := bytes.LastIndexByte(data[:end], '\n') + 1
		out = append(out, lineText(data[start:end]))
		end = start - 1
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// contextAfter returns up to n lines after the line ending at le.
func contextAfter(data []byte, le, n int) []any {
	if n == 0 || le >= len(data) {
		return []any{}
	}
	out := make([]any, 0, n)
	start := le + 1
	for len(out) < n && start < len(data) {
		end := bytes.IndexByte(data[start:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += start
		}
		out = append(out, lineText(data[start:end]))
		start = end + 1
	}
	return out
}
