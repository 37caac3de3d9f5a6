// Package profiling attaches pprof profiles to runs: a bench observer that
// starts the profiles asked for when a run's measured part begins and stops
// them when it ends, then merges each scenario's runs into one file per
// profile and records its path in the result. The profiles package does
// the capturing and knows nothing of bench; this package joins the two.
package profiling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/profile"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/profiles"
)

// Dir is where the profiles of runs go unless Options.Dir says otherwise.
const Dir = ".perfkit/profiles"

// TargetPrefix marks the target's profiles in a result's "profiles" and in
// file names: "target-cpu" beside perfkit's own "cpu".
const TargetPrefix = "target-"

// checkTimeout bounds the check that a --pprof-url answers, before a run.
const checkTimeout = 5 * time.Second

// Options is the profiling a run does: --profile and --pprof-url on
// `perfkit run`, or `perfkit profile KIND`.
type Options struct {
	// Kinds are profiled in perfkit's own process.
	Kinds []profiles.Kind
	// Target is the --pprof-url base; TargetKinds are fetched from it.
	Target      *url.URL
	TargetKinds []profiles.Kind
	// Dir is where profiles are written (Dir).
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

// WithKind adds kind to the kinds profiled (perfkit profile KIND), and to
// the target's when a target is given; po may be nil.
func (po *Options) WithKind(kind profiles.Kind) *Options {
	if po == nil {
		po = &Options{Dir: Dir}
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
		return TargetPrefix + string(s.kind)
	}
	return string(s.kind)
}

// Key names a profile of kind in a result's "profiles" and in its file
// name: the kind, after TargetPrefix for the target's.
func Key(kind profiles.Kind, target bool) string {
	return profileSource{kind: kind, target: target}.key()
}

// label names it for people.
func (s profileSource) label() string {
	if s.target {
		return "target " + string(s.kind)
	}
	return string(s.kind)
}

// Profiler wraps each measured part of a run with the profiles asked for:
// it starts them when the engine says the measured part begins and stops
// them when it ends (bench.MeasureObserver), then merges each scenario's
// runs into one file per profile.
type Profiler struct {
	opts     *Options
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

var _ bench.MeasureObserver = (*Profiler)(nil)

// New checks the profiling asked for against the scenarios and the target,
// before anything runs; nil when po is nil. Warnings about profiles that
// could not be taken go to stderr. Close puts back the heap sampling rate.
func New(ctx context.Context, po *Options, scenarios []bench.Scenario, stderr io.Writer, now time.Time) (*Profiler, error) {
	if po == nil {
		return nil, nil
	}
	p := &Profiler{
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
	for _, sc := range scenarios {
		p.settings[sc.Name] = sc.Settings
	}
	if po.Target == nil {
		p.sampleAllocs()
		return p, nil
	}
	for _, sc := range scenarios {
		if sc.Settings.Duration > 0 {
			continue
		}
		for _, k := range po.TargetKinds {
			if k.Windowed() {
				return nil, fmt.Errorf("--pprof-url: scenario %s runs %d iterations: the target's %s profile needs a duration (-d), as its window is set in seconds when the measured part starts", sc.Name, sc.Settings.Iterations, k)
			}
		}
	}
	if po.Client == nil {
		po.Client = &http.Client{}
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if err := profiles.CheckTarget(cctx, po.Client, po.Target); err != nil {
		return nil, fmt.Errorf("--pprof-url %s: %w", po.Target.Redacted(), err)
	}
	p.sampleAllocs()
	return p, nil
}

// sampleAllocs sets the finer heap sampling of an allocs profile for the
// run, before the workloads set up (see profiles.AllocsSampleRate).
func (p *Profiler) sampleAllocs() {
	if slices.Contains(p.opts.Kinds, profiles.Allocs) {
		p.restoreRate = profiles.SetAllocsSampling()
	}
}

// Close puts back what the profiler changed for the run.
func (p *Profiler) Close() {
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
func (p *Profiler) Interval(*bench.Snapshot) {}

// MeasureStart starts the profiles of a run.
func (p *Profiler) MeasureStart(scenario string, run int) {
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
func (p *Profiler) MeasureEnd(scenario string, run int) {
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

// Attach merges a finished scenario's profiles over its runs, writes them
// and records their paths in the result. A profile that could not be taken
// is a warning: the run's numbers stand without it.
func (p *Profiler) Attach(sr *bench.ScenarioResult) {
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
func (p *Profiler) save(scenario string, src profileSource, rps []runProfile, runs map[int]bench.RunResult) (string, *profile.Profile, error) {
	ps := make([]*profile.Profile, len(rps))
	for i, rp := range rps {
		n := runs[rp.run].Ops
		if !src.target {
			n = OpsIn(runs[rp.run], rp.p)
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
	base := filepath.Join(p.opts.Dir, FileSafe(scenario)+"-"+src.key()+"-"+p.stamp)
	path := base + ".pb.gz"
	for i := 2; fileExists(path); i++ {
		path = fmt.Sprintf("%s-%d.pb.gz", base, i)
	}
	if err := profiles.WriteFile(path, merged); err != nil {
		return "", nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return path, merged, nil
}

// OpsIn is the part of a run's ops that fell inside a profile's window,
// taking the ops as spread evenly over the measured window. A capture can
// begin well after the measured window does (the observer is told on the
// collector's timer, and an allocs capture runs a GC first: hundreds of
// milliseconds on a busy machine under -race); dividing the window's
// allocations by every op of the run would then understate B/op. The end
// needs no share: captures stop after the workers have.
func OpsIn(r bench.RunResult, p *profile.Profile) int64 {
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

// ShowsTop reports whether stdout gets top tables instead of the result.
func (p *Profiler) ShowsTop() bool { return p != nil && p.opts.Top != nil }

// WriteTops prints the top tables; a profile `perfkit profile KIND` could
// not take makes it fail (a *bench.MeasureError) after printing the rest.
func (p *Profiler) WriteTops(w io.Writer) error {
	if err := profiles.WriteTops(w, p.tops, p.opts.Top.Format); err != nil {
		return err
	}
	if len(p.missing) > 0 {
		return &bench.MeasureError{Err: errors.New(strings.Join(p.missing, "; "))}
	}
	return nil
}

// FileSafe keeps a scenario name usable in a file name: sweep steps are
// named like "fetch[concurrency=4]".
func FileSafe(name string) string {
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

// unwrapPath drops the *PathError's path, which messages name already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
