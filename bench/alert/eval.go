package alert

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perfkit/perfkit/bench"
)

// Severity ranks an alert rule.
type Severity string

// Severities. A fired critical alert fails the run (exit 1).
const (
	Info     Severity = "info"
	Warning  Severity = "warning"
	Critical Severity = "critical"
)

// DefaultSeverity is the severity of a rule that names none.
const DefaultSeverity = Warning

// ParseSeverity reads info, warning or critical ("" is DefaultSeverity).
func ParseSeverity(s string) (Severity, error) {
	switch v := Severity(s); v {
	case "":
		return DefaultSeverity, nil
	case Info, Warning, Critical:
		return v, nil
	}
	return "", fmt.Errorf("severity %q: accepted: info, warning, critical", s)
}

// Rule is a live alert rule: Expr is evaluated at the end of every interval
// over the last Window of the run; when it has held for For, the rule fires
// (once per episode), and it resolves when the expression no longer holds.
// A window with no data for the metric (no op completed) changes nothing.
type Rule struct {
	// Name identifies the rule in events ("" takes the expression).
	Name string
	Expr Expr
	// Window is the stretch the metric is computed over, rounded up to
	// whole intervals; 0 means one interval.
	Window time.Duration
	// For is how long the expression must hold before the rule fires.
	For      time.Duration
	Severity Severity
	Message  string
	// Abort stops the run when the rule fires.
	Abort bool
}

// Validate reports the first field a rule cannot use.
func (r Rule) Validate() error {
	switch {
	case r.Expr.Text == "":
		return errors.New("no expr (e.g. expr: \"p99 > 50ms\")")
	case r.Window < 0:
		return fmt.Errorf("window %s: must not be negative", r.Window)
	case r.For < 0:
		return fmt.Errorf("for %s: must not be negative", r.For)
	}
	if _, err := ParseSeverity(string(r.Severity)); err != nil {
		return err
	}
	return nil
}

func (r Rule) name() string { return cmp.Or(r.Name, r.Expr.Text) }

// Reasons of a resolution.
const (
	ReasonCleared  = "cleared"
	ReasonRunEnded = "run ended"
)

// Options configure an Evaluator.
type Options struct {
	// OnEvent is called from the engine's collector goroutine for every
	// firing and resolution, as it happens: it must return quickly
	// (notifiers queue, they never send from here).
	OnEvent func(s *bench.Snapshot, ev bench.AlertEvent)
	// Procs is the CPU count the cpu metric is a share of (default
	// GOMAXPROCS).
	Procs int
}

// Evaluator is the bench.Observer that evaluates one scenario's alert rules
// each interval, and checks its rules and thresholds against the workload
// once it is set up. Use a new Evaluator for each scenario.
type Evaluator struct {
	rules      []Rule
	thresholds []Expr
	opts       Options

	mu     sync.Mutex
	run    int // run the state below belongs to; -1 before the first snapshot
	states []ruleState
	win    window
	events []bench.AlertEvent
}

var _ bench.SetupObserver = (*Evaluator)(nil)

type ruleState struct {
	n            int           // window in intervals
	pendingSince time.Duration // end of the first interval of the current streak; -1 if none
	firing       bool
}

// NewEvaluator returns an Evaluator of rules; thresholds are only checked
// against the workload (CheckThresholds evaluates them after the run).
func NewEvaluator(rules []Rule, thresholds []Expr, opts Options) *Evaluator {
	if opts.Procs <= 0 {
		opts.Procs = runtime.GOMAXPROCS(0)
	}
	return &Evaluator{rules: slices.Clone(rules), thresholds: slices.Clone(thresholds), opts: opts, run: -1}
}

// SetupDone refuses rules and thresholds on a metric, counter or label the
// scenario does not produce.
func (e *Evaluator) SetupDone(info *bench.ScenarioInfo) error {
	for _, r := range e.rules {
		if err := r.Expr.Check(info); err != nil {
			return fmt.Errorf("alert %s (%s): %w", r.name(), r.Expr.Text, err)
		}
	}
	for _, t := range e.thresholds {
		if err := t.Check(info); err != nil {
			return fmt.Errorf("threshold %q: %w", t.Text, err)
		}
	}
	return nil
}

// Events returns the firings and resolutions so far, in order.
func (e *Evaluator) Events() []bench.AlertEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.events)
}

// Interval evaluates every rule at the end of the interval s.
func (e *Evaluator) Interval(s *bench.Snapshot) {
	if len(e.rules) == 0 {
		return
	}
	e.mu.Lock()
	var fired []bench.AlertEvent
	defer func() {
		e.mu.Unlock()
		if e.opts.OnEvent != nil {
			for _, ev := range fired {
				e.opts.OnEvent(s, ev)
			}
		}
	}()
	if s.Run != e.run {
		e.startRun(s)
	}
	if s.Ops == 0 && (s.Length <= 0 || s.Final && pastWindow(s)) {
		if s.Final {
			fired = e.endRun(s)
		}
		return
	}
	e.win.push(s)
	end := s.T + s.Length
	cache := map[[2]any]*hdrhistogram.Histogram{}
	for i, r := range e.rules {
		st := &e.states[i]
		f := e.win.figures(st.n, e.opts.Procs, cache)
		v, ok := r.Expr.eval(f)
		if !ok {
			continue // no data: the state stands
		}
		if !r.Expr.Op.holds(v, r.Expr.Value) {
			st.pendingSince = -1
			if st.firing {
				st.firing = false
				fired = append(fired, e.event(r, s, bench.AlertResolved, v, ReasonCleared))
			}
			continue
		}
		if st.firing {
			continue
		}
		if st.pendingSince < 0 {
			st.pendingSince = end
		}
		if end-st.pendingSince >= r.For {
			st.firing = true
			fired = append(fired, e.event(r, s, bench.AlertFiring, v, ""))
		}
	}
	if s.Final {
		fired = append(fired, e.endRun(s)...)
	}
}

// pastWindow reports whether s begins at or after the end of a timed run's
// measured window: a final interval there holds only the time the run took
// to wind down (longer on a loaded machine), not measured ops, and must not
// read as a throughput of zero.
func pastWindow(s *bench.Snapshot) bool {
	return s.Settings.Iterations == 0 && s.Settings.Duration > 0 && s.T >= s.Settings.Duration
}

// startRun resets the windows and states: runs are independent.
func (e *Evaluator) startRun(s *bench.Snapshot) {
	e.run = s.Run
	ivl := s.Settings.Interval
	if ivl <= 0 {
		ivl = max(s.Length, time.Millisecond)
	}
	e.states = make([]ruleState, len(e.rules))
	size := 1
	var keys []string
	for i, r := range e.rules {
		n := max(1, int((r.Window+ivl-1)/ivl))
		e.states[i] = ruleState{n: n, pendingSince: -1}
		size = max(size, n)
		if n > 1 && r.Expr.usesLatency() && !slices.Contains(keys, r.Expr.key()) {
			keys = append(keys, r.Expr.key())
		}
	}
	e.win = window{size: size, keys: keys}
}

// endRun resolves the rules still firing when a run ends: an episode does
// not outlive its run.
func (e *Evaluator) endRun(s *bench.Snapshot) []bench.AlertEvent {
	var out []bench.AlertEvent
	for i, r := range e.rules {
		st := &e.states[i]
		if st.firing {
			f := e.win.figures(st.n, e.opts.Procs, nil)
			v, _ := r.Expr.eval(f)
			out = append(out, e.event(r, s, bench.AlertResolved, v, ReasonRunEnded))
		}
		st.firing, st.pendingSince = false, -1
	}
	return out
}

// event records a state change.
func (e *Evaluator) event(r Rule, s *bench.Snapshot, state string, v float64, reason string) bench.AlertEvent {
	end := s.T + s.Length
	ev := bench.AlertEvent{
		Rule:      r.name(),
		Expr:      r.Expr.Text,
		Severity:  string(cmp.Or(r.Severity, DefaultSeverity)),
		State:     state,
		Run:       s.Run,
		TMs:       end.Milliseconds(),
		Time:      s.Start.Add(s.Length).UTC(),
		Value:     finite(v),
		Threshold: r.Expr.Value,
		Unit:      r.Expr.Unit,
		Message:   r.Message,
		Abort:     r.Abort && state == bench.AlertFiring,
		Reason:    reason,
	}
	e.events = append(e.events, ev)
	return ev
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// figures are what an expression is evaluated on: a window of intervals, or
// a whole scenario.
type figures struct {
	ops, errs  int64
	seconds    float64 // measured time
	counters   map[string]int64
	cpuSeconds float64
	rss        int64
	procs      int
	latency    func(key string) *hdrhistogram.Histogram // nil: nothing recorded
}

// eval computes the expression's metric; ok is false when there is no data
// for it (no op completed, no time measured).
func (e Expr) eval(f *figures) (v float64, ok bool) {
	switch e.kind {
	case kindLatency:
		h := f.latency(e.key())
		if h == nil || h.TotalCount() == 0 {
			return 0, false
		}
		switch e.Metric {
		case "mean":
			return h.Mean(), true
		case "min":
			return float64(h.Min()), true
		case "max":
			return float64(h.Max()), true
		}
		return float64(h.ValueAtQuantile(e.quantile)), true
	case kindThroughput:
		if f.seconds <= 0 {
			return 0, false
		}
		n := f.ops
		if e.Label != "" {
			n = 0
			if h := f.latency(e.Label); h != nil {
				n = h.TotalCount()
			}
		}
		return float64(n) / f.seconds, true
	case kindErrorRate:
		if e.Label != "" {
			h := f.latency(e.Label)
			if h == nil || h.TotalCount() == 0 {
				return 0, false
			}
			return float64(f.counters[bench.LabelCounter(bench.ErrorsCounter, e.Label)]) / float64(h.TotalCount()), true
		}
		if f.ops == 0 {
			return 0, false
		}
		return float64(f.errs) / float64(f.ops), true
	case kindCheckRate:
		judged := f.counters[bench.LabelCounter(bench.ChecksCounter, e.Label)]
		if judged == 0 {
			return 0, false
		}
		return 1 - float64(f.counters[bench.LabelCounter(bench.ChecksFailedCounter, e.Label)])/float64(judged), true
	case kindCPU:
		if f.seconds <= 0 || f.procs <= 0 {
			return 0, false
		}
		return f.cpuSeconds / f.seconds / float64(f.procs), true
	case kindRSS:
		return float64(f.rss), f.rss > 0
	case kindCounter:
		c := float64(f.counters[e.counter()])
		if e.Unit == bench.UnitCountPerSec {
			if f.seconds <= 0 {
				return 0, false
			}
			return c / f.seconds, true
		}
		return c, true
	}
	return 0, false
}

// window holds the last intervals of a run: their totals, and compact
// copies of the histograms that rules with windows of several intervals
// read (a snapshot's histograms are too big to keep by the hundred).
type window struct {
	size    int
	keys    []string
	entries []entry // oldest first, at most size
	geom    *hdrhistogram.Snapshot
	scratch []int64
}

type entry struct {
	ops, errs int64
	length    time.Duration
	counters  map[string]int64
	cpu       float64
	rss       int64
	raw       map[string]*hdrhistogram.Histogram // the newest entry's only
	hists     map[string][]bucket
}

// bucket is a non-zero count of a histogram, by index.
type bucket struct {
	idx int32
	n   int64
}

func (w *window) push(s *bench.Snapshot) {
	en := entry{
		ops: s.Ops, errs: s.Errors, length: s.Length, counters: s.Counters,
		cpu: s.Resources.CPUUserS + s.Resources.CPUSysS, rss: s.RSSBytes, raw: s.Latency,
	}
	if len(w.keys) > 0 {
		en.hists = make(map[string][]bucket, len(w.keys))
		for _, k := range w.keys {
			h := s.Latency[k]
			if h == nil || h.TotalCount() == 0 {
				continue
			}
			exp := h.Export()
			if w.geom == nil {
				w.geom = &hdrhistogram.Snapshot{
					LowestTrackableValue: exp.LowestTrackableValue, HighestTrackableValue: exp.HighestTrackableValue,
					SignificantFigures: exp.SignificantFigures,
				}
				w.scratch = make([]int64, len(exp.Counts))
			}
			var bs []bucket
			for i, n := range exp.Counts {
				if n != 0 {
					bs = append(bs, bucket{int32(i), n})
				}
			}
			en.hists[k] = bs
		}
	}
	if len(w.entries) > 0 {
		w.entries[len(w.entries)-1].raw = nil
	}
	if len(w.entries) == w.size {
		copy(w.entries, w.entries[1:])
		w.entries = w.entries[:w.size-1]
	}
	w.entries = append(w.entries, en)
}

// figures totals the last n intervals. cache, when not nil, shares merged
// histograms between rules of one evaluation.
func (w *window) figures(n, procs int, cache map[[2]any]*hdrhistogram.Histogram) *figures {
	es := w.entries[max(0, len(w.entries)-n):]
	f := &figures{procs: procs, counters: map[string]int64{}}
	for _, en := range es {
		f.ops += en.ops
		f.errs += en.errs
		f.seconds += en.length.Seconds()
		f.cpuSeconds += en.cpu
		for k, v := range en.counters {
			f.counters[k] += v
		}
	}
	if len(es) > 0 {
		f.rss = es[len(es)-1].rss
	}
	f.latency = func(key string) *hdrhistogram.Histogram {
		if len(es) == 0 {
			return nil
		}
		if len(es) == 1 {
			return es[0].raw[key]
		}
		ck := [2]any{key, len(es)}
		if h, ok := cache[ck]; ok {
			return h
		}
		if w.geom == nil {
			return nil // nothing recorded under any key yet
		}
		clear(w.scratch)
		for _, en := range es {
			for _, b := range en.hists[key] {
				w.scratch[b.idx] += b.n
			}
		}
		snap := *w.geom
		snap.Counts = w.scratch
		h := hdrhistogram.Import(&snap)
		if cache != nil {
			cache[ck] = h
		}
		return h
	}
	return f
}
