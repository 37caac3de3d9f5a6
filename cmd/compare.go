package cmd

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/baseline"
	"github.com/perfkit/perfkit/bench/compare"
	"github.com/perfkit/perfkit/bench/stats"
	"github.com/perfkit/perfkit/report"
)

// FailOn says which verdicts fail the gate (exit 1).
type FailOn string

// Gate policies of --fail-on.
const (
	// FailOnRegression: exit 1 when any metric regressed (the default).
	FailOnRegression FailOn = "regression"
	// FailOnInconclusive: also when any metric had too few runs to decide,
	// for pipelines that must never pass on missing evidence.
	FailOnInconclusive FailOn = "inconclusive"
	// FailOnNever: report only; exit 0 whatever the verdicts.
	FailOnNever FailOn = "never"
)

func parseFailOn(s string) (FailOn, error) {
	for _, f := range []FailOn{FailOnRegression, FailOnInconclusive, FailOnNever} {
		if strings.EqualFold(strings.TrimSpace(s), string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("--fail-on %q: accepted: regression, inconclusive, never", s)
}

// CompareOptions is everything `perfkit compare` does, resolved before
// anything is read.
type CompareOptions struct {
	IO *IOStreams
	// Old and New are result files or Go benchmark output; Old "" means the
	// baseline Baseline, New "" the newest result in ResultsDir.
	Old, New    string
	Baseline    string
	BaselineDir string
	ResultsDir  string
	Compare     compare.Options
	Format      report.Format
	View        report.CompareOptions
	FailOn      FailOn
}

const compareLong = `Compare two sets of runs and fail on a real regression, never on noise.

OLD and NEW are perfkit result files or Go benchmark output ('go test -bench .
-count 10'). With no arguments: the newest result in .perfkit/results against
the baseline "default". --baseline NAME stands in for OLD, so
'perfkit compare --baseline main new.json' works.

Each run (--count) is one sample. Per scenario and metric (throughput, p50,
p90, p99, p99.9, error_rate, cpu_per_op, alloc_per_op; each unit of Go
benchmarks) compare runs a two-sided Mann-Whitney U test, corrects the
p-values of the whole call with Holm's method (--alpha is family-wise), and
holds a confidence interval of the change against the metric's threshold.
A metric regressed only when the change is significant and its whole interval
is worse than the threshold; inconclusive when there are too few runs to ever
reach significance (the table says how many are needed).

cpu_per_op and alloc_per_op (shown "perfkit cpu/op", "perfkit alloc/op") are
perfkit's own process's costs. They gate when the system under test runs in
that process (the result's target "in-process": embedded targets, agents,
cache, pool); against an external target (fetch with a url or targets, exec
agents) they are the load generator's, shown as "info", corrected in a Holm
family of their own, and never fail the gate. --gate-own-metrics (config
compare.gate-own-metrics: true) makes them gate anyway; a --threshold for them
does not by itself.

Default thresholds: throughput and p50 5%, p90 and p99 10%, p99.9 20%,
error_rate +0.5pp, cpu_per_op and alloc_per_op 10%, Go units 5%. Set them with
--threshold METRIC=VALUE or SCENARIO:METRIC=VALUE (repeatable), or in the
config file:

  compare:
    alpha: 0.05
    thresholds: {p99: 10%, "api:throughput": 3%, error_rate: +0.5pp}
    gate-own-metrics: false

Exit codes: 0 no regression; 1 a regression (or per --fail-on); 2 usage or
input error (a missing baseline, an unreadable file, environments that differ
under --strict-env).`

const compareExample = `  perfkit compare
  perfkit compare --baseline main .perfkit/results/new.json
  perfkit compare old.json new.json --threshold p99=15% --format markdown
  go test -run '^$' -bench . -count 10 ./... > new.txt && perfkit compare old.txt new.txt`

// NewCmdCompare builds `perfkit compare`. runF replaces compareRun in tests
// that check what the command line resolves to.
func NewCmdCompare(f *Factory, runF func(*CompareOptions) error) *cobra.Command {
	c := &cobra.Command{
		Use:     "compare [OLD [NEW]]",
		Short:   "Compare results and fail on a real regression",
		Long:    compareLong,
		Example: compareExample,
		Args:    cobra.MaximumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts, err := newCompareOptions(f, c.Flags(), args)
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return compareRun(opts)
		},
	}
	fl := c.Flags()
	fl.SortFlags = false
	fl.String("baseline", "", `baseline to use as OLD (default "default" when no OLD is given)`)
	addCompareFlags(fl)
	fl.Bool("all", false, "show every metric, not only the changed ones")
	fl.String("format", string(report.Table), "output: "+strings.Join(formatNames(), ", ")+", html (a page with charts)")
	fl.String("fail-on", string(FailOnRegression), "what exits 1: regression, inconclusive (also too few runs), never")
	fl.Bool("include-invalid", false, "keep invalid runs in the samples (each is still named in a warning)")
	fl.String("baseline-dir", "", "baselines directory (default "+baseline.DefaultDir+"; env PERFKIT_BASELINE_DIR; config baseline-dir)")
	fl.String("config", "", "config file (default ./"+ConfigFileName+", then $XDG_CONFIG_HOME/perfkit/"+ConfigFileName+")")
	return c
}

// addCompareFlags registers the decision flags.
func addCompareFlags(fl *pflag.FlagSet) {
	fl.Float64("alpha", stats.DefaultAlpha, "family-wise false-alarm rate across every comparison (config compare.alpha)")
	fl.StringArray("threshold", nil, "METRIC=VALUE or SCENARIO:METRIC=VALUE, e.g. p99=15% or api:error_rate=+0.5pp (repeatable; config compare.thresholds)")
	fl.Bool("strict-env", false, "refuse (exit 2) when the environments differ (CPU model or count, GOMAXPROCS, Go version) instead of warning")
	fl.Bool(gateOwnKey, false, gateOwnUsage)
}

// gateOwnKey is the flag and compare: config key that makes perfkit's own
// CPU and allocations per op gate against an external target too.
const (
	gateOwnKey   = "gate-own-metrics"
	gateOwnUsage = "let perfkit's own cpu_per_op and alloc_per_op gate when the target is external too (default: shown as info; config compare.gate-own-metrics)"
)

func newCompareOptions(f *Factory, flags *pflag.FlagSet, args []string) (*CompareOptions, error) {
	opts := &CompareOptions{IO: f.IO, ResultsDir: ResultsDir}
	opts.Baseline, _ = flags.GetString("baseline")
	switch {
	case len(args) == 2 && flags.Changed("baseline"):
		return nil, &usageError{err: errors.New("--baseline stands in for OLD: give NEW only (perfkit compare --baseline NAME NEW)"), hint: "run 'perfkit compare --help'"}
	case len(args) == 2:
		opts.Old, opts.New = args[0], args[1]
	case len(args) == 1 && flags.Changed("baseline"):
		opts.New = args[0]
	case len(args) == 1:
		opts.Old = args[0]
	}
	if opts.Old == "" {
		opts.Baseline = cmp.Or(opts.Baseline, baseline.DefaultName)
		if err := baseline.ValidateName(opts.Baseline); err != nil {
			return nil, err
		}
	}
	cfg, err := compareConfig(f, flags)
	if err != nil {
		return nil, err
	}
	if opts.BaselineDir, err = baselineDir(flags, cfg); err != nil {
		return nil, err
	}
	if opts.Compare, err = decisionOptions(flags, cfg); err != nil {
		return nil, err
	}
	fs, _ := flags.GetString("format")
	if opts.Format, err = report.ParseReportFormat(fs); err != nil {
		return nil, err
	}
	fo, _ := flags.GetString("fail-on")
	if opts.FailOn, err = parseFailOn(fo); err != nil {
		return nil, err
	}
	opts.View.All, _ = flags.GetBool("all")
	opts.Compare.IncludeInvalid, _ = flags.GetBool("include-invalid")
	return opts, nil
}

// compareConfig reads the config file, if any (--config, PERFKIT_CONFIG,
// ./perfkit.yaml, then the XDG one). A flag set without --config reads the
// default places only.
func compareConfig(f *Factory, flags *pflag.FlagSet) (*configFile, error) {
	given := ""
	if flags.Lookup("config") != nil {
		given, _ = flags.GetString("config")
	}
	if given == "" {
		given = os.Getenv(envName("config"))
	}
	path, err := findConfig(given)
	if err != nil || path == "" {
		return nil, err
	}
	return loadConfig(path, registry(f.Workloads))
}

// baselineDir resolves the baselines directory: --baseline-dir, then
// PERFKIT_BASELINE_DIR, then the config's baseline-dir, then the default.
func baselineDir(flags *pflag.FlagSet, cfg *configFile) (string, error) {
	if fl := flags.Lookup("baseline-dir"); fl != nil && fl.Changed {
		if fl.Value.String() == "" {
			return "", errors.New("--baseline-dir: empty directory name")
		}
		return fl.Value.String(), nil
	}
	if v := os.Getenv(envName("baseline-dir")); v != "" {
		return v, nil
	}
	if cfg != nil {
		if cv, ok := cfg.top["baseline-dir"]; ok {
			s, isStr := cv.raw.(string)
			if !isStr || s == "" {
				return "", fmt.Errorf("%s: baseline-dir: expected a directory name", cfg.where(cv.line))
			}
			return s, nil
		}
	}
	return baseline.DefaultDir, nil
}

// decisionOptions resolves alpha, thresholds and --strict-env: a flag given,
// then the config file's compare: section, then the defaults. Threshold
// rules of the config come first so flags override them.
func decisionOptions(flags *pflag.FlagSet, cfg *configFile) (compare.Options, error) {
	var o compare.Options
	o.Alpha = stats.DefaultAlpha
	if cfg != nil {
		if cv, ok := cfg.top["compare"]; ok {
			if err := cfg.compareSection(cv, &o); err != nil {
				return o, err
			}
		}
	}
	if flags.Changed("alpha") {
		o.Alpha, _ = flags.GetFloat64("alpha")
		if err := checkAlpha(o.Alpha); err != nil {
			return o, fmt.Errorf("--alpha %v: %w", o.Alpha, err)
		}
	}
	specs, _ := flags.GetStringArray("threshold")
	for _, s := range specs {
		r, err := stats.ParseRule(s)
		if err != nil {
			return o, fmt.Errorf("--threshold: %w", err)
		}
		o.Thresholds = append(o.Thresholds, r)
	}
	o.StrictEnv, _ = flags.GetBool("strict-env")
	if fl := flags.Lookup(gateOwnKey); fl != nil && fl.Changed {
		o.GateOwnMetrics, _ = flags.GetBool(gateOwnKey)
	}
	return o, nil
}

func checkAlpha(a float64) error {
	if !(a > 0 && a < 1) {
		return errors.New("accepted: a family-wise false-alarm rate between 0 and 1, such as 0.05")
	}
	return nil
}

// compareSection reads `compare: {alpha: 0.05, thresholds: {p99: 10%},
// gate-own-metrics: false}`.
// Thresholds may also be a list of "METRIC=VALUE" strings.
func (cf *configFile) compareSection(cv configValue, o *compare.Options) error {
	where := cf.where(cv.line)
	m, ok := cv.raw.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: compare: expected a mapping (alpha:, thresholds:)", where)
	}
	for _, k := range slices.Sorted(mapKeys(m)) {
		v := m[k]
		switch k {
		case "alpha":
			var a float64
			switch t := v.(type) {
			case float64:
				a = t
			case int:
				a = float64(t)
			case string:
				var err error
				if a, err = strconv.ParseFloat(strings.TrimSpace(t), 64); err != nil {
					return fmt.Errorf("%s: compare.alpha %q: %w", where, t, checkAlpha(-1))
				}
			default:
				return fmt.Errorf("%s: compare.alpha: %w", where, checkAlpha(-1))
			}
			if err := checkAlpha(a); err != nil {
				return fmt.Errorf("%s: compare.alpha %v: %w", where, a, err)
			}
			o.Alpha = a
		case "thresholds":
			var specs []string
			switch t := v.(type) {
			case map[string]any:
				for _, metric := range slices.Sorted(mapKeys(t)) {
					specs = append(specs, metric+"="+fmt.Sprint(t[metric]))
				}
			case []any:
				for _, s := range t {
					specs = append(specs, fmt.Sprint(s))
				}
			default:
				return fmt.Errorf("%s: compare.thresholds: expected a mapping of metric to threshold ({p99: 10%%, \"api:throughput\": 3%%})", where)
			}
			for _, s := range specs {
				r, err := stats.ParseRule(s)
				if err != nil {
					return fmt.Errorf("%s: compare.thresholds: %w", where, err)
				}
				o.Thresholds = append(o.Thresholds, r)
			}
		case gateOwnKey:
			b, isBool := v.(bool)
			if !isBool {
				return fmt.Errorf("%s: compare.%s %v: accepted: true or false", where, gateOwnKey, v)
			}
			o.GateOwnMetrics = b
		default:
			return fmt.Errorf("%s: compare: unknown key %q (accepted: %s)", where, k, "alpha, thresholds, "+gateOwnKey)
		}
	}
	return nil
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// compareRun reads both sides, decides, renders, and maps the verdicts to
// the exit code.
func compareRun(opts *CompareOptions) error {
	store := baseline.Open(opts.BaselineDir)
	var old *compare.Source
	if opts.Old == "" {
		r, err := store.Load(opts.Baseline)
		if err != nil {
			return err
		}
		old = compare.FromResult(r, "baseline "+opts.Baseline)
	} else {
		var err error
		if old, err = compare.Load(opts.Old); err != nil {
			return err
		}
	}
	newPath := opts.New
	if newPath == "" {
		p, err := baseline.Newest(opts.ResultsDir)
		if err != nil {
			return err
		}
		newPath = p
	}
	new, err := compare.Load(newPath)
	if err != nil {
		return err
	}
	return decideAndReport(opts.IO, old, new, opts.Compare, opts.Format, opts.View, opts.FailOn)
}

// decideAndReport compares, writes the comparison to stdout, and returns
// the gate's verdict as an error (exit 1) or nil.
func decideAndReport(io *IOStreams, old, new *compare.Source, o compare.Options, f report.Format, view report.CompareOptions, failOn FailOn) error {
	c, err := compare.Compare(old, new, o)
	if err != nil {
		return err
	}
	if err := report.WriteComparison(io.Out, &c, f, view); err != nil {
		return err
	}
	if err := writeAttribution(io.Out, io.ErrOut, &c, old, new, f); err != nil {
		return err
	}
	return gate(&c, failOn)
}

// gate maps verdicts to the exit code: a regression (and with --fail-on
// inconclusive, an inconclusive metric) says no.
func gate(c *stats.Comparison, failOn FailOn) error {
	if failOn == FailOnNever {
		return nil
	}
	var bad []string
	for _, o := range c.Outcomes {
		switch {
		case o.Verdict == stats.Regressed:
			bad = append(bad, fmt.Sprintf("%s %s %s (threshold %s)", o.Scenario, o.Metric, deltaText(o), o.Threshold))
		case o.Verdict == stats.Inconclusive && failOn == FailOnInconclusive:
			bad = append(bad, fmt.Sprintf("%s %s inconclusive (needs ≥ %d runs per side)", o.Scenario, o.Metric, o.NeedRuns))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	what := "regression"
	if n := c.Count(stats.Regressed); n != len(bad) {
		what = "failed metric"
	}
	if len(bad) > 1 {
		what += "s"
	}
	shown := bad[:min(len(bad), 3)]
	msg := fmt.Sprintf("%d %s: %s", len(bad), what, strings.Join(shown, ", "))
	if len(bad) > len(shown) {
		msg += fmt.Sprintf(", and %d more", len(bad)-len(shown))
	}
	return gateErr(errors.New(msg))
}

func deltaText(o stats.Outcome) string {
	if o.Delta.Kind == stats.Absolute {
		return fmt.Sprintf("%+.2fpp", 100*o.Delta.Estimate)
	}
	return fmt.Sprintf("%+.1f%%", 100*o.Delta.Estimate)
}

// runCompare is `perfkit run --compare NAME`: the baseline, read before
// anything runs, and how to decide against it.
type runCompare struct {
	name     string
	baseline *bench.Result
	options  compare.Options
}

// resolveRunCompare reads --compare and, when given, loads the baseline now:
// a missing baseline fails before a long run, not after it.
func resolveRunCompare(f *Factory, flags *pflag.FlagSet, cfg *configFile) (*runCompare, error) {
	fl := flags.Lookup("compare")
	if fl == nil || !fl.Changed {
		return nil, nil
	}
	name := fl.Value.String()
	if err := baseline.ValidateName(name); err != nil {
		return nil, fmt.Errorf("--compare: %w", err)
	}
	dir, err := baselineDir(flags, cfg)
	if err != nil {
		return nil, err
	}
	r, err := baseline.Open(dir).Load(name)
	if err != nil {
		return nil, fmt.Errorf("--compare: %w", err)
	}
	o, err := decisionOptions(flags, cfg)
	if err != nil {
		return nil, err
	}
	return &runCompare{name: name, baseline: r, options: o}, nil
}

// compareAfterRun compares a finished run with the baseline --compare named,
// below the run's own output. A partial result is not compared: its runs
// were cut short.
func compareAfterRun(opts *RunOptions, res *bench.Result, path string) error {
	rc := opts.Compare
	if res.Partial {
		fmt.Fprintf(opts.IO.ErrOut, "perfkit: partial result: not compared with baseline %s\n", rc.name)
		return nil
	}
	label := cmp.Or(path, "this run")
	fmt.Fprintln(opts.IO.Out)
	return decideAndReport(opts.IO, compare.FromResult(rc.baseline, "baseline "+rc.name), compare.FromResult(res, label),
		rc.options, opts.Format, report.CompareOptions{}, FailOnRegression)
}
