// Package live shows a run while it happens: a Prometheus /metrics endpoint
// and a live dashboard in the browser, both fed by the engine's interval
// snapshots (bench.Observer), both served on loopback unless told
// otherwise.
package live

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/perfkit/perfkit/bench"
)

// LatencyBuckets are the upper bounds, in seconds, of the latency
// histogram's buckets: 1µs to 60s in 1-2.5-5 steps, wide enough for a cache
// hit and a slow HTTP call alike.
var latencyBuckets = []float64{
	1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
	1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30, 60,
}

// LatencyBuckets returns the bucket bounds of perfkit_latency_seconds.
func LatencyBuckets() []float64 { return slices.Clone(latencyBuckets) }

// Metrics is a bench.Observer that exposes a run in the Prometheus text
// format on a registry of its own (no global state), with these series:
//
//	perfkit_ops_total{scenario,label}              ops completed ("op": all of them)
//	perfkit_errors_total{scenario,kind}            failed ops by kind
//	perfkit_latency_seconds{scenario,label}        latency histogram
//	perfkit_in_flight{scenario}                    mean ops in flight over the last interval
//	perfkit_ops_per_second{scenario}               throughput over the last interval
//	perfkit_target_ops_per_second{scenario}        the open model's target rate
//	perfkit_run{scenario}                          the run in progress (1, 2, ... of --count)
//	perfkit_workload_counter_total{scenario,name}  the workload's counters
//	perfkit_alert_firing{scenario,alert,severity}  1 while an alert rule fires
//
// plus the standard process_* and go_* series of the perfkit process.
// Counters add up every run of a scenario: at the end they equal the sums
// over the result file's runs.
type Metrics struct {
	reg *prometheus.Registry
	c   *collector
}

var _ bench.SetupObserver = (*Metrics)(nil)

// NewMetrics returns a Metrics with its own registry.
func NewMetrics() *Metrics {
	c := &collector{scenarios: map[string]*scenarioSeries{}, alerts: map[alertKey]float64{}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Metrics{reg: reg, c: c}
}

// Handler serves the metrics (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the registry the metrics are in, for tests and embedding.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetupDone declares the scenario's series, at zero, before it is measured.
func (m *Metrics) SetupDone(info *bench.ScenarioInfo) error {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	s := m.c.series(info.Scenario)
	s.labels = opLabels(info.Labels)
	for _, l := range s.labels {
		s.latencyFor(l)
		s.ops[l] += 0
	}
	for _, c := range info.Counters {
		s.counters[c] += 0
	}
	if info.Settings.Rate > 0 {
		s.target = info.Settings.Rate
	}
	return nil
}

// opLabels are the labels ops are counted under: the workload's, and "op"
// for all of them.
func opLabels(labels []string) []string {
	out := []string{bench.OverallKey}
	for _, l := range labels {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// DeclareAlert makes an alert rule's series exist (at 0) before it fires,
// so a PromQL expression on it is never empty.
func (m *Metrics) DeclareAlert(scenario, rule, severity string) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	k := alertKey{scenario, rule, severity}
	if _, ok := m.c.alerts[k]; !ok {
		m.c.alerts[k] = 0
	}
}

// Alert records an alert firing or resolving.
func (m *Metrics) Alert(scenario string, ev bench.AlertEvent) {
	v := 0.0
	if ev.State == bench.AlertFiring {
		v = 1
	}
	m.c.mu.Lock()
	m.c.alerts[alertKey{scenario, ev.Rule, ev.Severity}] = v
	m.c.mu.Unlock()
}

// Interval adds an interval's figures.
func (m *Metrics) Interval(snap *bench.Snapshot) {
	m.c.mu.Lock()
	defer m.c.mu.Unlock()
	s := m.c.series(snap.Scenario)
	if s.labels == nil {
		s.labels = []string{bench.OverallKey}
	}
	s.run = float64(snap.Run + 1)
	s.ops[bench.OverallKey] += float64(snap.Ops)
	for _, l := range s.labels {
		h := snap.Latency[l]
		if h == nil {
			continue
		}
		if l != bench.OverallKey {
			s.ops[l] += float64(h.TotalCount())
		}
		s.latencyFor(l).add(h)
	}
	for k, n := range snap.ErrorsByKind {
		s.errors[k] += float64(n)
	}
	for k, n := range snap.Counters {
		s.counters[k] += float64(n)
	}
	s.inFlight = snap.InFlight
	if snap.Length > 0 {
		s.rate = float64(snap.Ops) / snap.Length.Seconds()
	}
	if snap.Settings.Rate > 0 {
		s.target = snap.Settings.Rate
	}
}

type alertKey struct{ scenario, rule, severity string }

// collector holds the series' values; the engine's snapshots update them
// and scrapes read them, under one lock.
type collector struct {
	mu        sync.Mutex
	scenarios map[string]*scenarioSeries
	alerts    map[alertKey]float64
}

type scenarioSeries struct {
	labels   []string
	ops      map[string]float64
	errors   map[string]float64
	counters map[string]float64
	latency  map[string]*bucketed
	inFlight float64
	rate     float64
	target   float64
	run      float64
}

func (c *collector) series(name string) *scenarioSeries {
	s := c.scenarios[name]
	if s == nil {
		s = &scenarioSeries{ops: map[string]float64{}, errors: map[string]float64{}, counters: map[string]float64{}, latency: map[string]*bucketed{}}
		c.scenarios[name] = s
	}
	return s
}

func (s *scenarioSeries) latencyFor(label string) *bucketed {
	b := s.latency[label]
	if b == nil {
		b = &bucketed{all: bench.NewHistogram()}
		s.latency[label] = b
	}
	return b
}

// bucketed is a cumulative Prometheus histogram built from HDR intervals.
// It keeps their merge and buckets it when scraped: bucketing each interval
// (HDR's Distribution) allocated ~100 KiB a second, garbage that made a
// long run's RSS creep up to the GC's heap goal.
type bucketed struct {
	all   *hdrhistogram.Histogram // every interval merged
	count uint64
	sum   float64 // seconds
}

// add folds an interval's HDR histogram in.
func (b *bucketed) add(h *hdrhistogram.Histogram) {
	n := h.TotalCount()
	if n == 0 {
		return
	}
	b.all.Merge(h)
	b.count += uint64(n)
	b.sum += h.Mean() * float64(n) / 1e9
}

// buckets returns the cumulative count at or under each of latencyBuckets:
// each HDR bucket goes to the first bound at or above its middle value (HDR
// buckets are within 1% of their values); values above the last bound only
// count.
func (b *bucketed) buckets() map[float64]uint64 {
	counts := make([]uint64, len(latencyBuckets))
	for _, bar := range b.all.Distribution() {
		if bar.Count == 0 {
			continue
		}
		v := float64(bar.From+bar.To) / 2 / 1e9
		if i, _ := slices.BinarySearch(latencyBuckets, v); i < len(latencyBuckets) {
			counts[i] += uint64(bar.Count)
		}
	}
	cum := make(map[float64]uint64, len(latencyBuckets))
	var acc uint64
	for i, bound := range latencyBuckets {
		acc += counts[i]
		cum[bound] = acc
	}
	return cum
}

var (
	descOps      = prometheus.NewDesc("perfkit_ops_total", "Ops completed (failed ones included), by workload label; label \"op\" counts all ops.", []string{"scenario", "label"}, nil)
	descErrors   = prometheus.NewDesc("perfkit_errors_total", "Failed ops by error kind.", []string{"scenario", "kind"}, nil)
	descLatency  = prometheus.NewDesc("perfkit_latency_seconds", "Op latency by workload label (open model: from the intended start).", []string{"scenario", "label"}, nil)
	descInFlight = prometheus.NewDesc("perfkit_in_flight", "Mean ops in flight over the last interval.", []string{"scenario"}, nil)
	descRate     = prometheus.NewDesc("perfkit_ops_per_second", "Throughput over the last interval.", []string{"scenario"}, nil)
	descTarget   = prometheus.NewDesc("perfkit_target_ops_per_second", "Target rate of the open model.", []string{"scenario"}, nil)
	descRun      = prometheus.NewDesc("perfkit_run", "The run in progress (1, 2, ... up to --count).", []string{"scenario"}, nil)
	descCounter  = prometheus.NewDesc("perfkit_workload_counter_total", "Counters the workload records (cache hits, bytes).", []string{"scenario", "name"}, nil)
	descAlert    = prometheus.NewDesc("perfkit_alert_firing", "1 while an alert rule fires, else 0.", []string{"scenario", "alert", "severity"}, nil)
)

// Describe sends the descriptors of every series.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOps, descErrors, descLatency, descInFlight, descRate, descTarget, descRun, descCounter, descAlert} {
		ch <- d
	}
}

// Collect sends the current values, scenarios and labels in sorted order.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range sortedKeys(c.scenarios) {
		s := c.scenarios[name]
		for _, l := range sortedKeys(s.ops) {
			ch <- prometheus.MustNewConstMetric(descOps, prometheus.CounterValue, s.ops[l], name, l)
		}
		for _, k := range sortedKeys(s.errors) {
			ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, s.errors[k], name, k)
		}
		for _, l := range sortedKeys(s.latency) {
			b := s.latency[l]
			ch <- prometheus.MustNewConstHistogram(descLatency, b.count, b.sum, b.buckets(), name, l)
		}
		for _, k := range sortedKeys(s.counters) {
			ch <- prometheus.MustNewConstMetric(descCounter, prometheus.CounterValue, s.counters[k], name, k)
		}
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, s.inFlight, name)
		ch <- prometheus.MustNewConstMetric(descRate, prometheus.GaugeValue, s.rate, name)
		ch <- prometheus.MustNewConstMetric(descRun, prometheus.GaugeValue, s.run, name)
		if s.target > 0 {
			ch <- prometheus.MustNewConstMetric(descTarget, prometheus.GaugeValue, s.target, name)
		}
	}
	keys := make([]alertKey, 0, len(c.alerts))
	for k := range c.alerts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return strings.Join([]string{a.scenario, a.rule, a.severity}, "\x00") < strings.Join([]string{b.scenario, b.rule, b.severity}, "\x00")
	})
	for _, k := range keys {
		ch <- prometheus.MustNewConstMetric(descAlert, prometheus.GaugeValue, c.alerts[k], k.scenario, k.rule, k.severity)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
