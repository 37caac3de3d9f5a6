package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// stagedResult is an open staged scenario (1/s up to 2000/s in 2s, 2s at
// 2000/s, down to 0 in 1s) whose second stage fell short, and a closed one
// ramping workers, each with one run of 1s intervals.
func stagedResult() *bench.Result {
	open := bench.DefaultSettings()
	open.Rate, open.Stages, open.Duration = 1, "2s:2000,2s:2000,1s:0", 5*time.Second
	r := run(0, 7000, 7, 5*time.Second, map[string]bench.LatencySummary{
		bench.OverallKey: lat(7000, 120, 300, 900, 2000, 4000), bench.OverallKey + bench.ServiceSuffix: lat(7000, 100, 200, 600, 1500, 3000)})
	for i, c := range [][2]float64{{500.5, 500}, {1500.5, 1500}, {2000, 2000}, {2000, 1900}, {1000, 1000}} {
		r.Intervals = append(r.Intervals, bench.IntervalSummary{TMs: int64(i) * 1000, Ops: int64(c[1]), Errors: int64(i), P50Ns: 100e3, P99Ns: int64(i+1) * 300e3,
			Target: c[0], Achieved: c[1], Late: int64(3 * i), GeneratorLate: int64(i)})
	}
	r.Schedule = &bench.ScheduleStats{TargetRate: 1400.1, AchievedRate: 1380, Late: 30, GeneratorLate: 10, LagP99Ns: 900e3, LagMaxNs: 3e6}
	r.Valid, r.InvalidReasons = false, []string{"stage 2/3 achieved rate 1950.0/s is under 99% of the target 2000.0/s"}
	closed := bench.DefaultSettings()
	closed.Concurrency, closed.Stages, closed.Duration = 1, "2s:9,1s:0", 3*time.Second
	c := run(0, 3000, 0, 3*time.Second, map[string]bench.LatencySummary{bench.OverallKey: lat(3000, 120, 300, 900, 2000, 4000)})
	for i, w := range [][2]float64{{3, 2.9}, {7, 6.95}, {4.5, 4.4}} {
		c.Intervals = append(c.Intervals, bench.IntervalSummary{TMs: int64(i) * 1000, Ops: 1000, P99Ns: 900e3, Target: w[0], Achieved: w[1]})
	}
	return result(false,
		bench.ScenarioResult{Name: "ramp", Workload: "fetch", Model: bench.ModelOpen, Settings: open, Labels: []string{bench.OverallKey}, Runs: []bench.RunResult{r}},
		bench.ScenarioResult{Name: "users", Workload: "fetch", Model: bench.ModelClosed, Settings: closed, Labels: []string{bench.OverallKey}, Runs: []bench.RunResult{c}})
}

// A staged scenario shows a row per stage and a note per stage with its
// target beside what it achieved.
func TestStagesGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, stagedResult(), Table); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "table_stages.golden"), buf.Bytes())
}

// The HTML report plots a staged load's target beside what it achieved: the
// open model's target and started ops/s on the throughput chart, the closed
// model's target workers and ops in flight on a chart of their own.
func TestStagesHTMLPlotsTarget(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, stagedResult()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"started/s", "Workers over time (target vs ops in flight)", "in flight"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	if !strings.Contains(out, ">target<") {
		t.Errorf("no target series in the legends")
	}
}
