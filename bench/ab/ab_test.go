package ab

import (
	"context"
	"slices"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

func TestOrderIsBalancedAndReproducible(t *testing.T) {
	o := Order(50, 7)
	if !slices.Equal(o, Order(50, 7)) {
		t.Fatal("same seed, different order")
	}
	if slices.Equal(o, Order(50, 8)) {
		t.Error("different seeds, same order")
	}
	firsts := 0
	for i := 0; i < len(o); i += 2 {
		if o[i] == o[i+1] {
			t.Fatalf("pair %d is %s%s", i/2, o[i], o[i+1])
		}
		if o[i] == A {
			firsts++
		}
	}
	if firsts == 0 || firsts == 50 {
		t.Errorf("A went first in %d of 50 pairs: the order is not randomised", firsts)
	}
}

func TestRunCollectsEachSide(t *testing.T) {
	var ran []string
	run := func(_ context.Context, sc bench.Scenario) (bench.ScenarioResult, error) {
		if sc.Settings.Count != 1 {
			t.Errorf("%s run with count %d, want 1", sc.Name, sc.Settings.Count)
		}
		ran = append(ran, sc.Name)
		return bench.ScenarioResult{Name: sc.Name, Settings: sc.Settings, Runs: []bench.RunResult{{Ops: int64(len(ran))}}}, nil
	}
	sc := func(name string) bench.Scenario {
		return bench.Scenario{Name: name, Settings: bench.DefaultSettings(), New: func() (bench.Workload, error) { return nil, nil }}
	}
	var seen []Side
	ra, rb, err := Run(context.Background(), sc("old"), sc("new"), Options{Count: 3, Seed: 1, Run: run,
		OnRun: func(i int, s Side, _ bench.RunResult) { seen = append(seen, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, Order(3, 1)) || len(ran) != 6 {
		t.Fatalf("ran %v (%v), want the order %v", seen, ran, Order(3, 1))
	}
	for _, r := range []bench.ScenarioResult{ra, rb} {
		if len(r.Runs) != 3 || r.Settings.Count != 3 {
			t.Fatalf("%s: %d runs, count %d", r.Name, len(r.Runs), r.Settings.Count)
		}
		for i, run := range r.Runs {
			if run.Index != i {
				t.Errorf("%s run %d has index %d", r.Name, i, run.Index)
			}
		}
	}
	if ra.Name != "old" || rb.Name != "new" {
		t.Errorf("names %s, %s", ra.Name, rb.Name)
	}
}
