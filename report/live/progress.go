package live

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/report"
)

// Progress is an observer that keeps one status line on a terminal, redrawn
// in place each interval. The command line attaches it only when stderr is
// a TTY, so logs and CI output stay clean.
type Progress struct {
	w     io.Writer
	mu    sync.Mutex
	drawn bool
	set   bench.Settings // of the scenario being run
	// scenario and run are the newest the line has reached: the engine
	// sends a run's final snapshot after its MeasureEnd, which has already
	// drawn the next run's warmup, and redrawing the older run then would
	// make the line jump back ("run 2/3 warming up", then "run 1/3").
	scenario string
	run      int
}

// NewProgress draws the line on w, a terminal.
func NewProgress(w io.Writer) *Progress { return &Progress{w: w} }

var (
	_ bench.SetupObserver   = (*Progress)(nil)
	_ bench.MeasureObserver = (*Progress)(nil)
)

// SetupDone shows the first run's warmup, which has no snapshots.
func (p *Progress) SetupDone(info *bench.ScenarioInfo) error {
	p.mu.Lock()
	p.set = info.Settings
	p.scenario, p.run = info.Scenario, 0
	p.mu.Unlock()
	p.warming(info.Scenario, 0)
	return nil
}

// MeasureStart is nothing to show: the first snapshot follows.
func (p *Progress) MeasureStart(string, int) {}

// MeasureEnd shows the next run's warmup, if there is one.
func (p *Progress) MeasureEnd(scenario string, run int) {
	p.mu.Lock()
	next := run+1 < p.set.Count
	if next && scenario == p.scenario {
		p.run = max(p.run, run+1)
	}
	p.mu.Unlock()
	if next {
		p.warming(scenario, run+1)
	}
}

// warming draws "scenario  run i/n  warming up 1.0s" when the run warms up.
func (p *Progress) warming(scenario string, run int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set.Warmup <= 0 {
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s  run %d/%d  warming up %s", scenario, run+1, max(p.set.Count, 1), seconds(p.set.Warmup))
	p.drawn = true
}

// Interval redraws the line, unless the line has moved on to a later run.
func (p *Progress) Interval(s *bench.Snapshot) {
	line := progressLine(s)
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.Scenario == p.scenario && s.Run < p.run {
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.drawn = true
}

// Clear erases the line, so what follows on the terminal starts clean.
func (p *Progress) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// progressLine is the status of a run after an interval: scenario, run i/n
// elapsed/total (or ops/iterations), ops, ops/s and p99 of the
// interval, and errors so far.
func progressLine(s *bench.Snapshot) string {
	var b strings.Builder
	b.WriteString(s.Scenario)
	count := max(s.Settings.Count, 1)
	fmt.Fprintf(&b, "  run %d/%d", s.Run+1, count)
	if s.Settings.Iterations > 0 {
		fmt.Fprintf(&b, "  %s  ops %d/%d", seconds(s.Elapsed), s.TotalOps, s.Settings.Iterations)
	} else {
		fmt.Fprintf(&b, "  %s/%s  ops %d", seconds(s.Elapsed), seconds(s.Settings.Duration), s.TotalOps)
	}
	rate := 0.0
	if s.Length > 0 {
		rate = float64(s.Ops) / s.Length.Seconds()
	}
	fmt.Fprintf(&b, "  %s ops/s", report.Rate(rate))
	if h := s.Latency[bench.OverallKey]; h != nil && h.TotalCount() > 0 {
		fmt.Fprintf(&b, "  p99 %s", report.Duration(h.ValueAtQuantile(99)))
	}
	fmt.Fprintf(&b, "  errors %d", s.TotalErrors)
	return b.String()
}

// seconds shows a progress clock to a tenth of a second.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", max(d, 0).Seconds())
}
