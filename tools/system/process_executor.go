package system

import . "spellhost/tools"

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

	"spellhost/tools/perm"
)

// Process executor limits.
const (
	procDefaultTimeoutMS = 30_000
	procMaxTimeoutMS     = 600_000
	procMaxExeLen        = 4096      // bytes of executable
	procMaxArgs          = 1024      // arguments
	procMaxArgBytes      = 128 << 10 // bytes of all arguments together
	procMaxEnvVars       = 256       // entries of environment
	procMaxEnvBytes      = 64 << 10  // bytes of environment names and values together
	// procWaitDelay is how long the tool waits for the output pipes to
	// close once the program has exited (or been killed) before it closes
	// them itself: a background child that escaped the process group may
	// still hold them.
	procWaitDelay = 250 * time.Millisecond
)

func processExecutorSpec() Spec {
	return Spec{
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
		Params: []Param{
			{Name: "executable", Type: String, Required: true,
				Description: fmt.Sprintf("the program: a bare name looked up in the host's PATH (\"echo\") or a path; it must be allowed by --allow-run "+
					"(which matches the name or the resolved file, symlinks followed); the resolved file is what runs (at most %d bytes)", procMaxExeLen)},
			{Name: "arguments", Type: Array,
				Description: fmt.Sprintf("the arguments, strings passed literally as separate argv entries (at most %d, %d KiB in total, no NUL)",
					procMaxArgs, procMaxArgBytes>>10)},
			{Name: "working_directory", Type: String,
				Description: "folder the program starts in; must be readable under --allow-read; relative paths resolve against the base folder, which is the default"},
			{Name: "environment", Type: Object,
				Description: fmt.Sprintf("the child's variables besides PATH, {name: value}; values are strings, numbers or booleans; each name "+
					"must be allowed by --allow-env (else permission_denied naming it); an allowed PATH replaces the host's in the child but "+
					"does not choose the program (at most %d variables, %d KiB in total)", procMaxEnvVars, procMaxEnvBytes>>10)},
			{Name: "timeout_ms", Type: Integer, Default: int64(procDefaultTimeoutMS),
				Description: fmt.Sprintf("kill the program (and its process group) after this many milliseconds, 1 to %d; the caller's deadline, when sooner, wins", procMaxTimeoutMS)},
			{Name: "stdin", Type: String,
				Description: "text written to the program's standard input, which is then closed (at most the file limit, --max-file-size, default 64 MiB); without it stdin is empty (/dev/null)"},
		},
		Returns: "{exit_code (-1 when a signal ended the program), signal (its name, e.g. \"killed\", or null), stdout, stderr, " +
			"duration_ms, stdout_truncated, stderr_truncated}; a timeout is not a result but a timeout error",
	}
}

// ProcessExecutor returns the process_executor tool. Programs must pass
// cfg.Perm.Run; a nil cfg.Perm refuses every program.
func ProcessExecutor(cfg Config) Tool {
	ps := cfg.Perm
	return New(processExecutorSpec(), func(ctx context.Context, p Params) (any, error) {
		return runProcess(ctx, ps, p)
	})
}

func runProcess(ctx context.Context, ps *perm.Set, p Params) (any, error) {
	exe := p.String("executable")
	if len(exe) > procMaxExeLen {
		return nil, Errorf(TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte limit", "executable", len(exe), procMaxExeLen)
	}
	if exe == "" {
		return nil, Invalid("parameter %q: empty program name", "executable")
	}
	args, err := procArgs(p)
	if err != nil {
		return nil, err
	}
	timeoutMS := p.Int("timeout_ms")
	if timeoutMS < 1 || timeoutMS > procMaxTimeoutMS {
		return nil, Invalid("parameter %q: %d is out of range; want 1 to %d", "timeout_ms", timeoutMS, procMaxTimeoutMS)
	}
	extra, err := procExtraEnv(p.Map("environment"))
	if err != nil {
		return nil, err
	}
	if ps == nil {
		return nil, Errorf(TypePermission, "run %s: no process permissions are configured; allow it with --allow-run=%s", exe, exe)
	}
	// The environment first: a refused variable is refused whether or not
	// the program exists.
	env, err := ps.ChildEnv(extra.values)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %w", "environment", err)
	}
	path, err := ps.Run(exe)
	if err != nil {
		if t := TypeOf(err); t == TypePermission || t == TypeValidation {
			return nil, fmt.Errorf("parameter %q: %w", "executable", err)
		}
		return nil, Failed("parameter %q: cannot start: %v", "executable", err)
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
			return nil, Failed("parameter %q: %v", "working_directory", err)
		}
		if !fi.IsDir() {
			return nil, Invalid("parameter %q: %s is not a folder", "working_directory", wd)
		}
		dir = r
	}
	lim := ps.Limits()
	stdin, hasStdin := p.String("stdin"), p.Has("stdin")
	if int64(len(stdin)) > lim.MaxFileBytes {
		return nil, Errorf(TypeTooLarge, "parameter %q: %d bytes exceeds the %d-byte file limit", "stdin", len(stdin), lim.MaxFileBytes)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("process %s: not started: %w", exe, procCtxErr(ctx))
	}

	tctx, cancel := context.WithTimeout(ctx, time.Duration(timeoutMS)*time.Millisecond)
	defer cancel()
	cmd := exec.CommandContext(tctx, path, args...)
	cmd.Args[0] = exe // as given, so multi-call binaries (busybox) see the name they dispatch on
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = procWaitDelay
	stdout := &procOutput{max: int(min(lim.MaxOutputBytes, int64(^uint(0)>>1)))}
	stderr := &procOutput{max: stdout.max}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if hasStdin {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := procSetup(cmd); err != nil {
		return nil, err
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, Failed("process %s: cannot start: %v", exe, err)
	}
	// procWait kills whatever the program leaves in its group.
	werr := procWait(cmd)
	elapsed := time.Since(start)

	state := cmd.ProcessState
	if state == nil {
		return nil, Failed("process %s: %v", exe, werr)
	}
	ws, _ := state.Sys().(syscall.WaitStatus)
	if tctx.Err() != nil && !state.Success() {
		ms := elapsed.Milliseconds()
		got := fmt.Sprintf("%d bytes of stdout and %d of stderr discarded", len(stdout.buf), len(stderr.buf))
		if ctx.Err() != nil {
			return nil, fmt.Errorf("process %s: killed after %d ms, %s: %w", exe, ms, got, procCtxErr(ctx))
		}
		return nil, Errorf(TypeTimeout, "process %s: killed after %d ms (timeout_ms %d), %s", exe, ms, timeoutMS, got)
	}
	var sig any
	if ws.Signaled() {
		sig = ws.Signal().String()
	}
	if werr != nil && !errors.Is(werr, exec.ErrWaitDelay) {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			return nil, Failed("process %s: %v", exe, werr)
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

// procCtxErr returns ctx's error, which classifies it as timeout or
// cancelled, with its cause when that says more.
func procCtxErr(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || cause == err {
		return err
	}
	return fmt.Errorf("%w (%v)", err, cause)
}

func procArgs(p Params) ([]string, error) {
	list := p.List("arguments")
	if len(list) > procMaxArgs {
		return nil, Errorf(TypeTooLarge, "parameter %q: %d arguments exceeds the limit of %d", "arguments", len(list), procMaxArgs)
	}
	args, err := p.Strings("arguments")
	if err != nil {
		return nil, err
	}
	total := 0
	for i, a := range args {
		total += len(a)
		if strings.IndexByte(a, 0) >= 0 {
			return nil, Invalid("parameter %q: item %d contains a NUL byte", "arguments", i+1)
		}
	}
	if total > procMaxArgBytes {
		return nil, Errorf(TypeTooLarge, "parameter %q: %d bytes in total exceeds the %d-byte limit", "arguments", total, procMaxArgBytes)
	}
	return args, nil
}

// procVars are the caller's extra variables, names sorted.
type procVars struct {
	names  []string
	values map[string]string
}

func procExtraEnv(m map[string]any) (procVars, error) {
	var v procVars
	if len(m) == 0 {
		return v, nil
	}
	if len(m) > procMaxEnvVars {
		return v, Errorf(TypeTooLarge, "parameter %q: %d variables exceeds the limit of %d", "environment", len(m), procMaxEnvVars)
	}
	v.names = slices.Sorted(maps.Keys(m))
	v.values = make(map[string]string, len(m))
	total := 0
	for _, name := range v.names {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return v, Invalid("parameter %q: variable name %q is empty or contains '=' or NUL", "environment", name)
		}
		var s string
		switch x := m[name].(type) {
		case string:
			s = x
		case bool:
			s = fmt.Sprint(x)
		default:
			f, ok := ToFloat(x)
			if !ok {
				return v, Invalid("parameter %q: variable %s: expected string, number or boolean, got %s", "environment", name, KindOf(x))
			}
			s = fmt.Sprint(f)
		}
		if strings.IndexByte(s, 0) >= 0 {
			return v, Invalid("parameter %q: variable %s: value contains a NUL byte", "environment", name)
		}
		total += len(name) + len(s)
		v.values[name] = s
	}
	if total > procMaxEnvBytes {
		return v, Errorf(TypeTooLarge, "parameter %q: %d bytes in total exceeds the %d-byte limit", "environment", total, procMaxEnvBytes)
	}
	return v, nil
}

// procOutput keeps the first max bytes written to it and discards the
// rest, so the program is never blocked on a full pipe.
type procOutput struct {
	buf       []byte
	max       int
	truncated bool
}

func (w *procOutput) Write(b []byte) (int, error) {
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
func (w *procOutput) String() string {
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
