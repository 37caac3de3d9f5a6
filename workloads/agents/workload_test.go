package agents

import (
	"context"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// build resolves raw params as the command line would and builds the workload.
func build(tb testing.TB, raw map[string]any) *workload {
	tb.Helper()
	def := Definition()
	w, err := def.Build(raw)
	if err != nil {
		tb.Fatalf("Build(%v): %v", raw, err)
	}
	return w.(*workload)
}

// buildErr returns the error that resolving or building raw params gives.
func buildErr(raw map[string]any) error {
	def := Definition()
	_, err := def.Build(raw)
	return err
}

// setup sets wl up as the engine would, and tears it down after the test.
func setup(tb testing.TB, wl *workload, conc int) *bench.Setup {
	tb.Helper()
	s := &bench.Setup{Concurrency: conc, Model: bench.ModelClosed, Timeout: 10 * time.Second}
	if err := wl.Setup(context.Background(), s); err != nil {
		tb.Fatalf("Setup: %v", err)
	}
	tb.Cleanup(func() {
		if err := wl.Teardown(context.Background()); err != nil {
			tb.Errorf("Teardown: %v", err)
		}
	})
	return s
}

// needSh skips tests that run processes where there is no POSIX shell.
func needSh(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		tb.Skip("no sh on PATH:", err)
	}
}

// counts reads a test worker's outcome counters.
func counts(wl *workload, w *bench.Worker) map[string]int64 {
	out := map[string]int64{}
	for o, c := range wl.counters {
		if n := w.TestCounter(c); n != 0 {
			out[Outcome(o).String()] = n
		}
	}
	return out
}

func TestDefinition(t *testing.T) {
	def := Definition()
	if def.Name != "agents" || def.Help == "" || strings.Contains(def.Help, "\n") || def.New == nil {
		t.Errorf("Definition() = %q, %q: want name agents, a one-line help and New", def.Name, def.Help)
	}
	want := []string{"workers", "batch", "kind", "work", "latency", "fail-rate", "panic-rate", "cmd", "agent-timeout"}
	if got := def.ParamNames(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("params %q, want %q", got, want)
	}
	for _, p := range def.Params {
		if p.Help == "" {
			t.Errorf("param %s has no help", p.Name)
		}
	}
	v, err := def.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := v.Record()
	for k, want := range map[string]any{
		"workers": int64(DefaultWorkers()), "batch": int64(DefaultBatch), "kind": "mixed", "work": int64(DefaultWork),
		"latency": DefaultLatency, "fail-rate": 0.0, "panic-rate": 0.0, "cmd": "", "agent-timeout": "0s",
	} {
		if rec[k] != want {
			t.Errorf("default %s = %#v, want %#v", k, rec[k], want)
		}
	}
	wl := build(t, map[string]any{"fail-rate": "5%", "panic-rate": "1%", "workers": 3, "agent-timeout": "250ms"})
	if wl.cfg.failRate != 0.05 || wl.cfg.panicRate != 0.01 || wl.exec.Workers() != 3 || wl.exec.AgentTimeout() != 250*time.Millisecond {
		t.Errorf("config %+v, executor %d workers %s timeout", wl.cfg, wl.exec.Workers(), wl.exec.AgentTimeout())
	}
}

// Each bad value gives one line naming it and what is accepted.
func TestBadParams(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		want []string
	}{
		{map[string]any{"kind": "gpu"}, []string{`kind "gpu"`, "accepted: cpu, io, mixed, exec"}},
		{map[string]any{"workers": 0}, []string{"workers 0", "want 1..65536"}},
		{map[string]any{"workers": -3}, []string{"workers -3"}},
		{map[string]any{"batch": 0}, []string{"batch 0", "want 1..1048576"}},
		{map[string]any{"work": -1}, []string{"work -1", "want 0.."}},
		{map[string]any{"fail-rate": "150%"}, []string{"fail-rate 1.5", "want 0..1 (or 0%..100%)"}},
		{map[string]any{"fail-rate": -0.1}, []string{"fail-rate -0.1"}},
		{map[string]any{"panic-rate": 2}, []string{"panic-rate 2", "want 0..1"}},
		{map[string]any{"fail-rate": 0.7, "panic-rate": 0.5}, []string{"fail-rate 0.7 and panic-rate 0.5", "at most 1"}},
		{map[string]any{"latency": "lognormal:p50="}, []string{`bad distribution "lognormal:p50="`, "accepted: 5ms"}},
		{map[string]any{"latency": "lognormal:p50=10ms,p99=1ms"}, []string{"bad distribution", "p50 ≤ p99"}},
		{map[string]any{"latency": "uniform:5ms"}, []string{`bad distribution "uniform:5ms"`}},
		{map[string]any{"kind": "exec"}, []string{"param cmd: kind exec needs a command"}},
		{map[string]any{"kind": "exec", "cmd": "no-such-program-perfkit --flag"}, []string{`program "no-such-program-perfkit"`, "not found"}},
		{map[string]any{"cmd": "no-such-program-perfkit"}, []string{`program "no-such-program-perfkit"`}},
		{map[string]any{"kind": "exec", "cmd": "sh -c 'exit 1"}, []string{"unterminated ' quote"}},
		{map[string]any{"agent-timeout": "-1s"}, []string{"agent-timeout -1s", "want 0 (none) or a positive duration"}},
		{map[string]any{"agent-timeout": "soon"}, []string{`"soon" is not a duration`}},
		{map[string]any{"workers": "many"}, []string{`"many" is not an integer`}},
	} {
		err := buildErr(tc.raw)
		if err == nil {
			t.Errorf("%v: no error", tc.raw)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%v: error %q is not one line", tc.raw, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: error %q does not contain %q", tc.raw, msg, w)
			}
		}
	}
}

// New validates even values that bypass the params' checks (Check only runs
// on given values, so cross-param rules and New's own checks matter).
func TestNewValidatesDefaults(t *testing.T) {
	def := Definition()
	for i := range def.Params {
		if def.Params[i].Name == "kind" {
			def.Params[i].Default = "exec"
		}
	}
	v, err := def.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := def.New(v); err == nil || !strings.Contains(err.Error(), "kind exec needs a command") {
		t.Errorf("kind exec by default, no cmd: %v", err)
	}
}

func TestSetupNotes(t *testing.T) {
	wl := build(t, map[string]any{"kind": "io", "workers": 4, "batch": 2, "cmd": "true"})
	s := setup(t, wl, 3)
	notes := strings.Join(s.Notes, "|")
	if !s.Embedded || !strings.Contains(notes, "io agents; 3 engine workers × 2 executor workers: up to 6 agents at once") || !strings.Contains(notes, "cmd ignored: kind is io") {
		t.Errorf("notes %q, embedded %v", s.Notes, s.Embedded)
	}
	needSh(t)
	wl = build(t, map[string]any{"kind": "exec", "cmd": "sh -c 'exit 0'", "workers": 2})
	s = setup(t, wl, 1)
	if !strings.Contains(s.Notes[0], "exec agents: sh -c 'exit 0'; 1 engine workers × 2 executor workers") {
		t.Errorf("exec notes %q", s.Notes)
	}
}

// An op runs one batch: every agent is counted under its outcome, and failed
// or panicked agents do not fail the op.
func TestOpCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  map[string]any
		want map[string]int64 // after 3 ops of batch 8
	}{
		{"cpu", map[string]any{"kind": "cpu", "work": 50}, map[string]int64{"ok": 24}},
		{"io", map[string]any{"kind": "io", "latency": "uniform:0ms..1ms"}, map[string]int64{"ok": 24}},
		{"mixed", map[string]any{"kind": "mixed", "latency": "fixed:1ms", "work": 10}, map[string]int64{"ok": 24}},
		{"all fail", map[string]any{"kind": "cpu", "work": 1, "fail-rate": "100%"}, map[string]int64{"failed": 24}},
		{"all panic", map[string]any{"kind": "io", "latency": "0s", "panic-rate": 1}, map[string]int64{"panicked": 24}},
		{"timeouts", map[string]any{"kind": "io", "latency": "1m", "agent-timeout": "20ms"}, map[string]int64{"timed_out": 24}},
		{"exec ok", map[string]any{"kind": "exec", "cmd": "true"}, map[string]int64{"ok": 24}},
		{"exec fail", map[string]any{"kind": "exec", "cmd": "sh -c 'exit 4'"}, map[string]int64{"failed": 24}},
		{"exec injected", map[string]any{"kind": "exec", "cmd": "true", "panic-rate": 1}, map[string]int64{"panicked": 24}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.raw["kind"] == kindExec {
				needSh(t)
			}
			tc.raw["batch"], tc.raw["workers"] = 8, 4
			wl := build(t, tc.raw)
			s := setup(t, wl, 1)
			w := bench.NewTestWorker(0, s)
			for range 3 {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				label, err := wl.Op(ctx, w)
				cancel()
				if err != nil || label != wl.batch {
					t.Fatalf("Op = %v, %v; want the batch label and no error", label, err)
				}
			}
			if got := counts(wl, w); !equalCounts(got, tc.want) {
				t.Errorf("counters %v, want %v", got, tc.want)
			}
		})
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Injected faults follow their rates, drawn per worker from its own seed.
func TestOpFaultRates(t *testing.T) {
	wl := build(t, map[string]any{"kind": "cpu", "work": 0, "batch": 100, "fail-rate": "20%", "panic-rate": "10%"})
	s := setup(t, wl, 1)
	w := bench.NewTestWorker(0, s)
	for range 20 {
		if _, err := wl.Op(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
	c := counts(wl, w)
	if c["ok"]+c["failed"]+c["panicked"] != 2000 || c["failed"] < 300 || c["failed"] > 500 || c["panicked"] < 120 || c["panicked"] > 280 {
		t.Errorf("counters %v: want ~1400 ok, ~400 failed, ~200 panicked", c)
	}
	// Same worker id, same draws.
	w2 := bench.NewTestWorker(0, s)
	wl2 := build(t, map[string]any{"kind": "cpu", "work": 0, "batch": 100, "fail-rate": "20%", "panic-rate": "10%"})
	setup(t, wl2, 1)
	for range 20 {
		_, _ = wl2.Op(context.Background(), w2)
	}
	if c2 := counts(wl2, w2); !equalCounts(c, c2) {
		t.Errorf("same seed, different draws: %v vs %v", c, c2)
	}
}

// A batch cut short by the op's deadline fails the op as a timeout; its
// agents are counted timed out (running) and canceled (never started).
func TestOpDeadline(t *testing.T) {
	wl := build(t, map[string]any{"kind": "io", "latency": "1m", "batch": 6, "workers": 2})
	s := setup(t, wl, 1)
	w := bench.NewTestWorker(0, s)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := wl.Op(ctx, w)
	if bench.ErrorKind(err) != bench.KindTimeout {
		t.Errorf("Op error %v (kind %s), want a timeout", err, bench.ErrorKind(err))
	}
	if c := counts(wl, w); c["timed_out"] != 2 || c["canceled"] != 4 || len(c) != 2 {
		t.Errorf("counters %v, want 2 timed out, 4 canceled", c)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := wl.Op(ctx, w); bench.ErrorKind(err) != bench.KindCanceled {
		t.Errorf("cancelled op: %v", err)
	}
}

// Agents timing out on their own timeout do not fail the op.
func TestOpAgentTimeoutIsData(t *testing.T) {
	needSh(t)
	wl := build(t, map[string]any{"kind": "exec", "cmd": `sh -c 'sleep 60 & sleep 60'`, "batch": 2, "workers": 2, "agent-timeout": "100ms"})
	s := setup(t, wl, 1)
	w := bench.NewTestWorker(0, s)
	if _, err := wl.Op(context.Background(), w); err != nil {
		t.Errorf("Op: %v", err)
	}
	if c := counts(wl, w); c["timed_out"] != 2 || len(c) != 1 {
		t.Errorf("counters %v", c)
	}
}

// A run through the engine records batches under the batch label, agents in
// the agent phase, outcome counters, and the derived speedup.
func TestRun(t *testing.T) {
	const batch, workers = 32, 8
	def := Definition()
	params, err := def.Resolve(map[string]any{
		"kind": "io", "latency": "fixed:20ms", "batch": batch, "workers": workers, "fail-rate": "10%",
	})
	if err != nil {
		t.Fatal(err)
	}
	set := bench.DefaultSettings()
	set.Duration, set.Iterations, set.Warmup, set.Concurrency, set.Interval = 0, 4, 0, 2, 100*time.Millisecond
	res, err := bench.Run(context.Background(), bench.Scenario{
		Name: "agents", Workload: Name, Params: params, Settings: set,
		New: func() (bench.Workload, error) { return def.New(params) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Labels, ",") != "batch" || strings.Join(res.Phases, ",") != "agent" || len(res.Runs) != 1 {
		t.Fatalf("labels %q, phases %q, %d runs", res.Labels, res.Phases, len(res.Runs))
	}
	run := res.Runs[0]
	c := run.Counters
	if run.Ops < 2 || run.Errors != 0 {
		t.Fatalf("ops %d, errors %d (%v)", run.Ops, run.Errors, run.ErrorsByKind)
	}
	total := c[counterOK] + c[counterFailed] + c[counterPanicked] + c[counterTimedOut] + c[counterCanceled]
	if total != run.Ops*batch || c[counterFailed] == 0 || c[counterOK] == 0 || c[counterPanicked]+c[counterTimedOut]+c[counterCanceled] != 0 {
		t.Errorf("counters %v for %d ops of %d agents", c, run.Ops, batch)
	}
	if b, a := run.Latency[labelBatch], run.Latency[phaseAgent]; b.Count != run.Ops || a.Count != total || a.MinNs < int64(19*time.Millisecond) {
		t.Errorf("latency counts: batch %d (ops %d), agent %d (agents %d), agent min %s", b.Count, run.Ops, a.Count, total, time.Duration(a.MinNs))
	}
	sp, eff := run.Derived[derivedSpeedup], run.Derived[derivedParallelEff]
	// A loaded machine stretches the gaps between agents (not their 20ms
	// each), so the bound is loose; a serial or 2-lane executor is under it.
	if sp < workers/3.0 || sp > workers*1.05 || eff < 1/3.0 || eff > 1.05 || math.Abs(eff*workers-sp) > 1e-9 {
		t.Errorf("derived %v: want speedup in [%.1f, %d] and efficiency = speedup/%d", run.Derived, workers/3.0, workers, workers)
	}
}

// Derive needs both histograms, and divides by the lanes a batch can use.
func TestDerive(t *testing.T) {
	wl := build(t, map[string]any{"workers": 8, "batch": 4})
	if d := wl.Derive(&bench.RunResult{Latency: map[string]bench.LatencySummary{}}); d != nil {
		t.Errorf("empty run: %v", d)
	}
	d := wl.Derive(&bench.RunResult{Latency: map[string]bench.LatencySummary{
		phaseAgent: {Count: 40, MeanNs: 3e6},
		labelBatch: {Count: 10, MeanNs: 4e6},
	}})
	if d[derivedSpeedup] != 3 || d[derivedParallelEff] != 0.75 {
		t.Errorf("derived %v, want speedup 3 and efficiency 3/min(8,4)", d)
	}
}

// The default parameters run, as the default suite runs them.
func TestDefaultsRun(t *testing.T) {
	wl := build(t, nil)
	s := setup(t, wl, 2)
	w := bench.NewTestWorker(1, s)
	if _, err := wl.Op(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if c := counts(wl, w); c["ok"] != DefaultBatch {
		t.Errorf("counters %v", c)
	}
}

// Credentials in cmd never reach a result, a note or an error message.
func TestCmdRedaction(t *testing.T) {
	needSh(t)
	line := `sh -c 'exit 0' https://bob:hunter2@h/x?token=hunter2 -H 'Authorization: Bearer hunter2' --password hunter2`
	def := Definition()
	v, err := def.Resolve(map[string]any{"kind": "exec", "cmd": line})
	if err != nil {
		t.Fatal(err)
	}
	rec := v.Record()["cmd"].(string)
	want := `sh -c 'exit 0' https://bob:xxxxx@h/x?token=REDACTED -H 'Authorization: REDACTED' --password REDACTED`
	if rec != want {
		t.Errorf("recorded cmd %q, want %q", rec, want)
	}
	wl := build(t, map[string]any{"kind": "exec", "cmd": line})
	s := setup(t, wl, 1)
	if notes := strings.Join(s.Notes, "|"); strings.Contains(notes, "hunter2") || !strings.Contains(notes, want) {
		t.Errorf("notes %q", notes)
	}
	// The agents still run the real command.
	if got := strings.Join(wl.cfg.cmd.Args, " "); !strings.Contains(got, "hunter2") {
		t.Errorf("args %q lost the credential", got)
	}
	for _, bad := range []string{"no-such-program-perfkit -u alice:hunter2", `curl --token hunter2 'unterminated`} {
		if err := buildErr(map[string]any{"kind": "exec", "cmd": bad}); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("cmd %q: error %v shows the credential", bad, err)
		}
	}
}

// Exec agents work in child processes, outside perfkit's own figures: the
// target is external. In-process kinds are perfkit's own code.
func TestTargetExternalForExec(t *testing.T) {
	if s := setup(t, build(t, map[string]any{"kind": "cpu"}), 1); s.External {
		t.Error("kind cpu: External, want in-process")
	}
	if s := setup(t, build(t, map[string]any{"kind": "exec", "cmd": "true"}), 1); !s.External {
		t.Error("kind exec: in-process, want External")
	}
}
