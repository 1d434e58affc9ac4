package perm

import (
	"maps"
	"os"
	"os/exec"
	"slices"
)

var execLookPath = exec.LookPath

// defaultPATH is a child's PATH when the host has none.
const defaultPATH = "/usr/local/bin:/usr/bin:/bin"

// ChildEnv returns the environment of a program started under s: PATH as
// the host has it, then vars. The child inherits nothing else. Every
// variable in vars must be allowed by --allow-env, the flag that governs
// what a script may read: what a program is handed can change what it
// runs (BASH_ENV, LD_PRELOAD, GIT_EXTERNAL_DIFF), so no name is passed
// unless the user allowed it. A PATH in vars (when allowed) replaces the
// host's in the child; it never changes which program Run chose, which
// was looked up in the host's PATH.
func (s *Set) ChildEnv(vars map[string]string) ([]string, error) {
	names := slices.Sorted(maps.Keys(vars))
	for _, name := range names {
		if err := s.Env(name); err != nil {
			return nil, denied("pass environment variable %s to a program: not allowed; allow it with --allow-env=%s", name, name)
		}
	}
	env := make([]string, 0, 1+len(names))
	if _, ok := vars["PATH"]; !ok {
		path, ok := os.LookupEnv("PATH")
		if !ok {
			path = defaultPATH
		}
		env = append(env, "PATH="+path)
	}
	for _, name := range names {
		env = append(env, name+"="+vars[name])
	}
	return env, nil
}
