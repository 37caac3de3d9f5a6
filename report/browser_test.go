package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
	"github.com/perfkit/perfkit/internal/browsertest"
)

// sleepy sleeps a little longer for every tenth op, under two labels.
type sleepy struct{}

func (w *sleepy) Setup(_ context.Context, s *bench.Setup) error {
	s.Label("get")
	s.Label("put")
	return nil
}
func (w *sleepy) Teardown(context.Context) error { return nil }
func (w *sleepy) Op(_ context.Context, wk *bench.Worker) (bench.Label, error) {
	d := 100 * time.Microsecond
	if wk.ID == 0 {
		d = time.Millisecond
	}
	time.Sleep(d)
	return bench.Label(wk.ID % 2), nil
}

// measuredResult runs a small real scenario, twice, so the report has
// intervals, HDR histograms and a spread; alerts and thresholds are added.
func measuredResult(t *testing.T) *bench.Result {
	t.Helper()
	set := bench.DefaultSettings()
	set.Concurrency, set.Duration, set.Warmup, set.Count, set.Interval = 2, 400*time.Millisecond, 0, 2, 100*time.Millisecond
	sr, err := bench.Run(context.Background(), bench.Scenario{Name: "kv <&> \"quoted\"", Workload: "sleepy",
		New: func() (bench.Workload, error) { return &sleepy{}, nil }, Settings: set})
	if err != nil {
		t.Fatal(err)
	}
	sr.Thresholds = []bench.ThresholdResult{{Expr: "p99 < 100ms", Passed: true, Value: 1.2e6, Unit: bench.UnitNanoseconds}, {Expr: "throughput > 1M/s", Value: 3000, Unit: bench.UnitPerSecond}}
	sr.Alerts = []bench.AlertEvent{
		{Rule: "slow", Expr: "p99 > 1ms", Severity: "critical", State: bench.AlertFiring, TMs: 100, Value: 1.1e6, Threshold: 1e6, Unit: bench.UnitNanoseconds},
		{Rule: "slow", Expr: "p99 > 1ms", Severity: "critical", State: bench.AlertResolved, TMs: 300, Value: 0.9e6, Threshold: 1e6, Unit: bench.UnitNanoseconds, Reason: "cleared"},
	}
	return &bench.Result{SchemaVersion: bench.SchemaVersion, ID: "browser", CreatedAt: time.Unix(0, 0), Scenarios: []bench.ScenarioResult{sr}}
}

// TestHTMLReportInBrowser opens the report in headless Chromium from a
// file: no console error, no failed load, and every chart has its lines
// drawn with a real size.
func TestHTMLReportInBrowser(t *testing.T) {
	b := browsertest.Start(t)
	path := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, measuredResult(t)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	err = b.Do(30*time.Second,
		chromedp.Navigate("file://"+path),
		chromedp.WaitReady("footer"),
		chromedp.Sleep(200*time.Millisecond), // console messages arrive on their own
	)
	if err != nil {
		t.Fatal(err)
	}
	title, err := browsertest.Eval[string](b, 10*time.Second, `document.title`)
	if err != nil {
		t.Fatal(err)
	}
	charts, err := browsertest.Eval[int](b, 10*time.Second, `document.querySelectorAll("svg.chart").length`)
	if err != nil {
		t.Fatal(err)
	}
	// a chart is drawn when one of its lines has a real extent on screen
	drawn, err := browsertest.Eval[int](b, 10*time.Second, `[...document.querySelectorAll("svg.chart")].filter(s =>
		[...s.querySelectorAll("path.series")].some(p => p.getBoundingClientRect().width > 50 && p.getTotalLength() > 50)).length`)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := browsertest.Eval[bool](b, 10*time.Second, `document.querySelector("svg .empty") !== null`)
	if err != nil {
		t.Fatal(err)
	}
	if charts < 3 || drawn != charts || empty {
		t.Errorf("%d charts, %d drawn, an empty one: %v", charts, drawn, empty)
	}
	if !strings.HasPrefix(title, "perfkit report browser") {
		t.Errorf("title %q", title)
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("browser errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestComparisonHTMLInBrowser: the compare page loads with no error and
// its chart has one change interval per metric (an invalid scenario's
// runs row has none).
func TestComparisonHTMLInBrowser(t *testing.T) {
	b := browsertest.Start(t)
	path := filepath.Join(t.TempDir(), "compare.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	c := htmlComparison(t)
	if err := WriteComparisonHTML(f, c); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := b.Do(30*time.Second, chromedp.Navigate("file://"+path), chromedp.WaitReady("section"), chromedp.Sleep(200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	dots, err := browsertest.Eval[int](b, 10*time.Second, `[...document.querySelectorAll("svg.compare circle")].filter(c => c.getBoundingClientRect().width > 0).length`)
	want := len(c.Outcomes) - c.Count(stats.Invalid)
	if err != nil || dots != want {
		t.Errorf("%d change dots drawn (%v), want %d", dots, err, want)
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("browser errors:\n%s", strings.Join(errs, "\n"))
	}
}
