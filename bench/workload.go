package bench

import (
	"context"
	"errors"
	"time"
)

// Workload is the system a scenario drives: the contract between perfkit's
// engine and the code under test, stable for workloads outside this module
// (cli.Main runs them; examples/lrucache is a complete one).
//
// The engine calls Setup once per scenario, before the first of its
// Settings.Count runs; Op from many goroutines at once (Concurrency workers
// in the closed model, at most Concurrency ops in flight in the open one);
// and Teardown once at the end, also when Setup failed, so Teardown must
// cope with a half-done Setup. Setup declares what the ops record (labels,
// phases, counters); an error from it means the scenario could not be
// measured (exit 3).
//
// Op is the per-op path and is timed whole: its latency is recorded under
// the Label it returns (one declared in Setup; the zero Label when the
// workload declared none). It should not take a lock shared with other
// workers (unless that lock is what is measured) nor allocate if it can avoid
// it. ctx carries the per-op timeout and is cancelled when the run stops;
// an op should return promptly once it is done. A non-nil error is a failed
// op, which is data: the engine counts it by kind (see Errorf and
// ErrorKind) and goes on; too many make the run invalid. A panic in Op is
// counted as a failed op of kind "panic".
//
// A workload may also implement Deriver (figures derived from each run)
// and Aborter (ops that ignore their context).
type Workload interface {
	Setup(ctx context.Context, s *Setup) error
	Op(ctx context.Context, w *Worker) (Label, error)
	Teardown(ctx context.Context) error
}

// Deriver is implemented by workloads that derive figures from a finished
// run: hit ratios per cache level, a pool's utilisation, the speedup of a
// parallel batch over running it serially. The engine calls Derive after
// each run; the figures go into the run's "derived" map. Names ending in
// "_ratio" or "_efficiency" are shares (0..1) and print as percentages.
type Deriver interface {
	Derive(run *RunResult) map[string]float64
}

// Label selects the histogram an op's latency goes to. Labels are small
// integers handed out by Setup.Label so the per-op path never looks a name up.
type Label uint16

// Phase selects the histogram of a named sub-phase timing (e.g. acquire_wait).
type Phase uint16

// Counter selects a workload counter (e.g. bytes_in).
type Counter uint16

// DefaultLabel is the name of the single label of a workload that declares none.
const DefaultLabel = "op"

// Setup is what a workload learns about the run, and where it declares,
// once and by name, what its ops record: labels (Label) split the op
// latency, e.g. "hit" and "miss", each with its own percentiles; phases
// (Phase) are timings of parts of an op, e.g. "acquire_wait"; counters
// (Counter) are sums, e.g. "bytes_in". The handles it returns are what Op
// passes to the Worker, so the per-op path never looks a name up. Declare
// everything in Workload.Setup: the names go into the result, and compare
// matches them by name across results.
type Setup struct {
	// Concurrency is the closed model's worker count, or the open model's cap
	// on ops in flight. Size connection pools to it.
	Concurrency int
	// Model is ModelClosed or ModelOpen.
	Model Model
	// Timeout is the per-op timeout (0: none).
	Timeout time.Duration
	// Embedded, when set by the workload, says the system under test runs
	// inside perfkit's own process (an embedded server, a cache or executor
	// called in Op), so perfkit's CPU use includes the target's and is not a
	// sign of a saturated load generator. Set it in any workload whose ops
	// keep the CPUs busy with the code under test: unset, such a run is
	// marked invalid ("perfkit's CPU was saturated").
	Embedded bool
	// External, when set by the workload, says the system under test runs
	// outside perfkit's process (a remote service, child processes), so
	// perfkit's own CPU time and allocations per op are the load
	// generator's costs, not the target's: compare shows them but does not
	// gate on them unless asked to. Unset (the default, right for a
	// workload whose component under test is Go code in perfkit's process),
	// the result records the target as TargetInProcess.
	External bool
	// Notes, set by the workload, are shown beside the result (e.g. "L1 only:
	// no redis URL given").
	Notes []string

	labels   []string
	phases   []string
	counters []string
}

// Label declares a label and returns its handle. Declaring the same name twice
// returns the same handle.
func (s *Setup) Label(name string) Label { return Label(declare(&s.labels, name)) }

// Phase declares a sub-phase timing and returns its handle.
func (s *Setup) Phase(name string) Phase { return Phase(declare(&s.phases, name)) }

// Counter declares a counter and returns its handle.
func (s *Setup) Counter(name string) Counter { return Counter(declare(&s.counters, name)) }

func declare(names *[]string, name string) int {
	for i, n := range *names {
		if n == name {
			return i
		}
	}
	*names = append(*names, name)
	return len(*names) - 1
}

// labelNames returns the declared labels, or the default one.
func (s *Setup) labelNames() []string {
	if len(s.labels) == 0 {
		return []string{DefaultLabel}
	}
	return s.labels
}

// Worker is one engine goroutine's handle, passed to every Op it runs. It is
// owned by that goroutine alone, so recording through it takes no lock:
// call Count and Phase only from the Op it was passed to, never from
// another goroutine or after Op returned. Each run has fresh Workers, so
// State starts nil in every run; keep there what an op may reuse without
// locking (an RNG, a buffer), created on the worker's first op.
type Worker struct {
	// ID is the worker's index, 0 ≤ ID < concurrency.
	ID int
	// State is the workload's own per-worker scratch (request buffers, an RNG);
	// the engine never touches it.
	State any

	iv     *interval // the interval being counted
	rec    *shardSet // where buf goes when full
	home   int       // rec's shard tried first
	phase0 int       // histogram slot of phase 0
	buf    sampleBuf // latencies not yet in rec
}

// sample buffers a latency of histogram slot, flushing when the buffer is
// full.
func (w *Worker) sample(slot int, v int64) {
	if w.buf.add(slot, v) {
		w.flush()
	}
}

// flush moves the buffered latencies into the run's histograms, for the
// interval being counted (dropped in the warmup).
func (w *Worker) flush() { w.rec.flush(w.home, w.iv.idx, &w.buf) }

// Count adds n to a counter.
func (w *Worker) Count(c Counter, n int64) { w.iv.counters[c] += n }

// Phase records a sub-phase duration.
func (w *Worker) Phase(p Phase, d time.Duration) { w.sample(w.phase0+int(p), int64(d)) }

// KindError is a failed op with the kind it is counted under in the
// result's errors_by_kind ("timeout", "refused", "http_503"...). Kind
// should be a short fixed word: every distinct kind is a key of the result.
type KindError struct {
	Kind string
	Err  error
}

func (e *KindError) Error() string {
	if e.Err == nil {
		return e.Kind
	}
	return e.Kind + ": " + e.Err.Error()
}

func (e *KindError) Unwrap() error { return e.Err }

// Errorf returns an error counted under kind (despite its name it formats
// nothing: err is kept as the cause). Workloads that fail often should keep
// preallocated *KindError values instead, to stay allocation-free.
func Errorf(kind string, err error) error { return &KindError{Kind: kind, Err: err} }

// Well-known error kinds.
const (
	KindTimeout  = "timeout"
	KindCanceled = "canceled"
	KindPanic    = "panic"
	KindOther    = "error"
)

// ErrorKind names the kind an op's error is counted under: the Kind of a
// KindError in its chain, "timeout" for a deadline, "canceled" for a canceled
// context, otherwise "error".
func ErrorKind(err error) string {
	var ke *KindError
	switch {
	case errors.As(err, &ke):
		return ke.Kind
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	}
	return KindOther
}
