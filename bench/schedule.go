package bench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Stage is one stage of a staged load (--stages 30s:100,2m:1000): over
// Duration the target moves linearly from where the previous stage ended
// (the first from the start value: -r in the open model, -c in the closed
// one) to Target. The target is a rate (ops/s) in the open model and a
// number of active workers in the closed one.
type Stage struct {
	Duration time.Duration `json:"duration_ns"`
	Target   float64       `json:"target"`
}

// Stages is a staged load's stages, in order.
type Stages []Stage

// StagesForm is the accepted form of a stages spec, for error messages.
const StagesForm = "DURATION:TARGET,... (e.g. 30s:100,2m:1000,30s:0)"

// MaxStages bounds the stages of one spec: per-stage rows are printed and
// judged, and no traffic shape needs more.
const MaxStages = 1000

// ParseStages parses a stages spec: comma-separated DURATION:TARGET pairs,
// each duration positive, each target a number ≥ 0.
func ParseStages(spec string) (Stages, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	parts := strings.Split(spec, ",")
	if len(parts) > MaxStages {
		return nil, fmt.Errorf("stages %q: %d stages, at most %d", spec, len(parts), MaxStages)
	}
	out := make(Stages, 0, len(parts))
	for _, p := range parts {
		d, t, ok := strings.Cut(strings.TrimSpace(p), ":")
		if !ok {
			return nil, fmt.Errorf("stages %q: stage %q has no ':'; accepted: %s", spec, p, StagesForm)
		}
		dur, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || dur <= 0 {
			return nil, fmt.Errorf("stages %q: stage %q: duration %q must be positive, like 30s or 2m; accepted: %s", spec, p, d, StagesForm)
		}
		target, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(t), "_", ""), 64)
		if err != nil || !(target >= 0) || math.IsInf(target, 0) {
			return nil, fmt.Errorf("stages %q: stage %q: target %q must be a number ≥ 0; accepted: %s", spec, p, t, StagesForm)
		}
		out = append(out, Stage{Duration: dur, Target: target})
	}
	if out.Total() <= 0 { // overflowed
		return nil, fmt.Errorf("stages %q: total duration overflows; accepted: %s", spec, StagesForm)
	}
	return out, nil
}

// String is the spec ParseStages reads back.
func (st Stages) String() string {
	parts := make([]string, len(st))
	for i, s := range st {
		parts[i] = s.Duration.String() + ":" + strconv.FormatFloat(s.Target, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// Total is the stages' duration: the measured window of a staged run.
func (st Stages) Total() time.Duration {
	var d time.Duration
	for _, s := range st {
		d += s.Duration
	}
	return d
}

// Max is the highest target.
func (st Stages) Max() float64 {
	m := 0.0
	for _, s := range st {
		m = max(m, s.Target)
	}
	return m
}

// Schedule is a piecewise-linear target over time: a rate (ops/s, the open
// model) or a worker count (the closed model). Before its origin it holds the
// start value (the warmup's); from there it runs through the stages; after
// the last it is over. Times are ns from the origin. A constant load is a
// Schedule without stages, a linear ramp one with a single stage.
//
// For the open model it answers "when is op n due?" by inverting the
// integral of the rate (Time): O(1) per op with a cursor, no allocation.
type Schedule struct {
	start float64   // value before the first stage
	ends  []int64   // each stage's end, ns from the origin
	vals  []float64 // value at each stage's end
	cum   []float64 // ∫ value dt (value·s) from the origin to each stage's end
	segs  []segment // per stage, what Time needs, precomputed
}

// segment is a stage as Time inverts it: it starts at t0 (ns) with value
// v0, after cum0 ops, and the value grows by a per second.
type segment struct {
	t0          int64
	v0, a, cum0 float64
	nsPerOp     float64 // 1e9/v0: a flat stage's gap
}

// NewSchedule builds the schedule that starts at start and runs through st.
func NewSchedule(start float64, st Stages) *Schedule {
	s := &Schedule{start: start}
	var t int64
	var c float64
	prev := start
	for _, g := range st {
		seg := segment{t0: t, v0: prev, a: (g.Target - prev) / g.Duration.Seconds(), cum0: c}
		if prev > 0 {
			seg.nsPerOp = 1e9 / prev
		}
		s.segs = append(s.segs, seg)
		t += int64(g.Duration)
		c += (prev + g.Target) / 2 * g.Duration.Seconds()
		s.ends = append(s.ends, t)
		s.vals = append(s.vals, g.Target)
		s.cum = append(s.cum, c)
		prev = g.Target
	}
	return s
}

// Len is the schedule's length: the end of its last stage (ns).
func (s *Schedule) Len() int64 {
	if len(s.ends) == 0 {
		return math.MaxInt64
	}
	return s.ends[len(s.ends)-1]
}

// Stages is the number of stages.
func (s *Schedule) Stages() int { return len(s.ends) }

// StageBounds is stage k's start and end (ns from the origin).
func (s *Schedule) StageBounds(k int) (int64, int64) {
	if k == 0 {
		return 0, s.ends[0]
	}
	return s.ends[k-1], s.ends[k]
}

// stage is stage k's start, its length, and its value at both ends.
func (s *Schedule) stage(k int) (t0, dt int64, v0, v1 float64) {
	if k > 0 {
		t0, v0 = s.ends[k-1], s.vals[k-1]
	} else {
		v0 = s.start
	}
	return t0, s.ends[k] - t0, v0, s.vals[k]
}

// stageAt is the stage holding t (0 ≤ t < Len), by binary search (not on
// the per-op path).
func (s *Schedule) stageAt(t int64) int {
	lo, hi := 0, len(s.ends)-1
	for lo < hi {
		m := (lo + hi) / 2
		if s.ends[m] > t {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// At is the value at t: the rate (ops/s) or the number of workers.
func (s *Schedule) At(t int64) float64 {
	switch {
	case t < 0 || len(s.ends) == 0:
		return s.start
	case t >= s.Len():
		return s.vals[len(s.vals)-1]
	}
	t0, dt, v0, v1 := s.stage(s.stageAt(t))
	return v0 + (v1-v0)*float64(t-t0)/float64(dt)
}

// Integral is ∫ value dt from the origin to t (value·s; negative t counts
// back through the warmup at the start value): in the open model, the ops
// due by t.
func (s *Schedule) Integral(t int64) float64 {
	if t <= 0 || len(s.ends) == 0 {
		return s.start * float64(t) / 1e9
	}
	if t >= s.Len() {
		return s.cum[len(s.cum)-1]
	}
	k := s.stageAt(t)
	t0, dt, v0, v1 := s.stage(k)
	x := float64(t - t0)
	before := 0.0
	if k > 0 {
		before = s.cum[k-1]
	}
	return before + (v0*x+(v1-v0)*x*x/(2*float64(dt)))/1e9
}

// Mean is the value's average over [t0, t1).
func (s *Schedule) Mean(t0, t1 int64) float64 {
	if t1 <= t0 {
		return s.At(t0)
	}
	return (s.Integral(t1) - s.Integral(t0)) / (float64(t1-t0) / 1e9)
}

// Time is when the integral reaches n (ns from the origin): in the open
// model, the intended start of op n (op 0 at the origin). False when the
// schedule ends first. cur is the caller's cursor into the stages: a worker
// asks for ever later ops, so the search is O(1) amortised; any value is
// correct, only slower. Negative n falls in the warmup, at the start rate.
func (s *Schedule) Time(n float64, cur *int) (int64, bool) {
	if n < 0 || len(s.ends) == 0 {
		if s.start <= 0 {
			return 0, false
		}
		return int64(n / s.start * 1e9), true
	}
	last := len(s.cum) - 1
	if !(n < s.cum[last]) {
		return 0, false
	}
	k := min(max(*cur, 0), last)
	for n >= s.cum[k] {
		k++
	}
	for k > 0 && n < s.cum[k-1] {
		k--
	}
	*cur = k
	g := &s.segs[k]
	n -= g.cum0
	if n <= 0 {
		return g.t0, true
	}
	if g.a == 0 { // a flat stage: no root
		return g.t0 + int64(n*g.nsPerOp), true
	}
	// Within the stage the rate is v0 + a·x, so the integral is v0·x +
	// a·x²/2 = n. The root written as 2n/(v0 + √(v0² + 2an)) loses nothing
	// when v0² ≫ 2an.
	den := g.v0 + math.Sqrt(max(g.v0*g.v0+2*g.a*n, 0))
	if den <= 0 {
		return g.t0, true
	}
	return g.t0 + int64(2*n/den*1e9), true
}

// Level is the number of workers active at t (closed model): the value
// rounded to the nearest whole worker.
func (s *Schedule) Level(t int64, cur *int) int {
	if t < 0 || len(s.ends) == 0 {
		return int(math.Round(s.start))
	}
	last := len(s.ends) - 1
	if t >= s.ends[last] {
		return int(math.Round(s.vals[last]))
	}
	k := min(max(*cur, 0), last)
	for t >= s.ends[k] {
		k++
	}
	for k > 0 && t < s.ends[k-1] {
		k--
	}
	*cur = k
	t0, dt, v0, v1 := s.stage(k)
	return int(math.Round(v0 + (v1-v0)*float64(t-t0)/float64(dt)))
}

// InactiveFrom is the first time at or after t when worker g is not active,
// Level ≤ g; math.MaxInt64 if never.
func (s *Schedule) InactiveFrom(g int, t int64) int64 {
	var cur int
	if s.Level(t, &cur) <= g {
		return t
	}
	thr := float64(g) + 0.5 // Round(v) ≤ g ⇔ v < g + 0.5
	for k := range s.ends {
		t0, dt, v0, v1 := s.stage(k)
		if s.ends[k] <= t || v1 >= thr || v1 >= v0 {
			continue
		}
		at := max(t0+int64(math.Floor((thr-v0)/(v1-v0)*float64(dt))), t)
		for at < s.ends[k] && s.Level(at, &cur) > g { // rounding: step on
			at++
		}
		return at
	}
	return math.MaxInt64
}

// ActiveFrom is the first time at or after t when worker g (from 0) is
// active, Level > g; math.MaxInt64 if never.
func (s *Schedule) ActiveFrom(g int, t int64) int64 {
	var cur int
	if s.Level(t, &cur) > g {
		return t
	}
	thr := float64(g) + 0.5 // Round(v) > g ⇔ v ≥ g + 0.5
	for k := range s.ends {
		t0, dt, v0, v1 := s.stage(k)
		if s.ends[k] <= t || v1 < thr || v1 <= v0 {
			continue
		}
		at := t0 + int64(math.Ceil((thr-v0)/(v1-v0)*float64(dt)))
		at = max(at, t)
		// rounding: step on until the level agrees
		for at < s.ends[k] && s.Level(at, &cur) <= g {
			at++
		}
		if at < s.ends[k] || s.Level(at, &cur) > g {
			return at
		}
	}
	return math.MaxInt64
}

// validateStages reports stages a run cannot use: with a duration other than
// their total, a rate over MaxRate, or more workers than MaxConcurrency.
func (s Settings) validateStages() error {
	if !s.staged() {
		return nil
	}
	st, err := ParseStages(s.Stages)
	if err != nil {
		return settingErr("stages", s.Stages, nil, "%s", err)
	}
	if s.Duration != 0 && s.Duration != st.Total() {
		return settingErr("duration", s.Duration, []string{"stages"}, "duration %s and stages %s (%s in all) both set: the stages set the measured time; drop --duration", s.Duration, s.Stages, st.Total())
	}
	if s.Rate > 0 {
		if m := st.Max(); m > MaxRate {
			return settingErr("stages", s.Stages, nil, "stages %s: rate %g: at most %d ops per second (split the load with --shard)", s.Stages, m, MaxRate)
		}
		return nil
	}
	if n := s.stagedWorkers(); n > MaxConcurrency {
		return settingErr("stages", s.Stages, nil, "stages %s: %d workers: at most %d (for many clients use the open model, -r, with stages of rates)", s.Stages, n, MaxConcurrency)
	}
	return nil
}

// staged reports whether the settings are a staged load.
func (s Settings) staged() bool { return s.Stages != "" }

// ParsedStages is the settings' stages (none when absent or malformed:
// Validate refuses those).
func (s Settings) ParsedStages() Stages {
	st, _ := ParseStages(s.Stages)
	return st
}

// stagedWorkers is how many workers a closed staged load starts: enough for
// its highest level, the start (-c) included.
func (s Settings) stagedWorkers() int {
	return max(s.Concurrency, int(math.Round(s.ParsedStages().Max())))
}

// schedule is the staged load's schedule (nil without stages): rates from
// Rate in the open model, worker levels from Concurrency in the closed one.
// It is the whole load's: a shard takes its part of it (see runner.begin).
func (s Settings) schedule() *Schedule {
	if !s.staged() {
		return nil
	}
	if s.Rate > 0 {
		return NewSchedule(s.Rate, s.ParsedStages())
	}
	return NewSchedule(float64(s.Concurrency), s.ParsedStages())
}
