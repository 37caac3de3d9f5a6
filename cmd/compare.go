package cmd

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/baseline"
	"github.com/perfkit/perfkit/bench/compare"
	"github.com/perfkit/perfkit/bench/profiling"
	"github.com/perfkit/perfkit/bench/stats"
	"github.com/perfkit/perfkit/profiles"
	"github.com/perfkit/perfkit/report"
)

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
	FailOn      compare.FailOn
	// Out is the file the comparison is written to ("" or "-": stdout).
	Out string
	// Filter keeps the benchmarks or scenarios (and units or metrics) it
	// matches, on both sides (--filter; nil: all).
	Filter *compare.Filter
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
reach significance (the table says how many are needed). The REASON column
says why each verdict is what it is: the interval against the threshold, a p
that is not significant, the runs needed.

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

A scenario whose new side has invalid runs (over --max-error-rate, schedule
lag, perfkit saturated...) gets the verdict invalid, with the reasons; those
runs are left out of every metric but error_rate, which is compared over all
runs so that a build that fails requests shows as an error_rate regression.
Invalid old runs are left out with a warning.

--filter QUERY compares only what a benchstat filter matches, on both sides
(golang.org/x/perf/benchproc syntax): '.name:Encode', '.name:/^Enc/ /size:1k',
'.unit:sec/op', 'pkg:example.com/x', '-.name:Decode'. For perfkit results a
scenario is .name (with workload: and model: keys) and a metric is a .unit:
'.name:api .unit:(p99 OR throughput)'. Go benchmark input ends the table with
benchstat's geomean row per unit: the geometric mean of the medians over the
benchmarks, not tested, never gating.

--format junit writes JUnit XML (a test case per scenario and metric, a
failure for each verdict --fail-on names) for CI test reports; markdown is
the format of $GITHUB_STEP_SUMMARY; csv has a row per scenario and metric.

The gate (--fail-on, a comma list): regression and invalid by default;
inconclusive adds metrics with too few runs to decide; never only reports.

Exit codes: 0 the gate passed; 1 it failed (a regression or invalid new runs
by default; see --fail-on); 2 usage or input error (a missing baseline, an
unreadable file, environments that differ under --strict-env).`

const compareExample = `  perfkit compare
  perfkit compare --baseline main .perfkit/results/new.json
  perfkit compare old.json new.json --threshold p99=15% --format markdown -o compare.md
  go test -run '^$' -bench . -count 10 ./... > new.txt && perfkit compare old.txt new.txt
  perfkit compare old.txt new.txt --filter '.name:/^Encode/ .unit:sec/op'
  perfkit compare --baseline main new.json --format junit -o perf-junit.xml`

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
	fl.String("filter", "", "compare only what this benchstat filter matches, e.g. '.name:Encode', '.name:/^Enc/ /size:1k', '.unit:sec/op', '-.name:Decode'; for perfkit results a scenario is .name and a metric .unit")
	fl.String("format", string(report.Table), "output: "+strings.Join(formatNames(), ", ")+", html (a page with charts), junit (JUnit XML for CI test reports)")
	addGateFlags(fl)
	fl.StringP("out", "o", "", "write the comparison to this file (atomically) instead of stdout")
	fl.String("baseline-dir", "", "baselines directory (default "+baseline.DefaultDir+"; env PERFKIT_BASELINE_DIR; config baseline-dir)")
	fl.String("config", "", "config file (default ./"+ConfigFileName+", then $XDG_CONFIG_HOME/perfkit/"+ConfigFileName+")")
	return c
}

// addGateFlags registers --fail-on and --include-invalid: compare and ab.
func addGateFlags(fl *pflag.FlagSet) {
	fl.String("fail-on", compare.DefaultFailOn().String(), "what exits 1, a comma list: regression, invalid (new runs invalid), inconclusive (too few runs; implies the others), or never")
	fl.Bool("include-invalid", false, "keep invalid runs in the samples (each is still named in a warning; the invalid verdict stays)")
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
	if opts.Format, err = report.ParseCompareFormat(fs); err != nil {
		return nil, err
	}
	fo, _ := flags.GetString("fail-on")
	if opts.FailOn, err = compare.ParseFailOn(fo); err != nil {
		return nil, err
	}
	opts.View.Fails = opts.FailOn.Fails
	opts.View.All, _ = flags.GetBool("all")
	fq, _ := flags.GetString("filter")
	if opts.Filter, err = compare.ParseFilter(fq); err != nil {
		return nil, err
	}
	opts.Compare.IncludeInvalid, _ = flags.GetBool("include-invalid")
	opts.Out, _ = flags.GetString("out")
	if err := checkOutDir(opts.Out); err != nil {
		return nil, err
	}
	return opts, nil
}

// checkOutDir fails early when a file could not be written at out: its
// directory is missing, or out is a directory. "" and "-" are stdout.
func checkOutDir(out string) error {
	if out == "" || out == "-" {
		return nil
	}
	dir := filepath.Dir(out)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("output %s: directory %s does not exist", out, dir)
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return fmt.Errorf("output %s: is a directory", out)
	}
	return nil
}

// writeOut writes data to path atomically (temp file, fsync, rename) and
// says so on stderr as what.
func writeOut(stderr io.Writer, what, path string, data []byte) error {
	if err := bench.WriteFileAtomic(path, data); err != nil {
		return fmt.Errorf("output %s: %w", path, unwrapPath(err))
	}
	fmt.Fprintf(stderr, "%s: %s\n", what, path)
	return nil
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
	raw, o, ok := pick(flags, cfg, "baseline-dir", nil, "baseline-dir")
	if !ok {
		return baseline.DefaultDir, nil
	}
	if s, isStr := raw.(string); isStr && s != "" {
		return s, nil
	}
	switch o.layer {
	case fromFlag:
		return "", errors.New("--baseline-dir: empty directory name")
	default:
		return "", fmt.Errorf("%s: baseline-dir: expected a directory name", o.where)
	}
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
		if old, err = compare.FilterSource(compare.FromResult(r, "baseline "+opts.Baseline), opts.Filter); err != nil {
			return err
		}
	} else {
		var err error
		if old, err = compare.LoadFiltered(opts.Old, opts.Filter); err != nil {
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
	new, err := compare.LoadFiltered(newPath, opts.Filter)
	if err != nil {
		return err
	}
	return decideAndReport(opts.IO, old, new, opts.Compare, opts.Format, opts.View, opts.FailOn, opts.Out)
}

// decideAndReport compares, writes the comparison to stdout (or to out,
// atomically), and returns the gate's verdict as an error (exit 1) or nil.
func decideAndReport(ios *IOStreams, old, new *compare.Source, o compare.Options, f report.Format, view report.CompareOptions, failOn compare.FailOn, out string) error {
	c, err := compare.Compare(old, new, o)
	if err != nil {
		return err
	}
	w := ios.Out
	var buf bytes.Buffer
	toFile := out != "" && out != "-"
	if toFile {
		w = &buf
	}
	if err := report.WriteComparison(w, &c, f, view); err != nil {
		return err
	}
	// JSON and HTML are one document each: the explanation is left out.
	if pf, ok := attributionFormat(f); ok {
		if err := profiling.WriteAttribution(w, ios.ErrOut, &c, old, new, pf); err != nil {
			return err
		}
	}
	if toFile {
		if err := writeOut(ios.ErrOut, "comparison", out, buf.Bytes()); err != nil {
			return err
		}
	}
	return compare.Gate(&c, failOn)
}

// attributionFormat is how a comparison in format f shows the profiles
// that explain a regression; false when it does not.
func attributionFormat(f report.Format) (profiles.Format, bool) {
	switch f {
	case report.Table:
		return profiles.FormatTable, true
	case report.Markdown:
		return profiles.FormatMarkdown, true
	}
	return "", false
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
		rc.options, opts.Format, report.CompareOptions{}, compare.DefaultFailOn(), "")
}
