package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// script is a Plan.Run that measures nothing: each scenario's result comes
// from results by name (ops 100, valid, when absent), its error from errs.
type script struct {
	results map[string]bench.ScenarioResult
	errs    map[string]error
	ran     []string
	after   func(name string) // called once the scenario "ran"
}

func (s *script) run(_ context.Context, sc bench.Scenario, _ ...bench.Observer) (bench.ScenarioResult, error) {
	s.ran = append(s.ran, sc.Name)
	if s.after != nil {
		defer s.after(sc.Name)
	}
	if err := s.errs[sc.Name]; err != nil {
		return bench.ScenarioResult{}, err
	}
	if sr, ok := s.results[sc.Name]; ok {
		return sr, nil
	}
	return bench.ScenarioResult{Name: sc.Name, Workload: sc.Workload, Settings: sc.Settings,
		Runs: []bench.RunResult{{Ops: 100, Valid: true, InvalidReasons: []string{}}}}, nil
}

var clock = time.Date(2026, 12, 5, 10, 0, 0, 0, time.FixedZone("CET", 3600))

func plan(t *testing.T, s *script, names ...string) Plan {
	t.Helper()
	p := Plan{Dir: filepath.Join(t.TempDir(), "results"), Now: func() time.Time { return clock }, Run: s.run, Version: "v-test"}
	for _, n := range names {
		p.Scenarios = append(p.Scenarios, bench.Scenario{Name: n, Workload: "w", Settings: bench.DefaultSettings()})
	}
	return p
}

func mustRun(t *testing.T, p Plan) *Outcome {
	t.Helper()
	s, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A plan becomes one saved result: ID, time, environment, each scenario in
// order, a sweep step's place recorded on its result (a copy: the plan's
// step is not shared with the file).
func TestRunAssemblesAndSavesTheResult(t *testing.T) {
	s := &script{}
	p := plan(t, s, "a", "a[c=2]")
	step := &bench.SweepStep{Param: "c", Value: "2", Base: "a", Index: 1}
	p.Scenarios[1].Sweep = step
	out := mustRun(t, p)
	res := out.Result
	if out.Failed != nil || out.SaveErr != nil || res.Partial {
		t.Fatalf("failed %v, save %v, partial %v", out.Failed, out.SaveErr, res.Partial)
	}
	if len(res.ID) != 16 || res.SchemaVersion != bench.SchemaVersion || !res.CreatedAt.Equal(clock) || res.CreatedAt.Location() != time.UTC || res.Env.PerfkitVersion != "v-test" {
		t.Errorf("result header: id %q schema %d at %v env version %q", res.ID, res.SchemaVersion, res.CreatedAt, res.Env.PerfkitVersion)
	}
	if len(res.Scenarios) != 2 || res.Scenarios[0].Sweep != nil || res.Scenarios[1].Sweep == nil || *res.Scenarios[1].Sweep != *step || res.Scenarios[1].Sweep == step {
		t.Fatalf("scenarios %+v", res.Scenarios)
	}
	want := filepath.Join(p.Dir, "20261205T090000Z-"+res.ID[:8]+".json")
	if out.Path != want {
		t.Errorf("saved to %q, want %q", out.Path, want)
	}
	back, err := bench.ReadResult(out.Path)
	if err != nil || back.ID != res.ID || back.Scenarios[1].Sweep.Value != "2" {
		t.Errorf("read back: %v, %+v", err, back)
	}
}

// A scenario whose setup failed is left out, the others run and are saved,
// and Failed says so; a second setup failure is logged, the first kept.
func TestRunSetupFailureRunsTheRest(t *testing.T) {
	s := &script{errs: map[string]error{
		"a": &bench.SetupError{Scenario: "a", Err: errors.New("refused")},
		"b": &bench.SetupError{Scenario: "b", Err: errors.New("gone")},
	}}
	var log strings.Builder
	p := plan(t, s, "a", "b", "c")
	p.Log = &log
	out := mustRun(t, p)
	var se *bench.SetupError
	if !errors.As(out.Failed, &se) || se.Scenario != "a" {
		t.Errorf("failed: %v", out.Failed)
	}
	if len(out.Result.Scenarios) != 1 || out.Result.Scenarios[0].Name != "c" || out.Path == "" {
		t.Errorf("result %+v saved at %q", out.Result.Scenarios, out.Path)
	}
	if log.String() != "perfkit: scenario b: setup: gone\n" {
		t.Errorf("log %q", log.String())
	}
}

// A scenario every op of which failed is saved and shown, and is a failure
// to measure (a *bench.MeasureError) naming the error kinds.
func TestRunEveryOpFailedIsMeasureError(t *testing.T) {
	s := &script{results: map[string]bench.ScenarioResult{"a": {Name: "a", Runs: []bench.RunResult{
		{Ops: 10, Errors: 10, ErrorsByKind: map[string]int64{"timeout": 3, "conn_refused": 7}, Valid: false, InvalidReasons: []string{"error rate"}},
	}}}}
	out := mustRun(t, plan(t, s, "a", "b"))
	var me *bench.MeasureError
	if !errors.As(out.Failed, &me) || out.Failed.Error() != "scenario a: every op failed (conn_refused 7, timeout 3)" {
		t.Errorf("failed: %v", out.Failed)
	}
	if len(out.Result.Scenarios) != 2 {
		t.Errorf("%d scenarios saved, want both", len(out.Result.Scenarios))
	}
}

// A stop ends the plan after the scenario running: what was measured is
// saved, marked partial, and the rest never runs.
func TestRunStopSavesPartial(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &script{after: func(string) { cancel() }}
	sess, err := New(plan(t, s, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Result.Partial || len(out.Result.Scenarios) != 1 || strings.Join(s.ran, ",") != "a" || out.Path == "" {
		t.Errorf("partial %v, scenarios %d, ran %v, path %q", out.Result.Partial, len(out.Result.Scenarios), s.ran, out.Path)
	}
}

// A rule on a label the workload does not record ends the session with no
// result: it is a configuration error.
func TestRunCheckErrorReturnsNoResult(t *testing.T) {
	s := &script{errs: map[string]error{"a": &bench.CheckError{Scenario: "a", Err: errors.New("no label x")}}}
	sess, err := New(plan(t, s, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Run(context.Background())
	var ce *bench.CheckError
	if out != nil || !errors.As(err, &ce) || strings.Join(s.ran, ",") != "a" {
		t.Errorf("outcome %v, err %v, ran %v", out, err, s.ran)
	}
}

// A failed save keeps the result: it goes to a fallback file, and the
// error (a *bench.MeasureError) names both paths.
func TestSaveFallsBack(t *testing.T) {
	res := NewResult(NewID(), clock, bench.Env{})
	bad := filepath.Join(t.TempDir(), "r.json")
	var fallback string
	write := func(r *bench.Result, path string) error {
		if path == bad {
			return &os.PathError{Op: "write", Path: path, Err: errors.New("no space left on device")}
		}
		fallback = path
		return r.WriteFile(path)
	}
	err := Save(write, res, bad)
	defer os.Remove(fallback)
	var me *bench.MeasureError
	if !errors.As(err, &me) || err.Error() != "writing result "+bad+": no space left on device; the result is saved to "+fallback+" instead" {
		t.Fatalf("save: %v", err)
	}
	if back, err := bench.ReadResult(fallback); err != nil || back.ID != res.ID {
		t.Errorf("fallback: %v", err)
	}
}

// The output is checked before anything runs.
func TestNewChecksTheOutput(t *testing.T) {
	s := &script{}
	p := plan(t, s, "a")
	p.Out = filepath.Join(t.TempDir(), "missing", "r.json")
	if _, err := New(p); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("New: %v", err)
	}
	if len(s.ran) != 0 {
		t.Errorf("ran %v", s.ran)
	}
}
