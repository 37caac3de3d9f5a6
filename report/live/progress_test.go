package live

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perfkit/perfkit/bench"
)

func TestProgressLine(t *testing.T) {
	h := bench.NewHistogram()
	for i := range 100 {
		_ = h.RecordValue(int64(i+1) * int64(time.Millisecond) / 10)
	}
	s := &bench.Snapshot{
		Scenario: "api", Run: 1,
		Settings: bench.Settings{Count: 3, Duration: 10 * time.Second},
		Length:   time.Second, Ops: 1500, TotalOps: 6000, TotalErrors: 4,
		Elapsed: 4 * time.Second,
		Latency: map[string]*hdrhistogram.Histogram{bench.OverallKey: h},
	}
	want := "api  run 2/3  4.0s/10.0s  ops 6000  1.50k ops/s  p99 9.96ms  errors 4"
	if got := progressLine(s); got != want {
		t.Errorf("progressLine = %q\nwant           %q", got, want)
	}
	s.Settings.Iterations, s.Settings.Duration = 10000, 0
	want = "api  run 2/3  4.0s  ops 6000/10000  1.50k ops/s  p99 9.96ms  errors 4"
	if got := progressLine(s); got != want {
		t.Errorf("progressLine = %q\nwant           %q", got, want)
	}
}

// The line never goes back to an earlier run: the engine sends run 1's
// final snapshot after MeasureEnd has drawn run 2's warmup.
func TestProgressNeverGoesBack(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf)
	set := bench.DefaultSettings()
	set.Count, set.Duration = 3, 2*time.Second
	snap := func(run int, final bool) *bench.Snapshot {
		return &bench.Snapshot{Scenario: "fetch", Run: run, Final: final, Settings: set, Length: time.Second, Elapsed: time.Second}
	}
	if err := p.SetupDone(&bench.ScenarioInfo{Scenario: "fetch", Settings: set}); err != nil {
		t.Fatal(err)
	}
	for run := range set.Count {
		p.MeasureStart("fetch", run)
		p.Interval(snap(run, false))
		p.MeasureEnd("fetch", run) // draws the next run's warmup
		p.Interval(snap(run, true))
	}
	// A second scenario starts again from run 1.
	if err := p.SetupDone(&bench.ScenarioInfo{Scenario: "cache", Settings: set}); err != nil {
		t.Fatal(err)
	}
	last := 0
	var lines []string
	for _, line := range strings.Split(buf.String(), "\r\x1b[K") {
		if line == "" {
			continue
		}
		lines = append(lines, line)
		var run, count int
		if _, err := fmt.Sscanf(strings.SplitN(line, "  run ", 2)[1], "%d/%d", &run, &count); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if strings.HasPrefix(line, "cache") {
			last = 0
		}
		if run < last {
			t.Errorf("the line went back from run %d to %q:\n%s", last, line, strings.Join(lines, "\n"))
		}
		last = run
	}
	want := []string{
		"fetch  run 1/3  warming up 1.0s",
		"fetch  run 1/3  1.0s/2.0s  ops 0  0 ops/s  errors 0",
		"fetch  run 2/3  warming up 1.0s",
		"fetch  run 2/3  1.0s/2.0s  ops 0  0 ops/s  errors 0",
		"fetch  run 3/3  warming up 1.0s",
		"fetch  run 3/3  1.0s/2.0s  ops 0  0 ops/s  errors 0",
		"fetch  run 3/3  1.0s/2.0s  ops 0  0 ops/s  errors 0", // the last run's final snapshot
		"cache  run 1/3  warming up 1.0s",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// The progress line says when a run is warming up: the warmup has no
// snapshots, so without it the line would sit still.
func TestProgressWarmup(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf)
	set := bench.DefaultSettings()
	set.Count = 2
	if err := p.SetupDone(&bench.ScenarioInfo{Scenario: "api", Settings: set}); err != nil {
		t.Fatal(err)
	}
	p.MeasureEnd("api", 0)
	p.MeasureEnd("api", 1) // the last run: no warmup follows
	want := "\r\x1b[Kapi  run 1/2  warming up 1.0s\r\x1b[Kapi  run 2/2  warming up 1.0s"
	if buf.String() != want {
		t.Errorf("progress wrote %q, want %q", buf.String(), want)
	}
}
