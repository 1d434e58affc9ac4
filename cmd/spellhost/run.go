package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"spellhost/host/exitcode"
	"spellhost/host/fault"
	"spellhost/host/kernel"
	"spellhost/host/luavm"
	"spellhost/host/metrics"
	"spellhost/host/report"
	"spellhost/host/result"
	"spellhost/host/scenario"
	lualib "spellhost/lua"
)

const runUsage = `Usage: spellhost run [flags] FILE.lua [-- ARGS...]

Runs a Lua script against the kernel. A script with options.scenarios (or
a default function) runs them and prints a summary; a script without runs
top to bottom. What follows -- reaches the script as the table ARGS.

Permissions: tools touch files, the network, programs and the environment
only as the --allow-* flags say. Without --allow-read, tools may read the
script's folder; a list given with --allow-read is exact: tools read only
the folders and files it names, so list the script's folder too to keep
it readable. require always loads modules from the script's folder (they
are the script's code, not data). Folders allowed with --allow-write are
readable too; without it only a scratch folder, removed at exit, is.

Limits: --timeout stops the whole run (exit 102); --max-memory stops it
when the process's resident memory passes the limit, or refuses a string,
JSON text or table that would take it there (exit 111); a watchdog
abandons a script that does not stop within about twice its limit.

Ctrl-C stops gracefully (a repeat within a second is the same Ctrl-C); a
later second one quits at once, still writing the summary files.

Outputs: the summary on stdout (--no-summary: none; a script's
handleSummary(data) replaces it), --summary-json (spellhost's versioned
shape) and --summary-export (k6's), --report (HTML by the .html extension,
else Markdown), --out json=FILE and csv=FILE (every value as recorded, in
k6's shapes; FILE.gz compressed), --out per-second=FILE, --out
junit=FILE, and --dashboard for a live page. When GITHUB_STEP_SUMMARY
names a file, the Markdown report is appended to it. When stderr is not a
terminal, the execution plan and a progress line every
--progress-interval go there (-q: neither).

Script inputs: ARGS (what follows --), ENV (-e KEY=VALUE, no permission
needed), env(NAME) (spellhost's environment, as --allow-env allows), tags
on every value (--tag KEY=VALUE, over options.tags).

Units: a duration is a string with a unit (250ms, 30s, 2m) or a bare
number of seconds; a size is a string with a unit or a bare number of
bytes, kB/MB/GB being powers of 1,000 and KiB/MiB/GiB of 1,024 (spellhost
writes KiB, MiB, GiB); in a threshold a bare number is in the metric's
unit, milliseconds for time and bytes for data.

Exit codes:
  0    the run passed
  1    a command failed, or an output file could not be written (a run
       that failed already keeps its own code)
  2    usage: a bad flag or argument
  99   thresholds failed (abortOnFail too)
  100  setup() overran its timeout
  101  teardown() overran its timeout
  102  the run's --timeout fired, or the watchdog stopped a runaway script
  104  invalid options (every problem is listed, nothing runs)
  105  interrupted by a signal
  107  script error (an uncaught Lua error, or a syntax error)
  108  the script called abort()
  109  a bug in spellhost (the summary and output files are still written)
  111  --max-memory was exceeded
`

type runFlags struct {
	timeout, toolTimeout string
	maxMemory, maxString string
	maxRequest           string
	maxSeries            int
	seed                 uint64
	logLevel             string
	vus, iterations      int
	duration             string
	scenarios            []string
	out                  []string
	summaryJSON, report  string
	summaryExport        string
	trendStats           string
	noSummary, quiet     bool
	progressInterval     string
	envs                 []string
	faults               []string
	tags                 []string
	perms                permFlags
	dashboard            string
	dashboardOpen        bool
}

func runCmd(gs *globalState, args []string) error {
	// The run's goroutines (print, Logger, the plan and progress) and this
	// one (signals, the summary after a hard quit) write to the same
	// streams: serialise them.
	// After a hard quit the run goes on in the background until the
	// process exits; what it writes once runCmd returned is dropped.
	out, errw := &syncWriter{w: gs.stdout}, &syncWriter{w: gs.stderr}
	defer out.close()
	defer errw.close()
	locked := *gs
	locked.stdout, locked.stderr = out, errw
	gs = &locked
	fs := newFlags(gs, "run", runUsage)
	var rf runFlags
	rf.register(fs)
	script, scriptArgs, err := splitScriptArgs(fs, args)
	if err != nil {
		return err
	}
	cfg, cleanup, err := rf.config(gs, script, scriptArgs)
	if err != nil {
		return err
	}
	defer cleanup()

	outputs, err := rf.openOutputs(&cfg)
	if err != nil {
		return err
	}
	defer outputs.close()
	dash, err := rf.startDashboard(gs, &cfg)
	if err != nil {
		return err
	}
	defer dash.close()
	if v, ok := gs.lookupEnv(stepSummaryEnv); ok && v != "" {
		outputs.stepSummary = v
	}
	if !rf.quiet {
		cfg.Progress, cfg.ProgressTerminal = gs.stderr, gs.stderrTTY
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	gs.notify(sigs)
	defer gs.stop(sigs)
	live := &scenario.Live{}
	cfg.Live = live
	type outcome struct {
		res *result.Run
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			if p := recover(); p != nil {
				ie := luavm.Recovered(p, "spellhost run")
				fmt.Fprintf(gs.stderr, "spellhost: %v\n%s\n", ie, ie.Stack)
				o = outcome{err: exitcode.WithCodeIfNone(ie, exitcode.Panic)}
			}
			done <- o
		}()
		o.res, o.err = scenario.Run(ctx, cfg)
	}()
	var o outcome
	select {
	case o = <-done:
	case <-sigs:
		first := gs.clock()
		fmt.Fprintln(gs.stderr, "\nstopping: finishing iterations and writing the summary; interrupt again to quit at once")
		cancel(scenario.Interrupted)
	wait:
		for {
			select {
			case o = <-done:
				break wait
			case <-sigs:
				// One Ctrl-C can arrive twice: GNU timeout and some shells
				// send it to the child and to its process group.
				if gs.clock().Sub(first) < repeatedSignal {
					continue
				}
				fmt.Fprintln(gs.stderr, "interrupted twice: quitting at once with what was recorded")
				o.res = live.Snapshot(hardQuit)
				o.err = exitcode.WithCodeIfNone(errors.New(hardQuit.Reason), exitcode.Interrupted)
				break wait
			}
		}
	}
	if cfg.ProgressTerminal {
		fmt.Fprint(gs.stderr, "\r\033[K")
	}
	// The raw-sample outputs are written out first, so the summary can
	// say what they lost.
	if dropped := outputs.closeStream(); o.res != nil {
		o.res.OutputDropped = dropped
	}
	var summaryErr error
	if o.res != nil && !rf.noSummary {
		summaryErr = writeSummaries(gs, o.res, cfg.Perm)
	}
	werr := errors.Join(outputs.finish(o.res), summaryErr)
	if werr != nil {
		// A file that could not be written fails the run; a run that
		// failed already keeps its own exit code.
		if o.err == nil {
			return exitcode.WithCodeIfNone(werr, exitcode.Failure)
		}
		fmt.Fprintf(gs.stderr, "spellhost run: %v\n", werr)
	}
	dash.finish(o.res)
	return reportRunError(gs, o.err)
}

// syncWriter serialises the writes of several goroutines to one writer;
// once closed it drops them.
type syncWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return len(p), nil
	}
	return s.w.Write(p)
}

func (s *syncWriter) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// repeatedSignal is how close a second SIGINT or SIGTERM may follow the
// first and still count as the same interrupt.
const repeatedSignal = time.Second

// hardQuit is the stop of a run interrupted twice.
var hardQuit = &scenario.StopError{Reason: "interrupted twice; quit at once", Status: "interrupted", Code: exitcode.Interrupted}

// register declares the run flags (inspect shares them).
func (rf *runFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&rf.timeout, "timeout", "0", "stop the whole run after this long, e.g. 10m (0: no limit)")
	fs.StringVar(&rf.toolTimeout, "tool-timeout", kernel.DefaultTimeout.String(), "default timeout of one tool call")
	fs.StringVar(&rf.maxMemory, "max-memory", "4GiB", "stop the run when resident memory exceeds this (0: no limit)")
	fs.StringVar(&rf.maxString, "max-string-size", humanize.IBytes(luavm.DefaultMaxStringBytes), "largest string one Lua call (string.rep, gsub, format, table.concat) or .. may build")
	fs.StringVar(&rf.maxRequest, "max-request-size", humanize.IBytes(kernel.DefaultMaxRequestBytes), "largest protocol request or tool parameters; larger ones are answered too_large")
	fs.IntVar(&rf.maxSeries, "max-series", metrics.DefaultMaxSeries, "most series (tag sets) one metric may have; values for new series past it are dropped and counted in the summary")
	fs.Uint64Var(&rf.seed, "seed", 1, "seed of every random source (math.random, fault probabilities), so a run repeats exactly")
	fs.StringVar(&rf.logLevel, "log-level", "info", "lowest Logger level shown: debug, info, warn or error")
	fs.IntVarP(&rf.vus, "vus", "u", 0, "VUs of a one-scenario run of the script's default function (with --iterations or --duration)")
	fs.IntVarP(&rf.iterations, "iterations", "i", 0, "iterations shared by the VUs (shared-iterations)")
	fs.StringVarP(&rf.duration, "duration", "d", "", "how long the VUs loop (constant-vus), e.g. 30s")
	fs.StringSliceVar(&rf.scenarios, "scenario", nil, "run only these scenarios, comma-separated")
	fs.StringArrayVar(&rf.out, "out", nil, outUsage())
	fs.StringVar(&rf.summaryJSON, "summary-json", "", "write the end-of-run summary as JSON to FILE (spellhost's versioned shape, which compare reads)")
	fs.StringVar(&rf.summaryExport, "summary-export", "", "write the end-of-run summary to FILE in the shape k6's --summary-export writes")
	fs.StringVar(&rf.trendStats, "summary-trend-stats", strings.Join(metrics.DefaultTrendStats, ","), "the figures the summary shows of each trend: avg, min, med, max, count, sum, p(N)")
	fs.StringVar(&rf.report, "report", "", "write a report to FILE: HTML with charts when FILE ends in .html (or .htm), Markdown otherwise")
	fs.BoolVar(&rf.noSummary, "no-summary", false, "do not print the end-of-run summary, nor call the script's handleSummary")
	fs.BoolVarP(&rf.quiet, "quiet", "q", false, "do not print the execution plan and the progress lines")
	fs.StringVar(&rf.progressInterval, "progress-interval", DefaultProgressText, "how often a run whose stderr is not a terminal prints a progress line")
	fs.StringArrayVarP(&rf.envs, "env", "e", nil, "a variable of the script's ENV table, KEY=VALUE (repeatable); ENV needs no --allow-env")
	fs.StringArrayVar(&rf.tags, "tag", nil, "a tag every value of the run carries, KEY=VALUE (repeatable; wins over options.tags)")
	fs.StringArrayVar(&rf.faults, "fault", nil, "enable a fault rule before the script starts, TARGET=TERMS, as 'tool:http_request=20%error(unavailable)' (repeatable; also "+faultsEnv+", rules separated by spaces)")
	rf.registerResults(fs)
	rf.perms.register(fs)
}

// splitScriptArgs parses flags before the script and returns the script
// and whatever follows "--".
func splitScriptArgs(fs *pflag.FlagSet, args []string) (string, []string, error) {
	if err := parseFlags(fs, args); err != nil {
		return "", nil, err
	}
	rest := fs.Args()
	dash := fs.ArgsLenAtDash()
	var scriptArgs []string
	if dash >= 0 {
		scriptArgs = rest[dash:]
		rest = rest[:dash]
	}
	switch {
	case len(rest) == 0:
		return "", nil, usageErr("missing the script to run")
	case len(rest) > 1:
		return "", nil, usageErr("one script at a time; put script arguments after --: %s -- %s", rest[0], strings.Join(rest[1:], " "))
	}
	return rest[0], scriptArgs, nil
}

func (rf *runFlags) config(gs *globalState, script string, args []string) (scenario.Config, func(), error) {
	var cfg scenario.Config
	timeout, err := kernel.ParseTimeout(rf.timeout)
	if err != nil {
		return cfg, nil, usageErr("--timeout=%s: %v", rf.timeout, err)
	}
	toolTimeout, err := kernel.ParseTimeout(rf.toolTimeout)
	if err != nil || toolTimeout <= 0 {
		return cfg, nil, usageErr("--tool-timeout=%s: want a positive duration such as 30s, at least %v", rf.toolTimeout, kernel.MinTimeout)
	}
	var maxMemory uint64
	if rf.maxMemory != "0" {
		if maxMemory, err = humanize.ParseBytes(rf.maxMemory); err != nil {
			return cfg, nil, usageErr("--max-memory=%s: want a size such as 2GiB, or 0", rf.maxMemory)
		}
	}
	maxString, err := humanize.ParseBytes(rf.maxString)
	if err != nil || maxString == 0 || maxString > 1<<34 {
		return cfg, nil, usageErr("--max-string-size=%s: want a size such as 64MiB", rf.maxString)
	}
	maxRequest, err := humanize.ParseBytes(rf.maxRequest)
	if err != nil || maxRequest == 0 || maxRequest > 1<<34 {
		return cfg, nil, usageErr("--max-request-size=%s: want a size such as 64MiB", rf.maxRequest)
	}
	switch rf.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return cfg, nil, usageErr("--log-level=%s: want debug, info, warn or error", rf.logLevel)
	}
	fi, err := os.Stat(script)
	if err != nil {
		return cfg, nil, exitcode.WithCodeIfNone(fmt.Errorf("script %s: %w", script, errors.Unwrap(err)), exitcode.InvalidConfig)
	}
	if fi.IsDir() {
		return cfg, nil, exitcode.WithCodeIfNone(fmt.Errorf("script %s: is a folder", script), exitcode.InvalidConfig)
	}
	abs, err := filepath.Abs(script)
	if err != nil {
		return cfg, nil, err
	}
	sess, err := rf.perms.build(gs, filepath.Dir(abs))
	if err != nil {
		return cfg, nil, err
	}
	duration := time.Duration(0)
	if rf.duration != "" {
		if duration, err = kernel.ParseDuration(rf.duration); err != nil || duration <= 0 {
			return cfg, nil, usageErr("--duration=%s: want a positive duration such as 30s", rf.duration)
		}
	}
	if rf.maxSeries < 1 || rf.maxSeries > metrics.MaxTotalSeries {
		return cfg, nil, usageErr("--max-series=%d: want 1 to %d", rf.maxSeries, metrics.MaxTotalSeries)
	}
	if rf.vus < 0 || rf.iterations < 0 {
		return cfg, nil, usageErr("--vus and --iterations must not be negative")
	}
	if rf.vus > 0 && rf.iterations == 0 && duration == 0 {
		return cfg, nil, usageErr("--vus needs --iterations or --duration")
	}
	faults, err := rf.faultRules(gs)
	if err != nil {
		return cfg, nil, err
	}
	tags, err := keyValues("--tag", rf.tags)
	if err != nil {
		return cfg, nil, err
	}
	trendStats, err := metrics.ParseTrendStats(rf.trendStats)
	if err != nil {
		return cfg, nil, usageErr("--summary-trend-stats=%s: %v", rf.trendStats, err)
	}
	interval, err := kernel.ParseDuration(rf.progressInterval)
	if err != nil || interval < 100*time.Millisecond {
		return cfg, nil, usageErr("--progress-interval=%s: want a duration of at least 100ms, such as 10s", rf.progressInterval)
	}
	env, err := envValues(rf.envs)
	if err != nil {
		return cfg, nil, err
	}
	cfg = scenario.Config{
		Tags:              tags,
		SummaryTrendStats: trendStats,
		ProgressInterval:  interval,
		Env:               env,
		NoHandleSummary:   rf.noSummary,
		Summary:           report.SummaryState{StdoutTTY: gs.stdoutTTY, StderrTTY: gs.stderrTTY},
		Faults:            faults,
		Script:            script, Args: args, Timeout: timeout, MaxMemory: maxMemory, ToolTimeout: toolTimeout,
		MaxRequestBytes: int(maxRequest), MaxSeries: rf.maxSeries, Perm: sess.cfg.Perm, Registry: sess.registry, Seed: rf.seed,
		Limits: luavm.Limits{MaxStringBytes: int(maxString)}, Lib: lualib.FS,
		Stdout: gs.stdout, Stderr: gs.stderr, LookupEnv: gs.lookupEnv, LogLevel: rf.logLevel,
		Overrides: scenario.Overrides{VUs: rf.vus, Iterations: rf.iterations, Duration: duration, Only: rf.scenarios},
		TestHook:  gs.testHook,
		TaskStore: natsConnection(gs, "", "", "", "", ""),
	}
	return cfg, sess.close, nil
}

// keyValues reads the KEY=VALUE pairs of a repeatable flag as tags: each
// key and value a valid tag (metrics.CheckTagKey, CheckTagValue), "scenario" left to
// spellhost.
func keyValues(flag string, pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		switch {
		case !ok || k == "":
			return nil, usageErr("%s %s: want KEY=VALUE", flag, p)
		case k == "scenario":
			return nil, usageErr("%s %s: the tag scenario is set by spellhost to each scenario's name", flag, p)
		}
		if err := metrics.CheckTagKey(k); err != nil {
			return nil, usageErr("%s %s: %v", flag, p, err)
		}
		if err := metrics.CheckTagValue(v); err != nil {
			return nil, usageErr("%s %s: %v", flag, p, err)
		}
		out[k] = v
	}
	return out, nil
}

// DefaultProgressText is --progress-interval's default.
const DefaultProgressText = "10s"

// envValues reads the -e KEY=VALUE pairs of the ENV table.
func envValues(pairs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || strings.ContainsAny(k, "\x00") {
			return nil, usageErr("--env %s: want KEY=VALUE", p)
		}
		out[k] = v
	}
	return out, nil
}

// faultsEnv holds fault rules as --fault does, separated by spaces.
const faultsEnv = "SPELLHOST_FAULTS"

// faultRules gathers the rules of SPELLHOST_FAULTS then --fault, checking
// each so a typo is a usage error before anything runs.
func (rf *runFlags) faultRules(gs *globalState) ([]string, error) {
	var rules []string
	if v, ok := gs.lookupEnv(faultsEnv); ok {
		for _, a := range strings.Fields(v) {
			if _, err := fault.ParseAssignment(a); err != nil {
				return nil, usageErr("%s: %v", faultsEnv, err)
			}
			rules = append(rules, a)
		}
	}
	for _, a := range rf.faults {
		if _, err := fault.ParseAssignment(a); err != nil {
			return nil, usageErr("--fault: %v", err)
		}
		rules = append(rules, a)
	}
	return rules, nil
}

// reportRunError adds the traceback of a script error to its message.
func reportRunError(gs *globalState, err error) error {
	if err == nil {
		return nil
	}
	var se *luavm.ScriptError
	var where interface{ Where() string }
	switch {
	case errors.As(err, &where) && where.Where() != "":
		return exitcode.WithCodeIfNone(fmt.Errorf("%w\nthe script was at:\n%s", err, indent(where.Where())), exitcode.Of(err))
	case errors.As(err, &se) && se.Traceback != "":
		return exitcode.WithCodeIfNone(fmt.Errorf("%w\n%s", err, se.Traceback), exitcode.Of(err))
	}
	return err
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }
