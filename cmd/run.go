package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/monitor"
	"github.com/perfkit/perfkit/bench/profiling"
	"github.com/perfkit/perfkit/bench/session"
	"github.com/perfkit/perfkit/report"
	"github.com/perfkit/perfkit/report/live"
)

// ResultsDir is where results go when -o is not given.
const ResultsDir = session.ResultsDir

// RunOptions is everything `perfkit run` does, resolved from flags, the
// PERFKIT_* environment and the config file before anything runs.
type RunOptions struct {
	IO *IOStreams
	// Scenarios are validated and ready, in the order they run. A swept
	// scenario is here once per step, its Sweep set.
	Scenarios []bench.Scenario
	Format    report.Format
	// Out is the result file; "" means ResultsDir/<UTC time>-<id>.json.
	Out    string
	NoSave bool
	// ConfigFile is the config file read, "" when none.
	ConfigFile string
	// Warnings are printed on stderr before running (unset ${VAR}s).
	Warnings []string
	// Compare, when not nil, compares the result with a baseline (--compare).
	Compare *runCompare
	// Profile, when not nil, attaches pprof profiles to the run (--profile,
	// --pprof-url, perfkit profile KIND).
	Profile *profiling.Options
	// Monitor is the run's alert rules, thresholds, notifiers, /metrics
	// and dashboard (nil or empty: none).
	Monitor *monitor.Options
	// Search, when not nil, makes the run a capacity search of its one
	// scenario (--find-max-rate).
	Search *searchOptions
	// Strict makes any invalid run exit 3, not only a scenario whose every
	// run is invalid.
	Strict bool

	Notify func(c chan<- os.Signal) (stop func())
	Exit   func(code int)
	Now    func() time.Time
	// WriteResult writes the result file (nil: to the disk).
	WriteResult func(res *bench.Result, path string) error
}

const runLong = `Run scenarios and save the result as JSON.

With no names, run every scenario of the config file, or, without a config
file, the default suite: every built-in workload against its embedded target.
A name is a scenario of the config file, else a built-in workload
('perfkit workloads' lists them). Workload params are flags too: --url, --header...

Every setting comes from, highest first: a flag given; a PERFKIT_* variable
(the long flag name upper-cased, dashes as underscores: PERFKIT_CONCURRENCY,
PERFKIT_DURATION, PERFKIT_URL; a list param takes one value per line); the
scenario's key in the config file; a top-level key of the config file; the
declared default. -n replaces the default duration; -d and -n both given is an
error.

The config file is --config, else ./perfkit.yaml, else
$XDG_CONFIG_HOME/perfkit/perfkit.yaml (~/.config/perfkit/perfkit.yaml):

  concurrency: 16            # top-level run keys: defaults for every scenario
  scenarios:
    - name: api
      workload: fetch
      duration: 30s
      params:
        url: [http://127.0.0.1:8080/health]
        header: ["Authorization: Bearer ${API_TOKEN}"]

--sweep PARAM=v1,v2,... runs one measured step per value (each a full warmup
and --count runs) of a run setting (concurrency, rate, duration, iterations,
warmup, timeout) or a workload param. Each step is a scenario of its own,
NAME[PARAM=v]; below the table comes the knee: the first step after which
throughput never rises more than 5% while p99 rises more than 5% to the next
step. One --sweep per run (no grids); values are split on commas. Config key:
sweep: PARAM=v1,v2,...

--shard I/N runs shard I (from 0) of a load split over N machines: its share
of concurrency, rate and iterations, the open-model schedule split so that
the shards' intended starts together are the whole schedule. --shards N takes
the index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); --start-at
TIME (RFC3339) makes every shard begin measuring at that instant, its warmup
just before. 'perfkit merge' combines the shards' results exactly.

--find-max-rate --slo "p99<20ms" finds the highest open-model rate whose run
is valid and meets every --slo: it doubles the rate from --rate (default
100/s) until a step fails, then bisects to --precision (5%). Each step is a
scenario NAME[rate=R] of the result. It stops (exit 3) when perfkit itself
saturates, rather than report a ceiling that is not the target's.

SIGINT or SIGTERM stops gracefully and saves a partial result; a second one
exits at once.

Exit codes: 0 done; 1 the gate said no: a failed threshold, a critical alert,
or --compare found a regression or invalid runs; 2 bad flag, config or input;
3 could not measure: setup failed, every op failed, every run of a scenario
was invalid (over --max-error-rate, schedule lag...), or with --strict any
run was. Some runs invalid, or a sweep step all invalid, without --strict: a
warning, exit 0. The result is saved and shown in every case.`

const runExample = `  perfkit run
  perfkit run fetch --url http://127.0.0.1:8080/ -c 64 -d 30s
  perfkit run fetch -r 2000 --arrival poisson -d 1m -o r.json
  perfkit run fetch --sweep concurrency=1,4,16,64 -d 5s
  perfkit run api --count 5 --format markdown`

// NewCmdRun builds `perfkit run`. Its flags are the run settings and the
// union of every workload's params. runF replaces runRun in tests that
// check what the command line resolves to.
func NewCmdRun(f *Factory, runF func(*RunOptions) error) *cobra.Command {
	reg := registry(f.Workloads)
	params, regErr := reg.paramFlags()
	c := &cobra.Command{
		Use:     "run [SCENARIO|WORKLOAD ...]",
		Short:   "Run scenarios and save the result",
		Long:    runLong,
		Example: runExample,
		RunE: func(c *cobra.Command, args []string) error {
			if regErr != nil {
				return regErr
			}
			opts, err := newRunOptions(f, c.Flags(), params, args)
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runRun(c.Context(), opts)
		},
	}
	addRunFlags(c.Flags(), params)
	c.SetUsageFunc(runUsage)
	return c
}

// addRunFlags registers the flags of `perfkit run` on fl: the run settings,
// the run's own flags and the workload params. `perfkit profile KIND` takes
// the same.
func addRunFlags(fl *pflag.FlagSet, params []*paramFlag) {
	fl.SortFlags = false
	addSettingFlags(fl)
	fl.Var(&sweepValue{}, sweepKey, "one measured step per value of a run setting ("+strings.Join(sweepSettings(), ", ")+") or a workload param; once per run")
	fl.StringP("out", "o", "", "result file (default "+ResultsDir+"/<UTC time>-<id>.json)")
	fl.Bool("no-save", false, "write no result file")
	fl.String("format", string(report.Table), "stdout format: "+strings.Join(formatNames(), ", "))
	fl.String("config", "", "config file (default ./"+ConfigFileName+", then $XDG_CONFIG_HOME/perfkit/"+ConfigFileName+")")
	fl.String("compare", "", "then compare the result with baseline NAME (exit 1 on a regression or invalid runs; see 'perfkit compare')")
	fl.Bool(gateOwnKey, false, "with --compare: "+gateOwnUsage)
	fl.Bool("strict", false, "exit 3 when any run is invalid (default: only when every run of a scenario is)")
	addMaxMemoryFlag(fl)
	addProfileFlags(fl)
	addMonitorFlags(fl)
	addScaleFlags(fl)
	addAllowExecFlag(fl)
	for _, p := range params {
		p.register(fl)
	}
}

// addSettingFlags registers a flag per run setting (-c, -r, -d, -n...);
// `perfkit ab` takes them too.
func addSettingFlags(fl *pflag.FlagSet) {
	for _, s := range settingSpecs() {
		addParsedFlag(fl, s.Param, s.short, s.Help)
		if s.floatFlag {
			fl.Lookup(s.Name).Value.(*parsedValue).float = true
		}
	}
}

func formatNames() []string {
	var out []string
	for _, f := range report.Formats() {
		out = append(out, string(f))
	}
	return out
}

// runUsage lists run flags first, then each workload's params in a section
// of its own.
func runUsage(c *cobra.Command) error {
	w := c.OutOrStderr()
	fmt.Fprintf(w, "Usage:\n  %s\n", c.UseLine())
	if c.HasExample() {
		fmt.Fprintf(w, "\nExamples:\n%s\n", c.Example)
	}
	runFlags := pflag.NewFlagSet("run", pflag.ContinueOnError)
	runFlags.SortFlags = false
	groups := map[string]*pflag.FlagSet{}
	var order []string
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		ws, isParam := f.Annotations[annotationWorkloads]
		if !isParam {
			runFlags.AddFlag(f)
			return
		}
		key := strings.Join(ws, ", ")
		if groups[key] == nil {
			groups[key] = pflag.NewFlagSet(key, pflag.ContinueOnError)
			groups[key].SortFlags = false
			order = append(order, key)
		}
		groups[key].AddFlag(f)
	})
	fmt.Fprintf(w, "\nFlags:\n%s", runFlags.FlagUsages())
	for _, k := range order {
		fmt.Fprintf(w, "\nParams of %s (see 'perfkit workloads %s'):\n%s", k, strings.Split(k, ",")[0], groups[k].FlagUsages())
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(w, "\nGlobal Flags:\n%s", c.InheritedFlags().FlagUsages())
	}
	return nil
}

// newRunOptions resolves the command line, the environment and the config
// file into runnable scenarios. Every input error surfaces here, before
// anything runs.
func newRunOptions(f *Factory, flags *pflag.FlagSet, params []*paramFlag, names []string) (*RunOptions, error) {
	reg := registry(f.Workloads)
	opts := &RunOptions{IO: f.IO, Notify: f.Notify, Exit: f.Exit, Now: f.Now, WriteResult: f.WriteResult}

	given, _ := flags.GetString("config")
	if given == "" {
		given = os.Getenv(envName("config"))
	}
	path, err := findConfig(given)
	if err != nil {
		return nil, err
	}
	var cfg *configFile
	if path != "" {
		if cfg, err = loadConfig(path, reg); err != nil {
			return nil, err
		}
		opts.ConfigFile = path
		opts.Warnings = append(opts.Warnings, cfg.topWarnings...)
	}
	r := &resolver{v: f.Viper, flags: flags, cfg: cfg}
	if err := r.bind(); err != nil {
		return nil, err
	}

	if err := r.resolveOutput(opts); err != nil {
		return nil, err
	}
	raw, o := r.lookupSetting("strict", nil)
	strict, err := bench.Param{Kind: bench.Bool}.Parse(raw)
	if err != nil {
		return nil, o.wrapGlobal(fmt.Errorf("strict: %w", err))
	}
	opts.Strict = strict.(bool)
	if opts.Compare, err = resolveRunCompare(f, flags, cfg); err != nil {
		return nil, err
	}
	if opts.Profile, err = r.resolveProfiling(); err != nil {
		return nil, err
	}

	type selected struct {
		name string
		def  *bench.Definition
		sc   *scenarioConfig
	}
	var sel []selected
	switch {
	case len(names) > 0:
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				continue
			}
			seen[n] = true
			if sc, ok := cfg.scenario(n); ok {
				def, _ := reg.lookup(sc.workload)
				sel = append(sel, selected{n, def, sc})
			} else if def, ok := reg.lookup(n); ok {
				sel = append(sel, selected{n, def, nil})
			} else {
				configured := "none"
				if cn := cfg.scenarioNames(); len(cn) > 0 {
					configured = strings.Join(cn, ", ")
				}
				return nil, fmt.Errorf("unknown scenario or workload %q (configured: %s; workloads: %s)", n, configured, strings.Join(reg.names(), ", "))
			}
		}
	case cfg != nil && len(cfg.scenarios) > 0:
		for _, sc := range cfg.scenarios {
			def, _ := reg.lookup(sc.workload)
			sel = append(sel, selected{sc.name, def, sc})
		}
	default: // the default suite
		for i := range reg {
			if f.Suite == nil || slices.Contains(f.Suite, reg[i].Name) {
				sel = append(sel, selected{reg[i].Name, &reg[i], nil})
			}
		}
	}

	// A param flag must mean something to at least one selected scenario.
	for _, p := range params {
		f := flags.Lookup(p.name)
		if f == nil || !f.Changed {
			continue
		}
		takes := slices.ContainsFunc(sel, func(s selected) bool { _, ok := s.def.Param(p.name); return ok })
		if !takes {
			var ws []string
			for _, s := range sel {
				ws = append(ws, s.name+" ("+s.def.Name+")")
			}
			return nil, &usageError{
				err:  fmt.Errorf("--%s: not a param of the workload of %s (it is a param of %s)", p.name, strings.Join(ws, ", "), strings.Join(p.workloads, ", ")),
				hint: "run 'perfkit workloads NAME' for a workload's params",
			}
		}
	}

	// A sweep from a flag, a variable or the config's top level applies to
	// every selected scenario it means something to, as a param flag does;
	// one that means nothing to any of them is an error.
	var unswept []*bench.Definition
	var global origin
	var globalSweep sweep
	globalSwept := false
	for _, s := range sel {
		sw, o, ok, err := r.lookupSweep(s.sc)
		if err != nil {
			if o.layer == fromScenario {
				return nil, o.wrap(s.name, err)
			}
			return nil, o.wrapGlobal(err)
		}
		if ok && o.layer != fromScenario && !sweepTakes(s.def, sw.param) {
			if !slices.Contains(unswept, s.def) {
				unswept = append(unswept, s.def)
			}
			global, globalSweep, ok = o, sw, false
		}
		if ok {
			scs, err := r.expandSweep(s.name, s.def, s.sc, sw, o)
			if err != nil {
				return nil, err
			}
			opts.Scenarios = append(opts.Scenarios, scs...)
			globalSwept = globalSwept || o.layer != fromScenario
		} else {
			sc, err := r.resolveScenario(s.name, s.def, s.sc)
			if err != nil {
				return nil, err
			}
			opts.Scenarios = append(opts.Scenarios, sc)
		}
		if s.sc != nil {
			opts.Warnings = append(opts.Warnings, s.sc.warnings...)
		}
	}
	if !globalSwept && len(unswept) > 0 {
		return nil, global.wrapGlobal(errNotSweepable(globalSweep.param, unswept...))
	}
	if opts.Monitor, err = r.resolveMonitor(opts.Scenarios); err != nil {
		return nil, err
	}
	streamToStdout(f, opts)
	if err := r.resolveScale(opts); err != nil {
		return nil, err
	}
	if err := r.checkMemory(opts.Scenarios); err != nil {
		return nil, err
	}
	return opts, nil
}

// resolveOutput reads --format, --out and --no-save through their layers.
func (r *resolver) resolveOutput(opts *RunOptions) error {
	raw, o := r.lookupSetting("format", nil)
	format, err := report.ParseFormat(fmt.Sprint(raw))
	if err != nil {
		return o.wrapGlobal(err)
	}
	opts.Format = format
	raw, o = r.lookupSetting("no-save", nil)
	noSave, err := bench.Param{Kind: bench.Bool}.Parse(raw)
	if err != nil {
		return o.wrapGlobal(fmt.Errorf("no-save: %w", err))
	}
	opts.NoSave = noSave.(bool)
	raw, _ = r.lookupSetting("out", nil)
	if raw != nil {
		opts.Out = fmt.Sprint(raw)
	}
	if r.flags.Changed("out") && r.flags.Changed("no-save") && opts.NoSave {
		return errors.New("--out and --no-save: give one or the other")
	}
	if opts.NoSave {
		opts.Out = ""
	}
	return nil
}

// wrapGlobal attributes an error about a whole-run setting.
func (o origin) wrapGlobal(err error) error {
	switch o.layer {
	case fromConfigTop, fromScenario:
		return fmt.Errorf("%s: %w", o.where, err)
	case fromFlag, fromEnv:
		return fmt.Errorf("%w (from %s)", err, o.where)
	}
	return err
}

// runRun runs the scenarios (bench/session), prints the result and maps
// the outcome to an exit code. A stop (signal or ctx) ends the current
// scenario gracefully, skips the rest, and still saves what was measured,
// marked partial.
func runRun(ctx context.Context, opts *RunOptions) error {
	if opts.Search != nil {
		return runSearch(ctx, opts)
	}
	// The progress observer and the signal handler write from goroutines of
	// their own.
	stderr := &lockedWriter{w: opts.IO.ErrOut}
	for _, w := range opts.Warnings {
		fmt.Fprintf(stderr, "perfkit: warning: %s\n", w)
	}
	plan := opts.plan(stderr)
	s, err := session.New(plan)
	if err != nil {
		return err
	}
	runCtx, signalled, stop := handleSignals(ctx, opts, stderr)
	defer stop()
	out, err := s.Run(runCtx)
	if err != nil {
		return err
	}
	res, path := out.Result, out.Path
	why := "stopped"
	if signalled.Load() {
		why = "stopped by signal"
	} else if out.AbortedBy != "" {
		why = "stopped by alert " + out.AbortedBy
	}
	// A failed save must not lose the run: the results are printed first,
	// then the error (exit 3) says where the result went instead.
	switch {
	case path != "" && res.Partial:
		fmt.Fprintf(stderr, "%s: partial result saved to %s\n", why, path)
	case path != "":
		fmt.Fprintf(stderr, "result: %s\n", path)
	case res.Partial && out.SaveErr == nil:
		fmt.Fprintf(stderr, "%s: partial result not saved (--no-save)\n", why)
	}
	if out.Profiler.ShowsTop() {
		if err := out.Profiler.WriteTops(opts.IO.Out); err != nil {
			return err
		}
	} else if err := report.Write(opts.IO.Out, res, opts.Format); err != nil {
		return err
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(stderr, "perfkit: warning: %s\n", w)
	}
	failed := out.Failed
	if out.SaveErr != nil {
		if failed != nil { // said too, though the failed save decides the exit code
			fmt.Fprintf(stderr, "perfkit: %s\n", oneLine(failed.Error()))
		}
		return out.SaveErr
	}
	if failed == nil && opts.Compare != nil {
		if err := compareAfterRun(opts, res, path); err != nil {
			return err
		}
	}
	if failed == nil {
		failed = monitor.Gate(res) // a failed threshold or a critical alert: exit 1
	}
	return failed
}

// plan is the session a run is: its scenarios, observers and output.
func (opts *RunOptions) plan(stderr io.Writer) session.Plan {
	p := session.Plan{
		Scenarios: opts.Scenarios, Profile: opts.Profile, Monitor: opts.Monitor, Strict: opts.Strict,
		Out: opts.Out, NoSave: opts.NoSave, Log: stderr, TTY: opts.IO.IsStderrTTY(),
		Version: displayVersion(), Now: opts.Now, Write: opts.WriteResult,
	}
	if opts.IO.IsStderrTTY() {
		prog := live.NewProgress(stderr)
		p.Observers, p.AfterScenario = []bench.Observer{prog}, prog.Clear
	}
	return p
}

func displayVersion() string {
	v, _ := buildVersion()
	return v
}

// handleSignals returns a context cancelled by the first SIGINT or SIGTERM
// (the engine then stops gracefully); a second signal exits at once with 130.
func handleSignals(parent context.Context, opts *RunOptions, stderr io.Writer) (context.Context, *atomic.Bool, func()) {
	ctx, cancel := context.WithCancel(parent)
	var signalled atomic.Bool
	if opts.Notify == nil {
		return ctx, &signalled, cancel
	}
	ch := make(chan os.Signal, 2)
	unsubscribe := opts.Notify(ch)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-ch:
			signalled.Store(true)
			nl := "" // leave the progress line (and the terminal's ^C) behind
			if opts.IO.IsStderrTTY() {
				nl = "\n"
			}
			fmt.Fprintf(stderr, "%sperfkit: stopping: finishing ops in flight (signal again to exit now)\n", nl)
			cancel()
		case <-done:
			return
		}
		select {
		case <-ch:
			fmt.Fprintln(stderr, "perfkit: second signal: exiting without saving")
			opts.Exit(130)
		case <-done:
		}
	}()
	return ctx, &signalled, func() {
		unsubscribe()
		close(done)
		<-finished
		cancel()
	}
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// unwrapPath drops the *PathError's path, which messages name already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
