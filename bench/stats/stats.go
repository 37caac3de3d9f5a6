// Package stats decides, metric by metric, whether a set of runs got worse
// than another: the statistics behind `perfkit compare`, over plain float64
// samples (one value per run), so it serves perfkit results and Go benchmark
// output alike.
//
// Each comparison is a two-sided Mann-Whitney U test (no assumption about
// the distribution of run-to-run noise), the p-values of every comparison in
// one call are corrected with Holm's step-down procedure so the chance of
// any false alarm stays at alpha, and a distribution-free confidence
// interval for the change (Moses' interval for the shift of the logs: the
// ratio of medians under a scale shift) is held against a per-metric
// threshold. Like golang.org/x/perf/benchmath, results are values and
// problems with the data are warnings carried in them, not failures.
package stats

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"golang.org/x/perf/benchmath"
)

// DefaultAlpha is the family-wise false-alarm rate of one compare when none
// is given: across all its metrics, at most a 5% chance of flagging anything
// when nothing changed.
const DefaultAlpha = 0.05

// DefaultConfidence is the level of each side's median interval.
const DefaultConfidence = 0.95

// Direction says which way a metric improves; it turns a change into a
// regression or an improvement. Its values match benchfmt's GetBetter.
type Direction int8

// Directions.
const (
	LowerIsBetter  Direction = -1 // latency, errors, CPU, allocations
	HigherIsBetter Direction = 1  // throughput
)

// String is the direction as Go benchmark unit metadata writes it:
// "lower" or "higher" (better=lower).
func (d Direction) String() string {
	switch d {
	case LowerIsBetter:
		return "lower"
	case HigherIsBetter:
		return "higher"
	}
	return fmt.Sprintf("Direction(%d)", int8(d))
}

// Verdict is what compare concludes about one metric.
type Verdict string

// Verdicts. Regressed and Invalid fail the gate by default.
const (
	// Regressed: significant after correction and the whole interval worse
	// than the threshold.
	Regressed Verdict = "regressed"
	// Improved: significant and the whole interval better than the threshold.
	Improved Verdict = "improved"
	// Unchanged: no change that is both significant and beyond the threshold.
	Unchanged Verdict = "unchanged"
	// Inconclusive: too few runs for the test to ever reach significance
	// here; Outcome.NeedRuns says how many would.
	Inconclusive Verdict = "inconclusive"
	// Info: computed and shown, never fails the gate (perfkit's own costs
	// against an external target); Outcome.Finding says what the data said.
	Info Verdict = "info"
	// Invalid: runs of the new side could not be trusted (over the error
	// bound, schedule lag...). It is a scenario's verdict, not a metric's:
	// see InvalidRuns. A broken build shows here rather than hiding behind
	// inconclusive metrics.
	Invalid Verdict = "invalid"
)

// Symbol is the verdict as tables show it: benchstat's "~" for unchanged.
func (v Verdict) Symbol() string {
	if v == Unchanged {
		return "~"
	}
	return string(v)
}

// Key names one comparison: a metric of a scenario.
type Key struct {
	Scenario string
	Metric   string
}

// String is "SCENARIO METRIC", as errors and notes name a comparison.
func (k Key) String() string { return k.Scenario + " " + k.Metric }

// Input is one scenario × metric to decide: one value per run on each side.
type Input struct {
	Key
	// Unit is carried to the outcome for renderers ("ns", "ops/s").
	Unit      string
	Better    Direction
	Threshold Threshold
	Old, New  []float64
	// OldInvalid and NewInvalid count the runs of each side left out of Old
	// and New as invalid: they explain a side without samples.
	OldInvalid, NewInvalid int
	// Warnings from whoever gathered the samples, carried to the outcome.
	Warnings []string
}

// Summary is one side of a comparison: its median with a distribution-free
// interval (order statistics, as benchmath's AssumeNothing); Lo and Hi are
// ±Inf when there are too few runs for the level.
type Summary struct {
	N              int
	Median, Lo, Hi float64
	Confidence     float64
}

// Interval is the change from old to new: relative (0.12 is +12%: new
// median over old median, minus one) or absolute (new minus old, in the
// metric's unit), following the threshold's kind. Lo and Hi may be ±Inf.
type Interval struct {
	Kind       ThresholdKind
	Estimate   float64
	Lo, Hi     float64
	Confidence float64
}

// Outcome is the decision about one Input and the numbers behind it.
type Outcome struct {
	Key
	Unit      string
	Better    Direction
	Threshold Threshold
	Old, New  Summary
	// Delta's interval is at the level Holm tested this comparison at,
	// 1 − alpha/(m−rank+1), so a significant change's interval excludes
	// "no change".
	Delta Interval
	// P is the U test's two-sided p-value; PAdjusted is Holm's. Both are 1
	// when the comparison was not tested (a side without runs, or every
	// value equal).
	P, PAdjusted float64
	// Tested says the comparison counts in the Holm family.
	Tested      bool
	Significant bool
	Verdict     Verdict
	// NeedRuns is, for an inconclusive verdict, the runs per side with
	// which this comparison could reach significance in this family; 0 when
	// runs are missing for another reason (no valid runs on a side).
	NeedRuns int
	// Own says the metric is perfkit's own cost (its CPU time or bytes
	// allocated per op): the system under test's only when that runs in
	// perfkit's process.
	Own bool
	// Finding is, for an Info verdict, the verdict the data gave
	// (regressed, improved, unchanged or inconclusive), decided in a Holm
	// family of its own (Comparison.InfoFamily) so informational metrics
	// neither dilute nor are diluted by the gating ones; InfoReason says
	// why the outcome does not gate ("external target").
	Finding    Verdict
	InfoReason string
	// Reason says in a few words why the verdict is what it is ("p=0.312
	// not significant", "interval +2.1%…+7.9% crosses ±5%"), so that a
	// reader need not work it out from the numbers.
	Reason string
	// InvalidRuns of Runs new runs were invalid: set on an Invalid outcome.
	InvalidRuns, Runs int
	Warnings          []string
}

// Options configure Compare.
type Options struct {
	// Alpha is the family-wise error rate across every comparison of one
	// call; 0 means DefaultAlpha.
	Alpha float64
	// Confidence is the level of each side's median interval; 0 means
	// DefaultConfidence.
	Confidence float64
}

// Comparison is the answer of one compare: the outcome per metric, and what
// the caller noticed while matching the two sides.
type Comparison struct {
	// Old and New name the two sides ("baseline default", a file path).
	Old, New string
	Alpha    float64
	// Family is m, the number of comparisons Holm's correction counted.
	Family int
	// InfoFamily is the number of comparisons of Info outcomes, corrected
	// among themselves apart from Family.
	InfoFamily int
	Outcomes   []Outcome
	// Added and Removed name scenarios found in only the new or the old side.
	Added, Removed []string
	// Warnings concern the inputs as a whole: environments that differ,
	// runs left out.
	Warnings []string
	// Geomeans are benchstat's summary rows (Go benchmark input): per
	// unit, the geometric mean of the medians over the benchmarks. Not
	// tested, never gating.
	Geomeans []Geomean
}

// Count returns how many outcomes have verdict v.
func (c *Comparison) Count(v Verdict) int {
	n := 0
	for _, o := range c.Outcomes {
		if o.Verdict == v {
			n++
		}
	}
	return n
}

// Summary is the one line a reader needs first: "2 regressions,
// 1 improvement, 14 unchanged", then inconclusive and added or removed
// scenarios when there are any.
func (c *Comparison) Summary() string {
	plural := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	parts := []string{
		plural(c.Count(Regressed), "regression", "regressions"),
		plural(c.Count(Improved), "improvement", "improvements"),
		fmt.Sprintf("%d unchanged", c.Count(Unchanged)),
	}
	if n := c.Count(Inconclusive); n > 0 {
		parts = append(parts, fmt.Sprintf("%d inconclusive", n))
	}
	if n := c.Count(Invalid); n > 0 {
		parts = append(parts, fmt.Sprintf("%d invalid", n))
	}
	if n := c.Count(Info); n > 0 {
		parts = append(parts, fmt.Sprintf("%d info (not gating)", n))
	}
	if n := len(c.Added); n > 0 {
		parts = append(parts, plural(n, "scenario added", "scenarios added"))
	}
	if n := len(c.Removed); n > 0 {
		parts = append(parts, plural(n, "scenario removed", "scenarios removed"))
	}
	return strings.Join(parts, ", ")
}

// Compare decides every input, correcting for all of them at once. Its
// error is about the inputs (a NaN, a bad alpha), never about the data
// being inconclusive: that is a verdict.
func Compare(inputs []Input, opts Options) (Comparison, error) {
	alpha := cmp.Or(opts.Alpha, DefaultAlpha)
	if !(alpha > 0 && alpha < 1) {
		return Comparison{}, fmt.Errorf("alpha %v: accepted: a number between 0 and 1 (0.05)", opts.Alpha)
	}
	conf := cmp.Or(opts.Confidence, DefaultConfidence)
	if !(conf > 0 && conf < 1) {
		return Comparison{}, fmt.Errorf("confidence %v: accepted: a number between 0 and 1 (0.95)", opts.Confidence)
	}
	seen := make(map[Key]bool, len(inputs))
	for _, in := range inputs {
		if err := in.validate(); err != nil {
			return Comparison{}, fmt.Errorf("%s: %w", in.Key, err)
		}
		if seen[in.Key] {
			return Comparison{}, fmt.Errorf("%s: compared twice", in.Key)
		}
		seen[in.Key] = true
	}

	c := Comparison{Alpha: alpha, Outcomes: make([]Outcome, len(inputs))}
	th := &benchmath.Thresholds{CompareAlpha: alpha}
	olds := make([][]float64, len(inputs))
	news := make([][]float64, len(inputs))
	var family []int
	for i, in := range inputs {
		o := &c.Outcomes[i]
		*o = Outcome{
			Key: in.Key, Unit: in.Unit, Better: in.Better, Threshold: in.Threshold,
			P: 1, PAdjusted: 1, Warnings: slices.Clone(in.Warnings),
		}
		for _, side := range []struct {
			name string
			xs   []float64
		}{{"old", in.Old}, {"new", in.New}} {
			if w := drift(side.name, side.xs); w != "" {
				o.Warnings = append(o.Warnings, w)
			}
		}
		olds[i], news[i] = sorted(in.Old), sorted(in.New)
		o.Old, o.New = summarize(olds[i], conf, th), summarize(news[i], conf, th)
		if len(olds[i]) == 0 || len(news[i]) == 0 || allEqual(olds[i], news[i]) {
			continue
		}
		res := benchmath.AssumeNothing.Compare(benchmath.NewSample(olds[i], th), benchmath.NewSample(news[i], th))
		for _, w := range res.Warnings {
			// benchmath's own "need >= N samples" assumes no correction;
			// NeedRuns replaces it. Anything else is worth knowing.
			if !strings.HasPrefix(w.Error(), "need ") {
				o.Warnings = append(o.Warnings, w.Error())
			}
		}
		o.P = math.Min(1, res.P)
		o.Tested = true
		family = append(family, i)
	}
	c.Family = len(family)

	// Holm: the k-th smallest of m p-values is tested at alpha/(m−k+1),
	// stopping at the first that fails; adjusted p-values make that a
	// per-comparison number (monotone, capped at 1).
	slices.SortStableFunc(family, func(a, b int) int { return cmp.Compare(c.Outcomes[a].P, c.Outcomes[b].P) })
	m := len(family)
	level := make([]float64, len(inputs)) // the Holm level of each comparison
	running := 0.0
	for rank, i := range family {
		o := &c.Outcomes[i]
		running = math.Max(running, math.Min(1, float64(m-rank)*o.P))
		o.PAdjusted = running
		o.Significant = running <= alpha
		level[i] = alpha / float64(m-rank)
	}

	// The first Holm level, which a comparison's smallest attainable p must
	// reach to ever be significant, counts every comparison with runs on
	// both sides: those that would be tested, whatever the number of runs
	// now (one run a side, or values all equal today, must not shrink the
	// family and the hint with it).
	would := 0
	for i := range inputs {
		if len(olds[i]) > 0 && len(news[i]) > 0 {
			would++
		}
	}
	first := alpha / float64(max(would, m, 1))
	cache := map[[2]int][]float64{}
	for i := range c.Outcomes {
		o := &c.Outcomes[i]
		gamma := level[i]
		if gamma == 0 {
			gamma = first
		}
		o.Delta = change(olds[i], news[i], o.Old.Median, o.Threshold.Kind, gamma, cache)
		switch {
		case len(olds[i]) == 0 || len(news[i]) == 0:
			o.Verdict = Inconclusive
			o.Reason = missingRuns(inputs[i])
		case o.Significant:
			o.Verdict = judge(o.Delta, o.Better, o.Threshold)
			o.Reason = intervalReason(o.Delta, o.Threshold, o.Verdict)
		case minP(len(olds[i]), len(news[i])) > first:
			o.Verdict = Inconclusive
			o.NeedRuns, o.Reason = runsHint(len(olds[i]), len(news[i]), first)
		default:
			o.Verdict = Unchanged
			if o.Tested {
				o.Reason = fmt.Sprintf("p=%.3f not significant", o.PAdjusted)
			} else {
				o.Reason = "all values equal"
			}
		}
	}
	return c, nil
}

// missingRuns names the side without samples and why: "no valid runs in
// new (10 invalid)" tells a broken build from a forgotten --count.
func missingRuns(in Input) string {
	var parts []string
	for _, s := range []struct {
		name    string
		n, left int
	}{{"old", len(in.Old), in.OldInvalid}, {"new", len(in.New), in.NewInvalid}} {
		switch {
		case s.n > 0:
		case s.left > 0:
			parts = append(parts, fmt.Sprintf("no valid runs in %s (%d invalid)", s.name, s.left))
		default:
			parts = append(parts, "no runs in "+s.name)
		}
	}
	return strings.Join(parts, "; ")
}

// runsHint is the smallest equal number of runs per side with which the
// U test can reach level, and the hint shown: when one side already has
// enough (a baseline measured once), how many the other needs beside it.
func runsHint(nOld, nNew int, level float64) (int, string) {
	n := RunsNeeded(level)
	text := fmt.Sprintf("needs ≥ %d runs per side", n)
	other := func(fixed int) int {
		for k := 1; k <= 1000; k++ {
			if minP(fixed, k) <= level {
				return k
			}
		}
		return 0
	}
	switch {
	case nOld >= n && nNew < n:
		if k := other(nOld); k > 0 && k < n {
			text += fmt.Sprintf(" (or ≥ %d new runs beside the %d old)", k, nOld)
		}
	case nNew >= n && nOld < n:
		if k := other(nNew); k > 0 && k < n {
			text += fmt.Sprintf(" (or ≥ %d old runs beside the %d new)", k, nNew)
		}
	}
	return n, text
}

// intervalReason explains the verdict of a significant change by its
// interval against the threshold: beyond it (regressed, improved), or
// crossing it or within it (unchanged).
func intervalReason(d Interval, t Threshold, v Verdict) string {
	iv := "interval " + signed(d.Lo, d.Kind) + "…" + signed(d.Hi, d.Kind)
	limit := t.Frac()
	bound := strings.TrimPrefix(t.String(), "+")
	switch {
	case (v == Regressed || v == Improved) && d.Lo > limit:
		return iv + " beyond +" + bound
	case v == Regressed || v == Improved:
		return iv + " beyond -" + bound
	case d.Lo >= -limit && d.Hi <= limit:
		return iv + " within ±" + bound
	}
	return iv + " crosses ±" + bound
}

// signed is a change as reasons show it: "+4.2%", "-0.30pp", "+∞%".
func signed(v float64, kind ThresholdKind) string {
	unit := "%"
	prec := 1
	if kind == Absolute {
		unit, prec = "pp", 2
	}
	switch {
	case math.IsInf(v, 1):
		return "+∞" + unit
	case math.IsInf(v, -1):
		return "-∞" + unit
	}
	return fmt.Sprintf("%+.*f%s", prec, 100*v, unit)
}

// InvalidRuns is the outcome of a scenario whose new side has invalid
// runs: invalid of runs new runs could not be trusted, for reasons. Its
// metric is RunsMetric; it is not a test and counts in no Holm family.
func InvalidRuns(scenario string, invalid, runs int, reasons []string) Outcome {
	r := fmt.Sprintf("%d of %d new runs invalid", invalid, runs)
	if len(reasons) > 0 {
		r += ": " + strings.Join(reasons, "; ")
	}
	return Outcome{
		Key: Key{Scenario: scenario, Metric: RunsMetric}, Unit: "runs",
		Better: HigherIsBetter, P: 1, PAdjusted: 1, Verdict: Invalid, Reason: r,
		InvalidRuns: invalid, Runs: runs,
	}
}

// RunsMetric names the row of an Invalid outcome: the scenario's runs.
const RunsMetric = "runs"

func (in Input) validate() error {
	if in.Better != LowerIsBetter && in.Better != HigherIsBetter {
		return fmt.Errorf("direction %d: accepted: LowerIsBetter or HigherIsBetter", in.Better)
	}
	if v := in.Threshold.Value; !(v >= 0) || math.IsInf(v, 0) {
		return fmt.Errorf("threshold %v: must be a finite size, not negative", v)
	}
	for _, side := range []struct {
		name string
		xs   []float64
	}{{"old", in.Old}, {"new", in.New}} {
		for j, x := range side.xs {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("%s run %d: %w (%v)", side.name, j+1, ErrNotFinite, x)
			}
		}
	}
	return nil
}

// ErrNotFinite reports a NaN or infinite measurement: no test can rank it.
var ErrNotFinite = errors.New("value is not a finite number")

func sorted(xs []float64) []float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s
}

func allEqual(a, b []float64) bool {
	v := a[0]
	return a[len(a)-1] == v && b[0] == v && b[len(b)-1] == v
}

func summarize(xs []float64, conf float64, th *benchmath.Thresholds) Summary {
	if len(xs) == 0 {
		return Summary{Confidence: conf}
	}
	s := benchmath.AssumeNothing.Summary(benchmath.NewSample(slices.Clone(xs), th), conf)
	return Summary{N: len(xs), Median: s.Center, Lo: s.Lo, Hi: s.Hi, Confidence: s.Confidence}
}

// change estimates new against old: the ratio of medians (or their
// difference, for an absolute threshold) and Moses' interval at level
// 1−gamma. Relative intervals come from the logs when every value is
// positive (a scale shift, the natural model for times and rates), else
// from the differences scaled by the old median.
func change(old, new []float64, oldMedian float64, kind ThresholdKind, gamma float64, cache map[[2]int][]float64) Interval {
	iv := Interval{Kind: kind, Confidence: 1 - gamma}
	if len(old) == 0 || len(new) == 0 {
		iv.Lo, iv.Hi = math.Inf(-1), math.Inf(1)
		return iv
	}
	newMedian := Median(new)
	if kind == Absolute {
		iv.Estimate = newMedian - oldMedian
		iv.Lo, iv.Hi = shiftInterval(old, new, gamma, cache)
		return iv
	}
	iv.Estimate = relative(newMedian-oldMedian, oldMedian)
	if old[0] > 0 && new[0] > 0 { // sorted: all positive
		lo, hi := shiftInterval(logs(old), logs(new), gamma, cache)
		iv.Lo, iv.Hi = math.Expm1(lo), math.Expm1(hi)
		if math.IsInf(lo, -1) {
			iv.Lo = lo // unbounded, rather than the trivial −100%
		}
		return iv
	}
	lo, hi := shiftInterval(old, new, gamma, cache)
	iv.Lo, iv.Hi = relative(lo, oldMedian), relative(hi, oldMedian)
	return iv
}

// relative is d as a fraction of base; a change from zero is infinite.
func relative(d, base float64) float64 {
	if base == 0 {
		switch {
		case d > 0:
			return math.Inf(1)
		case d < 0:
			return math.Inf(-1)
		}
		return 0
	}
	return d / math.Abs(base)
}

func logs(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Log(x)
	}
	return out
}

// driftP is the trend p-value below which a side's runs are said to drift.
const driftP = 0.01

// drift warns when values in run order rise or fall steadily (Mann-Kendall
// trend test): the U test takes runs as exchangeable, and a machine whose
// load changed during the runs breaks that — a difference between the
// sides may then be the machine's, not the code's.
func drift(side string, xs []float64) string {
	n := len(xs)
	if n < 6 {
		return ""
	}
	s := 0
	for i := range n {
		for j := i + 1; j < n; j++ {
			switch {
			case xs[j] > xs[i]:
				s++
			case xs[j] < xs[i]:
				s--
			}
		}
	}
	if s == 0 {
		return ""
	}
	sd := math.Sqrt(float64(n*(n-1)*(2*n+5)) / 18)
	z := (math.Abs(float64(s)) - 1) / sd // continuity-corrected
	p := math.Erfc(z / math.Sqrt2)
	if p >= driftP {
		return ""
	}
	way := "rise"
	if s < 0 {
		way = "fall"
	}
	return fmt.Sprintf("%s values %s steadily over the runs (trend p=%.3f): did the machine's load change while they ran?", side, way, p)
}

// judge turns a significant change into a verdict: regressed or improved
// only when the whole interval lies beyond the threshold on that side.
func judge(d Interval, better Direction, t Threshold) Verdict {
	limit := t.Frac()
	worseUp := better == LowerIsBetter // a rise is a regression
	switch {
	case d.Lo > limit:
		if worseUp {
			return Regressed
		}
		return Improved
	case d.Hi < -limit:
		if worseUp {
			return Improved
		}
		return Regressed
	}
	return Unchanged
}
