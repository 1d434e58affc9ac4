package main

import (
	"errors"
	"fmt"
	"strings"

	"spellhost/host/compare"
	"spellhost/host/exitcode"
	"spellhost/tools/perm"
)

const compareUsage = `Usage: spellhost compare [flags] BASE.json NEW.json

Compares two runs from their summary files (spellhost run --summary-json):
per metric and series, the change in throughput, error rate and latency,
each judged "real change" or "within noise" with its p-value and 95%
interval. The console shows the headline rows and every real change
(--all shows every row); --report writes them all, as HTML with both runs'
curves overlaid (FILE.html) or Markdown (any other name).

Methods: latency percentiles by a bootstrap from the stored histograms,
averages by Welch's t-test, rates and error ratios by a two-proportion
z-test (Fisher's exact test for small counts), throughput by the Poisson
rate test on counts over durations. A change is real when p < --alpha.

--fail-on sets tolerances, comma-separated [METRIC:]STAT+N (or -N, a fall)
with a unit: % (relative to BASE), pp (points of a ratio), ms, s or us.
STAT is avg, min, med, max, p(N), rate, count, throughput or error_rate;
without a metric, latency stats mean iteration_duration and throughput and
error_rate the run's iterations. For example:
  --fail-on "p(95)+10%,error_rate+0.5pp,throughput-5%"
  --fail-on "tool_duration{tool:http_request}:p(99)+20ms,checks:rate-1pp"
Only a real change beyond a tolerance fails.

When GITHUB_STEP_SUMMARY names a file, the Markdown comparison is appended
to it.

Exit codes: 0 no tolerance exceeded, 99 a tolerance exceeded by a real
change, 1 a file is not a summary spellhost reads, 2 usage.
`

func compareCmd(gs *globalState, args []string) error {
	fs := newFlags(gs, "compare", compareUsage)
	failOn := fs.String("fail-on", "", "tolerances that set the exit code, as \"p(95)+10%,error_rate+0.5pp,throughput-5%\"")
	alpha := fs.Float64("alpha", 0.05, "significance level: a change is real when p < alpha")
	seed := fs.Uint64("seed", 1, "seed of the bootstrap, so a comparison repeats exactly")
	all := fs.Bool("all", false, "print every row, not only the headline rows and the real changes")
	reportPath := fs.String("report", "", "write the comparison to FILE: HTML with both runs' curves when FILE ends in .html (or .htm), Markdown otherwise")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErr("want two summary files, BASE.json NEW.json; got %d", fs.NArg())
	}
	if *alpha <= 0 || *alpha >= 1 {
		return usageErr("--alpha=%g: want a level between 0 and 1, such as 0.05", *alpha)
	}
	var opts compare.Options
	opts.Alpha, opts.Seed = *alpha, *seed
	if opts.Seed == 0 {
		return usageErr("--seed=0: want a positive seed")
	}
	if *failOn != "" {
		tols, err := compare.ParseTolerances(*failOn)
		if err != nil {
			return usageErr("%v", err)
		}
		opts.Tolerances = tols
	}
	if *reportPath != "" {
		if err := checkFolder(*reportPath); err != nil {
			return usageErr("--report=%s: %v", *reportPath, err)
		}
	}
	base, err := compare.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	next, err := compare.Load(fs.Arg(1))
	if err != nil {
		return err
	}
	res, err := compare.Compare(base, next, opts)
	if err != nil {
		return usageErr("%s", strings.TrimPrefix(err.Error(), "compare: "))
	}
	if err := res.WriteTable(gs.stdout, *all); err != nil {
		return err
	}
	var errs []error
	if *reportPath != "" {
		var b strings.Builder
		if reportFormat(*reportPath) == "html" {
			err = res.WriteHTML(&b)
		} else {
			err = res.WriteMarkdown(&b)
		}
		if err == nil {
			err = perm.WriteAtomic(*reportPath, []byte(b.String()), 0o644)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--report: %w", err))
		}
	}
	if path, ok := gs.lookupEnv(stepSummaryEnv); ok && path != "" {
		var b strings.Builder
		if err := res.WriteMarkdown(&b); err == nil {
			if err := appendFile(path, "\n"+b.String()); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", stepSummaryEnv, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if res.Failed() {
		var exceeded []string
		for _, c := range res.Checks {
			if c.Exceeded {
				exceeded = append(exceeded, c.Tolerance.Source)
			}
		}
		return exitcode.WithCodeIfNone(fmt.Errorf("tolerances exceeded by a real change: %s", strings.Join(exceeded, ", ")), exitcode.ThresholdsFailed)
	}
	return nil
}
