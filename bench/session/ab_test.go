package session

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/ab"
)

// Each side becomes a result of its own, its scenario named as the plan
// says (so compare pairs them), written where the plan says.
func TestABResultPerSide(t *testing.T) {
	dir := t.TempDir()
	paths, err := ABOut(filepath.Join(dir, "conc.json"), false, dir, clock)
	if err != nil || paths != [2]string{filepath.Join(dir, "conc-a.json"), filepath.Join(dir, "conc-b.json")} {
		t.Fatalf("ABOut: %v, %v", paths, err)
	}
	s := &script{}
	side := func(name string) bench.Scenario {
		return bench.Scenario{Name: name, Workload: "w", Settings: bench.DefaultSettings(), New: newNothing}
	}
	res, err := AB(context.Background(), ABPlan{A: side("a"), B: side("b"), Name: "fetch", Paths: paths, Now: clock,
		Options: ab.Options{Count: 2, Seed: 1, Run: func(ctx context.Context, sc bench.Scenario) (bench.ScenarioResult, error) {
			return s.run(ctx, sc)
		}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		back, err := bench.ReadResult(paths[i])
		if err != nil || back.ID != r.ID || len(r.Scenarios) != 1 || r.Scenarios[0].Name != "fetch" || len(r.Scenarios[0].Runs) != 2 {
			t.Errorf("side %d: %v, %+v", i, err, r)
		}
	}
	if res[0].ID == res[1].ID {
		t.Errorf("both sides have ID %s", res[0].ID)
	}
	if none, err := ABOut("", true, dir, clock); err != nil || none != [2]string{} {
		t.Errorf("no-save: %v, %v", none, err)
	}
}

// A side that fails is typed: setup (exit 3 as setup) apart from any other
// failure to run (a *bench.MeasureError).
func TestABErrorsTyped(t *testing.T) {
	for _, tc := range []struct {
		err     error
		measure bool
	}{
		{&bench.SetupError{Scenario: "b", Err: errors.New("refused")}, false},
		{errors.New("engine broke"), true},
	} {
		s := &script{errs: map[string]error{"b": tc.err}}
		_, err := AB(context.Background(), ABPlan{A: bench.Scenario{Name: "a", New: newNothing}, B: bench.Scenario{Name: "b", New: newNothing}, Name: "x", Now: clock,
			Options: ab.Options{Count: 1, Run: func(ctx context.Context, sc bench.Scenario) (bench.ScenarioResult, error) {
				return s.run(ctx, sc)
			}}})
		var me *bench.MeasureError
		if err == nil || errors.As(err, &me) != tc.measure {
			t.Errorf("%v: got %v (%T)", tc.err, err, err)
		}
	}
}

// newNothing builds no workload: the runs are scripted.
func newNothing() (bench.Workload, error) { return nil, nil }
