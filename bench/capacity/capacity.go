// Package capacity finds the highest open-model rate a target sustains while
// meeting service-level objectives: the library behind perfkit run
// --find-max-rate.
//
// A search runs whole open-model steps (each with its warmup and measured
// window). It brackets the answer by doubling the rate from a start until a
// step fails (or halving until one passes), then bisects the bracket until
// it is narrower than the precision. A step passes when every run is valid
// and every SLO holds over the step's ops together. Whatever made a step
// fail, the search bisects below it: a step perfkit itself could not drive
// (its own CPU saturated) bounds the answer by perfkit, which the outcome
// says (CeilingOutcome), rather than ending the search; a step that fell
// behind because other processes held the CPUs (bench.CauseContended) is
// retried a bounded number of times first, since it says nothing about the
// target or perfkit.
//
// SLOs use bench/alert's METRIC OP VALUE grammar ("p99 < 20ms",
// "error_rate < 0.1%"), restricted to the latency of all ops and the error
// rate.
package capacity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/alert"
	"github.com/perfkit/perfkit/bench/stats"
)

// Defaults of Options.
const (
	// DefaultStart is the first rate tried when none is given, ops/s.
	DefaultStart = 100
	// DefaultPrecision: stop when the highest failing rate is within 5% of
	// the highest passing one.
	DefaultPrecision = 0.05
	// DefaultMinRate is the rate below which halving gives up: no rate
	// meets the SLOs.
	DefaultMinRate = 1
	// DefaultRetries is how often a step that failed for contention is run
	// again before it counts as failed.
	DefaultRetries = 2
	// capHintRatio is the share of ops that waited for a free worker from
	// which a failing step says the in-flight cap was reached.
	capHintRatio = 0.01
)

// sloMetrics are the metrics an SLO may name besides percentiles (pNN).
var sloMetrics = []string{"mean", "min", "max", "error_rate"}

// ParseSLO parses an objective such as "p99<20ms" or "error_rate < 0.1%":
// a latency percentile of all ops (p50, p90, p95, p99, p999, any pNN), mean,
// min, max, or error_rate, an operator and a bound.
func ParseSLO(s string) (alert.Expr, error) {
	e, err := alert.ParseExpr(s)
	if err != nil {
		return e, fmt.Errorf("slo: %w", err)
	}
	pct := strings.HasPrefix(e.Metric, "p") && strings.Trim(e.Metric[1:], "0123456789") == ""
	switch {
	case !pct && !slices.Contains(sloMetrics, e.Metric):
		return e, fmt.Errorf("slo %q: metric %s: an SLO takes p50, p90, p95, p99, p999 (any pNN), mean, min, max or error_rate", s, e.Metric)
	case e.Label != "":
		return e, fmt.Errorf("slo %q: label {%s}: an SLO covers all ops; write %s without a label", s, e.Label, e.Metric)
	}
	return e, nil
}

// Options configure Search.
type Options struct {
	// SLOs every passing step meets; at least one.
	SLOs []alert.Expr
	// Start is the first rate tried (0: DefaultStart); MaxRate the highest
	// (0: none); MinRate the lowest before giving up (0: DefaultMinRate).
	Start, MaxRate, MinRate float64
	// Precision is the bracket's width, relative to its low end, at which
	// the search stops (0: DefaultPrecision).
	Precision float64
	// Procs is the CPUs perfkit's CPU share is taken of (0: GOMAXPROCS);
	// NumCPU the machine's (0: runtime.NumCPU).
	Procs, NumCPU int
	// Retries is how often a step that failed for contention is run again
	// (0: DefaultRetries; negative: never).
	Retries int
	// Run measures one step (nil: bench.Run without observers).
	Run func(ctx context.Context, sc bench.Scenario) (bench.ScenarioResult, error)
	// OnStep, if set, sees each step as soon as it is measured.
	OnStep func(Step)
}

// Step is one measured rate.
type Step struct {
	// Rate is the target rate; Achieved the median achieved rate.
	Rate, Achieved float64
	// Outcome is bench.SearchPass, SearchFail, SearchInvalid,
	// SearchSaturated or SearchContended; Reasons say why a step did not
	// pass.
	Outcome string
	Reasons []string
	// Attempt counts from 1; above 1 the step is a retry after contention.
	Attempt int
	// WaitPct and PressurePct are the largest run-queue wait (share of the
	// run) and PSI cpu "some" over the step's runs; 0 when not measured.
	WaitPct, PressurePct float64
	// P50Ns and P99Ns are the medians across runs of the latency of all
	// ops; CPU is perfkit's CPU as a share of Procs CPUs.
	P50Ns, P99Ns int64
	CPU          float64
	// Result is the step's scenario result, named BASE[rate=R], with its
	// Search set.
	Result bench.ScenarioResult
}

// Stop says why a search ended.
type Stop string

// Reasons a search ends.
const (
	// Converged: the bracket is within the precision; Best is the answer.
	Converged Stop = "converged"
	// AtMaxRate: the step at MaxRate passed; the capacity may be higher.
	AtMaxRate Stop = "max-rate"
	// Saturated: no rate passed, and every step failed for perfkit's or the
	// machine's sake (saturated or contended): nothing was learnt about the
	// target.
	Saturated Stop = "saturated"
	// NoneMet: no rate down to MinRate met the SLOs.
	NoneMet Stop = "none-met"
	// Stopped: the context was cancelled.
	Stopped Stop = "stopped"
)

// Outcome is a finished search.
type Outcome struct {
	// Steps are the measured steps, a retried one by its last attempt.
	Steps []Step
	// Retried are the attempts that failed for contention and were run
	// again, in order.
	Retried []Step
	// Best indexes the step that is the answer (the highest rate that
	// passed), -1 when none passed.
	Best int
	Stop Stop
	// Ceiling is the lowest rate that did not pass (0: none failed), and
	// CeilingOutcome that step's outcome: SearchSaturated or
	// SearchContended mean the answer is bounded by perfkit or the machine,
	// not the target's.
	Ceiling        float64
	CeilingOutcome string
	// Precision is the bracket's relative width the search aimed for.
	Precision float64
}

// Bounded reports whether the answer is a lower bound set by perfkit or by
// the machine rather than by the target: the lowest failing rate failed
// for perfkit's own CPU or for contention.
func (o Outcome) Bounded() bool {
	return o.CeilingOutcome == bench.SearchSaturated || o.CeilingOutcome == bench.SearchContended
}

// Search finds the highest rate at which sc meets opts.SLOs. sc's settings
// are used for every step with the rate replaced; the caller sets the
// in-flight cap (Concurrency) high enough not to be the limit. The error is
// non-nil only when a step could not run at all (a setup failure).
func Search(ctx context.Context, sc bench.Scenario, opts Options) (Outcome, error) {
	if len(opts.SLOs) == 0 {
		return Outcome{Best: -1}, errors.New("capacity search: no SLO to meet")
	}
	if err := sc.Settings.Validate(); err != nil {
		return Outcome{Best: -1}, err
	}
	if sc.Settings.Duration <= 0 {
		return Outcome{Best: -1}, errors.New("capacity search: each step needs a duration, not iterations")
	}
	if opts.Run == nil {
		opts.Run = func(ctx context.Context, sc bench.Scenario) (bench.ScenarioResult, error) { return bench.Run(ctx, sc) }
	}
	if opts.Procs <= 0 {
		opts.Procs = runtime.GOMAXPROCS(0)
	}
	if opts.NumCPU <= 0 {
		opts.NumCPU = runtime.NumCPU()
	}
	if opts.Retries == 0 {
		opts.Retries = DefaultRetries
	}
	prec := opts.Precision
	if prec <= 0 {
		prec = DefaultPrecision
	}
	minRate := opts.MinRate
	if minRate <= 0 {
		minRate = DefaultMinRate
	}
	rate := opts.Start
	if rate <= 0 {
		rate = DefaultStart
	}
	if opts.MaxRate <= 0 || opts.MaxRate > bench.MaxRate {
		opts.MaxRate = bench.MaxRate // the engine refuses a higher rate
	}
	rate = min(rate, opts.MaxRate)
	s := &search{ctx: ctx, sc: sc, opts: opts, out: Outcome{Best: -1, Precision: prec}}
	var lo float64 // highest pass (0: none yet)
	// fail records a step that did not pass as the new ceiling.
	fail := func(st Step) {
		s.out.Ceiling, s.out.CeilingOutcome = st.Rate, st.Outcome
	}

	// Bracket: double up from a pass, halve down from a failure.
	for {
		st, done := s.step(rate)
		if done {
			return s.out, s.err
		}
		if st.Outcome == bench.SearchPass {
			lo = rate
			s.out.Best = len(s.out.Steps) - 1
			if s.out.Ceiling > 0 {
				break
			}
			if opts.MaxRate > 0 && rate >= opts.MaxRate {
				return s.finish(AtMaxRate), nil
			}
			rate *= 2
			if opts.MaxRate > 0 {
				rate = min(rate, opts.MaxRate)
			}
			continue
		}
		fail(st)
		if lo > 0 {
			break
		}
		if rate /= 2; rate < minRate {
			return s.finish(NoneMet), nil
		}
	}
	// Bisect until the bracket is within the precision, whatever made its
	// top fail: a saturated top still has the target's ceiling, or
	// perfkit's, somewhere below it.
	for hi := s.out.Ceiling; hi-lo > prec*lo; hi = s.out.Ceiling {
		mid := roundRate((lo + hi) / 2)
		if mid <= lo || mid >= hi {
			break
		}
		st, done := s.step(mid)
		if done {
			return s.out, s.err
		}
		if st.Outcome == bench.SearchPass {
			lo = mid
			s.out.Best = len(s.out.Steps) - 1
		} else {
			fail(st)
		}
	}
	return s.finish(Converged), nil
}

// search is one search in progress.
type search struct {
	ctx  context.Context
	sc   bench.Scenario
	opts Options
	out  Outcome
	err  error
}

// finish marks the answer and returns the outcome. A search in which
// nothing passed and every step failed for perfkit's or the machine's sake
// learnt nothing about the target: Saturated, not NoneMet.
func (s *search) finish(stop Stop) Outcome {
	s.out.Stop = stop
	if stop == NoneMet {
		ours := len(s.out.Steps) > 0
		for _, st := range s.out.Steps {
			if st.Outcome != bench.SearchSaturated && st.Outcome != bench.SearchContended {
				ours = false
			}
		}
		if ours {
			s.out.Stop = Saturated
		}
	}
	if s.out.Best >= 0 {
		s.out.Steps[s.out.Best].Result.Search.Best = true
	}
	return s.out
}

// step measures one rate, again (up to Retries times) while it fails for
// contention. done is true when the search cannot go on: the context was
// cancelled or the step could not run.
func (s *search) step(rate float64) (Step, bool) {
	for attempt := 1; ; attempt++ {
		st, done := s.attempt(rate, attempt)
		if done || st.Outcome != bench.SearchContended || attempt > s.opts.Retries {
			return st, done
		}
		// Superseded by the retry, which takes its place (and name).
		s.out.Retried = append(s.out.Retried, st)
		s.out.Steps = s.out.Steps[:len(s.out.Steps)-1]
	}
}

// attempt runs one step at rate.
func (s *search) attempt(rate float64, attempt int) (Step, bool) {
	sc := s.sc
	sc.Settings.Rate = rate
	value := strconv.FormatFloat(rate, 'f', -1, 64)
	sc.Name = s.sc.Name + "[rate=" + value + "]"
	sr, err := s.opts.Run(s.ctx, sc)
	if err != nil {
		s.err = fmt.Errorf("capacity search at %s/s: %w", value, err)
		s.finish(Stopped)
		return Step{}, true
	}
	st := classify(sr, rate, s.opts)
	st.Attempt = attempt
	slos := make([]string, len(s.opts.SLOs))
	for i, e := range s.opts.SLOs {
		slos[i] = e.Text
	}
	st.Result.Search = &bench.SearchStep{
		Param: "rate", Value: value, Base: s.sc.Name, Index: len(s.out.Steps),
		Rate: rate, Outcome: st.Outcome, Reasons: st.Reasons, SLOs: slos,
	}
	s.out.Steps = append(s.out.Steps, st)
	if s.opts.OnStep != nil {
		s.opts.OnStep(st)
	}
	if sr.Partial || s.ctx.Err() != nil {
		s.finish(Stopped)
		return st, true
	}
	return st, false
}

// classify decides a step: saturated when perfkit could not drive it,
// contended when other processes held the CPUs, invalid when a run cannot
// be trusted for the target's reasons (too slow for the rate, errors),
// failed when an SLO does not hold, passed otherwise.
func classify(sr bench.ScenarioResult, rate float64, opts Options) Step {
	st := Step{Rate: rate, Result: sr, Outcome: bench.SearchPass}
	var p50, p99 []int64
	var achieved []float64
	var cpu, secs float64
	for _, run := range sr.Runs {
		if l, ok := run.Latency[bench.OverallKey]; ok && l.Count > 0 {
			p50 = append(p50, l.P50Ns)
			p99 = append(p99, l.P99Ns)
		}
		if run.Schedule != nil {
			achieved = append(achieved, run.Schedule.AchievedRate)
		}
		cpu += run.Resources.CPUUserS + run.Resources.CPUSysS
		secs += float64(run.ElapsedNs) / 1e9
		if c := run.Contention; c != nil && run.ElapsedNs > 0 {
			st.WaitPct = max(st.WaitPct, 100*c.RunqueueWaitS/(float64(run.ElapsedNs)/1e9))
			st.PressurePct = max(st.PressurePct, c.CPUPressureSomePct)
		}
	}
	st.P50Ns, st.P99Ns, st.Achieved = stats.MedianInt(p50), stats.MedianInt(p99), stats.Median(achieved)
	if secs > 0 {
		st.CPU = cpu / secs / float64(opts.Procs)
	}
	if len(sr.Runs) == 0 {
		st.Outcome, st.Reasons = bench.SearchInvalid, []string{"no run completed"}
		return st
	}
	var saturated, contended, invalid []string
	for i, run := range sr.Runs {
		if run.Valid {
			continue
		}
		where := ""
		if len(sr.Runs) > 1 {
			where = fmt.Sprintf("run %d: ", i+1)
		}
		why := where + strings.Join(run.InvalidReasons, "; ")
		switch runCause(run, sr.Settings, opts) {
		case bench.CauseSaturated:
			saturated = append(saturated, why)
		case bench.CauseContended:
			contended = append(contended, why)
		default:
			invalid = append(invalid, why)
		}
	}
	switch {
	case len(saturated) > 0:
		st.Outcome, st.Reasons = bench.SearchSaturated, saturated
		return st
	case len(contended) > 0:
		st.Outcome, st.Reasons = bench.SearchContended, contended
		return st
	case len(invalid) > 0:
		st.Outcome, st.Reasons = bench.SearchInvalid, invalid
		return st
	}
	for _, t := range alert.CheckThresholds(&sr, opts.SLOs, opts.Procs) {
		if t.Passed {
			continue
		}
		st.Outcome = bench.SearchFail
		if t.Note != "" {
			st.Reasons = append(st.Reasons, t.Expr+": "+t.Note)
		} else {
			st.Reasons = append(st.Reasons, t.Expr+": "+alert.FormatValue(t.Value, t.Unit))
		}
	}
	if st.Outcome == bench.SearchFail {
		st.Reasons = append(st.Reasons, capReached(sr)...)
	}
	return st
}

// runCause says why an invalid run was invalid: its schedule's cause
// (bench.Diagnose) when it missed it, perfkit saturated when its CPU passed
// the bound (with an embedded target that CPU is the target's too: the
// machine, not the target, is the limit), else the target (errors): "".
func runCause(run bench.RunResult, set bench.Settings, opts Options) bench.Cause {
	if bench.ScheduleMissed(run, set.MaxLate) {
		c, _ := bench.DiagnoseRun(run, set, opts.Procs, opts.NumCPU)
		return c
	}
	if run.ElapsedNs > 0 && opts.Procs > 0 {
		cpu := run.Resources.CPUUserS + run.Resources.CPUSysS
		if cpu/(float64(run.ElapsedNs)/1e9)/float64(opts.Procs) > bench.MaxCPUSaturation {
			return bench.CauseSaturated
		}
	}
	return ""
}

// capReached says when ops waited for a free worker: the in-flight cap
// (Concurrency) was reached. A target that slows down fills any cap, so
// this is a hint, not a verdict: a higher cap may let more through.
func capReached(sr bench.ScenarioResult) []string {
	var waited, ops int64
	for _, run := range sr.Runs {
		if st := run.Schedule; st != nil {
			waited += st.Late - st.GeneratorLate
			ops += run.Ops
		}
	}
	if ops == 0 || float64(waited) <= capHintRatio*float64(ops) {
		return nil
	}
	return []string{fmt.Sprintf("%d ops waited for a free worker: the in-flight cap (concurrency %d) was reached", waited, sr.Settings.ShardShare().Concurrency)}
}

// roundRate keeps four significant digits, so step names stay readable.
func roundRate(r float64) float64 {
	if r <= 0 {
		return r
	}
	scale := math.Pow(10, 3-math.Floor(math.Log10(r)))
	return math.Round(r*scale) / scale
}
