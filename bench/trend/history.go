package trend

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/compare"
	"github.com/perfkit/perfkit/bench/stats"
)

// DefaultRecent is how many of the newest points `history --check` looks
// at: a change point starting among them is the line's current news. A
// change is found once DefaultMinSize points follow it, so a slowdown
// fails the check from its third point to its fifth, then is history.
const DefaultRecent = 5

// Point is one saved result of a history line.
type Point struct {
	// Saved is when the result entered the history.
	Saved time.Time
	// Commit is the result's git commit, 12 hex digits (with "-dirty" for
	// a dirty tree), or "" when it was not recorded.
	Commit string
	// Path is the history file.
	Path   string
	Result *bench.Result
}

// label names point i (0-based) in messages: "13 (2ba1d58fa031)", or "13"
// without a commit.
func (p Point) label(i int) string {
	if p.Commit == "" {
		return strconv.Itoa(i + 1)
	}
	return fmt.Sprintf("%d (%s)", i+1, p.Commit)
}

// CommitOf is a result's commit as history shows it: 12 hex digits, with
// "-dirty" when the tree had changes; "" when unknown.
func CommitOf(env bench.Env) string {
	if env.GitCommit == "" {
		return ""
	}
	c := env.GitCommit[:min(len(env.GitCommit), 12)]
	if env.GitDirty {
		c += "-dirty"
	}
	return c
}

// AnalyzeOptions configure Analyze.
type AnalyzeOptions struct {
	// Detect configures the change point search; its Rand is ignored:
	// each series draws from its own source seeded by Seed and its key, so
	// a series' result does not depend on which others are analysed.
	Detect Options
	Seed   uint64
	// Alpha is the level of each change's interval and U test (compare's
	// alpha; 0 means stats.DefaultAlpha).
	Alpha float64
	// Thresholds override the metrics' default thresholds, as in compare.
	Thresholds stats.Thresholds
	// GateOwnMetrics lets perfkit's own costs gate against an external
	// target, as compare.Options.GateOwnMetrics.
	GateOwnMetrics bool
	// Recent is how many newest points the check looks at (0:
	// DefaultRecent).
	Recent int
}

// Series is one scenario × metric over the history: one value per point
// that measured it (the median of the point's valid runs).
type Series struct {
	Scenario  string
	Metric    string
	Unit      string
	Better    stats.Direction
	Threshold stats.Threshold
	// Own marks perfkit's own costs (compare.Metric.Own).
	Own bool
	// Index[i] is the point Values[i] comes from.
	Index  []int
	Values []float64
	// Changes are the change points found, oldest first.
	Changes []Change
}

// Change is one change point of a series and the shift it starts.
type Change struct {
	// At is the index of the point (in Analysis.Points) the new segment
	// starts at; Commit is that point's commit.
	At     int
	Commit string
	// P is the E-divisive permutation test's p-value.
	P float64
	// Before and After are the medians of the segments either side.
	Before, After float64
	// Delta is the shift, after against before: relative for a relative
	// threshold (+0.10 is +10%), in the metric's unit for an absolute one,
	// with its interval (Moses', as compare computes it).
	Delta stats.Interval
	// Verdict holds the shift against the metric's threshold and direction,
	// as compare decides a pair: regressed, improved, unchanged or
	// inconclusive; info for perfkit's own costs against an external
	// target. Reason says why.
	Verdict stats.Verdict
	Reason  string
	// Recent says the change starts among the Recent newest points.
	Recent bool
}

// Analysis is a history line with its series and their change points.
type Analysis struct {
	Name   string
	Points []Point
	Series []Series
	// Recent is the window of the check, in points.
	Recent int
	// Significance is the permutation test's level; Permutations its
	// count; MinSize the fewest points of a segment.
	Significance float64
	Permutations int
	MinSize      int
	// Warnings are about the line as a whole: set-ups that changed.
	Warnings []string
}

// Finding is a change the check reports: a series and its newest change.
type Finding struct {
	Series *Series
	Change Change
}

// Regressions are the series whose newest change point starts among the
// Recent newest points and is a regression beyond the metric's threshold:
// what `perfkit history --check` fails on.
func (a *Analysis) Regressions() []Finding {
	var out []Finding
	for i := range a.Series {
		s := &a.Series[i]
		if len(s.Changes) == 0 {
			continue
		}
		c := s.Changes[len(s.Changes)-1]
		if c.Recent && c.Verdict == stats.Regressed {
			out = append(out, Finding{Series: s, Change: c})
		}
	}
	return out
}

// Changes counts the change points of every series.
func (a *Analysis) Changes() int {
	n := 0
	for _, s := range a.Series {
		n += len(s.Changes)
	}
	return n
}

// Check reports the first option that is out of range (a level outside
// (0, 1), a threshold for an unknown metric…), so a caller can refuse
// them before reading anything. Analyze checks them too.
func (opts AnalyzeOptions) Check() error {
	_, _, _, _, err := opts.resolve()
	return err
}

// resolve checks the options and returns them with defaults applied.
func (opts AnalyzeOptions) resolve() (det Options, alpha float64, recent int, rules stats.Thresholds, err error) {
	det = opts.Detect
	det.Rand = rand.New(rand.NewPCG(0, 0)) // checked here, replaced per series
	if det, err = det.withDefaults(); err != nil {
		return
	}
	alpha = cmp.Or(opts.Alpha, stats.DefaultAlpha)
	if !(alpha > 0 && alpha < 1) {
		err = fmt.Errorf("alpha %v: accepted: a number between 0 and 1 (0.05)", opts.Alpha)
		return
	}
	recent = cmp.Or(opts.Recent, DefaultRecent)
	if recent < 1 {
		err = fmt.Errorf("recent %d: accepted: 1 or more points", opts.Recent)
		return
	}
	metrics := compare.PerfkitMetrics()
	rules = make(stats.Thresholds, len(opts.Thresholds))
	for i, r := range opts.Thresholds {
		r.Metric = compare.CanonicalMetric(r.Metric)
		k := slices.IndexFunc(metrics, func(m compare.Metric) bool { return m.Name == r.Metric })
		if k < 0 {
			names := make([]string, len(metrics))
			for j, m := range metrics {
				names[j] = m.Name
			}
			err = fmt.Errorf("threshold %s: unknown metric %q (metrics: %s)", opts.Thresholds[i], opts.Thresholds[i].Metric, strings.Join(names, ", "))
			return
		}
		if r.Threshold.Kind == stats.Absolute && metrics[k].Unit != "fraction" {
			err = fmt.Errorf("threshold %s: percentage points apply to a rate such as error_rate; give %s a percentage", opts.Thresholds[i], r.Metric)
			return
		}
		rules[i] = r
	}
	return
}

// Analyze builds the series of points (oldest first) and finds their change
// points. Its errors are about the options or a non-finite value.
func Analyze(name string, points []Point, opts AnalyzeOptions) (*Analysis, error) {
	det, alpha, recent, rules, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	metrics := compare.PerfkitMetrics()
	a := &Analysis{Name: name, Points: points, Recent: recent, Significance: det.Alpha, Permutations: det.Permutations, MinSize: det.MinSize}
	byKey := map[stats.Key]*Series{}
	var order []stats.Key
	external := map[string]bool{}
	setups := map[string]map[string]string{}
	for pi, p := range points {
		if p.Result == nil {
			continue
		}
		src := compare.FromResult(p.Result, p.Path)
		for _, sc := range src.Scenarios {
			if sc.Target == bench.TargetExternal {
				external[sc.Name] = true
			}
			if prev, ok := setups[sc.Name]; ok {
				if d := compare.SetupDiff(prev, sc.Setup); d != "" {
					a.Warnings = append(a.Warnings, fmt.Sprintf("scenario %s: set up differently from point %s on: %s", sc.Name, p.label(pi), d))
				}
			}
			setups[sc.Name] = sc.Setup
			for _, m := range metrics {
				v, ok := pointValue(sc.Runs, m.Name)
				if !ok {
					continue
				}
				k := stats.Key{Scenario: sc.Name, Metric: m.Name}
				s := byKey[k]
				if s == nil {
					s = &Series{Scenario: sc.Name, Metric: m.Name, Unit: m.Unit, Better: m.Better, Threshold: m.Threshold, Own: m.Own}
					if t, ok := rules.Lookup(sc.Name, m.Name); ok {
						s.Threshold = t
					}
					byKey[k] = s
					order = append(order, k)
				}
				s.Index = append(s.Index, pi)
				s.Values = append(s.Values, v)
			}
		}
	}
	// Series are independent, each with its own random source: detect them
	// in parallel, keep them in order.
	found := make([][]ChangePoint, len(order))
	errs := make([]error, len(order))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, k := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			d := det
			d.Rand = rand.New(rand.NewPCG(opts.Seed, keyHash(k)))
			found[i], errs[i] = Detect(byKey[k].Values, d)
		}()
	}
	wg.Wait()
	for i, k := range order {
		s := byKey[k]
		cps, err := found[i], errs[i]
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		info := s.Own && external[s.Scenario] && !opts.GateOwnMetrics
		bounds := make([]int, 0, len(cps)+2)
		bounds = append(bounds, 0)
		for _, c := range cps {
			bounds = append(bounds, c.Index)
		}
		bounds = append(bounds, len(s.Values))
		for i, c := range cps {
			before, after := s.Values[bounds[i]:bounds[i+1]], s.Values[bounds[i+1]:bounds[i+2]]
			ch, err := judge(s, before, after, alpha)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			ch.At = s.Index[c.Index]
			ch.Commit = points[ch.At].Commit
			ch.P = c.P
			ch.Recent = ch.At >= len(points)-recent
			if info {
				ch.Reason = "perfkit's own cost against an external target (" + string(ch.Verdict) + "); not gating"
				ch.Verdict = stats.Info
			}
			s.Changes = append(s.Changes, ch)
		}
		a.Series = append(a.Series, *s)
	}
	return a, nil
}

// judge measures the shift between two segments with compare's statistics
// (a family of one: the interval is at 1−alpha) and holds it against the
// series' threshold and direction.
func judge(s *Series, before, after []float64, alpha float64) (Change, error) {
	c, err := stats.Compare([]stats.Input{{
		Key: stats.Key{Scenario: s.Scenario, Metric: s.Metric}, Unit: s.Unit, Better: s.Better, Threshold: s.Threshold,
		Old: before, New: after,
	}}, stats.Options{Alpha: alpha})
	if err != nil {
		return Change{}, err
	}
	o := c.Outcomes[0]
	return Change{Before: o.Old.Median, After: o.New.Median, Delta: o.Delta, Verdict: o.Verdict, Reason: o.Reason}, nil
}

// pointValue is a point's value of a metric: the median over its valid
// runs, or for error_rate over every run that ran to its end, as compare
// takes its samples.
func pointValue(runs []compare.Run, metric string) (float64, bool) {
	var xs []float64
	for _, r := range runs {
		use := r.Valid
		if metric == compare.ErrorRate {
			use = !r.Partial
		}
		if v, ok := r.Values[metric]; ok && use {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return 0, false
	}
	return stats.Median(xs), true
}

func keyHash(k stats.Key) uint64 {
	h := fnv.New64a()
	h.Write([]byte(k.Scenario))
	h.Write([]byte{0})
	h.Write([]byte(k.Metric))
	return h.Sum64()
}
