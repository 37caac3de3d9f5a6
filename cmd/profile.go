package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/profile"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/profiles"
)

// ProfilesDir is where the profiles of runs go.
const ProfilesDir = ".perfkit/profiles"

// The run flags (and top-level config keys) of profiling.
const (
	profileKey  = "profile"
	pprofURLKey = "pprof-url"
)

// targetPrefix marks the target's profiles in a result's "profiles" and in
// file names: "target-cpu" beside perfkit's own "cpu".
const targetPrefix = "target-"

// checkTimeout bounds the check that a --pprof-url answers, before a run.
const checkTimeout = 5 * time.Second

func addProfileFlags(fl *pflag.FlagSet) {
	fl.String(profileKey, "", "attach pprof profiles of perfkit to the run, merged over --count: "+kindNames()+" (comma-separated)")
	fl.String(pprofURLKey, "", "also fetch the target's profiles (--profile's kinds, else cpu) over the measured window from its net/http/pprof, e.g. http://127.0.0.1:6060/debug/pprof")
}

func kindNames() string {
	var names []string
	for _, k := range profiles.Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// ProfileOptions is the profiling a run does: --profile and --pprof-url on
// `perfkit run`, or `perfkit profile KIND`.
type ProfileOptions struct {
	// Kinds are profiled in perfkit's own process.
	Kinds []profiles.Kind
	// Target is the --pprof-url base; TargetKinds are fetched from it.
	Target      *url.URL
	TargetKinds []profiles.Kind
	// Dir is where profiles are written (ProfilesDir).
	Dir string
	// Top, when set, replaces the result table on stdout with top tables
	// of the profiles (perfkit profile KIND).
	Top *TopView
	// Client fetches the target's profiles; nil means a default client.
	Client *http.Client
}

// TopView is how top tables are shown.
type TopView struct {
	Options profiles.TopOptions
	Format  profiles.Format
}

// resolveProfiling reads --profile and --pprof-url through their layers
// (flag, PERFKIT_PROFILE / PERFKIT_PPROF_URL, top-level config keys). Both
// unset: nil.
func (r *resolver) resolveProfiling() (*ProfileOptions, error) {
	kindsRaw, ko := r.lookupSetting(profileKey, nil)
	urlRaw, uo := r.lookupSetting(pprofURLKey, nil)
	kindsStr, urlStr := listString(kindsRaw), listString(urlRaw)
	if kindsStr == "" && urlStr == "" {
		return nil, nil
	}
	po := &ProfileOptions{Dir: ProfilesDir}
	if kindsStr != "" {
		kinds, err := profiles.ParseKinds(kindsStr)
		if err != nil {
			return nil, ko.wrapGlobal(fmt.Errorf("%s: %w", profileKey, err))
		}
		po.Kinds = kinds
	}
	if urlStr != "" {
		u, err := profiles.ParseURL(urlStr)
		if err != nil {
			return nil, uo.wrapGlobal(fmt.Errorf("%s: %w", pprofURLKey, err))
		}
		po.Target = u
		po.TargetKinds = slices.Clone(po.Kinds)
		if len(po.TargetKinds) == 0 {
			po.TargetKinds = []profiles.Kind{profiles.CPU}
		}
	}
	return po, nil
}

// listString reads a config value that may be a list ([cpu, heap]) or a
// string ("cpu,heap").
func listString(raw any) string {
	switch v := raw.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, ",")
	case []string:
		return strings.Join(v, ",")
	}
	return strings.TrimSpace(fmt.Sprint(raw))
}

// withKind adds kind to the kinds profiled (perfkit profile KIND), and to
// the target's when a --pprof-url is given.
func (po *ProfileOptions) withKind(kind profiles.Kind) *ProfileOptions {
	if po == nil {
		po = &ProfileOptions{Dir: ProfilesDir}
	}
	if !slices.Contains(po.Kinds, kind) {
		po.Kinds = append([]profiles.Kind{kind}, po.Kinds...)
	}
	if po.Target != nil && !slices.Contains(po.TargetKinds, kind) {
		po.TargetKinds = append([]profiles.Kind{kind}, po.TargetKinds...)
	}
	return po
}

// profileSource is one profile a scenario gets: a kind, from perfkit or
// from the target.
type profileSource struct {
	kind   profiles.Kind
	target bool
}

// key names the profile in the result's "profiles" and in its file name.
func (s profileSource) key() string {
	if s.target {
		return targetPrefix + string(s.kind)
	}
	return string(s.kind)
}

// label names it for people.
func (s profileSource) label() string {
	if s.target {
		return "target " + string(s.kind)
	}
	return string(s.kind)
}

// profiler wraps each measured part of a run with the profiles asked for:
// it starts them when the engine says the measured part begins and stops
// them when it ends (bench.MeasureObserver), then merges each scenario's
// runs into one file per profile.
type profiler struct {
	opts     *ProfileOptions
	ctx      context.Context
	stderr   io.Writer
	stamp    string
	settings map[string]bench.Settings
	sources  []profileSource // in the order their tables are shown
	starts   []profileSource // in the order they start: perfkit's allocs last

	mu     sync.Mutex
	active *activeRun
	taken  map[string]map[profileSource][]runProfile // by scenario
	failed map[string][]string                       // by scenario: why profiles are missing

	tops    []*profiles.TopReport
	missing []string

	restoreRate func() // the heap sampling rate before an allocs profile
}

// activeRun is what is being captured during one measured part.
type activeRun struct {
	scenario string
	run      int
	local    []*profiles.Capture
	remote   []*profiles.Remote
}

type runProfile struct {
	run int
	p   *profile.Profile
}

var _ bench.MeasureObserver = (*profiler)(nil)

// newProfiler checks the profiling asked for against the scenarios and the
// target, before anything runs; nil when no profiling is asked for.
func newProfiler(ctx context.Context, opts *RunOptions, stderr io.Writer, now time.Time) (*profiler, error) {
	po := opts.Profile
	if po == nil {
		return nil, nil
	}
	p := &profiler{
		opts: po, ctx: ctx, stderr: stderr,
		stamp:    now.UTC().Format("20060102T150405Z"),
		settings: map[string]bench.Settings{},
		taken:    map[string]map[profileSource][]runProfile{},
		failed:   map[string][]string{},
	}
	for _, k := range po.Kinds {
		p.sources = append(p.sources, profileSource{kind: k})
	}
	for _, k := range po.TargetKinds {
		p.sources = append(p.sources, profileSource{kind: k, target: true})
	}
	// The allocs capture starts last and stops first: the other captures'
	// work then falls outside its window.
	p.starts = slices.Clone(p.sources)
	slices.SortStableFunc(p.starts, func(a, b profileSource) int {
		return boolInt(isLocalAllocs(a)) - boolInt(isLocalAllocs(b))
	})
	for _, sc := range opts.Scenarios {
		p.settings[sc.Name] = sc.Settings
	}
	if po.Target == nil {
		p.sampleAllocs()
		return p, nil
	}
	for _, sc := range opts.Scenarios {
		if sc.Settings.Duration > 0 {
			continue
		}
		for _, k := range po.TargetKinds {
			if k.Windowed() {
				return nil, fmt.Errorf("--%s: scenario %s runs %d iterations: the target's %s profile needs a duration (-d), as its window is set in seconds when the measured part starts", pprofURLKey, sc.Name, sc.Settings.Iterations, k)
			}
		}
	}
	if po.Client == nil {
		po.Client = &http.Client{}
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := profiles.CheckTarget(cctx, po.Client, po.Target); err != nil {
		return nil, fmt.Errorf("--%s %s: %w", pprofURLKey, po.Target.Redacted(), err)
	}
	p.sampleAllocs()
	return p, nil
}

// sampleAllocs sets the finer heap sampling of an allocs profile for the
// run, before the workloads set up (see profiles.AllocsSampleRate).
func (p *profiler) sampleAllocs() {
	if slices.Contains(p.opts.Kinds, profiles.Allocs) {
		p.restoreRate = profiles.SetAllocsSampling()
	}
}

// close puts back what the profiler changed for the run.
func (p *profiler) close() {
	if p != nil && p.restoreRate != nil {
		p.restoreRate()
		p.restoreRate = nil
	}
}

func isLocalAllocs(s profileSource) bool { return !s.target && s.kind == profiles.Allocs }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Interval is a no-op: the profiler cares only where the measured part
// begins and ends.
func (p *profiler) Interval(*bench.Snapshot) {}

// MeasureStart starts the profiles of a run.
func (p *profiler) MeasureStart(scenario string, run int) {
	set := p.settings[scenario]
	// Made before the captures start, so the allocs window (started last)
	// does not count them.
	ar := &activeRun{scenario: scenario, run: run, local: make([]*profiles.Capture, 0, len(p.sources))}
	var errs []string
	for _, s := range p.starts {
		if s.target {
			r, err := profiles.StartRemote(p.ctx, p.opts.Client, p.opts.Target, s.kind, set.Duration)
			if err != nil {
				errs = append(errs, fmt.Sprintf("run %d: %s profile: %v", run, s.label(), err))
				continue
			}
			ar.remote = append(ar.remote, r)
			continue
		}
		c, err := profiles.Start(s.kind, profiles.CaptureOptions{Window: set.Duration})
		if err != nil {
			errs = append(errs, fmt.Sprintf("run %d: %v", run, err))
			continue
		}
		ar.local = append(ar.local, c)
	}
	p.mu.Lock()
	p.active = ar
	if len(errs) > 0 {
		p.failed[scenario] = append(p.failed[scenario], errs...)
	}
	p.mu.Unlock()
}

// MeasureEnd stops them: perfkit's own at once, then the target's, which
// finish on their own (a target that stopped answering within
// profiles.RemoteGrace).
func (p *profiler) MeasureEnd(scenario string, run int) {
	p.mu.Lock()
	ar := p.active
	p.active = nil
	p.mu.Unlock()
	if ar == nil || ar.scenario != scenario || ar.run != run {
		return
	}
	type got struct {
		src profileSource
		p   *profile.Profile
		err error
	}
	var all []got
	// The allocs capture, started last, stops first.
	slices.SortStableFunc(ar.local, func(a, b *profiles.Capture) int {
		return boolInt(b.Kind() == profiles.Allocs) - boolInt(a.Kind() == profiles.Allocs)
	})
	for _, c := range ar.local {
		pr, err := c.Stop()
		all = append(all, got{profileSource{kind: c.Kind()}, pr, err})
	}
	for _, r := range ar.remote {
		pr, err := r.Stop()
		all = append(all, got{profileSource{kind: r.Kind(), target: true}, pr, err})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	byKey := p.taken[scenario]
	if byKey == nil {
		byKey = map[profileSource][]runProfile{}
		p.taken[scenario] = byKey
	}
	for _, g := range all {
		if g.err != nil {
			p.failed[scenario] = append(p.failed[scenario], fmt.Sprintf("run %d: %v", run, g.err))
			continue
		}
		byKey[g.src] = append(byKey[g.src], runProfile{run, g.p})
	}
}

// attach merges a finished scenario's profiles over its runs, writes them
// and records their paths in the result. A profile that could not be taken
// is a warning: the run's numbers stand without it.
func (p *profiler) attach(sr *bench.ScenarioResult) {
	if p == nil {
		return
	}
	p.mu.Lock()
	taken, failed := p.taken[sr.Name], p.failed[sr.Name]
	delete(p.taken, sr.Name)
	delete(p.failed, sr.Name)
	p.mu.Unlock()
	for _, msg := range failed {
		fmt.Fprintf(p.stderr, "perfkit: warning: scenario %s: %s (the run went on without it)\n", sr.Name, msg)
	}
	runs := map[int]bench.RunResult{}
	for _, r := range sr.Runs {
		runs[r.Index] = r
	}
	for _, src := range p.sources {
		rps := taken[src]
		if len(rps) == 0 {
			if len(sr.Runs) > 0 {
				fmt.Fprintf(p.stderr, "perfkit: warning: scenario %s: no %s profile\n", sr.Name, src.label())
			}
			if !src.target && p.opts.Top != nil {
				p.missing = append(p.missing, fmt.Sprintf("scenario %s: no %s profile", sr.Name, src.label()))
			}
			continue
		}
		path, merged, err := p.save(sr.Name, src, rps, runs)
		if err != nil {
			fmt.Fprintf(p.stderr, "perfkit: warning: scenario %s: %s profile: %v\n", sr.Name, src.label(), err)
			continue
		}
		if sr.Profiles == nil {
			sr.Profiles = map[string]string{}
		}
		sr.Profiles[src.key()] = path
		fmt.Fprintf(p.stderr, "profile %s: %s\n", src.key(), path)
		if p.opts.Top == nil {
			continue
		}
		top, err := profiles.Top(merged, p.opts.Top.Options)
		if err != nil {
			fmt.Fprintf(p.stderr, "perfkit: warning: scenario %s: %s profile: %v\n", sr.Name, src.label(), err)
			continue
		}
		top.Title = sr.Name + " (perfkit)"
		if src.target {
			top.Title = sr.Name + " (target " + p.opts.Target.Redacted() + ")"
		}
		top.File = path
		p.tops = append(p.tops, top)
	}
}

// save merges the runs' profiles of one source, notes the op counts and
// where it came from, and writes it under Dir.
func (p *profiler) save(scenario string, src profileSource, rps []runProfile, runs map[int]bench.RunResult) (string, *profile.Profile, error) {
	ps := make([]*profile.Profile, len(rps))
	for i, rp := range rps {
		n := runs[rp.run].Ops
		if !src.target {
			n = opsIn(runs[rp.run], rp.p)
		}
		if n > 0 {
			profiles.SetOps(rp.p, n)
		}
		ps[i] = rp.p
	}
	merged, err := profiles.MergeRuns(src.kind, ps)
	if err != nil {
		return "", nil, err
	}
	profiles.SetComment(merged, profiles.CommentScenario, scenario)
	if !src.target {
		profiles.SetComment(merged, profiles.CommentSource, "perfkit")
	}
	if err := os.MkdirAll(p.opts.Dir, 0o755); err != nil {
		return "", nil, fmt.Errorf("cannot create %s: %w", p.opts.Dir, unwrapPath(err))
	}
	base := filepath.Join(p.opts.Dir, fileSafe(scenario)+"-"+src.key()+"-"+p.stamp)
	path := base + ".pb.gz"
	for i := 2; fileExists(path); i++ {
		path = fmt.Sprintf("%s-%d.pb.gz", base, i)
	}
	if err := profiles.WriteFile(path, merged); err != nil {
		return "", nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return path, merged, nil
}

// opsIn is the part of a run's ops that fell inside a profile's window,
// taking the ops as spread evenly over the measured window. A capture can
// begin well after the measured window does (the observer is told on the
// collector's timer, and an allocs capture runs a GC first: hundreds of
// milliseconds on a busy machine under -race); dividing the window's
// allocations by every op of the run would then understate B/op. The end
// needs no share: captures stop after the workers have.
func opsIn(r bench.RunResult, p *profile.Profile) int64 {
	if r.ElapsedNs <= 0 || p.TimeNanos == 0 || p.DurationNanos <= 0 || r.StartedAt.IsZero() {
		return r.Ops
	}
	runStart, runEnd := r.StartedAt.UnixNano(), r.StartedAt.UnixNano()+r.ElapsedNs
	lo, hi := max(runStart, p.TimeNanos), min(runEnd, p.TimeNanos+p.DurationNanos)
	if hi <= lo || (lo == runStart && hi == runEnd) {
		return r.Ops
	}
	return max(1, int64(float64(r.Ops)*float64(hi-lo)/float64(r.ElapsedNs)))
}

// showsTop reports whether stdout gets top tables instead of the result.
func (p *profiler) showsTop() bool { return p != nil && p.opts.Top != nil }

// writeTops prints the top tables; a profile `perfkit profile KIND` could
// not take makes the command fail (exit 3) after printing the rest.
func (p *profiler) writeTops(w io.Writer) error {
	if err := profiles.WriteTops(w, p.tops, p.opts.Top.Format); err != nil {
		return err
	}
	if len(p.missing) > 0 {
		return measureErr(errors.New(strings.Join(p.missing, "; ")))
	}
	return nil
}

// fileSafe keeps a scenario name usable in a file name: sweep steps are
// named like "fetch[concurrency=4]".
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '=' {
			return r
		}
		return '_'
	}, name)
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// addTopFlags registers the flags that shape top and diff tables.
func addTopFlags(fl *pflag.FlagSet, sortDefault profiles.Sort) {
	fl.Int("top", profiles.DefaultTop, "rows to show")
	fl.String("sort", string(sortDefault), "rank functions by cum (with callees) or flat (own cost)")
	fl.String("focus", "", "only samples with a function (or file) matching this regexp")
	fl.String("ignore", "", "drop samples with a function (or file) matching this regexp")
	fl.String("sample-index", "", "sample type to show, e.g. alloc_objects, inuse_space, contentions (default: the profile's)")
}

// topOptions reads the flags of addTopFlags; errors name the flag.
func topOptions(fl *pflag.FlagSet) (profiles.TopOptions, error) {
	var o profiles.TopOptions
	n, _ := fl.GetInt("top")
	if n < 1 {
		return o, fmt.Errorf("--top %d: must be at least 1", n)
	}
	o.N = n
	s, _ := fl.GetString("sort")
	sortBy, err := profiles.ParseSort(s)
	if err != nil {
		return o, fmt.Errorf("--%w", err)
	}
	o.Sort = sortBy
	for _, name := range []string{"focus", "ignore"} {
		expr, _ := fl.GetString(name)
		if expr == "" {
			continue
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return o, fmt.Errorf("--%s %q: %w", name, expr, err)
		}
		if name == "focus" {
			o.Focus = re
		} else {
			o.Ignore = re
		}
	}
	o.SampleType, _ = fl.GetString("sample-index")
	return o, nil
}

const profileLong = `Profile a scenario with pprof, and read, diff and browse profiles.

'perfkit profile KIND [SCENARIO...]' runs the scenarios exactly as 'perfkit run'
would (same flags, config file and environment), with a profile of KIND on for
the measured part of each run (not the warmup). Each scenario's profile, its
--count runs merged, is written to ` + ProfilesDir + `/<scenario>-<kind>-<time>.pb.gz,
a file 'go tool pprof' opens; the result is saved as usual with the profile's
path under "profiles"; stdout gets a top table of each profile.

Kinds: cpu (on-CPU time), heap (live memory at the end, after a GC), allocs
(allocations during the window), mutex and block (contention and blocking
during the window; their sampling rates are set for the run and restored
after), goroutine (the goroutines in the middle of the window). Each top table
says on its Covers line what the profile holds; perfkit's own profiling work
(snapshots, their encoding, the CPU profile writer) is left out of every one.

--pprof-url http://HOST:PORT/debug/pprof also fetches the same kinds from the
target's net/http/pprof over the measured window, while perfkit drives load
at it: where the target, not perfkit, spends its time. A target that stops
answering mid-run costs its profile (a warning), not the run.

'perfkit run --profile cpu,heap' attaches the same profiles to an ordinary run.
Profiles carry the op count of their window ("perfkit-ops=N" in their
comments), so 'perfkit profile diff' compares them per op.`

const profileExample = `  perfkit profile cpu fetch -d 5s
  perfkit profile allocs api --top 10 --sort flat
  perfkit profile cpu api --pprof-url http://127.0.0.1:6060/debug/pprof
  perfkit profile top .perfkit/profiles/api-cpu-20261102T100000Z.pb.gz --focus 'json'
  perfkit profile diff base.pb.gz new.pb.gz --format markdown
  perfkit profile web .perfkit/profiles/api-cpu-20261102T100000Z.pb.gz`

// NewCmdProfile builds `perfkit profile` and its subcommands. runF replaces
// runRun in tests that check what a profile command line resolves to.
func NewCmdProfile(f *Factory, runF func(*RunOptions) error) *cobra.Command {
	c := &cobra.Command{
		Use:     "profile KIND [SCENARIO...] | top FILE | diff BASE NEW | web FILE",
		Short:   "Profile a scenario with pprof; show, diff and browse profiles",
		Long:    profileLong,
		Example: profileExample,
		Args:    cobra.ArbitraryArgs,
		// An unknown kind's flags are not known either: name the kind.
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{err: fmt.Errorf("missing profile kind (%s) or subcommand (top, diff, web)", kindNames()), hint: helpHint(c)}
			}
			_, err := profiles.ParseKind(args[0])
			return &usageError{err: fmt.Errorf("%w; or a subcommand: top, diff, web", err), hint: helpHint(c)}
		},
	}
	for _, k := range profiles.Kinds() {
		c.AddCommand(newCmdProfileKind(f, k, runF))
	}
	c.AddCommand(newCmdProfileTop(f), newCmdProfileDiff(f), newCmdProfileWeb(f))
	return c
}

// kindHelp says what a profile of kind k records.
func kindHelp(k profiles.Kind) string {
	switch k {
	case profiles.CPU:
		return "on-CPU time of the measured part"
	case profiles.Heap:
		return "live memory at the end of the measured part"
	case profiles.Allocs:
		return "allocations made during the measured part"
	case profiles.Mutex:
		return "mutex contention during the measured part"
	case profiles.Block:
		return "time blocked (channels, select, sync) during the measured part"
	}
	return "goroutines in the middle of the measured part"
}

func newCmdProfileKind(f *Factory, kind profiles.Kind, runF func(*RunOptions) error) *cobra.Command {
	reg := registry(f.Workloads)
	params, regErr := reg.paramFlags()
	c := &cobra.Command{
		Use:   string(kind) + " [SCENARIO|WORKLOAD ...]",
		Short: "Run scenarios with " + string(kind) + " profiling: " + kindHelp(kind),
		Long: "Run scenarios as 'perfkit run' does, with " + string(kind) + " profiling (" + kindHelp(kind) + "),\n" +
			"write the profile to " + ProfilesDir + "/<scenario>-" + string(kind) + "-<time>.pb.gz, save the result with its\n" +
			"path, and print a top table of it (--format: table, markdown, json).",
		Example: "  perfkit profile " + string(kind) + " fetch -d 5s --top 10",
		RunE: func(c *cobra.Command, args []string) error {
			if regErr != nil {
				return regErr
			}
			top, err := topOptions(c.Flags())
			if err != nil {
				return err
			}
			opts, err := newRunOptions(f, c.Flags(), params, args)
			if err != nil {
				return err
			}
			format, err := profiles.ParseFormat(string(opts.Format))
			if err != nil {
				return err
			}
			opts.Profile = opts.Profile.withKind(kind)
			opts.Profile.Top = &TopView{Options: top, Format: format}
			if runF != nil {
				return runF(opts)
			}
			return runRun(c.Context(), opts)
		},
	}
	addRunFlags(c.Flags(), params)
	addTopFlags(c.Flags(), profiles.SortCum)
	c.SetUsageFunc(runUsage)
	return c
}

func newCmdProfileTop(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:     "top FILE",
		Short:   "Show the top functions of a profile",
		Long:    "Show the functions of a profile (any pprof file) that cost most, as 'go tool pprof -top'.",
		Example: "  perfkit profile top .perfkit/profiles/api-cpu-20261102T100000Z.pb.gz --sort flat --focus json",
		Args:    exactArgs(1, "FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			opts, err := topOptions(c.Flags())
			if err != nil {
				return err
			}
			format, err := formatFlag(c.Flags())
			if err != nil {
				return err
			}
			p, err := profiles.ReadFile(args[0])
			if err != nil {
				return err
			}
			top, err := profiles.Top(p, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			top.File = args[0]
			if sc, ok := profiles.Comment(p, profiles.CommentScenario); ok {
				top.Title = sc
				if src, ok := profiles.Comment(p, profiles.CommentSource); ok {
					top.Title += " (" + src + ")"
				}
			}
			return profiles.WriteTop(f.IO.Out, top, format)
		},
	}
	addTopFlags(c.Flags(), profiles.SortCum)
	c.Flags().String("format", string(profiles.FormatTable), "output: table, markdown, json")
	return c
}

func formatFlag(fl *pflag.FlagSet) (profiles.Format, error) {
	s, _ := fl.GetString("format")
	f, err := profiles.ParseFormat(s)
	if err != nil {
		return "", fmt.Errorf("--%w", err)
	}
	return f, nil
}

func newCmdProfileDiff(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "diff BASE NEW",
		Short: "Show the functions whose cost changed most between two profiles",
		Long: `Show the functions whose cost changed most from BASE to NEW: flat (their own
cost) and cum (with their callees), absolute and in percent of BASE, the
biggest changes first (--sort flat, the default, puts a newly hot function
above the callers it slowed down).

When both profiles carry their op counts (perfkit writes them), values are
per op, so runs of different lengths or rates compare fairly; otherwise
(or with --raw) the profiles' totals are compared. Both must be of the same
kind (sample type).`,
		Example: "  perfkit profile diff base.pb.gz new.pb.gz --top 10 --format markdown",
		Args:    exactArgs(2, "BASE and NEW"),
		RunE: func(c *cobra.Command, args []string) error {
			top, err := topOptions(c.Flags())
			if err != nil {
				return err
			}
			format, err := formatFlag(c.Flags())
			if err != nil {
				return err
			}
			raw, _ := c.Flags().GetBool("raw")
			base, err := profiles.ReadFile(args[0])
			if err != nil {
				return err
			}
			new, err := profiles.ReadFile(args[1])
			if err != nil {
				return err
			}
			d, err := profiles.Diff(base, new, profiles.DiffOptions{
				N: top.N, Sort: top.Sort, Focus: top.Focus, Ignore: top.Ignore, SampleType: top.SampleType, Raw: raw,
			})
			if err != nil {
				return fmt.Errorf("%s vs %s: %w", args[0], args[1], err)
			}
			d.BaseFile, d.NewFile = args[0], args[1]
			return profiles.WriteDiff(f.IO.Out, d, format)
		},
	}
	addTopFlags(c.Flags(), profiles.SortFlat)
	c.Flags().String("format", string(profiles.FormatTable), "output: table, markdown, json")
	c.Flags().Bool("raw", false, "compare the profiles' totals even when both carry op counts")
	return c
}
