package cmd

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/ab"
	"github.com/perfkit/perfkit/bench/compare"
	"github.com/perfkit/perfkit/bench/session"
	"github.com/perfkit/perfkit/report"
)

// DefaultABCount is the runs per side of `perfkit ab` when no --count is
// given: enough for compare to reach significance on a clear change.
const DefaultABCount = 10

// ABOptions is everything `perfkit ab` does, resolved before anything runs.
type ABOptions struct {
	IO *IOStreams
	// A and B are the two variants, ready to run; Name is what the
	// comparison calls the scenario, LabelA and LabelB the sides.
	A, B           bench.Scenario
	Name           string
	LabelA, LabelB string
	Count          int
	Seed           uint64
	Compare        compare.Options
	Format         report.Format
	View           report.CompareOptions
	FailOn         compare.FailOn
	// Out is where both sides' results are saved: OUT-a.json and
	// OUT-b.json ("" means ResultsDir/<UTC time>-<id>); NoSave saves none.
	Out    string
	NoSave bool
	// Now is the clock that names the default result files.
	Now    func() time.Time
	Notify func(c chan<- os.Signal) (stop func())
	Exit   func(code int)
}

const abLong = `Run two variants interleaved on this machine and decide like 'perfkit compare'.

A and B are scenarios of the config file or workloads; with one NAME, both
sides run it and --a-set / --b-set PARAM=VALUE (repeatable) set a run setting
(concurrency, rate, duration...) or a workload param on one side only.

The runs go A B, B A, A B... — pairs in a random order drawn from a printed
seed (--seed repeats it) — so that drift over time (thermal throttling, noisy
neighbours, caches warming) weighs on both sides alike. Each run is a single
run of its side (own setup, warmup and measured window); --count runs per
side (default 10) are the samples. A is compare's OLD side, B its NEW side:
the same Mann-Whitney U test, Holm correction, thresholds, table, markdown,
JSON and exit codes as 'perfkit compare' (perfkit's own cpu_per_op and
alloc_per_op are info against an external target: --gate-own-metrics).

Both sides' results are saved, so a long A/B is never lost: -o PATH writes
PATH-a.json and PATH-b.json (a .json suffix of PATH is dropped first), by
default .perfkit/results/<UTC time>-<id>-a.json and -b.json; --no-save writes
none. Their scenario is named as in the comparison, so 'perfkit compare
PATH-a.json PATH-b.json' decides again.

Exit codes: 0 the gate passed; 1 it failed: a regression of B against A or
invalid B runs (see --fail-on); 2 usage or input error (an unknown scenario,
a bad --a-set); 3 a side could not be set up.`

const abExample = `  perfkit ab fetch --a-set url=http://old:8080/ --b-set url=http://new:8080/ --count 10 -d 5s
  perfkit ab api-main api-branch --count 12 --format markdown
  perfkit ab fetch --a-set concurrency=16 --b-set concurrency=32 --seed 42 -o conc`

// NewCmdAB builds `perfkit ab`. runF replaces abRun in tests.
func NewCmdAB(f *Factory, runF func(*ABOptions) error) *cobra.Command {
	reg := registry(f.Workloads)
	params, regErr := reg.paramFlags()
	c := &cobra.Command{
		Use:     "ab A [B] [--a-set PARAM=V] [--b-set PARAM=V]",
		Short:   "Interleaved A/B runs, decided like compare",
		Long:    abLong,
		Example: abExample,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return &usageError{err: fmt.Errorf("expected A and B (or one NAME with --a-set/--b-set), got %d arguments", len(args)), hint: helpHint(c)}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if regErr != nil {
				return regErr
			}
			opts, err := newABOptions(f, c.Flags(), params, args)
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return abRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.SortFlags = false
	fl.StringArray("a-set", nil, "PARAM=VALUE for side A only: a run setting or a workload param (repeatable)")
	fl.StringArray("b-set", nil, "PARAM=VALUE for side B only (repeatable)")
	fl.Uint64("seed", 0, "seed of the run order (default: random, printed)")
	addSettingFlags(fl)
	addAllowExecFlag(fl)
	fl.Lookup("count").Usage = "runs per side, the samples compare uses"
	fl.Lookup("count").DefValue = fmt.Sprint(DefaultABCount)
	addCompareFlags(fl)
	fl.Bool("all", false, "show every metric, not only the changed ones")
	fl.String("format", string(report.Table), "output: "+strings.Join(formatNames(), ", "))
	addGateFlags(fl)
	fl.StringP("out", "o", "", "save both sides' results as OUT-a.json and OUT-b.json (default "+ResultsDir+"/<UTC time>-<id>-a.json, -b.json)")
	fl.Bool("no-save", false, "write no result files")
	fl.String("config", "", "config file (default ./"+ConfigFileName+", then $XDG_CONFIG_HOME/perfkit/"+ConfigFileName+")")
	for _, p := range params {
		p.register(fl)
	}
	return c
}

// newABOptions resolves both sides like `perfkit run` resolves a scenario,
// then applies each side's sets.
func newABOptions(f *Factory, flags *pflag.FlagSet, params []*paramFlag, names []string) (*ABOptions, error) {
	reg := registry(f.Workloads)
	opts := &ABOptions{IO: f.IO, Notify: f.Notify, Exit: f.Exit, Now: f.Now}
	cfg, err := compareConfig(f, flags)
	if err != nil {
		return nil, err
	}
	r := &resolver{v: f.Viper, flags: flags, cfg: cfg}
	if err := r.bind(); err != nil {
		return nil, err
	}
	aSets, _ := flags.GetStringArray("a-set")
	bSets, _ := flags.GetStringArray("b-set")
	nameA, nameB := names[0], names[0]
	if len(names) == 2 {
		nameB = names[1]
	}
	type side struct {
		name string
		def  *bench.Definition
		sc   *scenarioConfig
	}
	lookup := func(n string) (side, error) {
		if sc, ok := cfg.scenario(n); ok {
			def, _ := reg.lookup(sc.workload)
			return side{n, def, sc}, nil
		}
		if def, ok := reg.lookup(n); ok {
			return side{n, def, nil}, nil
		}
		configured := "none"
		if cn := cfg.scenarioNames(); len(cn) > 0 {
			configured = strings.Join(cn, ", ")
		}
		return side{}, fmt.Errorf("unknown scenario or workload %q (configured: %s; workloads: %s)", n, configured, strings.Join(reg.names(), ", "))
	}
	sa, err := lookup(nameA)
	if err != nil {
		return nil, err
	}
	sb, err := lookup(nameB)
	if err != nil {
		return nil, err
	}
	for _, p := range params {
		if fl := flags.Lookup(p.name); fl == nil || !fl.Changed {
			continue
		}
		if _, ok := sa.def.Param(p.name); !ok {
			if _, ok := sb.def.Param(p.name); !ok {
				return nil, &usageError{err: fmt.Errorf("--%s: not a param of %s or %s (it is a param of %s)", p.name, sa.def.Name, sb.def.Name, strings.Join(p.workloads, ", ")),
					hint: "run 'perfkit workloads NAME' for a workload's params"}
			}
		}
	}
	if opts.A, err = r.resolveVariant(sa.name, sa.def, sa.sc, "a-set", aSets); err != nil {
		return nil, err
	}
	if opts.B, err = r.resolveVariant(sb.name, sb.def, sb.sc, "b-set", bSets); err != nil {
		return nil, err
	}

	opts.Count = opts.A.Settings.Count
	if _, o := r.lookupSetting("count", sa.sc); o.layer == fromDefault {
		opts.Count = DefaultABCount
	}
	if opts.Count < 1 {
		return nil, fmt.Errorf("--count %d: runs per side must be at least 1", opts.Count)
	}
	if flags.Changed("seed") {
		opts.Seed, _ = flags.GetUint64("seed")
	} else {
		var b [8]byte
		_, _ = crand.Read(b[:])
		opts.Seed = binary.LittleEndian.Uint64(b[:])
	}
	opts.Name = nameA
	if nameB != nameA {
		opts.Name = nameA + " vs " + nameB
	}
	// Labels show each set redacted: they reach stderr, tables and JSON.
	opts.LabelA, opts.LabelB = sideLabel("A", nameA, shownSets(sa.def, aSets)), sideLabel("B", nameB, shownSets(sb.def, bSets))

	if opts.Compare, err = decisionOptions(flags, cfg); err != nil {
		return nil, err
	}
	opts.Compare.IncludeInvalid, _ = flags.GetBool("include-invalid")
	fs, _ := flags.GetString("format")
	if opts.Format, err = report.ParseFormat(fs); err != nil {
		return nil, err
	}
	fo, _ := flags.GetString("fail-on")
	if opts.FailOn, err = compare.ParseFailOn(fo); err != nil {
		return nil, err
	}
	opts.View.All, _ = flags.GetBool("all")
	opts.Out, _ = flags.GetString("out")
	opts.NoSave, _ = flags.GetBool("no-save")
	if opts.NoSave && flags.Changed("out") {
		return nil, errors.New("--out and --no-save: give one or the other")
	}
	if !opts.NoSave && opts.Out != "" {
		for _, p := range session.ABPaths(opts.Out) {
			if err := checkOutDir(p); err != nil {
				return nil, err
			}
		}
	}
	return opts, nil
}

// sideLabel names a side in the comparison: "A: fetch server-latency=2ms".
func sideLabel(side, name string, sets []string) string {
	l := side + ": " + name
	if len(sets) > 0 {
		l += " " + strings.Join(sets, " ")
	}
	return l
}

// resolveVariant resolves a scenario like `perfkit run` does, then applies
// sets (PARAM=VALUE: a run setting or a workload param), each checked with
// the kind of what it sets; flag names the sets in errors.
func (r *resolver) resolveVariant(name string, def *bench.Definition, sc *scenarioConfig, flag string, sets []string) (bench.Scenario, error) {
	return r.resolveScenario(name, def, sc, func(settings *bench.Settings, vals *bench.Values) error {
		specs := settingSpecs()
		for _, s := range sets {
			key, value, ok := strings.Cut(s, "=")
			key = strings.TrimSpace(key)
			if !ok || key == "" {
				return fmt.Errorf("--%s %q: want PARAM=VALUE, e.g. concurrency=16 or url=http://new/", flag, bench.RedactText(s))
			}
			fail := func(err error) error { return fmt.Errorf("--%s %s: %w", flag, key, err) }
			if i := slices.IndexFunc(specs, func(sp settingSpec) bool { return sp.Name == key }); i >= 0 {
				v, err := specs[i].Parse(value)
				if err != nil {
					return fail(err)
				}
				specs[i].set(settings, v)
				switch key {
				case "duration":
					settings.Iterations = 0
				case "iterations":
					settings.Duration = 0
				}
				continue
			}
			p, isParam := def.Param(key)
			if !isParam {
				accepted := "run settings " + strings.Join(settingKeys(), ", ")
				if len(def.Params) > 0 {
					accepted += "; params of " + def.Name + ": " + strings.Join(def.ParamNames(), ", ")
				}
				return fail(fmt.Errorf("not a run setting or a param of %s (accepted: %s)", def.Name, accepted))
			}
			next, err := vals.With(p.Name, value)
			if err != nil {
				var pe *bench.ParamError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				return fail(err)
			}
			*vals = next
		}
		return nil
	})
}

// abRun runs the two sides interleaved, then decides and reports like
// compare. Progress goes to stderr: the seed and order first, then a line
// per run.
func abRun(ctx context.Context, opts *ABOptions) error {
	stderr := &lockedWriter{w: opts.IO.ErrOut}
	order := ab.Order(opts.Count, opts.Seed)
	letters := make([]string, len(order))
	for i, s := range order {
		letters[i] = string(s)
	}
	fmt.Fprintf(stderr, "ab: A = %s, B = %s; %d runs each, order %s (seed %d: --seed %d repeats it)\n",
		strings.TrimPrefix(opts.LabelA, "A: "), strings.TrimPrefix(opts.LabelB, "B: "), opts.Count, strings.Join(letters, " "), opts.Seed, opts.Seed)
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	paths, err := session.ABOut(opts.Out, opts.NoSave, ResultsDir, now)
	if err != nil {
		return err
	}
	runCtx, _, stop := handleSignals(ctx, &RunOptions{IO: opts.IO, Notify: opts.Notify, Exit: opts.Exit}, stderr)
	defer stop()

	res, err := session.AB(runCtx, session.ABPlan{A: opts.A, B: opts.B, Name: opts.Name, Paths: paths, Version: displayVersion(), Now: now,
		Options: ab.Options{
			Count: opts.Count, Seed: opts.Seed,
			OnRun: func(i int, side ab.Side, run bench.RunResult) {
				p99 := "-"
				if l, ok := run.Latency[bench.OverallKey]; ok && l.Count > 0 {
					p99 = report.Duration(l.P99Ns)
				}
				valid := ""
				if !run.Valid {
					valid = "  invalid: " + strings.Join(run.InvalidReasons, "; ")
				}
				fmt.Fprintf(stderr, "run %d/%d  %s  %s ops/s  p99 %s%s\n", i+1, len(order), side, report.Rate(run.Throughput), p99, valid)
			},
		}})
	resA, resB := res[0], res[1]
	if resA != nil && (resA.Partial || resB.Partial) {
		fmt.Fprintln(stderr, "perfkit: stopped: deciding on the runs done")
	}
	if err != nil {
		return err
	}
	if !opts.NoSave {
		fmt.Fprintf(stderr, "results: A %s, B %s\n", paths[0], paths[1])
	}
	return decideAndReport(opts.IO, compare.FromResult(resA, opts.LabelA), compare.FromResult(resB, opts.LabelB),
		opts.Compare, opts.Format, opts.View, opts.FailOn, "")
}
