package monitor

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/alert"
)

// The run's verdict: every failed threshold and critical alert counts, the
// first is named, and the gate error is typed (the command line exits 1).
func TestGate(t *testing.T) {
	res := &bench.Result{Scenarios: []bench.ScenarioResult{
		{Name: "a", Thresholds: []bench.ThresholdResult{{Expr: "p99 < 1ms", Passed: true}}},
		{Name: "b", Thresholds: []bench.ThresholdResult{{Expr: "error_rate < 1%", Note: "no ops"}},
			Alerts: []bench.AlertEvent{{Rule: "hot", Expr: "p99 > 5ms", Severity: string(alert.Critical), State: bench.AlertFiring}}},
	}}
	err := Gate(res)
	var ge *bench.GateError
	if !errors.As(err, &ge) || err.Error() != `scenario b: threshold "error_rate < 1%" failed: no ops (and 1 more)` {
		t.Errorf("gate: %v (%T)", err, err)
	}
	if err := Gate(&bench.Result{Scenarios: res.Scenarios[:1]}); err != nil {
		t.Errorf("all passed: %v", err)
	}
}

// Nothing to watch: no monitor, and its methods are no-ops.
func TestStartInactive(t *testing.T) {
	ctx := context.Background()
	for _, mo := range []*Options{nil, {Rules: map[string][]alert.Rule{}}} {
		m, got, err := Start(ctx, mo, io.Discard, false)
		if m != nil || got != ctx || err != nil {
			t.Fatalf("Start(%+v) = %v, %v, %v", mo, m, got, err)
		}
		sr := &bench.ScenarioResult{Name: "a"}
		m.Finish(sr)
		if m.Observers(bench.Scenario{Name: "a"}) != nil || m.AbortReason() != "" || sr.Alerts != nil {
			t.Errorf("a nil monitor did something")
		}
		m.Close()
	}
}
