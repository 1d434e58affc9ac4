package system

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"spellhost/tools"
	"spellhost/tools/perm"
)

// Process executor limits.
const (
	defaultTimeoutMS = 30_000
	maxTimeoutMS     = 600_000
	maxExeLen        = 4096      // bytes of executable
	maxArgs          = 1024      // arguments
	maxArgBytes      = 128 << 10 // bytes of all arguments together
	maxEnvVars       = 256       // entries of environment
	maxEnvBytes      = 64 << 10  // bytes of environment names and values together
	// waitDelay is how long the tool waits for the output pipes to
	// close once the program has exited (or been killed) before it closes
	// them itself: a background child that escaped the process group may
	// still hold them.
	waitDelay = 250 * time.Millisecond
)

func processExecutorSpec() tools.Spec {
	return tools.Spec{
		Name:     "process_executor",
		Category: "system",
		Description: "Runs a program allowed by --allow-run with literal arguments: no shell is ever involved, so ; | $(...) ` * and " +
			"quotes reach the program unchanged. The child runs in its own process group and starts from an empty environment: " +
			"PATH (the host's) and the variables given in environment, each of which --allow-env must allow (a variable can " +
			"change what a program runs: BASH_ENV, LD_PRELOAD, GIT_EXTERNAL_DIFF). An allowed program does whatever it does " +
			"with the user's rights (reads files, reaches the network, runs other programs): spellhost cannot confine it. " +
			"stdout and stderr are each captured up to the " +
			"output limit (--max-process-output, default 1 MiB; the rest is read and discarded, and the result says it was truncated). " +
			"A non-zero exit status is data, not an error; a program that cannot start is an execution_error; " +
			"when timeout_ms or the caller's deadline passes, the whole process group is killed and the call fails with timeout. " +
			"When the program exits, any process left in its group is killed too (a program that starts a new session with " +
			"setsid leaves the group and is not tracked). Needs a Unix system.",
		Params: []tools.Param{
			{Name: "executable", Type: tools.String, Required: true,
				Description: fmt.Sprintf("the program: a bare name looked up in the host's PATH (\"echo\") or a path; it must be allowed by --allow-run "+
					"(which matches the name or the resolved file, symlinks followed); the resolved file is what runs (at most %d bytes)", maxExeLen)},
			{Name: "arguments", Type: tools.Array,
				Description: fmt.Sprintf("the arguments, strings passed literally as separate argv entries (at most %d, %d KiB in total, no NUL)",
					maxArgs, maxArgBytes>>10)},
			{Name: "working_directory", Type: tools.String,
				Description: "folder the program starts in; must be readable under --allow-read; relative paths resolve against the base folder, which is the default"},
			{Name: "environment", Type: tools.Object,
				Description: fmt.Sprintf("the child's variables besides PATH, {name: value}; values are strings, numbers or booleans; each name "+
					"must be allowed by --allow-env (else permission_denied naming it); an allowed PATH replaces the host's in the child but "+
					"does not choose the program (at most %d variables, %d KiB in total)", maxEnvVars, maxEnvBytes>>10)},
			{Name: "timeout_ms", Type: tools.Integer, Default: int64(defaultTimeoutMS),
				Description: fmt.Sprintf("kill the program (and its process group) after this many milliseconds, 1 to %d; the caller's deadline, when sooner, wins", maxTimeoutMS)},
			{Name: "stdin", Type: tools.String,
				Description: "text written to the program's standard input, which is then closed (at most the file limit, --max-file-size, default 64 MiB); without it stdin is empty (/dev/null)"},
		},
		Returns: "{exit_code (-1 when a signal ended the program), signal (its name, e.g. \"killed\", or null), stdout, stderr, " +
			"duration_ms, stdout_truncated, stderr_truncated}; a timeout is not a result but a timeout error",
	}
}

// ProcessExecutor returns the process_executor tool. Programs must pass
// ps.Run; a nil ps refuses every program.
func ProcessExecutor(ps *perm.Set) tools.Tool {
	return tools.New(processExecutorSpec(), func(ctx context.Context, p tools.Params) (any, error) {
		return runProcess(ctx, ps, p)
	})
}

func runProcess(ctx context.Context, ps *perm.Set, p tools.Params) (any, error) {
	exe := p.String("executable")
	if len(exe) > maxExeLen {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", "executable", len(exe), maxExeLen)
	}
	if exe == "" {
		return nil, tools.Invalid("parameter %q: empty program name", "executable")
	}
	args, err := arguments(p)
	if err != nil {
		return nil, err
	}
	timeoutMS := p.Int("timeout_ms")
	if timeoutMS < 1 || timeoutMS > maxTimeoutMS {
		return nil, tools.Invalid("parameter %q: %d is out of range; want 1 to %d", "timeout_ms", timeoutMS, maxTimeoutMS)
	}
	extra, err := extraEnv(p.Map("environment"))
	if err != nil {
		return nil, err
	}
	if ps == nil {
		return nil, tools.Errorf(tools.TypePermission, "run %s: no process permissions are configured; allow it with --allow-run=%s", exe, exe)
	}
	// The environment first: a refused variable is refused whether or not
	// the program exists.
	env, err := ps.ChildEnv(extra.values)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %w", "environment", err)
	}
	path, err := ps.Run(exe)
	if err != nil {
		if t := tools.TypeOf(err); t == tools.TypePermission || t == tools.TypeValidation {
			return nil, fmt.Errorf("parameter %q: %w", "executable", err)
		}
		return nil, tools.Failed("parameter %q: cannot start: %v", "executable", err)
	}
	dir := ps.Base()
	if p.Has("working_directory") {
		wd := p.String("working_directory")
		r, err := ps.Read(wd)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", "working_directory", err)
		}
		fi, err := os.Stat(r)
		if err != nil {
			return nil, tools.Failed("parameter %q: %v", "working_directory", err)
		}
		if !fi.IsDir() {
			return nil, tools.Invalid("parameter %q: %s is not a folder", "working_directory", wd)
		}
		dir = r
	}
	lim := ps.Limits()
	stdin, hasStdin := p.String("stdin"), p.Has("stdin")
	if int64(len(stdin)) > lim.MaxFileBytes {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte file limit", "stdin", len(stdin), lim.MaxFileBytes)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("process %s: not started: %w", exe, ctxErr(ctx))
	}

	tctx, cancel := context.WithTimeout(ctx, time.Duration(timeoutMS)*time.Millisecond)
	defer cancel()
	cmd := exec.CommandContext(tctx, path, args...)
	cmd.Args[0] = exe // as given, so multi-call binaries (busybox) see the name they dispatch on
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = waitDelay
	stdout := &output{max: int(min(lim.MaxOutputBytes, int64(^uint(0)>>1)))}
	stderr := &output{max: stdout.max}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if hasStdin {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := setup(cmd); err != nil {
		return nil, err
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, tools.Failed("process %s: cannot start: %v", exe, err)
	}
	// wait kills whatever the program leaves in its group.
	werr := wait(cmd)
	elapsed := time.Since(start)

	state := cmd.ProcessState
	if state == nil {
		return nil, tools.Failed("process %s: %v", exe, werr)
	}
	ws, _ := state.Sys().(syscall.WaitStatus)
	if tctx.Err() != nil && !state.Success() {
		ms := elapsed.Milliseconds()
		got := fmt.Sprintf("%d bytes of stdout and %d of stderr discarded", len(stdout.buf), len(stderr.buf))
		if ctx.Err() != nil {
			return nil, fmt.Errorf("process %s: killed after %d ms, %s: %w", exe, ms, got, ctxErr(ctx))
		}
		return nil, tools.Errorf(tools.TypeTimeout, "process %s: killed after %d ms (timeout_ms %d), %s", exe, ms, timeoutMS, got)
	}
	var sig any
	if ws.Signaled() {
		sig = ws.Signal().String()
	}
	if werr != nil && !errors.Is(werr, exec.ErrWaitDelay) {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			return nil, tools.Failed("process %s: %v", exe, werr)
		}
	}
	return map[string]any{
		"exit_code":        state.ExitCode(),
		"signal":           sig,
		"stdout":           stdout.String(),
		"stderr":           stderr.String(),
		"duration_ms":      float64(elapsed.Microseconds()) / 1000,
		"stdout_truncated": stdout.truncated,
		"stderr_truncated": stderr.truncated,
	}, nil
}

// ctxErr returns ctx's error, which classifies it as timeout or
// cancelled, with its cause when that says more.
func ctxErr(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || cause == err {
		return err
	}
	return fmt.Errorf("%w (%v)", err, cause)
}

func arguments(p tools.Params) ([]string, error) {
	list := p.List("arguments")
	if len(list) > maxArgs {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d arguments exceeds the limit of %d", "arguments", len(list), maxArgs)
	}
	args, err := p.Strings("arguments")
	if err != nil {
		return nil, err
	}
	total := 0
	for i, a := range args {
		total += len(a)
		if strings.IndexByte(a, 0) >= 0 {
			return nil, tools.Invalid("parameter %q: item %d contains a NUL byte", "arguments", i+1)
		}
	}
	if total > maxArgBytes {
		return nil, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes in total exceeds the %d-byte limit", "arguments", total, maxArgBytes)
	}
	return args, nil
}

// childVars are the caller's extra variables, names sorted.
type childVars struct {
	names  []string
	values map[string]string
}

func extraEnv(m map[string]any) (childVars, error) {
	var v childVars
	if len(m) == 0 {
		return v, nil
	}
	if len(m) > maxEnvVars {
		return v, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d variables exceeds the limit of %d", "environment", len(m), maxEnvVars)
	}
	v.names = slices.Sorted(maps.Keys(m))
	v.values = make(map[string]string, len(m))
	total := 0
	for _, name := range v.names {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return v, tools.Invalid("parameter %q: variable name %q is empty or contains '=' or NUL", "environment", name)
		}
		var s string
		switch x := m[name].(type) {
		case string:
			s = x
		case bool:
			s = fmt.Sprint(x)
		default:
			f, ok := tools.ToFloat(x)
			if !ok {
				return v, tools.Invalid("parameter %q: variable %s: expected string, number or boolean, got %s", "environment", name, tools.KindOf(x))
			}
			s = fmt.Sprint(f)
		}
		if strings.IndexByte(s, 0) >= 0 {
			return v, tools.Invalid("parameter %q: variable %s: value contains a NUL byte", "environment", name)
		}
		total += len(name) + len(s)
		v.values[name] = s
	}
	if total > maxEnvBytes {
		return v, tools.Errorf(tools.TypeTooLarge, "parameter %q: %d bytes in total exceeds the %d-byte limit", "environment", total, maxEnvBytes)
	}
	return v, nil
}

// output keeps the first max bytes written to it and discards the
// rest, so the program is never blocked on a full pipe.
type output struct {
	buf       []byte
	max       int
	truncated bool
}

func (w *output) Write(b []byte) (int, error) {
	room := w.max - len(w.buf)
	switch {
	case len(b) <= room:
		w.buf = append(w.buf, b...)
	case room > 0:
		w.buf = append(w.buf, b[:room]...)
		w.truncated = true
	case len(b) > 0:
		w.truncated = true
	}
	return len(b), nil
}

// String returns the kept output; when truncated, without a rune cut in
// half at the end.
func (w *output) String() string {
	b := w.buf
	if w.truncated {
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	return string(b)
}
