package cmd

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/perfkit/perfkit/bench/baseline"
	"github.com/perfkit/perfkit/bench/trend"
	"github.com/perfkit/perfkit/report"
)

const historyLong = `List the saved results of a baseline line and find where its metrics changed.

Every 'perfkit baseline save NAME' keeps a copy in the history directory
(.perfkit/history/NAME/); 'perfkit baseline save NAME --append' adds a result
to the history without replacing the baseline, for nightly runs of a branch.
NAME defaults to "default". Points are ordered by the time they were saved.

Per scenario and metric (the median of each point's valid runs), change
points are found with E-divisive means (Matteson & James 2014, as in Hunter
and Apache Otava): a split is kept when a permutation test gives
p ≤ --significance. Each change point reports the point (commit) it starts
at, the shift (median after against median before, with its interval) and
the verdict against the metric's threshold and direction, as compare decides
(--threshold, config compare.thresholds). A change is found once 3 points
follow it.

--check fails (exit 1) when, in some series, the newest change point starts
among the newest --recent points (default 5) and is a regression beyond the
threshold. See docs/history.md.

Exit codes: 0 listed (no recent regression, with --check); 1 a recent
regression (--check); 2 usage or input error (no history for NAME).`

// NewCmdHistory builds `perfkit history`.
func NewCmdHistory(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:     "history [NAME]",
		Short:   "List a baseline line's saved results and find change points",
		Long:    historyLong,
		Example: "  perfkit history main\n  perfkit history main --check\n  perfkit history main --format html -o history.html",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := baseline.DefaultName
			if len(args) == 1 {
				name = args[0]
			}
			return historyRun(f, c, name)
		},
	}
	fl := c.Flags()
	fl.SortFlags = false
	fl.String("format", string(report.Table), "output: table, markdown, json, html (charts with the change points)")
	fl.Bool("check", false, "exit 1 when a regression beyond its threshold starts among the newest --recent points")
	fl.Int("recent", trend.DefaultRecent, "points --check looks at: a change point starting among the newest K")
	fl.Float64("significance", trend.DefaultAlpha, "level of each change point's permutation test: the chance of one in a series of pure noise")
	fl.Int("permutations", trend.DefaultPermutations, "permutations per test (p resolves down to 1/(N+1))")
	fl.Uint64("seed", 1, "seed of the permutations (the same seed gives the same answer)")
	fl.Float64("alpha", 0.05, "level of each change's interval and U test (config compare.alpha)")
	fl.StringArray("threshold", nil, "METRIC=VALUE or SCENARIO:METRIC=VALUE, as compare (repeatable; config compare.thresholds)")
	fl.Bool(gateOwnKey, false, gateOwnUsage)
	fl.StringP("out", "o", "", "write the listing to this file (atomically) instead of stdout")
	fl.String("baseline-dir", "", "baselines directory (default "+baseline.DefaultDir+"; the history is beside it; env PERFKIT_BASELINE_DIR; config baseline-dir)")
	fl.String("config", "", "config file (default ./"+ConfigFileName+", then $XDG_CONFIG_HOME/perfkit/"+ConfigFileName+")")
	return c
}

// historyRun resolves the flags (all checked before anything is read),
// analyses the line, renders it and applies --check.
func historyRun(f *Factory, c *cobra.Command, name string) error {
	fl := c.Flags()
	if err := baseline.ValidateName(name); err != nil {
		return err
	}
	fs, _ := fl.GetString("format")
	format, err := report.ParseHistoryFormat(fs)
	if err != nil {
		return err
	}
	cfg, err := compareConfig(f, fl)
	if err != nil {
		return err
	}
	dir, err := baselineDir(fl, cfg)
	if err != nil {
		return err
	}
	dec, err := decisionOptions(fl, cfg)
	if err != nil {
		return err
	}
	opts := trend.AnalyzeOptions{Alpha: dec.Alpha, Thresholds: dec.Thresholds, GateOwnMetrics: dec.GateOwnMetrics}
	opts.Detect.Alpha, _ = fl.GetFloat64("significance")
	opts.Detect.Permutations, _ = fl.GetInt("permutations")
	opts.Recent, _ = fl.GetInt("recent")
	opts.Seed, _ = fl.GetUint64("seed")
	if a := opts.Detect.Alpha; !(a > 0 && a < 1) {
		return fmt.Errorf("--significance %v: accepted: a level between 0 and 1, such as 0.01", a)
	}
	if p := opts.Detect.Permutations; p < 1 || p > 100000 {
		return fmt.Errorf("--permutations %d: accepted: 1 to 100000", p)
	}
	if opts.Recent < 1 {
		return fmt.Errorf("--recent %d: accepted: 1 or more points", opts.Recent)
	}
	if err := opts.Check(); err != nil {
		return err
	}
	check, _ := fl.GetBool("check")
	out, _ := fl.GetString("out")
	if err := checkOutDir(out); err != nil {
		return err
	}
	store := baseline.Open(dir)
	points, broken, err := trend.Load(store, name)
	if err != nil {
		return err
	}
	for _, b := range broken {
		fmt.Fprintf(f.IO.ErrOut, "perfkit: warning: %s (skipped)\n", oneLine(b.Error()))
	}
	a, err := trend.Analyze(name, points, opts)
	if err != nil {
		return err
	}
	w := f.IO.Out
	var buf bytes.Buffer
	toFile := out != "" && out != "-"
	if toFile {
		w = &buf
	}
	if err := report.WriteHistory(w, a, format); err != nil {
		return err
	}
	if toFile {
		if err := writeOut(f.IO.ErrOut, "history", out, buf.Bytes()); err != nil {
			return err
		}
	}
	if regs := a.Regressions(); check && len(regs) > 0 {
		names := make([]string, len(regs))
		for i, r := range regs {
			names[i] = fmt.Sprintf("%s %s %s from point %d (%s)", r.Series.Scenario, r.Series.Metric, report.ChangeText(r.Change), r.Change.At+1, cmpOrDash(r.Change.Commit))
		}
		return gateErr(fmt.Errorf("history %s: regression in the newest %d points: %s", name, a.Recent, strings.Join(names, "; ")))
	}
	return nil
}

func cmpOrDash(s string) string {
	if s == "" {
		return "no commit"
	}
	return s
}
