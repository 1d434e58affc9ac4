// Package luavm runs Lua scripts for spellhost: one sandboxed gopher-lua
// state per virtual user, started from a script compiled once, with the
// Lua globals (Tool, Kernel, JSON, Logger, Metrics, Task, Fault, ...) that
// expose the kernel. All Lua bindings live here.
package luavm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Program is a compiled script. It is immutable and shared by every VU.
type Program struct {
	// Name is how errors refer to the script (its path as given).
	Name string
	// Dir is the script's folder: require and default reads resolve here.
	Dir   string
	proto *lua.FunctionProto
}

// SyntaxError is a script that does not compile.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: syntax error: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: syntax error: %s", e.File, e.Msg)
}

// CompileFile reads and compiles a script.
func CompileFile(path string) (*Program, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read script: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return Compile(path, filepath.Dir(abs), src)
}

// Compile compiles source. name is used in error messages; dir is the
// folder modules are required from.
func Compile(name, dir string, src []byte) (*Program, error) {
	proto, err := compileChunk(name, src)
	if err != nil {
		return nil, err
	}
	return &Program{Name: name, Dir: dir, proto: proto}, nil
}

func compileChunk(name string, src []byte) (*lua.FunctionProto, error) {
	return compileChunkCtx(context.Background(), name, src)
}

// compileChunkCtx compiles src, the parser stopping when ctx ends: it
// reads the source a few kilobytes at a time, through a reader that
// checks ctx.
func compileChunkCtx(ctx context.Context, name string, src []byte) (*lua.FunctionProto, error) {
	if bytes.HasPrefix(src, []byte("\x1bLua")) {
		return nil, &SyntaxError{File: name, Msg: "precompiled bytecode is not accepted; give Lua source"}
	}
	src = skipShebang(src)
	chunk, err := parse.Parse(&ctxReader{ctx: ctx, r: bytes.NewReader(src)}, name)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if err != nil {
		return nil, parseError(name, err, src)
	}
	line := 1
	if len(chunk) > 0 {
		line = chunk[0].Line()
	}
	var w concatRewriter
	chunk = w.body(chunk, line)
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		return nil, &SyntaxError{File: name, Msg: err.Error()}
	}
	patchConcat(proto)
	return proto, nil
}

// ctxReader fails its reads once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// skipShebang blanks a leading "#!" line, keeping line numbers.
func skipShebang(src []byte) []byte {
	if !bytes.HasPrefix(src, []byte("#")) {
		return src
	}
	i := bytes.IndexByte(src, '\n')
	if i < 0 {
		return nil
	}
	return src[i:]
}

func parseError(name string, err error, src []byte) error {
	if pe, ok := err.(*parse.Error); ok {
		msg := pe.Message
		if pe.Token != "" {
			msg = fmt.Sprintf("%s near '%s'", pe.Message, pe.Token)
		}
		line := pe.Pos.Line
		if line < 0 { // the parser reached the end of the script
			line = bytes.Count(bytes.TrimRight(src, "\n\r\t "), []byte("\n")) + 1
			msg += " at the end of the script"
		}
		return &SyntaxError{File: name, Line: line, Msg: msg}
	}
	msg := err.Error()
	// Lexer errors read "name line:N(column:M) near 'x': message".
	if i := strings.Index(msg, " line:"); i >= 0 {
		var line int
		if _, serr := fmt.Sscanf(msg[i+len(" line:"):], "%d", &line); serr == nil {
			rest := msg[i:]
			if j := strings.Index(rest, ": "); j >= 0 {
				rest = rest[j+2:]
			}
			return &SyntaxError{File: name, Line: line, Msg: rest}
		}
	}
	return &SyntaxError{File: name, Msg: msg}
}
