package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/baseline"
	"github.com/perfkit/perfkit/report"
)

// ReportOptions is everything `perfkit report` does.
type ReportOptions struct {
	IO *IOStreams
	// Result is the result file; "" means the newest in ResultsDir.
	Result string
	Format report.Format
	// Out is the file to write ("" or "-": stdout).
	Out string
}

const reportLong = `Render a result file again: as a table, markdown, its JSON, or one
self-contained HTML page with charts.

The HTML page holds, per scenario, latency percentiles and throughput over
time, the latency distribution (a percentile plot of the HDR histograms, log
x axis: 90%, 99%, 99.9%...), errors over time and by kind, every run and the
spread across runs, alerts (shaded where they fired) and thresholds. Its
charts are inline SVG: no script and no network, so it opens offline, as a CI
artefact, or attached to a mail.

With no RESULT: the newest result in .perfkit/results.

Exit codes: 0 done; 2 bad flag, or a result that cannot be read or parsed.`

const reportExample = `  perfkit report --format html -o report.html
  perfkit report .perfkit/results/20260101T120000Z-0123abcd.json --format markdown >> "$GITHUB_STEP_SUMMARY"`

// NewCmdReport builds `perfkit report`. runF replaces reportRun in tests.
func NewCmdReport(f *Factory, runF func(*ReportOptions) error) *cobra.Command {
	c := &cobra.Command{
		Use:     "report [RESULT]",
		Short:   "Render a result as a table, markdown, JSON or an HTML page",
		Long:    reportLong,
		Example: reportExample,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &usageError{err: fmt.Errorf("expected at most one result file, got %d arguments", len(args)), hint: helpHint(c)}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts := &ReportOptions{IO: f.IO}
			if len(args) == 1 {
				opts.Result = args[0]
			}
			fs, _ := c.Flags().GetString("format")
			var err error
			if opts.Format, err = report.ParseReportFormat(fs); err != nil {
				return &usageError{err: fmt.Errorf("--format: %w", err), hint: helpHint(c)}
			}
			opts.Out, _ = c.Flags().GetString("out")
			if runF != nil {
				return runF(opts)
			}
			return reportRun(opts)
		},
	}
	var names []string
	for _, f := range report.ReportFormats() {
		names = append(names, string(f))
	}
	c.Flags().String("format", string(report.Table), "output: "+strings.Join(names, ", "))
	c.Flags().StringP("out", "o", "", "write to this file (atomically) instead of stdout")
	return c
}

// reportRun reads the result and renders it.
func reportRun(opts *ReportOptions) error {
	path := opts.Result
	if path == "" {
		newest, err := baseline.Newest(ResultsDir)
		if err != nil {
			return err
		}
		path = newest
	}
	res, err := bench.ReadResult(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("result %s: %w", path, pe.Err)
		}
		return fmt.Errorf("result %w", err) // "result FILE: line 3: ..."
	}
	if opts.Out == "" || opts.Out == "-" {
		return report.Write(opts.IO.Out, res, opts.Format)
	}
	if st, err := os.Stat(filepath.Dir(opts.Out)); err != nil || !st.IsDir() {
		return fmt.Errorf("output %s: directory %s does not exist", opts.Out, filepath.Dir(opts.Out))
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, res, opts.Format); err != nil {
		return err
	}
	if err := bench.WriteFileAtomic(opts.Out, buf.Bytes()); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("output %s: %w", opts.Out, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "report: %s\n", opts.Out)
	return nil
}
