package stats

import (
	"math"
	"testing"
)

func TestGeomeans(t *testing.T) {
	o := func(scenario, metric string, old, new float64) Outcome {
		return Outcome{Key: Key{Scenario: scenario, Metric: metric}, Unit: metric,
			Old: Summary{N: 10, Median: old}, New: Summary{N: 10, Median: new}, Verdict: Unchanged}
	}
	outs := []Outcome{
		o("A", "sec/op", 1e-6, 2e-6), // ×2
		o("B", "sec/op", 4e-6, 2e-6), // ×0.5
		o("C", "sec/op", 9e-9, 9e-9), // ×1
		o("A", "B/op", 100, 110),     // one benchmark with B/op > 0 …
		o("B", "B/op", 0, 0),         // … zero says nothing
		o("A", "allocs/op", 2, 3),
		o("B", "allocs/op", 2, 3),
		InvalidRuns("D", 3, 10, nil), // left out
	}
	got := Geomeans(outs)
	if len(got) != 2 {
		t.Fatalf("got %+v, want sec/op and allocs/op (B/op spans one benchmark)", got)
	}
	g := got[0]
	wantOld := math.Cbrt(1e-6 * 4e-6 * 9e-9)
	if g.Metric != "sec/op" || g.N != 3 || math.Abs(g.Old/wantOld-1) > 1e-12 || math.Abs(g.Delta) > 1e-12 {
		t.Errorf("sec/op: %+v, want N 3, old %g, delta 0 (×2 ×0.5 ×1)", g, wantOld)
	}
	if a := got[1]; a.Metric != "allocs/op" || math.Abs(a.Delta-0.5) > 1e-12 || a.N != 2 {
		t.Errorf("allocs/op: %+v, want +50%% over 2", a)
	}
	if Geomeans(nil) == nil || len(Geomeans(outs[:1])) != 0 {
		t.Error("one benchmark: want no geomean (and a non-nil empty slice)")
	}
}
