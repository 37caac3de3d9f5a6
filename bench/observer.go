package bench

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Observer sees a run while it happens: progress lines, alert rules, the
// /metrics endpoint and the dashboard are observers. Interval is called from
// the engine's collector goroutine, once per measured interval of every run
// (the warmup is not observed), in order; it must return quickly (hand slow
// work to a goroutine of its own).
type Observer interface {
	Interval(s *Snapshot)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(*Snapshot)

// Interval calls f(s).
func (f ObserverFunc) Interval(s *Snapshot) { f(s) }

var _ Observer = ObserverFunc(nil)

// SetupObserver is an Observer that learns what a scenario records (its
// labels, phases and counters) once the workload is set up and before the
// warmup. An error stops the scenario before anything is measured: Run
// returns it as a *CheckError. Alert rules use it to refuse a rule on a label
// or counter the workload does not produce.
type SetupObserver interface {
	Observer
	SetupDone(info *ScenarioInfo) error
}

// ScenarioInfo describes a scenario about to be measured. Observers must not
// modify it.
type ScenarioInfo struct {
	Scenario string
	Workload string
	Model    Model
	Settings Settings
	Labels   []string
	Phases   []string
	Counters []string
	// LatencyKeys are the keys of Snapshot.Latency and RunResult.Latency:
	// labels, phases, OverallKey, and in the open model the service times
	// and LagKey.
	LatencyKeys []string
}

// CheckError is a scenario that a SetupObserver refused: the run's
// configuration does not fit what the workload records. Nothing was
// measured; cmd maps it to exit code 2.
type CheckError struct {
	Scenario string
	Err      error
}

func (e *CheckError) Error() string { return "scenario " + e.Scenario + ": " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// Snapshot is one interval of a run, as the observers see it. Everything in it
// belongs to the observers: the engine does not touch it after the call, and
// observers must not modify it (several share it).
type Snapshot struct {
	Scenario string
	Workload string
	Model    Model
	// Run is the run's index (0 ≤ Run < Settings.Count).
	Run      int
	Settings Settings
	// Final is true for the last snapshot of a run (possibly shorter than an
	// interval).
	Final bool
	// Point is this interval as the run's time series records it
	// (RunResult.Intervals): streams write it as it is, so a streamed line
	// and the result file's record of the same interval agree.
	Point IntervalSummary
	// Start is when the interval began; T its offset from the measured start;
	// Length its length.
	Start  time.Time
	T      time.Duration
	Length time.Duration

	// The interval's own figures.
	Ops          int64
	Errors       int64
	ErrorsByKind map[string]int64
	Counters     map[string]int64
	// Latency holds the interval's histogram per label, phase and service
	// time, keyed as in RunResult.Latency. The engine reuses them: they
	// hold this interval until the next snapshot's Interval call returns;
	// an observer that keeps them longer must copy them.
	Latency map[string]*hdrhistogram.Histogram
	// InFlight is the mean number of ops in flight over the interval (the
	// sum of service times over the interval's length: Little's law).
	InFlight float64
	// Target and Achieved are the interval's as in IntervalSummary: the
	// scheduled and started rates (open model) or, for a staged closed
	// load, the active workers and ops in flight; 0 when not recorded.
	Target, Achieved float64

	// Resources are what the perfkit process used during the interval (CPU,
	// GC, allocations); MaxRSSBytes is the peak since the measured start.
	Resources Resources
	// RSSBytes is the process's resident set at the end of the interval
	// (Linux; elsewhere the peak).
	RSSBytes int64

	// Totals of the measured part of the run so far.
	TotalOps    int64
	TotalErrors int64
	// Elapsed is the measured time so far.
	Elapsed time.Duration
}
