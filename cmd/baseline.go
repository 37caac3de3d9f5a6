package cmd

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/baseline"
	"github.com/perfkit/perfkit/bench/profiling"
	"github.com/perfkit/perfkit/report"
)

const baselineLong = `Keep named results to compare new runs against.

A baseline is a result file stored as BASELINE_DIR/NAME.json (default
` + baseline.DefaultDir + `; set baseline-dir in the config file, PERFKIT_BASELINE_DIR
or --baseline-dir). Saves are atomic, and every save is also kept in the
history directory beside it (.perfkit/history/NAME/<UTC time>-<commit>.json).
NAME is letters, digits, '.', '_' and '-'.`

// NewCmdBaseline builds `perfkit baseline` and its subcommands.
func NewCmdBaseline(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "baseline save|list|show|rm",
		Short: "Save, list, show and remove baselines",
		Long:  baselineLong,
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return &usageError{err: fmt.Errorf("missing subcommand (save, list, show, rm)"), hint: "run 'perfkit baseline --help'"}
		},
	}
	c.PersistentFlags().String("baseline-dir", "", "baselines directory (default "+baseline.DefaultDir+"; env PERFKIT_BASELINE_DIR; config baseline-dir)")
	c.PersistentFlags().String("config", "", "config file (default ./"+ConfigFileName+", then $XDG_CONFIG_HOME/perfkit/"+ConfigFileName+")")

	save := &cobra.Command{
		Use:   "save [NAME]",
		Short: `Save a result as baseline NAME (default "default")`,
		Long: `Save a result as baseline NAME (default "default"): the newest result in
` + ResultsDir + `, or the one --from names.`,
		Example: "  perfkit baseline save\n  perfkit baseline save main --from .perfkit/results/20261102T100000Z-0123abcd.json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			store, err := openStore(f, c.Flags())
			if err != nil {
				return err
			}
			name := baseline.DefaultName
			if len(args) == 1 {
				name = args[0]
			}
			from, _ := c.Flags().GetString("from")
			appendOnly, _ := c.Flags().GetBool("append")
			return baselineSave(f, store, name, from, appendOnly)
		},
	}
	save.Flags().String("from", "", "result file to save (default: the newest in "+ResultsDir+")")
	save.Flags().Bool("append", false, "add the result to NAME's history only, keeping the baseline as it is (what 'perfkit history NAME' reads)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List baselines: name, saved, commit, scenarios, runs per scenario, machine",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			store, err := openStore(f, c.Flags())
			if err != nil {
				return err
			}
			return baselineList(f, store)
		},
	}

	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a baseline's result table",
		Args:  exactArgs(1, "NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			store, err := openStore(f, c.Flags())
			if err != nil {
				return err
			}
			fs, _ := c.Flags().GetString("format")
			format, err := report.ParseFormat(fs)
			if err != nil {
				return err
			}
			e, err := store.Get(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "baseline %s: %s\n", e.Name, describeEntry(e))
			return report.Write(f.IO.Out, e.Result, format)
		},
	}
	show.Flags().String("format", string(report.Table), "output: "+strings.Join(formatNames(), ", "))

	rm := &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a baseline (its history is kept)",
		Args:  exactArgs(1, "NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			store, err := openStore(f, c.Flags())
			if err != nil {
				return err
			}
			if err := store.Remove(args[0]); err != nil {
				return err
			}
			os.RemoveAll(profiling.BaselineDir(store, args[0]))
			fmt.Fprintf(f.IO.ErrOut, "removed baseline %s (its history stays)\n", args[0])
			return nil
		},
	}
	c.AddCommand(save, list, show, rm)
	return c
}

// exactArgs is cobra.ExactArgs with a message naming the argument.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return &usageError{err: fmt.Errorf("expected %s, got %d arguments", what, len(args)), hint: helpHint(c)}
		}
		return nil
	}
}

func openStore(f *Factory, flags *pflag.FlagSet) (baseline.Store, error) {
	cfg, err := compareConfig(f, flags)
	if err != nil {
		return baseline.Store{}, err
	}
	dir, err := baselineDir(flags, cfg)
	if err != nil {
		return baseline.Store{}, err
	}
	s := baseline.Open(dir)
	s.Now = f.Now
	return s, nil
}

// baselineSave saves a result as baseline name, or with appendOnly adds it
// to name's history only (save --append).
func baselineSave(f *Factory, store baseline.Store, name, from string, appendOnly bool) error {
	if err := baseline.ValidateName(name); err != nil {
		return err
	}
	if from == "" {
		p, err := baseline.Newest(ResultsDir)
		if err != nil {
			return err
		}
		from = p
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if t := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\ufeff"))); len(t) > 0 && t[0] != '{' {
		return fmt.Errorf("%s: not a perfkit result: a baseline holds a perfkit result; for Go benchmark output keep the file and pass it to 'perfkit compare OLD NEW'", from)
	}
	r, err := bench.ReadResult(from)
	if err != nil {
		return err
	}
	if err := baseline.CheckRuns(r); err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	if r.Partial {
		fmt.Fprintf(f.IO.ErrOut, "perfkit: warning: %s is a partial result (%s)\n", from, r.PartialReason())
	}
	if appendOnly {
		e, err := store.Append(name, r)
		if err != nil {
			return measureErr(fmt.Errorf("appending to the history of %s: %w; the result stays in %s", name, unwrapPath(err), from))
		}
		fmt.Fprintf(f.IO.ErrOut, "appended %s (%s) to the history of %s: %s\n", from, scenarioCount(r), name, e.Path)
		return nil
	}
	warnings, err := profiling.KeepForBaseline(store, name, r)
	for _, w := range warnings {
		fmt.Fprintf(f.IO.ErrOut, "perfkit: warning: %s\n", w)
	}
	if err != nil {
		return err
	}
	e, err := store.Save(name, r)
	if err != nil {
		// Nothing is lost (the result stays where it was read from), but the
		// baseline was not saved: exit 3, naming the path, like a failed
		// result save.
		return measureErr(fmt.Errorf("saving baseline %s to %s: %w; the result stays in %s", name, store.Path(name), unwrapPath(err), from))
	}
	fmt.Fprintf(f.IO.ErrOut, "saved baseline %s from %s (%s) to %s\n", name, from, scenarioCount(r), e.Path)
	return nil
}

func baselineList(f *Factory, store baseline.Store) error {
	entries, broken, err := store.List()
	if err != nil {
		return err
	}
	// A broken baseline is named on stderr, and the listing of the others
	// still succeeds (exit 0): 'baseline show' or 'compare' of the broken
	// one fails with the same error.
	for _, b := range broken {
		fmt.Fprintf(f.IO.ErrOut, "perfkit: warning: %s (skipped; 'perfkit baseline rm NAME' removes it)\n", oneLine(b.Error()))
	}
	if len(entries) == 0 && len(broken) > 0 {
		return nil
	}
	if len(entries) == 0 {
		fmt.Fprintf(f.IO.ErrOut, "no baselines in %s ('perfkit baseline save' saves the newest result)\n", store.Dir)
		return nil
	}
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		r := e.Result
		rows = append(rows, []string{e.Name, e.Saved.Local().Format("2006-01-02 15:04"), commitOf(r.Env),
			strconv.Itoa(len(r.Scenarios)), runsPerScenario(r), machine(r.Env)})
	}
	return report.WriteList(f.IO.Out, []string{"NAME", "SAVED", "COMMIT", "SCENARIOS", "RUNS", "MACHINE"}, rows)
}

func describeEntry(e baseline.Entry) string {
	return fmt.Sprintf("saved %s, commit %s, %s, %s", e.Saved.Local().Format("2006-01-02 15:04"), commitOf(e.Result.Env), scenarioCount(e.Result), machine(e.Result.Env))
}

func commitOf(env bench.Env) string {
	if env.GitCommit == "" {
		return "-"
	}
	c := env.GitCommit[:min(len(env.GitCommit), 12)]
	if env.GitDirty {
		c += "-dirty"
	}
	return c
}

// runsPerScenario is "5", or "3-5" when scenarios differ.
func runsPerScenario(r *bench.Result) string {
	if len(r.Scenarios) == 0 {
		return "0"
	}
	counts := make([]int, len(r.Scenarios))
	for i, s := range r.Scenarios {
		counts[i] = len(s.Runs)
	}
	lo, hi := slices.Min(counts), slices.Max(counts)
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

func scenarioCount(r *bench.Result) string {
	n := len(r.Scenarios)
	s := "scenarios"
	if n == 1 {
		s = "scenario"
	}
	return fmt.Sprintf("%d %s, %s runs each", n, s, runsPerScenario(r))
}

func machine(env bench.Env) string {
	parts := []string{cmp.Or(env.CPUModel, "?")}
	if env.NumCPU > 0 {
		parts = append(parts, fmt.Sprintf("%d CPUs", env.NumCPU))
	}
	if env.Hostname != "" {
		parts = append(parts, env.Hostname)
	}
	return strings.Join(parts, ", ")
}
