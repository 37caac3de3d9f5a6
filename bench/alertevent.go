package bench

import "time"

// Alert states of an AlertEvent.
const (
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// Units of AlertEvent and ThresholdResult values: the metric's base unit, so
// a reader can format a value without parsing the expression.
const (
	UnitNanoseconds = "ns"      // latency percentiles, mean, max
	UnitPerSecond   = "ops/s"   // throughput, or a counter's rate
	UnitRatio       = "ratio"   // error_rate, cpu (share of GOMAXPROCS): 0..1
	UnitBytes       = "bytes"   // rss
	UnitCount       = "count"   // a counter over the window or the run
	UnitCountPerSec = "count/s" // a counter's rate ("l2_miss > 100/s")
)

// AlertEvent is a live alert rule changing state during a run: it fired (its
// condition held over its window for its `for`) or resolved (the condition
// cleared, or the run ended while it was firing). A rule fires once per
// episode.
type AlertEvent struct {
	Rule     string `json:"rule"`
	Expr     string `json:"expr"`
	Severity string `json:"severity"`
	// State is AlertFiring or AlertResolved.
	State string `json:"state"`
	// Run is the index of the run it happened in; TMs the end of the
	// interval that changed the state, from the run's measured start.
	Run  int       `json:"run"`
	TMs  int64     `json:"t_ms"`
	Time time.Time `json:"time"`
	// Value is the metric over the rule's window when the state changed,
	// Threshold the bound of the expression, both in Unit.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Unit      string  `json:"unit"`
	Message   string  `json:"message,omitempty"`
	// Abort is set when the rule stops the run as it fires.
	Abort bool `json:"abort,omitempty"`
	// Reason says why a resolution came: "cleared" or "run ended".
	Reason string `json:"reason,omitempty"`
}

// ThresholdResult is an end-of-run threshold (k6 style) checked over a whole
// scenario: every run's ops together.
type ThresholdResult struct {
	Expr   string `json:"expr"`
	Passed bool   `json:"passed"`
	// Value is the metric over the scenario, in Unit.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Note says why a threshold failed without a value (nothing recorded).
	Note string `json:"note,omitempty"`
}
