package system

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// Environment reader limits.
const (
	maxEnvNameLen    = 1024 // bytes of variable_name
	maxEnvPatternLen = 256  // bytes of pattern
	cacheMax         = 4096 // variable names whose permission decision is cached
)

func environmentReaderSpec() tools.Spec {
	return tools.Spec{
		Name:     "environment_reader",
		Category: "system",
		Description: "Reads environment variables of the host process. Only variables allowed by --allow-env " +
			"(a name, or a prefix such as APP_*) are ever visible: get of any other variable is refused " +
			"with permission_denied whether or not it is set, and list and pattern leave such variables out. " +
			"list says how many variables it left out; pattern does not, so it cannot be used to probe the names " +
			"of variables it may not show.",
		Params: []tools.Param{
			{Name: "operation", Type: tools.String, Required: true, Enum: []string{"get", "list", "pattern"},
				Description: "get reads one variable; list returns every allowed variable; pattern returns the allowed variables whose names match a glob"},
			{Name: "variable_name", Type: tools.String,
				Description: fmt.Sprintf("the variable to read, e.g. \"HOME\"; required for get (at most %d bytes, no '=' or NUL)", maxEnvNameLen)},
			{Name: "pattern", Type: tools.String,
				Description: fmt.Sprintf("a case-sensitive glob over variable names: * any run of characters, ? one character, [a-z] a class, \\ escapes; "+
					"e.g. \"APP_*\"; required for pattern (at most %d bytes)", maxEnvPatternLen)},
		},
		Returns: "get: {variable_name, value (null when not set), found}; " +
			"list: {variables: {name: value}, count (variables returned), hidden (variables set but not allowed by --allow-env)}; " +
			"pattern: {variables, count, pattern}",
		Example: map[string]any{"operation": "pattern", "pattern": "APP_*"},
	}
}

// EnvironmentReader returns the environment_reader tool. It reads the
// process environment (os.LookupEnv, os.Environ) and shows only what
// ps allows; a nil ps refuses every read.
func EnvironmentReader(ps *perm.Set) tools.Tool {
	r := &envCache{ps: ps}
	return tools.New(environmentReaderSpec(), r.run)
}

type envCache struct {
	ps *perm.Set
	// allowed caches the permission decision per variable name seen in
	// the environment (a Set is immutable, so a decision never changes);
	// n bounds its size.
	allowed sync.Map // string -> bool
	n       atomic.Int64
}

func (r *envCache) run(ctx context.Context, p tools.Params) (any, error) {
	switch op := p.String("operation"); op {
	case "get":
		return r.get(p)
	case "list":
		for _, name := range []string{"variable_name", "pattern"} {
			if p.Has(name) {
				return nil, tools.Invalid("parameter %q does not apply to operation list", name)
			}
		}
		return r.collect(ctx, "", false)
	default: // pattern
		if p.Has("variable_name") {
			return nil, tools.Invalid("parameter %q does not apply to operation pattern", "variable_name")
		}
		if !p.Has("pattern") {
			return nil, tools.Invalid("missing required parameter %q for operation pattern", "pattern")
		}
		pat := p.String("pattern")
		if len(pat) > maxEnvPatternLen {
			return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", "pattern", len(pat), maxEnvPatternLen)
		}
		if pat == "" {
			return nil, tools.Invalid("parameter %q: empty pattern", "pattern")
		}
		if _, err := path.Match(pat, ""); err != nil {
			return nil, tools.Invalid("parameter %q: malformed glob %q", "pattern", pat)
		}
		return r.collect(ctx, pat, true)
	}
}

func (r *envCache) get(p tools.Params) (any, error) {
	if p.Has("pattern") {
		return nil, tools.Invalid("parameter %q does not apply to operation get", "pattern")
	}
	if !p.Has("variable_name") {
		return nil, tools.Invalid("missing required parameter %q for operation get", "variable_name")
	}
	name := p.String("variable_name")
	if len(name) > maxEnvNameLen {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", "variable_name", len(name), maxEnvNameLen)
	}
	if name == "" {
		return nil, tools.Invalid("parameter %q: empty variable name", "variable_name")
	}
	if strings.ContainsAny(name, "=\x00") {
		return nil, tools.Invalid("parameter %q: variable name %q contains '=' or NUL", "variable_name", name)
	}
	if r.ps == nil {
		return nil, tools.Errorf(tools.TypePermission, "environment variable %s: no environment permissions are configured; allow it with --allow-env=%s", name, name)
	}
	if err := r.ps.Env(name); err != nil {
		return nil, err
	}
	v, found := os.LookupEnv(name)
	var value any
	if found {
		value = v
	}
	return map[string]any{"variable_name": name, "value": value, "found": found}, nil
}

// collect returns the allowed variables, those whose names match pat when
// match is set.
func (r *envCache) collect(ctx context.Context, pat string, match bool) (any, error) {
	if r.ps == nil {
		return nil, tools.Errorf(tools.TypePermission, "environment: no environment permissions are configured; allow variables with --allow-env=NAME")
	}
	env := os.Environ()
	vars := make(map[string]any)
	hidden := 0
	for i, kv := range env {
		if i&255 == 255 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		eq := strings.IndexByte(kv, '=')
		if eq <= 0 { // no name (e.g. Windows' "=C:" entries)
			continue
		}
		name := kv[:eq]
		if match {
			if ok, _ := path.Match(pat, name); !ok {
				continue
			}
		}
		if !r.isAllowed(name) {
			hidden++
			continue
		}
		vars[name] = kv[eq+1:]
	}
	if match {
		// No hidden count: it would tell which refused names match.
		return map[string]any{"variables": vars, "count": len(vars), "pattern": pat}, nil
	}
	return map[string]any{"variables": vars, "count": len(vars), "hidden": hidden}, nil
}

func (r *envCache) isAllowed(name string) bool {
	if r.ps.AllowsAll() {
		return true
	}
	if v, ok := r.allowed.Load(name); ok {
		return v.(bool)
	}
	ok := r.ps.EnvAllowed(name)
	if r.n.Load() < cacheMax {
		if _, loaded := r.allowed.LoadOrStore(name, ok); !loaded {
			r.n.Add(1)
		}
	}
	return ok
}
