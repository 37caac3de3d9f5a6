package stats

import (
	"math"
	"slices"
)

// Geomean is benchstat's summary row of one unit: the geometric mean over
// benchmarks of each side's median, and the change between them. It is a
// summary, not a test: it has no p-value and no verdict, and never gates.
type Geomean struct {
	Metric, Unit string
	// N is how many benchmarks it spans: those with a median above zero on
	// both sides (a geometric mean of zero says nothing).
	N        int
	Old, New float64
	// Delta is New/Old − 1 (0.05 is +5%).
	Delta float64
}

// Geomeans returns a Geomean per metric of outs, in the order the metrics
// first appear, over the outcomes whose both sides have runs (invalid
// scenarios left out); a metric with fewer than two such outcomes has none
// (the geomean of one benchmark is that benchmark's row).
func Geomeans(outs []Outcome) []Geomean {
	type acc struct {
		g              Geomean
		logOld, logNew float64
	}
	var order []string
	byMetric := map[string]*acc{}
	for _, o := range outs {
		if o.Verdict == Invalid || o.Old.N == 0 || o.New.N == 0 || !(o.Old.Median > 0) || !(o.New.Median > 0) ||
			math.IsInf(o.Old.Median, 0) || math.IsInf(o.New.Median, 0) {
			continue
		}
		a := byMetric[o.Metric]
		if a == nil {
			a = &acc{g: Geomean{Metric: o.Metric, Unit: o.Unit}}
			byMetric[o.Metric] = a
			order = append(order, o.Metric)
		}
		a.g.N++
		a.logOld += math.Log(o.Old.Median)
		a.logNew += math.Log(o.New.Median)
	}
	out := make([]Geomean, 0, len(order))
	for _, m := range order {
		a := byMetric[m]
		if a.g.N < 2 {
			continue
		}
		n := float64(a.g.N)
		a.g.Old, a.g.New = math.Exp(a.logOld/n), math.Exp(a.logNew/n)
		a.g.Delta = math.Exp((a.logNew-a.logOld)/n) - 1
		out = append(out, a.g)
	}
	return slices.Clip(out)
}
