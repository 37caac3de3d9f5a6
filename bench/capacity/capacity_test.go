package capacity

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/alert"
)

// model is a target whose p99 is 5ms up to capacity and 80ms above it; at
// or above saturateAt (if set) perfkit itself falls behind, its CPU
// saturated; at a rate in contended other processes hold the CPUs for that
// many attempts (-1: always).
type model struct {
	capacity, saturateAt float64
	contended            map[float64]int
	rates                []float64
}

func (m *model) run(_ context.Context, sc bench.Scenario) (bench.ScenarioResult, error) {
	rate := sc.Settings.Rate
	m.rates = append(m.rates, rate)
	h := bench.NewHistogram()
	lat := 5 * time.Millisecond
	if rate > m.capacity {
		lat = 80 * time.Millisecond
	}
	for range 1000 {
		h.RecordValue(int64(lat))
	}
	run := bench.RunResult{
		Ops: 1000, ElapsedNs: int64(time.Second), Valid: true,
		Latency:   map[string]bench.LatencySummary{bench.OverallKey: bench.Summarize(h)},
		Schedule:  &bench.ScheduleStats{TargetRate: rate, AchievedRate: rate},
		Resources: bench.Resources{CPUUserS: 0.05},
	}
	behind := func() {
		run.Schedule.GeneratorLate, run.Schedule.Late = 500, 500
		run.Schedule.AchievedRate = 0.9 * rate
	}
	switch n := m.contended[rate]; {
	case m.saturateAt > 0 && rate >= m.saturateAt:
		behind()
		run.Resources.CPUUserS = 1.9 // of 2 CPUs for 1s
	case n != 0:
		m.contended[rate] = n - 1
		behind()
		run.Contention = &bench.Contention{HasRunqueue: true, HasPressure: true, RunqueueWaitS: 0.4, CPUPressureSomePct: 70}
	}
	bench.Validate(&run, sc.Settings, 2, 2, false)
	return bench.ScenarioResult{Name: sc.Name, Settings: sc.Settings, Runs: []bench.RunResult{run}}, nil
}

func scenario() bench.Scenario {
	set := bench.DefaultSettings()
	set.Rate = 1
	return bench.Scenario{Name: "svc", Settings: set}
}

func slos(t *testing.T, exprs ...string) []alert.Expr {
	t.Helper()
	var out []alert.Expr
	for _, s := range exprs {
		e, err := ParseSLO(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestSearchConvergesWithinPrecision(t *testing.T) {
	for _, capacity := range []float64{730, 60, 100, 12345} {
		m := &model{capacity: capacity}
		out, err := Search(context.Background(), scenario(), Options{SLOs: slos(t, "p99<20ms", "error_rate<0.1%"), Precision: 0.05, Run: m.run})
		if err != nil {
			t.Fatal(err)
		}
		if out.Stop != Converged || out.Best < 0 {
			t.Fatalf("capacity %g: stop %s, best %d", capacity, out.Stop, out.Best)
		}
		best := out.Steps[out.Best]
		if best.Rate > capacity || best.Rate < capacity*0.95 || out.Ceiling <= capacity || out.Ceiling > best.Rate*1.05 {
			t.Errorf("capacity %g: found %g (ceiling %g), want within 5%% below it; rates %v", capacity, best.Rate, out.Ceiling, m.rates)
		}
		if !best.Result.Search.Best || best.Result.Name != "svc[rate="+best.Result.Search.Value+"]" {
			t.Errorf("best step %s not marked: %+v", best.Result.Name, best.Result.Search)
		}
		for i, st := range out.Steps {
			if st.Result.Search.Index != i || (i != out.Best && st.Result.Search.Best) {
				t.Errorf("step %d: search %+v", i, st.Result.Search)
			}
			if st.Rate > capacity && (st.Outcome != bench.SearchFail || !strings.Contains(st.Reasons[0], "p99<20ms: 80")) {
				t.Errorf("step at %g: %s %q, want fail naming the SLO", st.Rate, st.Outcome, st.Reasons)
			}
		}
	}
}

func runSearch(t *testing.T, m *model, opts Options) Outcome {
	t.Helper()
	opts.Run, opts.Procs, opts.NumCPU = m.run, 2, 2
	if opts.SLOs == nil {
		opts.SLOs = slos(t, "p99<20ms")
	}
	out, err := Search(context.Background(), scenario(), opts)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for i, st := range out.Steps {
		if st.Result.Search.Index != i || names[st.Result.Name] {
			t.Errorf("step %d: %s %+v: not in order or named twice", i, st.Result.Name, st.Result.Search)
		}
		names[st.Result.Name] = true
	}
	return out
}

// Good up to 30k/s, perfkit saturated above: the 51.2k/s step saturates
// after 25.6k/s passed, and the search bisects below it to within the
// precision of 30k/s, saying perfkit bounds the answer. It used to stop at
// "at least 25.6k/s".
func TestSearchBisectsBelowSaturation(t *testing.T) {
	m := &model{capacity: 1e9, saturateAt: 30001}
	out := runSearch(t, m, Options{Precision: 0.03})
	best := out.Steps[out.Best]
	if out.Stop != Converged || !out.Bounded() || out.CeilingOutcome != bench.SearchSaturated {
		t.Fatalf("stop %s, ceiling %g %s; want converged below a saturated step; rates %v", out.Stop, out.Ceiling, out.CeilingOutcome, m.rates)
	}
	if best.Rate > 30000 || best.Rate < 30000*0.97 || out.Ceiling > best.Rate*1.03 {
		t.Errorf("best %g, ceiling %g: want within 3%% below 30000; rates %v", best.Rate, out.Ceiling, m.rates)
	}
	if !slices.Contains(m.rates, 51200) || !slices.Contains(m.rates, 25600) {
		t.Errorf("rates %v: want the doubling through 25600 and 51200", m.rates)
	}

	// The target's own ceiling under perfkit's: the answer is the target's.
	m = &model{capacity: 30000, saturateAt: 51200}
	out = runSearch(t, m, Options{Precision: 0.03})
	if best := out.Steps[out.Best]; out.Bounded() || out.CeilingOutcome != bench.SearchFail || best.Rate < 29100 || best.Rate > 30000 {
		t.Errorf("best %g, ceiling %g %s; want the target's 30000 (fail above); rates %v", best.Rate, out.Ceiling, out.CeilingOutcome, m.rates)
	}
}

// A step that fell behind because other processes held the CPUs is run
// again, not taken as the target's ceiling or an end to the search.
func TestSearchRetriesContention(t *testing.T) {
	m := &model{capacity: 1000, contended: map[float64]int{400: 1}}
	out := runSearch(t, m, Options{})
	if len(out.Retried) != 1 || out.Retried[0].Rate != 400 || out.Retried[0].Outcome != bench.SearchContended {
		t.Fatalf("retried %+v; want the 400/s step once; rates %v", out.Retried, m.rates)
	}
	if r := out.Retried[0].Reasons[0]; !strings.Contains(r, "other processes took the CPUs") || !strings.Contains(r, "PSI cpu some 70%") {
		t.Errorf("contended reason %q", r)
	}
	if best := out.Steps[out.Best]; out.Stop != Converged || best.Rate < 950 || best.Rate > 1000 || out.Bounded() {
		t.Errorf("stop %s, best %g, ceiling %s: want about 1000 found by the target; rates %v", out.Stop, best.Rate, out.CeilingOutcome, m.rates)
	}
	if st := out.Steps[2]; st.Rate != 400 || st.Attempt != 2 || st.Outcome != bench.SearchPass {
		t.Errorf("step 3: %g attempt %d %s; want the retry of 400 passing", st.Rate, st.Attempt, st.Outcome)
	}

	// Contended every time: after DefaultRetries retries the step counts as
	// failed and the search bisects below it, bounded by the machine.
	m = &model{capacity: 1e9, contended: map[float64]int{800: -1}}
	out = runSearch(t, m, Options{})
	if len(out.Retried) != DefaultRetries || out.CeilingOutcome != bench.SearchContended || out.Steps[out.Best].Rate < 760 {
		t.Errorf("retried %d, ceiling %g %s, best %g; rates %v", len(out.Retried), out.Ceiling, out.CeilingOutcome, out.Steps[out.Best].Rate, m.rates)
	}
}

// A first step that fails halves, then bisects: a clear answer, not a
// give-up. Nothing passing, every step perfkit's fault: Saturated.
func TestSearchFirstStepFails(t *testing.T) {
	m := &model{capacity: 70}
	out := runSearch(t, m, Options{})
	if best := out.Steps[out.Best]; out.Stop != Converged || best.Rate < 66.5 || best.Rate > 70 || out.Ceiling > 73.5 {
		t.Errorf("stop %s, best %g, ceiling %g; rates %v", out.Stop, best.Rate, out.Ceiling, m.rates)
	}
	m = &model{capacity: 1e9, saturateAt: 0.1}
	out = runSearch(t, m, Options{})
	if out.Stop != Saturated || out.Best != -1 {
		t.Errorf("stop %s, best %d; want saturated with no answer; rates %v", out.Stop, out.Best, m.rates)
	}
}

func TestSearchBounds(t *testing.T) {
	m := &model{capacity: 10000}
	out, _ := Search(context.Background(), scenario(), Options{SLOs: slos(t, "p99<20ms"), MaxRate: 300, Run: m.run})
	if out.Stop != AtMaxRate || out.Steps[out.Best].Rate != 300 {
		t.Errorf("max-rate: stop %s, rates %v", out.Stop, m.rates)
	}
	m = &model{capacity: 0.5}
	out, _ = Search(context.Background(), scenario(), Options{SLOs: slos(t, "p99<20ms"), Run: m.run})
	if out.Stop != NoneMet || out.Best != -1 {
		t.Errorf("none met: stop %s, best %d, rates %v", out.Stop, out.Best, m.rates)
	}
}

func TestParseSLO(t *testing.T) {
	for _, ok := range []string{"p99<20ms", "p50 <= 1ms", "p999<1s", "max<2s", "mean<5ms", "error_rate<0.1%"} {
		if _, err := ParseSLO(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for s, want := range map[string]string{
		"p99":               "expected an operator",
		"p99<":              "expected a value",
		"p99<20":            "needs a unit",
		"cpu<50%":           "an SLO takes p50",
		"p99{l2_hit}<2ms":   "an SLO covers all ops",
		"error_rate < 200%": "at most 100%",
	} {
		if _, err := ParseSLO(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", s, err, want)
		}
	}
}
