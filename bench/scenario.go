package bench

import (
	"math"
	"time"
)

// Model is a load model.
type Model string

// Load models (docs/design.md, "Load models").
const (
	// ModelClosed runs Concurrency workers op after op: latency is service time.
	ModelClosed Model = "closed"
	// ModelOpen starts ops on a schedule of intended start times, independent of
	// how long earlier ops took; latency is measured from the intended start.
	ModelOpen Model = "open"
)

// Arrival processes of the open model.
const (
	ArrivalConstant = "constant"
	ArrivalPoisson  = "poisson"
)

// Defaults of the run settings (docs/design.md, "Run flags").
const (
	DefaultConcurrency  = 8
	DefaultDuration     = 10 * time.Second
	DefaultWarmup       = time.Second
	DefaultCount        = 1
	DefaultTimeout      = 10 * time.Second
	DefaultInterval     = time.Second
	DefaultMaxErrorRate = 0.10
	DefaultArrival      = ArrivalConstant
	// DefaultMaxLate is the share of ops perfkit may start over
	// LateThreshold late (a worker free) before a run is invalid. A
	// generator that cannot keep up falls further behind with every op, so
	// its share climbs to tens of percent within a second and its achieved
	// rate drops too; a busy machine delaying a few wake-ups makes 1-2%
	// (seen at 400-2,000/s with 2-3% perfkit CPU), which the lag figures
	// and the latencies from the intended start already show. 5% keeps
	// clear of the second and far below the first.
	DefaultMaxLate = 0.05

	// DefaultGrace is how long ops still in flight at the end of the measured
	// window (or at a stop) may run on before they are cancelled: long
	// enough for a healthy op to finish, short enough that Ctrl-C feels
	// prompt.
	DefaultGrace = 5 * time.Second
)

// Settings are how a scenario is run. The JSON names are the long flag names
// and config keys.
type Settings struct {
	Concurrency int           `json:"concurrency"`
	Rate        float64       `json:"rate"`
	Arrival     string        `json:"arrival"`
	Duration    time.Duration `json:"duration_ns"`
	Iterations  int64         `json:"iterations"`
	Warmup      time.Duration `json:"warmup_ns"`
	Count       int           `json:"count"`
	Timeout     time.Duration `json:"timeout_ns"`
	// Interval is the length of the live snapshots and of the result's time
	// series.
	Interval time.Duration `json:"interval_ns"`
	// MaxErrorRate is the error rate above which a run is marked invalid.
	MaxErrorRate float64 `json:"max_error_rate"`
	// MaxLate is the share of open-model ops that may start over
	// LateThreshold late while a worker was free before the run is invalid.
	MaxLate float64 `json:"max_late"`
	// Grace is how long ops in flight at the end of the measured window, or
	// at a graceful stop, may run on before they are cancelled and, if they
	// still do not return, abandoned (see StopGrace).
	Grace time.Duration `json:"grace_ns,omitempty"`

	// Shard, when set, makes the run one shard of a load split across
	// machines (--shard I/N): the engine runs ShardShare's part of it. The
	// result records it as ScenarioResult.Shard, beside these settings,
	// which stay the whole load's.
	Shard *Shard `json:"-"`
	// StartAt, when set, is the instant the first run begins measuring
	// (--start-at), so shards on several machines measure the same window;
	// the warmup runs just before it.
	StartAt time.Time `json:"-"`
	// Stages, when set, make the load a schedule (--stages 30s:100,2m:1000):
	// the target moves linearly from one stage's end to the next; a rate
	// from Rate (the open model) or a worker count from Concurrency (the
	// closed model), held through the warmup. The measured window is the
	// stages' total (see docs/stages.md). It is the spec as given
	// (ParsedStages reads it), so that Settings stay comparable.
	Stages string `json:"stages,omitempty"`
}

// DefaultSettings returns the settings of a run given no flags.
func DefaultSettings() Settings {
	return Settings{
		Concurrency:  DefaultConcurrency,
		Arrival:      DefaultArrival,
		Duration:     DefaultDuration,
		Warmup:       DefaultWarmup,
		Count:        DefaultCount,
		Timeout:      DefaultTimeout,
		Interval:     DefaultInterval,
		MaxErrorRate: DefaultMaxErrorRate,
		MaxLate:      DefaultMaxLate,
		Grace:        DefaultGrace,
	}
}

// StopGrace is the grace the engine gives ops in flight: Grace (0: the
// default), but no longer than the per-op timeout, past which an op ends on
// its own.
func (s Settings) StopGrace() time.Duration {
	g := s.Grace
	if g == 0 {
		g = DefaultGrace
	}
	if s.Timeout > 0 && s.Timeout < g {
		return s.Timeout
	}
	return g
}

// Model is the load model the settings select: open when a rate is set.
func (s Settings) Model() Model {
	if s.Rate > 0 {
		return ModelOpen
	}
	return ModelClosed
}

// Validate reports the first setting a run cannot use, naming the value and
// what is accepted, as a *SettingError. Duration and Iterations are alternatives: exactly one of
// them must be set.
func (s Settings) Validate() error {
	switch {
	case s.Concurrency <= 0:
		return settingErr("concurrency", s.Concurrency, nil, "concurrency %d: must be at least 1", s.Concurrency)
	case s.Concurrency > MaxConcurrency:
		return settingErr("concurrency", s.Concurrency, nil, "concurrency %d: needs ~%s for worker state (about %s a worker); at most %d (concurrency is the number of workers; for many clients use -r with a smaller -c)",
			s.Concurrency, FormatBytes(float64(s.Concurrency)*WorkerBytes), FormatBytes(WorkerBytes), MaxConcurrency)
	case !(s.Rate >= 0) || math.IsInf(s.Rate, 0):
		return settingErr("rate", s.Rate, nil, "rate %g: must be 0 (closed model) or a positive number of ops per second", s.Rate)
	case s.Rate > MaxRate:
		return settingErr("rate", s.Rate, nil, "rate %g: at most %d ops per second (one generator schedules every start: past that the gap between starts is shorter than scheduling one op; split the load with --shard)", s.Rate, MaxRate)
	case s.Arrival != ArrivalConstant && s.Arrival != ArrivalPoisson:
		return settingErr("arrival", s.Arrival, nil, "arrival %q: accepted: constant, poisson", s.Arrival)
	case s.Duration < 0:
		return settingErr("duration", s.Duration, nil, "duration %s: must not be negative", s.Duration)
	case s.Iterations < 0:
		return settingErr("iterations", s.Iterations, nil, "iterations %d: must not be negative", s.Iterations)
	case s.Stages != "" && s.Iterations > 0:
		return settingErr("stages", s.Stages, []string{"iterations"}, "stages %s and iterations %d both set: stages run for their total duration; drop --iterations", s.Stages, s.Iterations)
	case s.Duration == 0 && s.Iterations == 0 && s.Stages == "":
		return settingErr("duration", nil, []string{"iterations"}, "duration 0 and iterations 0: set a duration (e.g. -d 10s) or a number of iterations (-n 1000)")
	case s.Duration > 0 && s.Iterations > 0:
		return settingErr("duration", s.Duration, []string{"iterations"}, "duration %s and iterations %d both set: give one or the other", s.Duration, s.Iterations)
	case s.Warmup < 0:
		return settingErr("warmup", s.Warmup, nil, "warmup %s: must not be negative", s.Warmup)
	case s.Count < 1:
		return settingErr("count", s.Count, nil, "count %d: must be at least 1", s.Count)
	case s.Count > MaxCount:
		return settingErr("count", s.Count, nil, "count %d: at most %d (every run's histograms are kept until the end)", s.Count, MaxCount)
	case s.Timeout < 0:
		return settingErr("timeout", s.Timeout, nil, "timeout %s: must be 0 (none) or positive", s.Timeout)
	case s.Grace < 0:
		return settingErr("grace", s.Grace, nil, "grace %s: must be positive (e.g. 2s), or 0 for the default %s", s.Grace, DefaultGrace)
	case s.Interval < 10*time.Millisecond:
		return settingErr("interval", s.Interval, nil, "interval %s: must be at least 10ms", s.Interval)
	case s.MaxErrorRate < 0 || s.MaxErrorRate > 1:
		return settingErr("max-error-rate", s.MaxErrorRate, nil, "max-error-rate %g: must be between 0 and 1 (or 0%%..100%%)", s.MaxErrorRate)
	case s.MaxLate < 0 || s.MaxLate > 1:
		return settingErr("max-late", s.MaxLate, nil, "max-late %g: must be between 0 and 1 (or 0%%..100%%)", s.MaxLate)
	}
	if err := s.validateStages(); err != nil {
		return err
	}
	return s.validateShard()
}

// Scenario is one thing to measure: a workload with its parameters, and how to
// run it.
type Scenario struct {
	// Name is the scenario's name (the workload's name when run by it).
	Name string
	// Workload is the definition's name, recorded in the result.
	Workload string
	// Params are the resolved parameters, recorded (redacted) in the result.
	Params Values
	// New builds a fresh workload; called once per scenario.
	New func() (Workload, error)
	// Settings say how to run it.
	Settings Settings
	// Sweep, when set, marks the scenario as one step of a sweep; it is
	// recorded on the step's result.
	Sweep *SweepStep
}
