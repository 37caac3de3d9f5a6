// Package session turns a plan into a saved result: it runs a plan's
// scenarios (a sweep's steps are scenarios with their Sweep set) with the
// observers, profiles and monitoring the plan asks for, and assembles one
// bench.Result: its ID, environment, each scenario's sweep step, profiles,
// alerts and thresholds, what was partial or could not be measured; then
// writes it atomically, falling back to the temp directory when the disk
// refuses. `perfkit run`, `perfkit profile KIND`, `--find-max-rate`,
// `perfkit ab` and a user's own program all build their results here
// (docs/design.md, "The pipeline").
package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/capacity"
	"github.com/perfkit/perfkit/bench/compare"
	"github.com/perfkit/perfkit/bench/monitor"
	"github.com/perfkit/perfkit/bench/profiling"
)

// ResultsDir is where results go when Plan.Out is not given.
const ResultsDir = ".perfkit/results"

// Plan is what to run and what to do with the result.
type Plan struct {
	// Scenarios are validated and ready, in the order they run.
	Scenarios []bench.Scenario
	// Observers watch every scenario (a progress line); AfterScenario runs
	// once each scenario's run returns (to clear that line).
	Observers     []bench.Observer
	AfterScenario func()
	// Profile, when not nil, attaches pprof profiles to the runs.
	Profile *profiling.Options
	// Monitor is the run's alert rules, thresholds, notifiers, /metrics
	// and dashboard (nil or empty: none).
	Monitor *monitor.Options
	// Strict makes any invalid run a failure to measure, not only a
	// scenario whose every run is invalid.
	Strict bool
	// Out is the result file; "" means Dir/<UTC time>-<id>.json. NoSave
	// writes none.
	Out    string
	NoSave bool
	// Dir is where a result without Out goes ("" means ResultsDir).
	Dir string
	// Log gets warnings, alert events, endpoint URLs and profile paths as
	// they happen; it must take writes from several goroutines. TTY says
	// it is a terminal with a progress line on it. nil: io.Discard.
	Log io.Writer
	TTY bool
	// Version is the perfkit version recorded in the environment.
	Version string
	// Now is the clock the result's time and file name are read from (nil:
	// time.Now).
	Now func() time.Time
	// Write writes the result file (nil: Result.WriteFile, atomic).
	Write func(res *bench.Result, path string) error
	// Run measures one scenario (nil: bench.Run); tests script it.
	Run func(ctx context.Context, sc bench.Scenario, obs ...bench.Observer) (bench.ScenarioResult, error)
}

// Session is a plan whose output was checked: it runs once.
type Session struct {
	plan Plan
	id   string
	now  time.Time
	path string
}

// New checks, before anything runs, that the result can be written where
// the plan says, and fixes the result's ID and time.
func New(p Plan) (*Session, error) {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Log == nil {
		p.Log = io.Discard
	}
	if p.Run == nil {
		p.Run = bench.Run
	}
	if p.Dir == "" {
		p.Dir = ResultsDir
	}
	s := &Session{plan: p, id: NewID(), now: p.Now()}
	path, err := PrepareOut(p.Out, p.NoSave, p.Dir, s.now, s.id)
	if err != nil {
		return nil, err
	}
	s.path = path
	return s, nil
}

// Outcome is what a session measured and saved.
type Outcome struct {
	// Result is the whole result, saved at Path ("" when not saved).
	Result *bench.Result
	Path   string
	// SaveErr is a failed save (a *bench.MeasureError naming where the
	// result went instead); the result is still whole.
	SaveErr error
	// Failed is the first scenario that could not be measured: a
	// *bench.SetupError, or a *bench.MeasureError (every op failed, every
	// run invalid). The others ran and are in the result.
	Failed error
	// Warnings are about invalid runs, to show below the result.
	Warnings []string
	// AbortedBy names the alert rule that stopped the run, "" if none.
	AbortedBy string
	// Profiler holds the profiles' top tables (perfkit profile KIND); nil
	// without profiling.
	Profiler *profiling.Profiler
}

// Run runs the scenarios one after the other and saves the result. A stop
// (ctx cancelled, or an abort rule) ends the current scenario gracefully,
// skips the rest, and still saves what was measured, marked partial. An
// error is returned only when there is no result: a monitor endpoint that
// cannot listen, a target that cannot be profiled, a rule on a label the
// workload does not record (*bench.CheckError).
func (s *Session) Run(ctx context.Context) (*Outcome, error) {
	p := s.plan
	mon, runCtx, err := monitor.Start(ctx, p.Monitor, p.Log, p.TTY)
	if err != nil {
		return nil, err
	}
	defer mon.Close()
	prof, err := profiling.New(runCtx, p.Profile, p.Scenarios, p.Log, s.now)
	if err != nil {
		return nil, err
	}
	defer prof.Close()
	obs := slices.Clone(p.Observers)
	if prof != nil {
		obs = append(obs, prof)
	}
	out := &Outcome{Result: NewResult(s.id, s.now, bench.Env{}), Profiler: prof}
	res := out.Result
	for _, sc := range p.Scenarios {
		sr, err := p.Run(runCtx, sc, append(slices.Clone(obs), mon.Observers(sc)...)...)
		if sc.Sweep != nil {
			step := *sc.Sweep
			sr.Sweep = &step
		}
		if p.AfterScenario != nil {
			p.AfterScenario()
		}
		if err != nil {
			var se *bench.SetupError
			var ce *bench.CheckError
			switch {
			case errors.As(err, &se):
				// Nothing of this scenario was measured; the others still
				// run and are saved, and Failed says so.
				if out.Failed == nil {
					out.Failed = err
				} else {
					fmt.Fprintf(p.Log, "perfkit: %v\n", oneLine(err.Error()))
				}
				continue
			case errors.As(err, &ce):
				return nil, err
			}
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		stopped := runCtx.Err() != nil || sr.Partial
		// A scenario that measured nothing is still data: it is saved and
		// shown, the other scenarios run, and Failed says so.
		if err := Unmeasured(sr, stopped); err != nil && out.Failed == nil {
			out.Failed = &bench.MeasureError{Err: err}
		} else if err == nil && !stopped {
			// A sweep's steps past capacity are meant to be invalid
			// (achieved rate under target): a warning, unless Strict.
			if warn, err := InvalidRuns(sr, p.Strict, sc.Sweep != nil); err != nil && out.Failed == nil {
				out.Failed = &bench.MeasureError{Err: err}
			} else if err != nil {
				out.Warnings = append(out.Warnings, err.Error())
			} else if warn != "" {
				out.Warnings = append(out.Warnings, warn)
			}
		}
		prof.Attach(&sr)
		mon.Finish(&sr)
		res.Scenarios = append(res.Scenarios, sr)
		if stopped {
			res.Partial = true
			break
		}
	}
	res.Env = CurrentEnv(ctx, p.Version)

	mon.Close() // the dashboard says done; notifications go out (bounded)
	out.AbortedBy = mon.AbortReason()
	if s.path != "" {
		if out.SaveErr = Save(p.Write, res, s.path); out.SaveErr == nil {
			out.Path = s.path
		}
	}
	return out, nil
}

// NewID is a result's ID: 16 random hex digits.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewResult is the one constructor of a result: the schema version, id,
// the time (UTC), env and scenarios (an empty list, never null, when none).
func NewResult(id string, now time.Time, env bench.Env, scenarios ...bench.ScenarioResult) *bench.Result {
	if scenarios == nil {
		scenarios = []bench.ScenarioResult{}
	}
	return &bench.Result{SchemaVersion: bench.SchemaVersion, ID: id, CreatedAt: now.UTC(), Env: env, Scenarios: scenarios}
}

// CurrentEnv is the environment a result records: this machine, perfkit's
// version, and the working directory's VCS state. ctx's cancellation does
// not cut it short (a stopped run still records where it ran).
func CurrentEnv(ctx context.Context, version string) bench.Env {
	cwd, _ := os.Getwd()
	return bench.CurrentEnv(context.WithoutCancel(ctx), version, cwd)
}

// Save writes res to path (write nil: atomically, Result.WriteFile). When
// that fails (a full disk, a directory made read-only during the run), what
// was measured is not lost: it goes to a fallback file in the temp
// directory, and the error, a *bench.MeasureError, names the path that
// failed, why, and where the result is (or that the fallback failed too).
func Save(write func(*bench.Result, string) error, res *bench.Result, path string) error {
	if write == nil {
		write = func(res *bench.Result, path string) error { return res.WriteFile(path) }
	}
	err := write(res, path)
	if err == nil {
		return nil
	}
	cause := unwrapPath(err)
	fb, ferr := os.CreateTemp("", "perfkit-result-*.json")
	if ferr == nil {
		name := fb.Name()
		fb.Close()
		if ferr = write(res, name); ferr == nil {
			return &bench.MeasureError{Err: fmt.Errorf("writing result %s: %w; the result is saved to %s instead", path, cause, name)}
		}
		os.Remove(name)
	}
	return &bench.MeasureError{Err: fmt.Errorf("writing result %s: %w; the fallback in %s failed too (%v): only the output above remains",
		path, cause, os.TempDir(), unwrapPath(ferr))}
}

// PrepareOut checks, before anything runs, that the result can be written:
// the directory exists and is writable, and the path is not a directory.
// With out "", the path is dir/<UTC time>-<id>.json and dir is created. It
// returns "" with noSave.
func PrepareOut(out string, noSave bool, dir string, now time.Time, id string) (string, error) {
	if noSave {
		return "", nil
	}
	if out == "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("cannot create %s: %w", dir, unwrapPath(err))
		}
		out = filepath.Join(dir, now.UTC().Format("20060102T150405Z")+"-"+id[:8]+".json")
	}
	dir = filepath.Dir(out)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("output %s: directory %s does not exist", out, dir)
	case err != nil:
		return "", fmt.Errorf("output %s: %w", out, unwrapPath(err))
	case !st.IsDir():
		return "", fmt.Errorf("output %s: %s is not a directory", out, dir)
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return "", fmt.Errorf("output %s: is a directory", out)
	}
	probe, err := os.CreateTemp(dir, ".perfkit-probe-*")
	if err != nil {
		return "", fmt.Errorf("output %s: directory %s is not writable: %w", out, dir, unwrapPath(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return out, nil
}

// Unmeasured reports a scenario whose numbers mean nothing: every op
// failed, or (without a stop) none completed.
func Unmeasured(sr bench.ScenarioResult, stopped bool) error {
	var ops, errs int64
	kinds := map[string]int64{}
	for _, run := range sr.Runs {
		ops += run.Ops
		errs += run.Errors
		for k, n := range run.ErrorsByKind {
			kinds[k] += n
		}
	}
	switch {
	case ops == 0 && !stopped:
		return fmt.Errorf("scenario %s: no op completed", sr.Name)
	case ops > 0 && errs == ops:
		if stopped && kinds[bench.KindCanceled] == errs {
			return nil
		}
		return fmt.Errorf("scenario %s: every op failed (%s)", sr.Name, kindList(kinds))
	}
	return nil
}

// InvalidRuns checks a finished scenario's validity: every run invalid is
// an error (nothing was measured that can be trusted), and so is any with
// strict; some invalid is a warning, and so is a sweep step all invalid.
func InvalidRuns(sr bench.ScenarioResult, strict, sweepStep bool) (warning string, err error) {
	var reasons [][]string
	for _, run := range sr.Runs {
		if !run.Valid {
			reasons = append(reasons, run.InvalidReasons)
		}
	}
	k, n := len(reasons), len(sr.Runs)
	if k == 0 {
		return "", nil
	}
	why := strings.Join(compare.GroupReasons(reasons), "; ")
	switch {
	case k == n && !strict && sweepStep:
		return fmt.Sprintf("every run of sweep step %s invalid: %s (--strict exits 3)", sr.Name, why), nil
	case k == n:
		return "", fmt.Errorf("could not measure: every run of %s invalid: %s", sr.Name, why)
	case strict:
		return "", fmt.Errorf("could not measure: %d of %d runs of %s invalid (--strict): %s", k, n, sr.Name, why)
	}
	return fmt.Sprintf("%d of %d runs of %s invalid: %s (compare leaves them out; --strict exits 3)", k, n, sr.Name, why), nil
}

// kindList is "conn_refused 1200, timeout 3": most frequent first.
func kindList(kinds map[string]int64) string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		if kinds[names[i]] != kinds[names[j]] {
			return kinds[names[i]] > kinds[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, kinds[k])
	}
	return strings.Join(parts, ", ")
}

// oneLine joins a multi-line message into one line.
func oneLine(msg string) string {
	lines := strings.FieldsFunc(strings.TrimSpace(msg), func(r rune) bool { return r == '\n' || r == '\r' })
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}

// unwrapPath drops the *PathError's path, which messages name already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Search is a capacity search of the plan's one scenario (--find-max-rate):
// o says how (its Run is the plan's, with the plan's observers). Every step
// is a scenario of the result, saved when any was measured; SaveErr is set
// on a failed save. err is the search's own (capacity.Search's), returned
// beside the result of the steps done.
func (s *Session) Search(ctx context.Context, o capacity.Options) (out *Outcome, search capacity.Outcome, err error) {
	p := s.plan
	o.Run = func(ctx context.Context, sc bench.Scenario) (bench.ScenarioResult, error) {
		sr, err := p.Run(ctx, sc, p.Observers...)
		if p.AfterScenario != nil {
			p.AfterScenario()
		}
		return sr, err
	}
	search, err = capacity.Search(ctx, p.Scenarios[0], o)
	res := NewResult(s.id, s.now, CurrentEnv(ctx, p.Version))
	for _, st := range search.Steps {
		res.Scenarios = append(res.Scenarios, st.Result)
	}
	res.Partial = search.Stop == capacity.Stopped
	out = &Outcome{Result: res}
	if s.path != "" && len(res.Scenarios) > 0 {
		if out.SaveErr = Save(p.Write, res, s.path); out.SaveErr == nil {
			out.Path = s.path
		}
	}
	return out, search, err
}
