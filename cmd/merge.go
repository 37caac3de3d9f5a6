package cmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/merge"
	"github.com/perfkit/perfkit/bench/monitor"
	"github.com/perfkit/perfkit/bench/session"
	"github.com/perfkit/perfkit/report"
)

// MergeOptions is everything `perfkit merge` does.
type MergeOptions struct {
	IO *IOStreams
	// Inputs are the shards' result files.
	Inputs []string
	// Out is the merged result; "" means ResultsDir/<UTC time>-<id>.json.
	Out          string
	AllowPartial bool
	Format       report.Format
	Now          func() time.Time
}

const mergeLong = `Merge the results of the shards of one run (perfkit run --shard I/N on
several machines) into one result that report, compare, baseline save and
thresholds treat like a single run.

The shards must belong together: the same scenarios, workload, params and
settings, the same number of shards, each index once. Latency histograms are
merged exactly (the merged p99 is the p99 of every op of every shard); ops,
errors, counters and CPU time add up; throughput and the open model's target
and achieved rates add up; runs are paired by index and their time series
aligned by wall-clock time. A run is valid when every shard's is. The
scenarios' thresholds are checked again on the merged numbers.

A missing shard is an error; --allow-partial merges the shards given and
marks the result partial.

Exit codes: 0 merged; 1 a threshold fails on the merged result; 2 shards
that do not belong together, a missing shard, an unreadable file.`

const mergeExample = `  perfkit merge shard-*.json -o merged.json
  perfkit merge results/*.json -o merged.json --allow-partial && perfkit compare --baseline main merged.json`

// NewCmdMerge builds `perfkit merge`. runF replaces mergeRun in tests.
func NewCmdMerge(f *Factory, runF func(*MergeOptions) error) *cobra.Command {
	c := &cobra.Command{
		Use:     "merge RESULT... [-o OUT]",
		Short:   "Merge the results of a sharded run exactly",
		Long:    mergeLong,
		Example: mergeExample,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{err: fmt.Errorf("no result files: give the shards' results"), hint: helpHint(c)}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts := &MergeOptions{IO: f.IO, Inputs: args, Now: f.Now}
			opts.Out, _ = c.Flags().GetString("out")
			opts.AllowPartial, _ = c.Flags().GetBool("allow-partial")
			fs, _ := c.Flags().GetString("format")
			var err error
			if opts.Format, err = report.ParseFormat(fs); err != nil {
				return &usageError{err: fmt.Errorf("--format: %w", err), hint: helpHint(c)}
			}
			if runF != nil {
				return runF(opts)
			}
			return mergeRun(opts)
		},
	}
	fl := c.Flags()
	fl.StringP("out", "o", "", "merged result file (default "+ResultsDir+"/<UTC time>-<id>.json)")
	fl.Bool("allow-partial", false, "merge even when shards are missing; the result is marked partial")
	fl.String("format", string(report.Table), "stdout: "+strings.Join(formatNames(), ", "))
	return c
}

// mergeRun reads the shards, merges them, writes the merged result and
// renders it; failed thresholds on the merged numbers exit 1.
func mergeRun(opts *MergeOptions) error {
	var inputs []merge.Input
	for _, p := range opts.Inputs {
		r, err := bench.ReadResult(p)
		if err != nil {
			return err
		}
		inputs = append(inputs, merge.Input{Name: p, Result: r})
	}
	now := opts.Now()
	id := session.NewID()
	// Merge first: a refused merge must not leave a results directory behind.
	res, err := merge.Merge(inputs, merge.Options{AllowPartial: opts.AllowPartial, ID: id, Now: now.UTC()})
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	if err := merge.RecheckThresholds(res, inputs); err != nil {
		return err
	}
	path, err := session.PrepareOut(opts.Out, false, ResultsDir, now, id)
	if err != nil {
		return err
	}
	// Print the merged results even when the save fails (then exit 3).
	saveErr := session.Save(nil, res, path)
	if saveErr == nil {
		fmt.Fprintf(opts.IO.ErrOut, "result: %s (merged from %d shards)\n", path, len(inputs))
	}
	if err := report.Write(opts.IO.Out, res, opts.Format); err != nil {
		return err
	}
	if saveErr != nil {
		return saveErr
	}
	return monitor.Gate(res)
}
