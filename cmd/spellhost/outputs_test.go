package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"spellhost/host/exitcode"
)

// TestRunOutputWriteFails: an output file that cannot be written is
// reported and fails the run (exit 1), and a run that failed already
// keeps its own exit code.
func TestRunOutputWriteFails(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	p := script(t, `function default() Metrics.counter("work"):add(1) end`)
	code, out, errOut := run(t, "run", "--out", "json=/dev/full", "--vus", "1", "--iterations", "3", p)
	if code != exitcode.Failure || !strings.Contains(out, "passed") || !strings.Contains(errOut, "--out json=/dev/full") || !strings.Contains(errOut, "no space left") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// The summary's folder is removed during the run.
	dir := t.TempDir()
	gone := filepath.Join(dir, "gone")
	if err := os.Mkdir(gone, 0o755); err != nil {
		t.Fatal(err)
	}
	remove := `Tool.invoke("file_operations", {operation = "delete", path = "` + gone + `", recursive = true})`
	code, _, errOut = run(t, "run", "--allow-write="+dir, "--summary-json", filepath.Join(gone, "s.json"),
		"--report", filepath.Join(gone, "r.md"), script(t, remove))
	if code != exitcode.Failure || !strings.Contains(errOut, "--summary-json "+gone) || !strings.Contains(errOut, "--report "+gone) {
		t.Fatalf("removed folder: exit %d, stderr %q", code, errOut)
	}

	// A run that fails its thresholds keeps exit 99, and still says what
	// could not be written.
	if err := os.Mkdir(gone, 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, "run", "--allow-write="+dir, "--summary-json", filepath.Join(gone, "s.json"), script(t, `
options = {thresholds = {checks = {"rate>0.5"}}}
`+remove+`
check(1, {no = function() return false end})`))
	if code != exitcode.ThresholdsFailed || !strings.Contains(errOut, "--summary-json "+gone) || !strings.Contains(errOut, "thresholds failed") {
		t.Fatalf("thresholds and a failed write: exit %d, stderr %q", code, errOut)
	}
}
