package luavm

import (
	"errors"
	"strconv"
	"strings"
	"unsafe"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	lua "github.com/yuin/gopher-lua"

	"spellhost/host/memlimit"
	"spellhost/tools"
)

func init() {
	declareTable("JSON", "JSON encoding and decoding that keeps arrays and objects apart.")
	declare(jsonEncode, jsonDecode, jsonArray)
	declareValue(&Value{Table: "JSON", Name: "null", Type: "userdata",
		Doc: "stands for a JSON null inside arrays (a null object member is simply absent); tostring gives \"null\""})
}

var jsonEncode = &Func{
	Table: "JSON", Name: "encode",
	Args: []Arg{
		{Name: "value", Type: "any", Doc: "a table, string, number, boolean, nil or JSON.null"},
		{Name: "opts", Type: "{indent?: integer|string}", Optional: true, Doc: "indent: spaces (a number) or the indent string; keys are always sorted"},
	},
	Returns: []Ret{{Name: "json", Type: "string"}},
	Raises:  []tools.ErrorType{tools.TypeValidation, tools.TypeTooLarge},
	Doc: "Encodes a value as JSON with sorted keys. A table whose keys are exactly 1..n is an array, any other table an object; " +
		"an empty table is an object unless it came from JSON.decode of [] or JSON.array. " +
		"Cycles, functions, NaN and infinities are errors naming where they are.",
	Example: "assert(JSON.encode({b = 1, a = {true, \"x\"}}) == '{\"a\":[true,\"x\"],\"b\":1}')",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 2)
		if L.GetTop() < 1 {
			return vm.argError(L, f, 1, "missing (expected a value)")
		}
		c := converter{vm: vm, budget: vm.env.Limits.MaxStringBytes}
		v, err := c.conv(L.Get(1), 0)
		if err != nil {
			return vm.raise(L, tools.Errorf(convType(err), "JSON.encode: %v", err), "")
		}
		opts := []json.Options{json.Deterministic(true), jsontext.AllowInvalidUTF8(true)}
		if ot := vm.optTable(L, f, 2); ot != nil {
			ot.ForEach(func(k, val lua.LValue) {
				if k.String() != "indent" {
					vm.argError(L, f, 2, "unknown option %q (known: indent)", k.String())
				}
				switch x := val.(type) {
				case lua.LNumber:
					if x < 0 || x > 16 {
						vm.argError(L, f, 2, "indent: want 0 to 16 spaces, got %v", x)
					}
					if x > 0 {
						opts = append(opts, jsontext.WithIndent(strings.Repeat(" ", int(x))))
					}
				case lua.LString:
					if strings.Trim(string(x), " \t") != "" {
						vm.argError(L, f, 2, "indent: want spaces or tabs")
					}
					if x != "" {
						opts = append(opts, jsontext.WithIndent(string(x)))
					}
				default:
					vm.argError(L, f, 2, "indent: want a number or a string, got %s", luaTypeName(val))
				}
			})
		}
		// The text is written into a buffer capped at the string limit
		// (escapes can make it several times the strings' size), after
		// asking the memory limit for its likely size.
		max := vm.env.Limits.MaxStringBytes
		release := reserveMemory(L, max-c.budget, "JSON.encode")
		out := &cappedBuffer{max: max}
		err = json.MarshalWrite(out, v, opts...)
		release()
		if errors.Is(err, errCapped) {
			return vm.raise(L, tools.Errorf(tools.TypeTooLarge, "JSON.encode: the text exceeds the %d-byte string limit", max), "")
		}
		if err != nil {
			return vm.raise(L, tools.Invalid("JSON.encode: %v", err), "")
		}
		L.Push(lua.LString(unsafe.String(unsafe.SliceData(out.b), len(out.b))))
		return 1
	},
}

// decodeStep is how many values JSON.decode makes between two questions to
// the memory limit.
const decodeStep = 1 << 16

// errCapped is a cappedBuffer's refusal.
var errCapped = errors.New("over the cap")

// cappedBuffer collects bytes up to max and refuses more.
type cappedBuffer struct {
	b   []byte
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if len(c.b)+len(p) > c.max {
		return 0, errCapped
	}
	c.b = append(c.b, p...)
	return len(p), nil
}

var jsonDecode = &Func{
	Table: "JSON", Name: "decode",
	Args:    []Arg{{Name: "text", Type: "string", Doc: "JSON text"}},
	Returns: []Ret{{Name: "value", Type: "any"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc: "Decodes JSON text. Objects become tables with string keys, arrays become sequences (an empty one stays an array for JSON.encode), " +
		"null inside an array becomes JSON.null and a null object member is left out. Malformed text is an error naming the offset; " +
		"arrays and objects nested more than 100 levels deep are a validation_error.",
	Example: "local v = JSON.decode('{\"n\": [1, 2, 3]}')\nassert(#v.n == 3)",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		s := vm.checkString(L, f, 1)
		// Decoding builds Go values then Lua tables, many times the
		// text's size for small values: count the values as they come
		// and, every decodeStep of them, ask the memory limit for the
		// Lua tables they will become.
		values := 0
		count := json.UnmarshalFromFunc(func(_ *jsontext.Decoder, _ *any) error {
			if values++; values%decodeStep == 0 {
				if err := vm.env.MemLimit.Check(values*valueCost, "JSON.decode"); err != nil {
					return err
				}
			}
			return errors.ErrUnsupported // decode it as usual
		})
		var v any
		if err := json.Unmarshal([]byte(s), &v, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true),
			json.WithUnmarshalers(count)); err != nil {
			if me := (*memlimit.Exceeded)(nil); errors.As(err, &me) {
				L.RaiseError("JSON.decode: %s", me.Error())
			}
			msg := err.Error()
			var syn *jsontext.SyntacticError
			if errors.As(err, &syn) {
				if syn.Err != nil && strings.Contains(syn.Err.Error(), "unexpected EOF") {
					msg = "unexpected end of JSON text"
				} else {
					msg = "malformed JSON at offset " + strconv.FormatInt(syn.ByteOffset, 10) + ": " + syn.Err.Error()
				}
			}
			return vm.raise(L, tools.Invalid("JSON.decode: %s", msg), "")
		}
		if v == nil {
			L.Push(vm.null)
			return 1
		}
		if tooDeep(v) {
			return vm.raise(L, tools.Invalid("JSON.decode: the value nests arrays and objects more than %d levels deep, the limit", maxDepth), "")
		}
		release := reserveMemory(L, values*valueCost, "JSON.decode")
		L.Push(vm.fromGo(v))
		release()
		return 1
	},
}

var jsonArray = &Func{
	Table: "JSON", Name: "array",
	Args:    []Arg{{Name: "t", Type: "table", Optional: true, Doc: "a table to mark (a new one when absent)"}},
	Returns: []Ret{{Name: "t", Type: "table", Doc: "the same table, marked"}},
	Raises:  []tools.ErrorType{tools.TypeValidation},
	Doc:     "Marks a table as a JSON array, so that JSON.encode writes [] when it is empty. Its metatable is replaced.",
	Example: "assert(JSON.encode({items = JSON.array()}) == '{\"items\":[]}')",
	fn: func(vm *VM, L *lua.LState, f *Func) int {
		vm.noMoreArgs(L, f, 1)
		t := vm.optTable(L, f, 1)
		if t == nil {
			t = L.NewTable()
		}
		t.Metatable = vm.arrayMeta
		L.Push(t)
		return 1
	},
}
