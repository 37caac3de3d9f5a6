package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// SchemaVersion is the version of the result file format this build writes
// and the only one it reads.
const SchemaVersion = 1

// Result is the whole outcome of `perfkit run`: what ran, where, and what it
// measured. It is the file format (docs/design.md, "The result file").
type Result struct {
	SchemaVersion int       `json:"schema_version"`
	ID            string    `json:"id"`
	CreatedAt     time.Time `json:"created_at"`
	// SavedAt is when the result was saved as a baseline (zero otherwise):
	// listings show it rather than the file's time, which a copy changes.
	SavedAt   time.Time        `json:"saved_at,omitzero"`
	Partial   bool             `json:"partial"`
	Env       Env              `json:"env"`
	Scenarios []ScenarioResult `json:"scenarios"`
}

// ScenarioResult holds the runs of one scenario.
type ScenarioResult struct {
	Name     string         `json:"name"`
	Workload string         `json:"workload"`
	Model    Model          `json:"model"`
	Params   map[string]any `json:"params"`
	Settings Settings       `json:"settings"`
	// Labels are the workload's labels: the keys of each run's latency that
	// split its ops ("op" holds all of them); Phases are its sub-phase
	// timings. Other latency keys are "<label>.service" and "schedule_lag"
	// (open model).
	Labels []string `json:"labels"`
	Phases []string `json:"phases,omitempty"`
	Notes  []string `json:"notes,omitempty"`
	// Target is where the system under test ran: TargetInProcess or
	// TargetExternal (the workload's Setup.External). Results written
	// before it existed lack it; TargetOf infers it.
	Target   string            `json:"target,omitempty"`
	Partial  bool              `json:"partial,omitempty"`
	Runs     []RunResult       `json:"runs"`
	Profiles map[string]string `json:"profiles,omitempty"`
	// Sweep is set when this scenario is one step of a sweep (perfkit run
	// --sweep): the step is a scenario of its own, so compare and reports
	// treat it like any other, and this says which sweep it belongs to.
	Sweep *SweepStep `json:"sweep,omitempty"`
	// Search is set when this scenario is one step of a capacity search
	// (perfkit run --find-max-rate), like Sweep for a sweep.
	Search *SearchStep `json:"search,omitempty"`
	// Shard is set on the result of one shard of a sharded run (perfkit run
	// --shard I/N); Settings are the whole load's. perfkit merge combines
	// the shards into a result without it.
	Shard *Shard `json:"shard,omitempty"`
	// MissingShards are the shards a merge with --allow-partial did not
	// have: why the scenario (and its runs) are partial.
	MissingShards []Shard `json:"missing_shards,omitempty"`
	// Alerts are the live alert rules' firings and resolutions, in order;
	// Thresholds the end-of-run checks (the scenario's alerts: and
	// thresholds: in perfkit.yaml).
	Alerts     []AlertEvent      `json:"alerts,omitempty"`
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
}

// Where the system under test of a scenario runs (ScenarioResult.Target).
const (
	// TargetInProcess: the component under test is code in perfkit's own
	// process (an executor, a cache manager, a pool, an embedded server),
	// so perfkit's CPU and allocations per op measure it.
	TargetInProcess = "in-process"
	// TargetExternal: the system under test runs outside perfkit's process,
	// so perfkit's CPU and allocations per op are the load generator's own.
	TargetExternal = "external"
)

// TargetOf is where s's system under test ran: s.Target when recorded,
// else inferred from the workload and params of a result written before
// the field existed (fetch given a url or a targets file, agents of kind
// exec: external; anything else: in-process).
func TargetOf(s *ScenarioResult) string {
	if s.Target != "" {
		return s.Target
	}
	switch s.Workload {
	case "fetch":
		if nonEmpty(s.Params["url"]) || nonEmpty(s.Params["targets"]) {
			return TargetExternal
		}
	case "agents":
		if k, _ := s.Params["kind"].(string); k == "exec" {
			return TargetExternal
		}
	}
	return TargetInProcess
}

// nonEmpty reports whether a recorded param holds a value: a non-empty
// string or list.
func nonEmpty(v any) bool {
	switch t := v.(type) {
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case []string:
		return len(t) > 0
	}
	return false
}

// SweepStep places a scenario result in a sweep: scenario Base run with Param
// set to Value, the Index-th (from 0) of the values given.
type SweepStep struct {
	// Param is the run setting ("concurrency", "rate") or workload param
	// the sweep varies.
	Param string `json:"param"`
	// Value is the step's value as given on the command line or in the
	// config file (redacted like the param).
	Value string `json:"value"`
	// Base is the name of the scenario that was swept.
	Base  string `json:"base"`
	Index int    `json:"index"`
}

// RunResult is one independent run: the sample unit of compare.
type RunResult struct {
	Index          int                       `json:"index"`
	StartedAt      time.Time                 `json:"started_at"`
	ElapsedNs      int64                     `json:"elapsed_ns"`
	Ops            int64                     `json:"ops"`
	Errors         int64                     `json:"errors"`
	ErrorRate      float64                   `json:"error_rate"`
	Throughput     float64                   `json:"throughput"`
	Valid          bool                      `json:"valid"`
	InvalidReasons []string                  `json:"invalid_reasons"`
	Partial        bool                      `json:"partial,omitempty"`
	Latency        map[string]LatencySummary `json:"latency"`
	ErrorsByKind   map[string]int64          `json:"errors_by_kind"`
	Counters       map[string]int64          `json:"counters"`
	Derived        map[string]float64        `json:"derived,omitempty"`
	Schedule       *ScheduleStats            `json:"schedule,omitempty"`
	Intervals      []IntervalSummary         `json:"intervals"`
	Resources      Resources                 `json:"resources"`
	// Contention is how busy the machine was (Linux; absent elsewhere).
	Contention   *Contention `json:"contention,omitempty"`
	AbandonedOps int64       `json:"abandoned_ops,omitempty"` // in flight past the grace, never returned (also canceled errors)
}

// ScheduleStats describe how well the open model kept its schedule.
type ScheduleStats struct {
	TargetRate   float64 `json:"target_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	// Late ops started more than LateThreshold after their intended start.
	Late int64 `json:"late"`
	// Dropped ops were due in the measured window but never started.
	Dropped int64 `json:"dropped"`
	// GeneratorLate ops were started late while a worker was free: perfkit
	// itself fell behind, not the target.
	GeneratorLate int64 `json:"generator_late"`
	LagP99Ns      int64 `json:"lag_p99_ns"`
	LagMaxNs      int64 `json:"lag_max_ns"`
	// WorkersStarted is how many workers the run started: the open model
	// starts one only when a slot is due and none is free, so this is
	// about the peak of ops in flight, at most the cap (-c).
	WorkersStarted int `json:"workers_started,omitempty"`
}

// LatencySummary summarises one histogram; Hdr is the histogram itself,
// compressed and base64-encoded, so percentiles can be recomputed and shards
// merged exactly.
type LatencySummary struct {
	Count    int64   `json:"count"`
	MinNs    int64   `json:"min_ns"`
	MeanNs   float64 `json:"mean_ns"`
	StddevNs float64 `json:"stddev_ns"`
	P50Ns    int64   `json:"p50_ns"`
	P90Ns    int64   `json:"p90_ns"`
	P95Ns    int64   `json:"p95_ns"`
	P99Ns    int64   `json:"p99_ns"`
	P999Ns   int64   `json:"p999_ns"`
	MaxNs    int64   `json:"max_ns"`
	Hdr      string  `json:"hdr"`
}

// IntervalSummary is one point of a run's time series.
type IntervalSummary struct {
	TMs    int64 `json:"t_ms"`
	Ops    int64 `json:"ops"`
	Errors int64 `json:"errors"`
	P50Ns  int64 `json:"p50_ns"`
	P99Ns  int64 `json:"p99_ns"`
	// Target is what the load asked of the interval and Achieved what it
	// got: in the open model, the scheduled rate (ops/s, its mean over the
	// interval for a staged load) and the rate of ops started; in a closed
	// staged load, the mean number of active workers and the mean number of
	// ops in flight. Absent in a closed load without stages and in results
	// written before they existed.
	Target   float64 `json:"target,omitempty"`
	Achieved float64 `json:"achieved,omitempty"`
	// Late and GeneratorLate count the interval's ops that started over
	// LateThreshold late, and those among them late while a worker was
	// free (open model), so the schedule's lag is judged stage by stage.
	Late          int64 `json:"late,omitempty"`
	GeneratorLate int64 `json:"generator_late,omitempty"`
}

// Resources are what the perfkit process used during a run.
type Resources struct {
	CPUUserS       float64 `json:"cpu_user_s"`
	CPUSysS        float64 `json:"cpu_sys_s"`
	MaxRSSBytes    int64   `json:"max_rss_bytes"`
	GCCount        uint32  `json:"gc_count"`
	GCPauseTotalNs uint64  `json:"gc_pause_total_ns"`
	AllocBytes     uint64  `json:"alloc_bytes"`
}

// Summarize computes a LatencySummary of h.
func Summarize(h *hdrhistogram.Histogram) LatencySummary {
	s := LatencySummary{Count: h.TotalCount()}
	if s.Count > 0 {
		s.MinNs = h.Min()
		s.MeanNs = h.Mean()
		s.StddevNs = h.StdDev()
		s.P50Ns = h.ValueAtQuantile(50)
		s.P90Ns = h.ValueAtQuantile(90)
		s.P95Ns = h.ValueAtQuantile(95)
		s.P99Ns = h.ValueAtQuantile(99)
		s.P999Ns = h.ValueAtQuantile(99.9)
		s.MaxNs = h.Max()
	}
	if enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		s.Hdr = string(enc)
	}
	return s
}

// Histogram decodes the summary's HDR histogram.
func (s LatencySummary) Histogram() (*hdrhistogram.Histogram, error) {
	if s.Hdr == "" {
		return nil, errors.New("no histogram recorded")
	}
	return hdrhistogram.Decode([]byte(s.Hdr))
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteFile writes r to path atomically: a temporary file in the same
// directory, fsynced, then renamed over path. A failed write leaves nothing.
func (r *Result) WriteFile(path string) error {
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		return err
	}
	return WriteFileAtomic(path, buf.Bytes())
}

// ReadResult reads and validates a result file. Errors name the file.
func ReadResult(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := DecodeResult(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// DecodeResult parses and validates a result document. A UTF-8 byte order
// mark (some Windows editors add one) is skipped.
func DecodeResult(data []byte) (*Result, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	var probe struct {
		SchemaVersion *int `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a perfkit result: %w", jsonErr(data, err))
	}
	if probe.SchemaVersion == nil {
		return nil, errors.New("not a perfkit result: no schema_version")
	}
	if *probe.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("schema_version %d is not supported (this perfkit reads %d)", *probe.SchemaVersion, SchemaVersion)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("malformed result: %w", jsonErr(data, err))
	}
	for i, s := range r.Scenarios {
		if s.Name == "" {
			return nil, fmt.Errorf("malformed result: scenario %d has no name", i)
		}
		for j, run := range s.Runs {
			if run.Ops < 0 || run.Errors < 0 || run.Errors > run.Ops || run.ElapsedNs < 0 {
				return nil, fmt.Errorf("malformed result: scenario %s run %d: inconsistent ops/errors/elapsed", s.Name, j)
			}
			if err := checkHistograms(run); err != nil {
				return nil, fmt.Errorf("malformed result: scenario %s run %d: %w", s.Name, j, err)
			}
		}
	}
	return &r, nil
}

// utf8BOM is the UTF-8 encoding of U+FEFF.
var utf8BOM = []byte("\ufeff")

// checkHistograms decodes every recorded histogram of run, so a corrupt hdr
// is refused when the file is read, by every command alike (merge needs
// them; compare and report would otherwise use the summaries beside them
// silently).
func checkHistograms(run RunResult) error {
	labels := make([]string, 0, len(run.Latency))
	for label := range run.Latency {
		labels = append(labels, label)
	}
	slices.Sort(labels)
	for _, label := range labels {
		ls := run.Latency[label]
		if ls.Hdr == "" {
			continue
		}
		if _, err := ls.Histogram(); err != nil {
			return fmt.Errorf("latency %s: hdr is not a valid histogram: %w", label, err)
		}
	}
	return nil
}

// jsonErr adds the line of a JSON syntax or type error.
func jsonErr(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	return fmt.Errorf("line %d: %w", line, err)
}
