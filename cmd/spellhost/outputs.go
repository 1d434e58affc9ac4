package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"spellhost/host/output"
	"spellhost/host/report"
	"spellhost/host/result"
	"spellhost/host/scenario"
	"spellhost/tools/perm"
)

// outKind is one kind of --out KIND=FILE output. open checks the file
// before the run starts (so a bad path fails at once) and wires what
// streams during the run; the output's end-of-run writing is in
// outputs.finish.
type outKind struct {
	name string
	doc  string
	// once: the kind may be given once; the others any number of times.
	once bool
	open func(o *outputs, file string, cfg *scenario.Config) error
}

// outKinds are the --out outputs, in the order --help lists them.
var outKinds = []outKind{
	{"json", "every value as it is recorded, one JSON object a line in k6's NDJSON schema (FILE.gz: compressed)", false,
		func(o *outputs, file string, _ *scenario.Config) error {
			j, err := output.NewJSON(file)
			if err == nil {
				o.raws = append(o.raws, j)
			}
			return err
		}},
	{"csv", "every value as it is recorded, one row in k6's CSV columns (FILE.gz: compressed)", false,
		func(o *outputs, file string, _ *scenario.Config) error {
			c, err := output.NewCSV(file)
			if err == nil {
				o.raws = append(o.raws, c)
			}
			return err
		}},
	{"per-second", "each second's figures of every series (count, sum, min, max, avg, percentiles, rate, value), one JSON object a line", true,
		func(o *outputs, file string, cfg *scenario.Config) error {
			f, err := os.Create(file)
			if err != nil {
				return err
			}
			o.pointsFile, o.points, o.pointsSpec = f, report.NewPointWriter(f), "per-second="+file
			cfg.Points = o.points
			return nil
		}},
	{"junit", "JUnit XML: a testcase per threshold and per check, one for the leak verdict", true,
		func(o *outputs, file string, _ *scenario.Config) error {
			if err := checkFolder(file); err != nil {
				return err
			}
			o.junit = file
			return nil
		}},
}

func outUsage() string {
	var parts []string
	for _, k := range outKinds {
		parts = append(parts, k.name+"=FILE ("+k.doc+")")
	}
	return "write an output, KIND=FILE; repeatable (json and csv any number of times): " + strings.Join(parts, "; ")
}

// openOut opens every --out output and, when there are raw-sample
// outputs, the stream that feeds them.
func (o *outputs) openOut(specs []string, cfg *scenario.Config) error {
	var seen, files []string
	for _, spec := range specs {
		kind, file, ok := strings.Cut(spec, "=")
		i := slices.IndexFunc(outKinds, func(k outKind) bool { return k.name == kind })
		if !ok || file == "" || i < 0 {
			var names []string
			for _, k := range outKinds {
				names = append(names, k.name+"=FILE")
			}
			return usageErr("--out %s: want %s", spec, strings.Join(names, ", "))
		}
		if outKinds[i].once && slices.Contains(seen, kind) {
			return usageErr("--out %s=FILE may be given once", kind)
		}
		if abs, err := filepath.Abs(file); err == nil && slices.Contains(files, abs) {
			return usageErr("--out %s: another --out writes %s", spec, file)
		} else {
			files = append(files, abs)
		}
		seen = append(seen, kind)
		if err := outKinds[i].open(o, file, cfg); err != nil {
			return usageErr("--out %s: %v", spec, err)
		}
	}
	if len(o.raws) > 0 {
		o.stream = output.NewStream(o.raws, 0, 0)
		o.raws = nil
		cfg.Tap = o.stream
	}
	return nil
}

// checkFolder fails when a file's folder does not exist.
func checkFolder(path string) error {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("folder %s does not exist", dir)
	}
	return nil
}

// reportFormat picks the --report format from the file's extension:
// .html or .htm is the HTML report, anything else Markdown.
func reportFormat(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		return "html"
	}
	return "markdown"
}

// writeReport renders the --report file in its format.
func writeReport(w io.Writer, path string, res *result.Run) error {
	if reportFormat(path) == "html" {
		return report.WriteHTML(w, res)
	}
	return report.WriteMarkdown(w, res)
}

// stepSummaryEnv names the file GitHub Actions shows as a job's summary.
const stepSummaryEnv = "GITHUB_STEP_SUMMARY"

// writeMore writes the end-of-run outputs beyond the summary JSON and the
// report: the JUnit file and the GitHub step summary.
func (o *outputs) writeMore(res *result.Run) []error {
	var errs []error
	if o.junit != "" {
		var b strings.Builder
		if err := report.WriteJUnit(&b, res); err != nil {
			errs = append(errs, err)
		} else if err := perm.WriteAtomic(o.junit, []byte(b.String()), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("--out junit: %w", err))
		}
	}
	if o.stepSummary != "" {
		var b strings.Builder
		if err := report.WriteMarkdown(&b, res); err != nil {
			errs = append(errs, err)
		} else if err := appendFile(o.stepSummary, "\n"+b.String()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", stepSummaryEnv, err))
		}
	}
	return errs
}

// appendFile appends text to a file, creating it.
func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return errors.Join(err, f.Close())
}

// defaultDashboard is the address of a bare --dashboard.
const defaultDashboard = "127.0.0.1:5665"

// registerResults declares the dashboard flags.
func (rf *runFlags) registerResults(fs *pflag.FlagSet) {
	fs.StringVar(&rf.dashboard, "dashboard", "", "serve a live dashboard while the run goes, at "+defaultDashboard+
		" or at --dashboard=HOST:PORT (port 0 picks a free one; an address off loopback is served to the network, with a warning)")
	fs.Lookup("dashboard").NoOptDefVal = defaultDashboard
	fs.BoolVar(&rf.dashboardOpen, "dashboard-open", false, "open the dashboard in the browser (xdg-open or open, where present)")
}

// dashboard is the --dashboard server of one run.
type dashboard struct {
	d *report.Dashboard
}

// dashboardGrace is how long the dashboard stays up after the run so the
// last update and the final tables reach its pages.
const dashboardGrace = 2 * time.Second

// startDashboard starts the --dashboard server, when asked, and makes it
// the run's live sink.
func (rf *runFlags) startDashboard(gs *globalState, cfg *scenario.Config) (*dashboard, error) {
	if rf.dashboard == "" {
		if rf.dashboardOpen {
			return nil, usageErr("--dashboard-open needs --dashboard")
		}
		return &dashboard{}, nil
	}
	d, err := report.NewDashboard(rf.dashboard, filepath.Base(cfg.Script))
	if err != nil {
		return nil, usageErr("--dashboard=%s: %v", rf.dashboard, err)
	}
	if host, _, _ := net.SplitHostPort(rf.dashboard); !report.IsLoopback(host) {
		fmt.Fprintf(gs.stderr, "warning: the dashboard at %s is served beyond this machine (anyone who reaches it sees the run)\n", rf.dashboard)
	}
	fmt.Fprintf(gs.stderr, "dashboard: %s\n", d.URL())
	cfg.Charts = d
	if rf.dashboardOpen {
		if err := gs.openURL(d.URL()); err != nil {
			fmt.Fprintf(gs.stderr, "dashboard: cannot open a browser (%v); open %s yourself\n", err, d.URL())
		}
	}
	return &dashboard{d: d}, nil
}

// close stops the dashboard at once (when the run ends without a result).
func (db *dashboard) close() {
	if db != nil && db.d != nil {
		db.d.Close()
	}
}

// finish ends the dashboard after the run; res may be nil.
func (db *dashboard) finish(res *result.Run) {
	if db == nil || db.d == nil {
		return
	}
	db.d.Finish(res, dashboardGrace)
}

// outputs are the files a run writes.
type outputs struct {
	// stream feeds the raw-sample outputs (json, csv); raws are those
	// outputs until the stream takes them.
	stream              *output.Stream
	raws                []output.Output
	streamErr           error
	points              *report.PointWriter
	pointsFile          *os.File
	pointsSpec          string
	summaryJSON, report string
	summaryExport       string
	junit, stepSummary  string
}

// closeStream writes out and closes the raw-sample outputs, once, and
// returns how many values they lost because the writer fell behind.
func (o *outputs) closeStream() int64 {
	for _, r := range o.raws { // opened before a later --out failed
		r.Close()
	}
	o.raws = nil
	if o.stream == nil {
		return 0
	}
	o.streamErr = o.stream.Close()
	dropped := o.stream.Dropped()
	o.stream = nil
	return dropped
}

// close flushes and closes the streams, once.
func (o *outputs) close() error {
	o.closeStream()
	if o.points == nil {
		return nil
	}
	err := o.points.Close()
	if cerr := o.pointsFile.Close(); err == nil {
		err = cerr
	}
	o.points = nil
	if err != nil {
		return fmt.Errorf("--out %s: %w", o.pointsSpec, err)
	}
	return nil
}

// openOutputs checks the output flags before the run starts, so a bad
// path fails at once, and opens the point stream.
func (rf *runFlags) openOutputs(cfg *scenario.Config) (*outputs, error) {
	o := &outputs{summaryJSON: rf.summaryJSON, report: rf.report, summaryExport: rf.summaryExport}
	if err := o.openOut(rf.out, cfg); err != nil {
		o.close()
		return nil, err
	}
	for flag, path := range map[string]string{"--summary-json": rf.summaryJSON, "--report": rf.report, "--summary-export": rf.summaryExport} {
		if path == "" {
			continue
		}
		if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
			o.close()
			return nil, usageErr("%s=%s: folder %s does not exist", flag, path, filepath.Dir(path))
		}
	}
	return o, nil
}

// finish writes the summary JSON and the report, each atomically, and
// closes the point stream. It returns every failure, each naming its flag.
func (o *outputs) finish(res *result.Run) error {
	var errs []error
	if res != nil && o.summaryJSON != "" {
		if err := writeAtomic(o.summaryJSON, func(w io.Writer) error { return report.WriteSummaryJSON(w, res) }); err != nil {
			errs = append(errs, fmt.Errorf("--summary-json %s: %w", o.summaryJSON, err))
		}
	}
	if res != nil && o.summaryExport != "" {
		if err := writeAtomic(o.summaryExport, func(w io.Writer) error { return report.WriteSummaryExport(w, res) }); err != nil {
			errs = append(errs, fmt.Errorf("--summary-export %s: %w", o.summaryExport, err))
		}
	}
	if res != nil && o.report != "" {
		if err := writeAtomic(o.report, func(w io.Writer) error { return writeReport(w, o.report, res) }); err != nil {
			errs = append(errs, fmt.Errorf("--report %s: %w", o.report, err))
		}
	}
	if res != nil {
		errs = append(errs, o.writeMore(res)...)
	}
	if err := o.close(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, o.streamErr)
	return errors.Join(errs...)
}

// writeAtomic writes a file through write, streaming into a temporary file
// beside it that replaces it only when complete: a failed write leaves no
// partial file. An existing file keeps its permissions.
func writeAtomic(path string, write func(io.Writer) error) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return errors.New("is a folder")
		}
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// writeSummaries writes the end-of-run summary: what the script's
// handleSummary returned (stdout, stderr, files through the write
// permission), or the default summary when the script has none or it
// failed (its error on stderr first). It returns the files that could
// not be written.
func writeSummaries(gs *globalState, res *result.Run, p *perm.Set) error {
	hs := res.HandleSummary
	if hs == nil || hs.Err != "" {
		if hs != nil {
			fmt.Fprintf(gs.stderr, "spellhost run: handleSummary: %s; the default summary follows\n", hs.Err)
		}
		if !res.TopToBottom || len(res.Thresholds) > 0 || hs != nil {
			report.WriteSummary(gs.stdout, res)
		}
		return nil
	}
	var errs []error
	for _, o := range hs.Outputs {
		switch o.Name {
		case "stdout":
			io.WriteString(gs.stdout, o.Text)
		case "stderr":
			io.WriteString(gs.stderr, o.Text)
		default:
			if p == nil {
				errs = append(errs, fmt.Errorf("handleSummary: %s: no write permission", o.Name))
				continue
			}
			if _, err := p.WriteFile(o.Name, []byte(o.Text)); err != nil {
				errs = append(errs, fmt.Errorf("handleSummary: %s: %w", o.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
