package trend

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// line builds a history of n points of one scenario ("api"), each of 3
// runs: latency p50 1ms (p99 2ms) and 1000 ops/s, both in 3% noise; from
// point at on, latency is multiplied by slow and throughput divided by it.
func line(seed uint64, n, at int, slow float64) []Point { return noisyLine(seed, n, at, slow, 0.03) }

func noisyLine(seed uint64, n, at int, slow, sd float64) []Point {
	r := rand.New(rand.NewPCG(seed, 1))
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	pts := make([]Point, n)
	for i := range pts {
		f := 1.0
		if at >= 0 && i >= at {
			f = slow
		}
		sc := bench.ScenarioResult{Name: "api", Workload: "cache", Params: map[string]any{"keys": 1000}}
		for k := range 3 {
			noise := 1 + sd*r.NormFloat64()
			sc.Runs = append(sc.Runs, bench.RunResult{
				Index: k, Valid: true, Ops: 1000, Throughput: 1000 / (f * noise),
				Latency: map[string]bench.LatencySummary{"op": {Count: 1000, P50Ns: int64(1e6 * f * noise), P90Ns: int64(1.5e6 * f * noise), P99Ns: int64(2e6 * f * noise), P999Ns: int64(3e6 * f * noise)}},
			})
		}
		commit := fmt.Sprintf("%040x", 0xc0ffee00+i)
		pts[i] = Point{Saved: t0.Add(time.Duration(i) * 24 * time.Hour), Commit: commit[:12], Path: fmt.Sprintf("p%d.json", i),
			Result: &bench.Result{SchemaVersion: bench.SchemaVersion, ID: fmt.Sprintf("id%d", i), Env: bench.Env{GitCommit: commit}, Scenarios: []bench.ScenarioResult{sc}}}
	}
	return pts
}

func series(t *testing.T, a *Analysis, metric string) *Series {
	t.Helper()
	for i := range a.Series {
		if a.Series[i].Scenario == "api" && a.Series[i].Metric == metric {
			return &a.Series[i]
		}
	}
	t.Fatalf("no series api %s", metric)
	return nil
}

// A 10% slowdown at point 30 of 60: p50 and throughput each get one change
// point at 30, a regression beyond the 5% threshold with the shift's
// interval around +10%; it is old news for the check.
func TestAnalyzeStep(t *testing.T) {
	a, err := Analyze("main", line(1, 60, 30, 1.10), AnalyzeOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"p50", "throughput"} {
		s := series(t, a, m)
		if len(s.Changes) != 1 || s.Changes[0].At != 30 {
			t.Fatalf("%s: changes %+v, want one at point 30", m, s.Changes)
		}
		c := s.Changes[0]
		if c.Verdict != stats.Regressed || c.Recent {
			t.Errorf("%s: verdict %s recent %v, want regressed, not recent", m, c.Verdict, c.Recent)
		}
		if c.Commit != a.Points[30].Commit {
			t.Errorf("%s: commit %s, want %s", m, c.Commit, a.Points[30].Commit)
		}
		want := 0.10
		if m == "throughput" {
			want = 1/1.10 - 1
		}
		if !(c.Delta.Lo < want && want < c.Delta.Hi) || c.Delta.Lo > c.Delta.Estimate || c.Delta.Estimate > c.Delta.Hi {
			t.Errorf("%s: shift %+v does not hold %v", m, c.Delta, want)
		}
	}
	if r := a.Regressions(); len(r) != 0 {
		t.Errorf("regressions %v: the step is 30 points old", r)
	}
}

// The check: a slowdown 4 points before the end is recent and a regression;
// the same line before the slowdown has none; a speed-up is an improvement,
// which the check passes.
func TestAnalyzeCheck(t *testing.T) {
	for _, c := range []struct {
		name   string
		pts    []Point
		regs   int
		recent stats.Verdict
	}{
		{"slowdown", line(2, 24, 20, 1.5), 5, stats.Regressed}, // p50 p90 p99 p99.9 throughput
		{"before it", line(2, 24, 20, 1.5)[:20], 0, ""},
		{"speed-up", line(2, 24, 20, 1/1.5), 0, stats.Improved},
	} {
		a, err := Analyze("main", c.pts, AnalyzeOptions{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(a.Regressions()); got != c.regs {
			t.Errorf("%s: %d regressions, want %d", c.name, got, c.regs)
		}
		p50 := series(t, a, "p50")
		if c.recent == "" {
			if len(p50.Changes) != 0 {
				t.Errorf("%s: p50 changes %+v, want none", c.name, p50.Changes)
			}
			continue
		}
		if len(p50.Changes) != 1 || p50.Changes[0].At != 20 || !p50.Changes[0].Recent || p50.Changes[0].Verdict != c.recent {
			t.Errorf("%s: p50 changes %+v, want one at 20, recent, %s", c.name, p50.Changes, c.recent)
		}
	}
}

// A change found but within the metric's threshold does not fail the check:
// a 3% step in 0.5% noise is certain, and under p50's 5%; a --threshold of
// 1% makes it a regression.
func TestAnalyzeThreshold(t *testing.T) {
	pts := noisyLine(3, 30, 25, 1.03, 0.005)
	a, err := Analyze("main", pts, AnalyzeOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := series(t, a, "p50")
	if len(s.Changes) != 1 || s.Changes[0].At != 25 {
		t.Fatalf("p50 changes %+v, want one at 25", s.Changes)
	}
	if v := s.Changes[0].Verdict; v == stats.Regressed {
		t.Errorf("3%% step against the 5%% threshold: %s (%s)", v, s.Changes[0].Reason)
	}
	b, err := Analyze("main", pts, AnalyzeOptions{Seed: 1, Thresholds: stats.Thresholds{{Metric: "p50", Threshold: stats.Percent(1)}}})
	if err != nil {
		t.Fatal(err)
	}
	if s := series(t, b, "p50"); len(s.Changes) != 1 || s.Changes[0].Verdict != stats.Regressed {
		t.Errorf("with p50=1%%: changes %+v, want a regression", s.Changes)
	}
}

// Invalid runs stay out of a point's value; a point whose runs are all
// invalid is missing from the series, and the change point still names the
// right point. A change of set-up is warned about.
func TestAnalyzeInvalidAndSetup(t *testing.T) {
	pts := line(4, 24, 20, 1.5)
	for k := range pts[5].Result.Scenarios[0].Runs {
		pts[5].Result.Scenarios[0].Runs[k].Valid = false
		pts[5].Result.Scenarios[0].Runs[k].Latency["op"] = bench.LatencySummary{Count: 1, P50Ns: 1e9}
	}
	pts[20].Result.Scenarios[0].Params = map[string]any{"keys": 5000}
	a, err := Analyze("main", pts, AnalyzeOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := series(t, a, "p50")
	if len(s.Values) != 23 || s.Index[5] != 6 {
		t.Fatalf("p50 has %d values, index %v; want point 5 left out", len(s.Values), s.Index)
	}
	if len(s.Changes) != 1 || s.Changes[0].At != 20 {
		t.Fatalf("p50 changes %+v, want one at point 20", s.Changes)
	}
	if len(a.Warnings) != 2 || !strings.Contains(a.Warnings[0], "params.keys 1000 → 5000") {
		t.Errorf("warnings %q, want the set-up change at 20 (and back at 21)", a.Warnings)
	}
}

func TestAnalyzeBadOptions(t *testing.T) {
	for _, o := range []AnalyzeOptions{
		{Detect: Options{Alpha: 2}},
		{Alpha: -1},
		{Recent: -1},
		{Detect: Options{MinSize: 1}},
		{Thresholds: stats.Thresholds{{Metric: "latency", Threshold: stats.Percent(5)}}},
		{Thresholds: stats.Thresholds{{Metric: "p99", Threshold: stats.Points(1)}}},
	} {
		if _, err := Analyze("main", line(1, 10, -1, 1), o); err == nil {
			t.Errorf("Analyze with %+v: no error", o)
		}
	}
}
