package capacity

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/alert"
)

// model is a target whose p99 is 5ms up to capacity and 80ms above it; at
// or above saturateAt (if set) perfkit itself falls behind.
type model struct {
	capacity, saturateAt float64
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
		Latency:  map[string]bench.LatencySummary{bench.OverallKey: bench.Summarize(h)},
		Schedule: &bench.ScheduleStats{TargetRate: rate, AchievedRate: rate},
	}
	if m.saturateAt > 0 && rate >= m.saturateAt {
		run.Valid = false
		run.Schedule.GeneratorLate = 500
		run.InvalidReasons = []string{"schedule lag: perfkit could not keep up"}
	}
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

func TestSearchStopsWhenPerfkitSaturates(t *testing.T) {
	m := &model{capacity: 10000, saturateAt: 700}
	out, err := Search(context.Background(), scenario(), Options{SLOs: slos(t, "p99<20ms"), Run: m.run})
	if err != nil {
		t.Fatal(err)
	}
	last := out.Steps[len(out.Steps)-1]
	if out.Stop != Saturated || last.Outcome != bench.SearchSaturated || last.Rate != 800 {
		t.Fatalf("stop %s, last step %g %s; want saturated at 800", out.Stop, last.Rate, last.Outcome)
	}
	if out.Steps[out.Best].Rate != 400 || out.Ceiling != 0 {
		t.Errorf("best %g, ceiling %g: want the lower bound 400 and no ceiling", out.Steps[out.Best].Rate, out.Ceiling)
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
