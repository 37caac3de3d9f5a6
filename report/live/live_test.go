package live

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/perfkit/perfkit/bench"
)

// mixWorkload labels its ops read or write, counts bytes, and fails every
// tenth op.
type mixWorkload struct {
	read, write bench.Label
	bytes       bench.Counter
	n           atomic.Int64
	sleep       time.Duration
}

var errBoom = bench.Errorf("boom", errors.New("boom"))

func (w *mixWorkload) Setup(_ context.Context, s *bench.Setup) error {
	w.read, w.write = s.Label("read"), s.Label("write")
	w.bytes = s.Counter("bytes")
	return nil
}
func (w *mixWorkload) Teardown(context.Context) error { return nil }
func (w *mixWorkload) Op(_ context.Context, wk *bench.Worker) (bench.Label, error) {
	i := w.n.Add(1)
	wk.Count(w.bytes, 100)
	time.Sleep(w.sleep)
	l := w.read
	if i%3 == 0 {
		l = w.write
	}
	if i%10 == 0 {
		return l, errBoom
	}
	return l, nil
}

func mixScenario(d time.Duration, count int) bench.Scenario {
	w := &mixWorkload{sleep: 200 * time.Microsecond}
	set := bench.DefaultSettings()
	set.Concurrency = 2
	set.Duration = d
	set.Warmup = 50 * time.Millisecond
	set.Count = count
	set.Interval = 100 * time.Millisecond
	return bench.Scenario{Name: "mix", Workload: "mix", New: func() (bench.Workload, error) { return w, nil }, Settings: set}
}

func serve(t *testing.T, h http.Handler) *Server {
	t.Helper()
	ln, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(ln, h)
	t.Cleanup(func() {
		// Generous: on a loaded machine a browser's connection may take a
		// while to go idle after the event stream ends.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the text parser refuses /metrics: %v", err)
	}
	return fams
}

// value returns the sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
next:
	for _, m := range f.Metric {
		for k, v := range want {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	t.Fatalf("%s: no series with %v", name, want)
	return nil
}

// TestMetricsMatchResult scrapes /metrics over HTTP during a run and after
// it: the text parser accepts it, and at the end its counters equal the
// result's totals over every run.
func TestMetricsMatchResult(t *testing.T) {
	m := NewMetrics()
	m.DeclareAlert("mix", "slow", "critical")
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := serve(t, mux)
	url := srv.URL() + "metrics"

	// The scrape during the run must see at least the ops of the snapshots
	// so far (m is told of each before during is); the test waits for it
	// rather than guessing how long a loaded machine takes.
	scraped := make(chan struct{})
	var once sync.Once
	during := bench.ObserverFunc(func(s *bench.Snapshot) {
		if s.Run == 0 && (s.T == 200*time.Millisecond || s.Final) {
			total := s.TotalOps
			once.Do(func() {
				go func() { // not on the collector goroutine: a scrape takes the lock Interval takes
					defer close(scraped)
					fams := scrape(t, url)
					if v := value(t, fams, "perfkit_ops_total", map[string]string{"scenario": "mix", "label": "op"}).GetCounter().GetValue(); v < float64(total) {
						t.Errorf("ops during the run: %g, the snapshots so far had %d", v, total)
					}
				}()
			})
		}
	})
	sr, err := bench.Run(context.Background(), mixScenario(400*time.Millisecond, 2), m, during)
	if err != nil {
		t.Fatal(err)
	}
	m.Alert("mix", bench.AlertEvent{Rule: "slow", Severity: "critical", State: bench.AlertFiring})
	fams := scrape(t, url)
	select {
	case <-scraped:
	case <-time.After(30 * time.Second):
		t.Fatal("the scrape during the run did not finish in 30s")
	}
	var ops, errs int64
	labelOps := map[string]int64{}
	var bytesIn int64
	for _, run := range sr.Runs {
		ops += run.Ops
		errs += run.Errors
		bytesIn += run.Counters["bytes"]
		for _, l := range []string{"op", "read", "write"} {
			labelOps[l] += run.Latency[l].Count
		}
	}
	if ops == 0 || errs == 0 {
		t.Fatalf("ops %d errors %d", ops, errs)
	}
	for l, want := range labelOps {
		got := value(t, fams, "perfkit_ops_total", map[string]string{"scenario": "mix", "label": l}).GetCounter().GetValue()
		if int64(got) != want {
			t.Errorf("perfkit_ops_total{label=%q} = %g, result says %d", l, got, want)
		}
	}
	if got := value(t, fams, "perfkit_ops_total", map[string]string{"label": "op"}).GetCounter().GetValue(); int64(got) != ops {
		t.Errorf("ops %g, result %d", got, ops)
	}
	if got := value(t, fams, "perfkit_errors_total", map[string]string{"kind": "boom"}).GetCounter().GetValue(); int64(got) != errs {
		t.Errorf("errors %g, result %d", got, errs)
	}
	if got := value(t, fams, "perfkit_workload_counter_total", map[string]string{"name": "bytes"}).GetCounter().GetValue(); int64(got) != bytesIn {
		t.Errorf("bytes %g, result %d", got, bytesIn)
	}
	h := value(t, fams, "perfkit_latency_seconds", map[string]string{"label": "op"}).GetHistogram()
	if int64(h.GetSampleCount()) != ops || h.GetSampleSum() <= 0 || len(h.Bucket) < len(LatencyBuckets()) {
		t.Errorf("histogram count %d sum %g buckets %d, want count %d", h.GetSampleCount(), h.GetSampleSum(), len(h.Bucket), ops)
	}
	if last := h.Bucket[len(h.Bucket)-1].GetCumulativeCount(); int64(last) != ops {
		t.Errorf("largest bucket holds %d of %d ops", last, ops)
	}
	if v := value(t, fams, "perfkit_run", nil).GetGauge().GetValue(); v != 2 {
		t.Errorf("perfkit_run %g", v)
	}
	if v := value(t, fams, "perfkit_alert_firing", map[string]string{"alert": "slow"}).GetGauge().GetValue(); v != 1 {
		t.Errorf("alert gauge %g", v)
	}
	for _, name := range []string{"perfkit_in_flight", "perfkit_ops_per_second", "process_resident_memory_bytes", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

// TestDashboardOneEventPerInterval reads /events over HTTP during a run: one
// "interval" event per snapshot, then "done".
func TestDashboardOneEventPerInterval(t *testing.T) {
	d := NewDashboard(0)
	srv := serve(t, d.Handler())
	// The page and its assets are served from the binary.
	for _, p := range []string{"", "assets/app.js", "assets/uplot/uPlot.iife.min.js", "assets/uplot/uPlot.min.css", "assets/uplot/LICENSE"} {
		resp, err := http.Get(srv.URL() + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET /%s: %s", p, resp.Status)
		}
		if p == "" && (!strings.Contains(string(body), "/assets/uplot/uPlot.iife.min.js") || strings.Contains(string(body), "https://")) {
			t.Errorf("page does not load uPlot from perfkit, or loads something from elsewhere")
		}
	}

	resp, err := http.Get(srv.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	type sse struct{ name, data string }
	events := make(chan sse, 1024)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var name, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && name != "":
				events <- sse{name, data}
				name, data = "", ""
			}
		}
	})
	var snaps atomic.Int64
	count := bench.ObserverFunc(func(*bench.Snapshot) { snaps.Add(1) })
	if _, err := bench.Run(context.Background(), mixScenario(500*time.Millisecond, 1), d, count); err != nil {
		t.Fatal(err)
	}
	d.Alert("mix", bench.AlertEvent{Rule: "slow", State: bench.AlertFiring})
	d.Close()
	wg.Wait()
	var names []string
	intervals := 0
	for ev := range events {
		names = append(names, ev.name)
		if ev.name == "interval" {
			intervals++
			var iv IntervalEvent
			if err := json.Unmarshal([]byte(ev.data), &iv); err != nil || iv.Scenario != "mix" {
				t.Errorf("interval event %s: %v", ev.data, err)
			}
		}
	}
	if int64(intervals) != snaps.Load() || intervals < 4 {
		t.Errorf("%d interval events for %d intervals", intervals, snaps.Load())
	}
	if len(names) < 3 || names[0] != "scenario" || names[len(names)-2] != "alert" || names[len(names)-1] != "done" {
		t.Errorf("events %v", names)
	}
}

// TestDashboardReplay: a browser that connects late, or reconnects with
// Last-Event-ID, gets what it missed.
func TestDashboardReplay(t *testing.T) {
	d := NewDashboard(3)
	for i := range 5 {
		d.publish("interval", map[string]int{"i": i})
	}
	d.Close()
	srv := serve(t, d.Handler())
	req, _ := http.NewRequest("GET", srv.URL()+"events", nil)
	req.Header.Set("Last-Event-ID", "4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// history holds events 4, 5 and 6 (done); after 4: 5 and 6.
	if got := strings.Count(string(body), "id: "); got != 2 || !strings.Contains(string(body), "id: 5\nevent: interval\ndata: {\"i\":4}") || !strings.Contains(string(body), "event: done") {
		t.Errorf("replay:\n%s", body)
	}
}

func TestCheckAddr(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:9464", "localhost:0", "[::1]:8080", "127.0.0.2:1"} {
		if err := CheckAddr(ok, false); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	bad := map[string]string{
		":9464":           "binds every interface: use 127.0.0.1 or [::1], or pass --allow-remote",
		"0.0.0.0:9464":    "is not a loopback address",
		"example.com:1":   "is not a loopback address",
		"9464":            "expected HOST:PORT",
		"127.0.0.1:x":     `port "x" is not a number`,
		"127.0.0.1:99999": "port",
	}
	for in, want := range bad {
		if err := CheckAddr(in, false); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), in) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
	if err := CheckAddr("0.0.0.0:9464", true); err != nil {
		t.Errorf("--allow-remote: %v", err)
	}
}

func TestListenBusy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Listen(ln.Addr().String(), false)
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), fmt.Sprintf("%q", ln.Addr().String())) {
		t.Errorf("got %v", err)
	}
}

// An interval event carries the target beside what was achieved: the open
// model's scheduled and started rates, a staged closed load's workers.
func TestDashboardIntervalCarriesTarget(t *testing.T) {
	d := NewDashboard(8)
	d.Interval(&bench.Snapshot{Scenario: "open", Model: bench.ModelOpen, Length: time.Second, Ops: 99, Target: 100, Achieved: 99.5})
	d.Interval(&bench.Snapshot{Scenario: "closed", Model: bench.ModelClosed, Length: time.Second, Ops: 99, Target: 6, Achieved: 5.9, InFlight: 5.9})
	d.Close()
	srv := serve(t, d.Handler())
	resp, err := http.Get(srv.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`"target_rate":100,"started_rate":99.5`, `"target_workers":6`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("events lack %s:\n%s", want, body)
		}
	}
}
