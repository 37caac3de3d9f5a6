package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// KneeThreshold is the noise band of the knee: throughput "still rises" when
// it is more than 5% above a step's, and p99 "rises" when it grows by more
// than 5% from one step to the next. Smaller changes are within the
// run-to-run noise of a short benchmark.
const KneeThreshold = 0.05

// KneeResult is where a sweep stops paying off: the knee Step and the Next
// step after it, with the relative changes between them (0.021 is +2.1%).
type KneeResult struct {
	// Base and Param name the sweep: the scenario swept and what it varied.
	Base, Param string
	// Step is the knee; Next is the step after it.
	Step, Next bench.SweepStep
	// ThroughputChange and P99Change are from Step to Next, relative to Step.
	ThroughputChange, P99Change float64
}

// stepFigures are the two figures the knee looks at, as the table shows them:
// the median throughput across a step's runs and the median of their p99s.
type stepFigures struct {
	step       bench.SweepStep
	throughput float64
	p99        int64
}

// Knee finds the knee of one sweep: the first step k such that
//
//   - throughput stops rising: no later step's throughput is more than
//     KneeThreshold (5%) above step k's, and
//   - p99 keeps rising: step k+1's p99 is more than KneeThreshold above
//     step k's.
//
// Beyond the knee, more load (or whatever the sweep varies) buys no
// throughput, only latency. Looking at every later step, not just the next,
// keeps a noisy dip before saturation from passing for the knee.
//
// steps are the entries of one sweep (Sweep set, one Base and Param), taken
// in Sweep.Index order; entries without a Sweep, and steps that measured no
// op, are left out. Throughput is the median across a step's runs and p99
// the median of its runs' p99 of all ops, the figures of the table's OPS/S
// and P99 columns.
//
// Knee returns false when no step qualifies. The result then describes the
// last two measured steps, so a caller can tell "throughput still rising"
// (ThroughputChange above KneeThreshold) from "throughput level, p99 not
// rising"; with fewer than two measured steps, only Base and Param are set.
func Knee(steps []bench.ScenarioResult) (KneeResult, bool) {
	var figs []stepFigures
	for i := range steps {
		s := &steps[i]
		if s.Sweep == nil {
			continue
		}
		if f, ok := figuresOf(s); ok {
			figs = append(figs, f)
		}
	}
	slices.SortStableFunc(figs, func(a, b stepFigures) int { return cmp.Compare(a.step.Index, b.step.Index) })
	var res KneeResult
	for i := range steps {
		if steps[i].Sweep != nil {
			res.Base, res.Param = steps[i].Sweep.Base, steps[i].Sweep.Param
			break
		}
	}
	if len(figs) < 2 {
		return res, false
	}
	pair := func(k int) KneeResult {
		r := res
		a, b := figs[k], figs[k+1]
		r.Step, r.Next = a.step, b.step
		r.ThroughputChange = b.throughput/a.throughput - 1
		r.P99Change = float64(b.p99)/float64(a.p99) - 1
		return r
	}
	// laterMax[k] is the highest throughput of the steps after k.
	laterMax := make([]float64, len(figs))
	laterMax[len(figs)-1] = math.Inf(-1)
	for k := len(figs) - 2; k >= 0; k-- {
		laterMax[k] = max(laterMax[k+1], figs[k+1].throughput)
	}
	for k := 0; k < len(figs)-1; k++ {
		level := laterMax[k] <= figs[k].throughput*(1+KneeThreshold)
		p99Rises := float64(figs[k+1].p99) > float64(figs[k].p99)*(1+KneeThreshold)
		if level && p99Rises {
			return pair(k), true
		}
	}
	return pair(len(figs) - 2), false
}

// figuresOf returns a step's throughput and p99, or false when it measured
// nothing to compare.
func figuresOf(s *bench.ScenarioResult) (stepFigures, bool) {
	var tputs []float64
	var p99s []int64
	for _, run := range s.Runs {
		tputs = append(tputs, run.Throughput)
		if l, ok := run.Latency[bench.OverallKey]; ok && l.Count > 0 {
			p99s = append(p99s, l.P99Ns)
		}
	}
	f := stepFigures{step: *s.Sweep, throughput: stats.Median(tputs), p99: stats.MedianInt(p99s)}
	if len(p99s) == 0 || f.throughput <= 0 || f.p99 <= 0 {
		return stepFigures{}, false
	}
	return f, true
}

// sweepGroups splits a result's sweep steps by sweep (Base and Param), in
// the order each sweep first appears.
func sweepGroups(scenarios []bench.ScenarioResult) [][]bench.ScenarioResult {
	type key struct{ base, param string }
	var order []key
	groups := map[key][]bench.ScenarioResult{}
	for _, s := range scenarios {
		if s.Sweep == nil {
			continue
		}
		k := key{s.Sweep.Base, s.Sweep.Param}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	out := make([][]bench.ScenarioResult, 0, len(order))
	for _, k := range order {
		out = append(out, groups[k])
	}
	return out
}

// kneeLine is the note that sums up one sweep:
//
//	fetch sweep over concurrency: knee at concurrency=32 (throughput +2.1% to 64 while p99 +85%)
func kneeLine(steps []bench.ScenarioResult) string {
	k, ok := Knee(steps)
	head := k.Base + " sweep over " + k.Param + ": "
	switch {
	case ok:
		return fmt.Sprintf("%sknee at %s=%s (throughput %s to %s while p99 %s)",
			head, k.Param, k.Step.Value, signedPercent(k.ThroughputChange), k.Next.Value, signedPercent(k.P99Change))
	case k.Next.Param == "":
		return head + "no knee: fewer than 2 steps measured"
	case k.ThroughputChange > KneeThreshold:
		return fmt.Sprintf("%sno knee: throughput still rising at the last step (%s from %s to %s)",
			head, signedPercent(k.ThroughputChange), k.Step.Value, k.Next.Value)
	}
	return fmt.Sprintf("%sno knee: throughput levels off but p99 does not rise more than %g%% with it (last step: throughput %s, p99 %s from %s to %s)",
		head, KneeThreshold*100, signedPercent(k.ThroughputChange), signedPercent(k.P99Change), k.Step.Value, k.Next.Value)
}

// signedPercent formats a relative change: +2.1%, -0.4%, +85%, +1200%.
func signedPercent(x float64) string {
	v := x * 100
	if math.Abs(v) < 9.95 {
		return fmt.Sprintf("%+.1f%%", v)
	}
	return fmt.Sprintf("%+.0f%%", v)
}
