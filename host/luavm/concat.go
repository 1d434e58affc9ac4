package luavm

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// The .. operator is compiled as a call, so that its result is measured
// before it is built: gopher-lua's virtual machine joins the operands in
// one allocation nothing can look at first, and `s = s .. s` doubled a
// string past any limit between two memory samples. Each function that
// concatenates gets a hidden local, (concat), loaded from a constant that
// is replaced after compilation by checkedConcat; a chain a .. b .. c
// becomes one call (concat)(a, b, c), evaluated in the same order, with
// the same __concat metamethods and errors. The local is declared in each
// such function rather than captured from the main chunk, so a function
// that runs as a task (which may not capture locals) keeps working.

// concatLocal is the hidden local's name; a script cannot spell it.
const concatLocal = "(concat)"

// concatMarker is the constant the compiler sees in place of the function:
// random, so no string in a script can equal it.
var concatMarker = func() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "\x00spellhost concat " + hex.EncodeToString(b)
}()

// concatFunc is checkedConcat as a Lua value, shared by every state: a Go
// function has no environment of its own a script could reach.
var concatFunc = &lua.LFunction{IsG: true, GFunction: checkedConcat}

// concatRewriter replaces every .. in a chunk with a call of the hidden
// local, declared at the top of each function that uses it.
type concatRewriter struct{ used bool }

// body rewrites a function's statements and declares the local when they
// concatenate; line is the function's first line.
func (w *concatRewriter) body(stmts []ast.Stmt, line int) []ast.Stmt {
	outer := w.used
	w.used = false
	w.stmts(stmts)
	if w.used {
		marker := &ast.StringExpr{Value: concatMarker}
		marker.SetLine(line)
		decl := &ast.LocalAssignStmt{Names: []string{concatLocal}, Exprs: []ast.Expr{marker}}
		decl.SetLine(line)
		decl.SetLastLine(line)
		stmts = append([]ast.Stmt{decl}, stmts...)
	}
	w.used = outer
	return stmts
}

func (w *concatRewriter) stmts(list []ast.Stmt) {
	for _, s := range list {
		w.stmt(s)
	}
}

func (w *concatRewriter) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		w.exprs(s.Lhs)
		w.exprs(s.Rhs)
	case *ast.LocalAssignStmt:
		w.exprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = w.expr(s.Expr)
	case *ast.DoBlockStmt:
		w.stmts(s.Stmts)
	case *ast.WhileStmt:
		s.Condition = w.expr(s.Condition)
		w.stmts(s.Stmts)
	case *ast.RepeatStmt:
		s.Condition = w.expr(s.Condition)
		w.stmts(s.Stmts)
	case *ast.IfStmt:
		s.Condition = w.expr(s.Condition)
		w.stmts(s.Then)
		w.stmts(s.Else)
	case *ast.NumberForStmt:
		s.Init, s.Limit = w.expr(s.Init), w.expr(s.Limit)
		if s.Step != nil {
			s.Step = w.expr(s.Step)
		}
		w.stmts(s.Stmts)
	case *ast.GenericForStmt:
		w.exprs(s.Exprs)
		w.stmts(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			s.Name.Func = w.expr(s.Name.Func)
			if s.Name.Receiver != nil {
				s.Name.Receiver = w.expr(s.Name.Receiver)
			}
		}
		w.function(s.Func)
	case *ast.ReturnStmt:
		w.exprs(s.Exprs)
	}
}

func (w *concatRewriter) exprs(list []ast.Expr) {
	for i := range list {
		list[i] = w.expr(list[i])
	}
}

func (w *concatRewriter) function(f *ast.FunctionExpr) {
	if f != nil {
		f.Stmts = w.body(f.Stmts, f.Line())
	}
}

func (w *concatRewriter) expr(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case *ast.StringConcatOpExpr:
		// a .. (b .. (c .. d)): the operands of one chain, as the
		// compiler would put them in consecutive registers.
		var args []ast.Expr
		var cur ast.Expr = e
		for {
			c, ok := cur.(*ast.StringConcatOpExpr)
			if !ok {
				args = append(args, w.expr(cur))
				break
			}
			args = append(args, w.expr(c.Lhs))
			cur = c.Rhs
		}
		w.used = true
		fn := &ast.IdentExpr{Value: concatLocal}
		fn.SetLine(e.Line())
		fn.SetLastLine(e.LastLine())
		call := &ast.FuncCallExpr{Func: fn, Args: args, AdjustRet: true}
		call.SetLine(e.Line())
		call.SetLastLine(e.LastLine())
		return call
	case *ast.AttrGetExpr:
		e.Object, e.Key = w.expr(e.Object), w.expr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			if f.Key != nil {
				f.Key = w.expr(f.Key)
			}
			f.Value = w.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		if e.Func != nil {
			e.Func = w.expr(e.Func)
		}
		if e.Receiver != nil {
			e.Receiver = w.expr(e.Receiver)
		}
		w.exprs(e.Args)
	case *ast.LogicalOpExpr:
		e.Lhs, e.Rhs = w.expr(e.Lhs), w.expr(e.Rhs)
	case *ast.RelationalOpExpr:
		e.Lhs, e.Rhs = w.expr(e.Lhs), w.expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		e.Lhs, e.Rhs = w.expr(e.Lhs), w.expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		e.Expr = w.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		e.Expr = w.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		e.Expr = w.expr(e.Expr)
	case *ast.FunctionExpr:
		w.function(e)
	}
	return e
}

// patchConcat puts concatFunc in place of the marker constant, in proto
// and every function inside it.
func patchConcat(proto *lua.FunctionProto) {
	for i, c := range proto.Constants {
		if s, ok := c.(lua.LString); ok && string(s) == concatMarker {
			proto.Constants[i] = concatFunc
		}
	}
	for _, p := range proto.FunctionPrototypes {
		patchConcat(p)
	}
}

// vmKey is where a state's registry keeps its VM, for checkedConcat, which
// every state shares (coroutines share their creator's registry).
const vmKey = "spellhost.vm"

// stateVM returns the VM that owns L, or nil.
func stateVM(L *lua.LState) *VM {
	ud, ok := L.G.Registry.RawGetString(vmKey).(*lua.LUserData)
	if !ok {
		return nil
	}
	vm, _ := ud.Value.(*VM)
	return vm
}

// checkedConcat is the .. operator: it joins its arguments right to left
// as the virtual machine does (runs of strings and numbers at once,
// __concat metamethods pairwise), checking each join's size against
// --max-string-size and the memory limit before building it.
func checkedConcat(L *lua.LState) int {
	n := L.GetTop()
	rhs := L.Get(n)
	i := n - 1
	for i >= 1 {
		lhs := L.Get(i)
		if !lua.LVCanConvToString(lhs) || !lua.LVCanConvToString(rhs) {
			op := L.GetMetaField(lhs, "__concat")
			if op == lua.LNil {
				op = L.GetMetaField(rhs, "__concat")
			}
			if op.Type() != lua.LTFunction {
				L.RaiseError("cannot perform concat operation between %v and %v", lhs.Type().String(), rhs.Type().String())
			}
			L.Push(op)
			L.Push(lhs)
			L.Push(rhs)
			L.Call(2, 1)
			rhs = L.Get(-1)
			L.Pop(1)
			i--
			continue
		}
		// The run of strings and numbers ending at i.
		j := i
		for j > 1 && lua.LVCanConvToString(L.Get(j-1)) {
			j--
		}
		parts := make([]string, 0, i-j+2)
		size := 0
		for k := j; k <= i; k++ {
			s := lua.LVAsString(L.Get(k))
			parts = append(parts, s)
			size += len(s)
		}
		last := lua.LVAsString(rhs)
		parts = append(parts, last)
		size += len(last)
		release := concatCheck(L, size)
		rhs = lua.LString(strings.Join(parts, ""))
		release()
		i = j - 1
	}
	L.Push(rhs)
	return 1
}

// concatCheck raises when a join of size bytes is over the state's string
// limit or the memory limit; it returns the memory reservation's release.
func concatCheck(L *lua.LState, size int) func() {
	vm := stateVM(L)
	if vm == nil {
		return func() {}
	}
	if max := vm.env.Limits.MaxStringBytes; size > max || size < 0 {
		L.RaiseError("string concatenation: result of %d bytes exceeds the %d-byte string limit (--max-string-size)", size, max)
	}
	return reserveMemory(L, size, "string concatenation")
}

// reserveMemory asks the run's memory limit for n bytes that are about to
// be allocated at once, and raises the limit's error when that would pass
// --max-memory (the run then stops with exit 111). Call the returned
// release once the allocation is made.
func reserveMemory(L *lua.LState, n int, what string) (release func()) {
	vm := stateVM(L)
	if vm == nil {
		return func() {}
	}
	release, err := vm.env.MemLimit.Reserve(n, what)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return release
}
