package live

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// The dashboard's page, script and styles, with uPlot (MIT, see
// assets/uplot/LICENSE) for the charts: everything is served from the
// binary, so the page works offline.
//
//go:embed assets
var assets embed.FS

// Dashboard defaults.
const (
	// DefaultHistory is how many events the dashboard keeps for browsers
	// that connect late or reconnect: an hour of one-second intervals.
	DefaultHistory = 4096
	// clientBuffer is how many events may wait for a slow browser before
	// it is disconnected (it reconnects and catches up from the history).
	clientBuffer = 256
	keepAlive    = 15 * time.Second
)

// Dashboard is a bench.Observer that serves a live page of a run:
// throughput, latency percentiles, errors by kind, ops in flight, perfkit's
// CPU and memory, and alerts, per scenario, updated every interval over
// server-sent events (GET /events). Observing never blocks on a browser: a
// browser that falls behind is disconnected and catches up when it
// reconnects.
type Dashboard struct {
	procs   int
	history int

	mu      sync.Mutex
	seq     int64
	events  []event // the last history events
	clients map[*client]struct{}
	closed  bool
}

var _ bench.SetupObserver = (*Dashboard)(nil)

type event struct {
	id   int64
	name string
	data []byte
}

type client struct {
	ch chan event
}

// NewDashboard returns a Dashboard keeping history events for late
// browsers (≤ 0: DefaultHistory).
func NewDashboard(history int) *Dashboard {
	if history <= 0 {
		history = DefaultHistory
	}
	return &Dashboard{procs: runtime.GOMAXPROCS(0), history: history, clients: map[*client]struct{}{}}
}

// scenarioEvent announces a scenario about to be measured.
type scenarioEvent struct {
	Scenario    string   `json:"scenario"`
	Workload    string   `json:"workload"`
	Model       string   `json:"model"`
	Labels      []string `json:"labels"`
	Counters    []string `json:"counters"`
	Concurrency int      `json:"concurrency"`
	Rate        float64  `json:"rate"`
	DurationMs  int64    `json:"duration_ms"`
	Iterations  int64    `json:"iterations"`
	Count       int      `json:"count"`
	IntervalMs  int64    `json:"interval_ms"`
	Stages      string   `json:"stages,omitempty"`
}

// IntervalEvent is the data of an "interval" event: one interval of a run.
type IntervalEvent struct {
	Scenario string `json:"scenario"`
	Run      int    `json:"run"`
	Final    bool   `json:"final"`
	// TMs is the interval's start from the run's measured start; AtMs its
	// end in Unix milliseconds.
	TMs        int64   `json:"t_ms"`
	LengthMs   int64   `json:"length_ms"`
	AtMs       int64   `json:"at_ms"`
	Ops        int64   `json:"ops"`
	Errors     int64   `json:"errors"`
	Throughput float64 `json:"throughput"`
	P50Ns      int64   `json:"p50_ns"`
	P90Ns      int64   `json:"p90_ns"`
	P99Ns      int64   `json:"p99_ns"`
	MaxNs      int64   `json:"max_ns"`
	InFlight   float64 `json:"in_flight"`
	// TargetRate and StartedRate are the open model's scheduled and
	// started ops/s; TargetWorkers a staged closed load's active workers.
	TargetRate    float64                 `json:"target_rate,omitempty"`
	StartedRate   float64                 `json:"started_rate,omitempty"`
	TargetWorkers float64                 `json:"target_workers,omitempty"`
	ErrorsByKind  map[string]int64        `json:"errors_by_kind"`
	Counters      map[string]int64        `json:"counters"`
	CPU           float64                 `json:"cpu"` // share of GOMAXPROCS
	RSSBytes      int64                   `json:"rss_bytes"`
	TotalOps      int64                   `json:"total_ops"`
	TotalErrors   int64                   `json:"total_errors"`
	ElapsedMs     int64                   `json:"elapsed_ms"`
	Labels        map[string]labelFigures `json:"labels,omitempty"`
}

type labelFigures struct {
	Count int64 `json:"count"`
	P50Ns int64 `json:"p50_ns"`
	P99Ns int64 `json:"p99_ns"`
}

type alertEvent struct {
	Scenario string `json:"scenario"`
	bench.AlertEvent
}

// SetupDone announces the scenario to the browsers.
func (d *Dashboard) SetupDone(info *bench.ScenarioInfo) error {
	s := info.Settings
	d.publish("scenario", scenarioEvent{
		Scenario: info.Scenario, Workload: info.Workload, Model: string(info.Model),
		Labels: info.Labels, Counters: info.Counters,
		Concurrency: s.Concurrency, Rate: s.Rate, DurationMs: s.Duration.Milliseconds(), Iterations: s.Iterations,
		Count: s.Count, IntervalMs: s.Interval.Milliseconds(), Stages: s.Stages,
	})
	return nil
}

// Interval publishes one "interval" event.
func (d *Dashboard) Interval(s *bench.Snapshot) {
	ev := IntervalEvent{
		Scenario: s.Scenario, Run: s.Run, Final: s.Final,
		TMs: s.T.Milliseconds(), LengthMs: s.Length.Milliseconds(), AtMs: s.Start.Add(s.Length).UnixMilli(),
		Ops: s.Ops, Errors: s.Errors, InFlight: s.InFlight,
		ErrorsByKind: s.ErrorsByKind, Counters: s.Counters,
		RSSBytes: s.RSSBytes, TotalOps: s.TotalOps, TotalErrors: s.TotalErrors, ElapsedMs: s.Elapsed.Milliseconds(),
	}
	if s.Model == bench.ModelOpen {
		ev.TargetRate, ev.StartedRate = s.Target, s.Achieved
	} else {
		ev.TargetWorkers = s.Target
	}
	if s.Length > 0 {
		ev.Throughput = float64(s.Ops) / s.Length.Seconds()
		ev.CPU = (s.Resources.CPUUserS + s.Resources.CPUSysS) / s.Length.Seconds() / float64(d.procs)
	}
	if h := s.Latency[bench.OverallKey]; h != nil && h.TotalCount() > 0 {
		ev.P50Ns, ev.P90Ns, ev.P99Ns, ev.MaxNs = h.ValueAtQuantile(50), h.ValueAtQuantile(90), h.ValueAtQuantile(99), h.Max()
	}
	for k, h := range s.Latency {
		if k == bench.OverallKey || h == nil || h.TotalCount() == 0 {
			continue
		}
		if ev.Labels == nil {
			ev.Labels = map[string]labelFigures{}
		}
		ev.Labels[k] = labelFigures{Count: h.TotalCount(), P50Ns: h.ValueAtQuantile(50), P99Ns: h.ValueAtQuantile(99)}
	}
	d.publish("interval", ev)
}

// Alert publishes an alert firing or resolving.
func (d *Dashboard) Alert(scenario string, ev bench.AlertEvent) {
	d.publish("alert", alertEvent{Scenario: scenario, AlertEvent: ev})
}

// Close tells the browsers the run is over ("done") and ends their streams;
// the page keeps what it shows.
func (d *Dashboard) Close() {
	d.publish("done", struct{}{})
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for c := range d.clients {
		close(c.ch)
		delete(d.clients, c)
	}
}

func (d *Dashboard) publish(name string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return // unreachable: the events are plain data
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.seq++
	ev := event{id: d.seq, name: name, data: data}
	if len(d.events) == d.history {
		copy(d.events, d.events[1:])
		d.events = d.events[:d.history-1]
	}
	d.events = append(d.events, ev)
	for c := range d.clients {
		select {
		case c.ch <- ev:
		default: // too slow: it reconnects and catches up
			close(c.ch)
			delete(d.clients, c)
		}
	}
}

// Handler serves the page (/), its assets (/assets/) and the event stream
// (/events).
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", files))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page, err := fs.ReadFile(static, "index.html")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.HandleFunc("GET /events", d.serveEvents)
	return securityHeaders(mux)
}

// securityHeaders: the page loads nothing but its own files.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// serveEvents streams the history after Last-Event-ID, then every new
// event, until the run ends or the browser leaves.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	last, _ := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	c := &client{ch: make(chan event, clientBuffer)}
	d.mu.Lock()
	var backlog []event
	for _, ev := range d.events {
		if ev.id > last {
			backlog = append(backlog, ev)
		}
	}
	closed := d.closed
	if !closed {
		d.clients[c] = struct{}{}
	}
	d.mu.Unlock()
	defer d.drop(c)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 1000\n\n")
	for _, ev := range backlog {
		if writeEvent(w, ev) != nil {
			return
		}
	}
	if rc.Flush() != nil || closed {
		return
	}
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		select {
		case ev, ok := <-c.ch:
			if !ok {
				return
			}
			if writeEvent(w, ev) != nil {
				return
			}
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

func (d *Dashboard) drop(c *client) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.clients[c]; ok {
		delete(d.clients, c)
		close(c.ch)
	}
}

func writeEvent(w http.ResponseWriter, ev event) error {
	_, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.id, ev.name, ev.data)
	return err
}
