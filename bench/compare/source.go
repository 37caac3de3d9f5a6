// Package compare turns two sets of runs — perfkit results or `go test
// -bench` output — into per scenario × metric samples and lets bench/stats
// decide each: the library behind `perfkit compare`. It matches scenarios by
// name, leaves invalid runs out (but for the error rate, and a new side
// with invalid runs is a verdict of its own), lists scenarios found on one side only, and
// warns when the two were measured on different machines.
package compare

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/stats"
)

// Format is what a source was read from.
type Format string

// Formats of a source.
const (
	// Perfkit is a perfkit result file (schema_version 1).
	Perfkit Format = "perfkit"
	// GoBench is `go test -bench` output, read with
	// golang.org/x/perf/benchfmt.
	GoBench Format = "gobench"
)

// Metric describes a measured quantity: how to show it, which way is
// better, and the change that counts by default.
type Metric struct {
	Name string
	// Unit is "ns", "ops/s", "fraction", "B", or a Go benchmark unit
	// ("sec/op", "B/op", "allocs/op", custom).
	Unit      string
	Better    stats.Direction
	Threshold stats.Threshold
	// Own marks perfkit's own costs (cpu_per_op, alloc_per_op): figures of
	// perfkit's process, which measure the system under test only when it
	// runs in that process (see Options.GateOwnMetrics).
	Own bool
}

// Run is one sample unit: the values one run measured, by metric name.
type Run struct {
	// Where names the run in messages: "run 3", "bench.txt:12".
	Where string
	// Valid is false when the run's numbers cannot be trusted (docs/design.md,
	// "Validity"); Reasons say why.
	Valid bool
	// Invalid says the run itself was marked invalid (over the error bound,
	// schedule lag...); a run that is only partial, cut short by a stop, is
	// not Valid but not Invalid either.
	Invalid bool
	// Partial says the run was cut short by a stop (a signal, an alert).
	Partial bool
	Reasons []string
	Values  map[string]float64
}

// Scenario is the runs of one scenario (a Go benchmark, for Go input).
type Scenario struct {
	Name string
	// Setup is how the scenario was driven (workload, model, concurrency,
	// params), compared across sides to warn about unlike runs.
	Setup map[string]string
	// Target is where the system under test ran: bench.TargetInProcess or
	// bench.TargetExternal ("" for Go benchmarks: in-process).
	Target string
	Runs   []Run
	// Profiles are the pprof profiles attached to a perfkit scenario (kind
	// → path), which can explain a regression.
	Profiles map[string]string
}

// Source is one side of a comparison.
type Source struct {
	// Label names the source in messages: a path, or "baseline NAME".
	Label  string
	Format Format
	Env    bench.Env
	// Metrics are those any scenario measured, in the order tables show them.
	Metrics   []Metric
	Scenarios []Scenario
	// Warnings are about reading the source (a unit of unknown direction).
	Warnings []string
	// Labelled are the per-label metrics the runs hold values of
	// (p99{login}), compared only when a threshold names one (labels.go).
	Labelled []Metric
}

// Load reads a perfkit result or Go benchmark text from path, telling them
// apart by content. Errors name the file (and line, where there is one).
func Load(path string) (*Source, error) { return LoadFiltered(path, nil) }

// LoadFiltered is Load keeping only what f matches (nil: everything).
func LoadFiltered(path string, f *Filter) (*Source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	src, err := DecodeFiltered(data, path, f)
	if err != nil {
		var located interface{ Pos() (string, int) }
		if errors.As(err, &located) {
			return nil, err // already "path:line: ..."
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return src, nil
}

// Decode reads a perfkit result (JSON, starting with "{") or Go benchmark
// text, either after a UTF-8 byte order mark. name labels the source and
// positions Go syntax errors.
func Decode(data []byte, name string) (*Source, error) { return DecodeFiltered(data, name, nil) }

// DecodeFiltered is Decode keeping only the benchmarks, scenarios and
// units f matches (nil: everything).
func DecodeFiltered(data []byte, name string, f *Filter) (*Source, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // a UTF-8 BOM some editors add
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty file: expected a perfkit result or `go test -bench` output")
	}
	if trimmed[0] == '{' {
		r, err := bench.DecodeResult(data)
		if err != nil {
			return nil, err
		}
		return FilterSource(FromResult(r, name), f)
	}
	return decodeGoBench(data, name, f)
}

// Perfkit metric names. P999 is written "p99.9"; thresholds also accept
// "p999", the result file's spelling.
const (
	Throughput = "throughput"
	P50        = "p50"
	P90        = "p90"
	P99        = "p99"
	P999       = "p99.9"
	ErrorRate  = "error_rate"
	CPUPerOp   = "cpu_per_op"
	AllocPerOp = "alloc_per_op"
)

// PerfkitMetrics returns the metrics of a perfkit result with their default
// thresholds (issue "Compare": throughput and p50 5%, p90 and p99 10%, p99.9
// 20%, error rate +0.5 percentage points; CPU and allocations per op 10%).
// CPU and allocations per op are perfkit's own (Metric.Own).
func PerfkitMetrics() []Metric {
	return []Metric{
		{Name: Throughput, Unit: "ops/s", Better: stats.HigherIsBetter, Threshold: stats.Percent(5)},
		{Name: P50, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(5)},
		{Name: P90, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(10)},
		{Name: P99, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(10)},
		{Name: P999, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(20)},
		{Name: ErrorRate, Unit: "fraction", Better: stats.LowerIsBetter, Threshold: stats.Points(0.5)},
		{Name: CPUPerOp, Unit: "ns", Better: stats.LowerIsBetter, Threshold: stats.Percent(10), Own: true},
		{Name: AllocPerOp, Unit: "B", Better: stats.LowerIsBetter, Threshold: stats.Percent(10), Own: true},
	}
}

// primaryLabel is the latency key every op is recorded under.
const primaryLabel = "op"

// FromResult extracts the samples of a perfkit result: per run, throughput,
// the "op" latency percentiles, the error rate, and CPU time and bytes
// allocated per op when the run recorded resources.
func FromResult(r *bench.Result, label string) *Source {
	src := &Source{Label: label, Format: Perfkit, Env: r.Env}
	present := map[string]bool{}
	for _, sr := range r.Scenarios {
		sc := Scenario{Name: sr.Name, Setup: setup(sr), Target: bench.TargetOf(&sr), Profiles: sr.Profiles}
		for i, run := range sr.Runs {
			rn := Run{Where: fmt.Sprintf("run %d", i+1), Valid: run.Valid && !run.Partial, Invalid: !run.Valid, Partial: run.Partial, Values: map[string]float64{}}
			rn.Reasons = slices.Clone(run.InvalidReasons)
			if !run.Valid && len(rn.Reasons) == 0 {
				rn.Reasons = []string{"marked invalid"}
			}
			if run.Partial {
				rn.Reasons = append(rn.Reasons, "partial ("+sr.PartialReason()+")")
			}
			rn.Values[Throughput] = run.Throughput
			rn.Values[ErrorRate] = run.ErrorRate
			if l, ok := run.Latency[primaryLabel]; ok && l.Count > 0 {
				rn.Values[P50] = float64(l.P50Ns)
				rn.Values[P90] = float64(l.P90Ns)
				rn.Values[P99] = float64(l.P99Ns)
				rn.Values[P999] = float64(l.P999Ns)
			}
			if run.Ops > 0 {
				ops := float64(run.Ops)
				if cpu := run.Resources.CPUUserS + run.Resources.CPUSysS; cpu > 0 {
					rn.Values[CPUPerOp] = cpu / ops * 1e9
				}
				if a := run.Resources.AllocBytes; a > 0 {
					rn.Values[AllocPerOp] = float64(a) / ops
				}
			}
			for k := range rn.Values {
				present[k] = true
			}
			for _, m := range labelledValues(&sr, &run, rn.Values) {
				if !slices.ContainsFunc(src.Labelled, func(o Metric) bool { return o.Name == m.Name }) {
					src.Labelled = append(src.Labelled, m)
				}
			}
			sc.Runs = append(sc.Runs, rn)
		}
		src.Scenarios = append(src.Scenarios, sc)
	}
	for _, m := range PerfkitMetrics() {
		if present[m.Name] {
			src.Metrics = append(src.Metrics, m)
		}
	}
	return src
}

// setup is what must match for two scenarios' runs to be comparable.
func setup(sr bench.ScenarioResult) map[string]string {
	s := sr.Settings
	m := map[string]string{
		"workload":    sr.Workload,
		"model":       string(sr.Model),
		"concurrency": fmt.Sprint(s.Concurrency),
	}
	if s.Rate > 0 {
		m["rate"] = fmt.Sprint(s.Rate)
	}
	if s.Iterations > 0 {
		m["iterations"] = fmt.Sprint(s.Iterations)
	} else {
		m["duration"] = s.Duration.String()
	}
	for k, v := range sr.Params {
		m["params."+k] = fmt.Sprint(v)
	}
	return m
}

// runs counts the runs of every scenario.
func (s *Source) runs() int {
	n := 0
	for _, sc := range s.Scenarios {
		n += len(sc.Runs)
	}
	return n
}

func (s *Source) scenario(name string) *Scenario {
	for i := range s.Scenarios {
		if s.Scenarios[i].Name == name {
			return &s.Scenarios[i]
		}
	}
	return nil
}

func (s *Source) metric(name string) (Metric, bool) {
	for _, m := range s.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}
