package live

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/internal/browsertest"
)

// strokePixels counts the pixels of a chart's canvas near a series' colour:
// the line is drawn, not just the axes.
const strokePixels = `(function (chart, rgb) {
	const c = document.querySelector('[data-chart="' + chart + '"] canvas');
	if (!c) return -1;
	const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
	let n = 0;
	for (let i = 0; i < d.length; i += 4)
		if (d[i + 3] > 100 && Math.abs(d[i] - rgb[0]) < 40 && Math.abs(d[i + 1] - rgb[1]) < 40 && Math.abs(d[i + 2] - rgb[2]) < 40) n++;
	return n;
})`

// TestDashboardInBrowser opens the dashboard in headless Chromium during a
// run: no console error, every chart drawn and growing each interval, the
// alert listed, and "run finished" when the run ends. The run lasts until
// the test has seen it live: Chromium may take seconds to start on a loaded
// machine, and a run of fixed length could end before the page opens.
func TestDashboardInBrowser(t *testing.T) {
	b := browsertest.Start(t)
	d := NewDashboard(0)
	srv := serve(t, d.Handler())
	t.Cleanup(d.Close) // before the server's: ends the page's event stream

	started := make(chan struct{})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr error
	defer wg.Wait()
	defer stop() // before the wait: a failing test ends the run
	wg.Go(func() {
		obs := bench.ObserverFunc(func(s *bench.Snapshot) {
			if s.T == 200*time.Millisecond {
				close(started)
				d.Alert(s.Scenario, bench.AlertEvent{Rule: "slow", Expr: "p99 > 1ms", Severity: "critical", State: bench.AlertFiring,
					Time: time.Now(), Value: 2e6, Threshold: 1e6, Unit: bench.UnitNanoseconds})
			}
		})
		_, runErr = bench.Run(ctx, mixScenario(time.Hour, 1), d, obs)
	})
	<-started

	if err := b.Do(30*time.Second, chromedp.Navigate(srv.URL()), chromedp.WaitReady(`[data-chart="res"] canvas`)); err != nil {
		t.Fatal(err)
	}
	first, err := browsertest.Eval[int](b, 10*time.Second, `Number(document.body.dataset.intervals || 0)`)
	if err != nil {
		t.Fatal(err)
	}
	// Live: more intervals arrive while the page is open.
	if _, err := browsertest.Eval[bool](b, 20*time.Second, `new Promise(r => { const f = () => Number(document.body.dataset.intervals) >= `+itoa(first+3)+` ? r(true) : setTimeout(f, 50); f(); })`); err != nil {
		t.Fatalf("no new intervals after %d: %v", first, err)
	}
	canvases, err := browsertest.Eval[int](b, 10*time.Second, `document.querySelectorAll('[data-scenario="mix"] .chart canvas').length`)
	if err != nil || canvases != 5 {
		t.Errorf("%d canvases (%v), want 5", canvases, err)
	}
	for chart, rgb := range map[string]string{"tput": "[37,99,235]", "lat": "[220,38,38]", "inflight": "[124,58,237]", "res": "[8,145,178]"} {
		n, err := browsertest.Eval[int](b, 10*time.Second, strokePixels+`("`+chart+`", `+rgb+`)`)
		if err != nil || n < 20 {
			t.Errorf("chart %s: %d pixels of its line (%v)", chart, n, err)
		}
	}
	alerts, err := browsertest.Eval[string](b, 10*time.Second, `document.getElementById("alert-list").textContent`)
	if err != nil || !strings.Contains(alerts, "FIRING critical slow — mix: p99 > 1ms (2ms, run 1)") {
		t.Errorf("alerts %q (%v)", alerts, err)
	}

	stop()
	wg.Wait()
	if runErr != nil {
		t.Fatal(runErr)
	}
	d.Close()
	status, err := browsertest.Eval[string](b, 10*time.Second, `new Promise(r => { const f = () => { const s = document.getElementById("status").textContent; s === "run finished" ? r(s) : setTimeout(f, 50); }; f(); })`)
	if err != nil {
		t.Errorf("status %q: %v", status, err)
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("browser errors:\n%s", strings.Join(errs, "\n"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
