package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// SetupError is a scenario that could not be measured at all: its workload
// failed to build or set up. cmd maps it to exit code 3.
type SetupError struct {
	Scenario string
	Err      error
}

func (e *SetupError) Error() string { return fmt.Sprintf("scenario %s: setup: %v", e.Scenario, e.Err) }
func (e *SetupError) Unwrap() error { return e.Err }

// LateThreshold is how far behind its intended start an open-model op may
// start before it counts as late.
const LateThreshold = time.Millisecond

// Validity bounds (docs/design.md, "Validity").
const (
	// MinAchievedRatio is the share of the target rate an open-model run must
	// achieve.
	MinAchievedRatio = 0.99
	// MinGeneratorLate is the fewest such ops that count: one op held up by a
	// GC pause in a short run is not a generator that cannot keep up.
	MinGeneratorLate = 5
	// MaxCPUSaturation is the share of GOMAXPROCS that perfkit's own CPU use
	// may reach before the load generator is suspected to be the bottleneck.
	MaxCPUSaturation = 0.95
)

// abandonWait is how long ops cancelled at the end of the grace get to
// return before the run ends without them (see runner.supervise).
const abandonWait = time.Second

// Aborter is a Workload whose ops may not return promptly when their context
// is cancelled (a client that takes no context, such as fasthttp's Do). When
// ops are still in flight at the end of the grace, the engine cancels their
// context and calls Abort, which must make them return soon (close the
// connections they wait on, for instance) and leave the workload usable for
// the next run. An op that still does not return is abandoned: whatever it
// records afterwards (Worker.Count, Worker.Phase) is dropped, so an op
// whose context is done should return without recording.
type Aborter interface {
	Abort()
}

// Op states of a worker (workerState.inOp): whether the op in flight, if
// any, still belongs to the worker or was abandoned by the run.
const (
	opIdle int32 = iota
	opRunning
	opAbandoned
)

// Run measures a scenario: Settings.Count independent runs, each a warmup then
// a measured part. Cancelling ctx stops gracefully: no new ops start, ops in
// flight get the grace (Settings.StopGrace) to finish, and the result comes
// back marked Partial with what was measured. Ops still in flight at the end
// of the grace, after a stop or after the measured window, are cancelled and,
// if they do not return within abandonWait, abandoned: counted as canceled
// errors and in RunResult.AbandonedOps, so every run with a duration ends.
// The error is non-nil only when nothing could be measured (a *SetupError)
// or the settings are invalid.
func Run(ctx context.Context, sc Scenario, obs ...Observer) (ScenarioResult, error) {
	set := sc.Settings
	if err := set.Validate(); err != nil {
		return ScenarioResult{}, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	if set.staged() { // the stages are the measured window
		set.Duration = set.ParsedStages().Total()
	}
	sched := set.schedule() // the whole load's, before a shard takes its part
	res := ScenarioResult{
		Name:     sc.Name,
		Workload: sc.Workload,
		Model:    set.Model(),
		Params:   sc.Params.Record(),
		Settings: set,
		Runs:     []RunResult{},
	}
	if set.Shard != nil { // record the whole load's settings; run this shard's part
		sh := *set.Shard
		res.Shard = &sh
		set = set.ShardShare()
	}
	if sched != nil && set.Rate == 0 { // closed: workers for the highest level
		set.Concurrency = set.shardWorkers()
	}
	sc.Settings = set
	if sc.New == nil {
		return res, &SetupError{sc.Name, errors.New("no workload")}
	}
	wl, err := sc.New()
	if err != nil {
		return res, &SetupError{sc.Name, err}
	}
	setup := &Setup{Concurrency: set.Concurrency, Model: set.Model(), Timeout: set.Timeout}
	if err := wl.Setup(ctx, setup); err != nil {
		_ = wl.Teardown(context.WithoutCancel(ctx))
		return res, &SetupError{sc.Name, err}
	}
	if len(setup.labels) > 1 && slices.Contains(setup.labels, OverallKey) {
		_ = wl.Teardown(context.WithoutCancel(ctx))
		return res, &SetupError{sc.Name, fmt.Errorf("label %q is reserved for all ops", OverallKey)}
	}
	res.Notes = slices.Clone(setup.Notes)
	res.Target = TargetInProcess
	if setup.External {
		res.Target = TargetExternal
	}
	res.Labels = slices.Clone(setup.labelNames())
	res.Phases = slices.Clone(setup.phases)
	if err := setupDone(sc, setup, obs); err != nil {
		_ = wl.Teardown(context.WithoutCancel(ctx))
		return res, err
	}
	var leftovers []<-chan struct{} // runs whose abandoned ops had not returned
	for i := 0; i < set.Count; i++ {
		if ctx.Err() != nil {
			res.Partial = true
			break
		}
		r := newRunner(ctx, sc, wl, setup, i, obs)
		r.sched = sched
		run := r.run()
		if r.leftover != nil {
			leftovers = append(leftovers, r.leftover)
		}
		if d, ok := wl.(Deriver); ok {
			run.Derived = d.Derive(&run)
		}
		res.Runs = append(res.Runs, run)
		if run.Partial {
			res.Partial = true
			break
		}
	}
	if err := wl.Teardown(context.WithoutCancel(ctx)); err != nil {
		res.Notes = append(res.Notes, "teardown: "+err.Error())
	}
	// Teardown usually unblocks abandoned ops (it closes what they wait on);
	// wait for their goroutines a little, and say so if they still hang.
	if len(leftovers) > 0 {
		wait := time.NewTimer(abandonWait)
		defer wait.Stop()
		for _, done := range leftovers {
			select {
			case <-done:
			case <-wait.C:
				res.Notes = append(res.Notes, "abandoned ops had not returned after teardown: their goroutines are left running")
				return res, nil
			}
		}
	}
	return res, nil
}

// setupDone tells the SetupObservers what the scenario records; the first
// refusal stops it.
func setupDone(sc Scenario, setup *Setup, obs []Observer) error {
	var info *ScenarioInfo
	for _, o := range obs {
		so, ok := o.(SetupObserver)
		if !ok {
			continue
		}
		if info == nil {
			lay := newLayout(setup, sc.Settings.Model())
			info = &ScenarioInfo{
				Scenario: sc.Name, Workload: sc.Workload, Model: sc.Settings.Model(), Settings: sc.Settings,
				Labels:   slices.Clone(lay.labels),
				Phases:   slices.Clone(lay.phases),
				Counters: slices.Clone(lay.counters),
			}
			for k := range lay.latencyMap(lay.newInterval(), nil, nil) {
				info.LatencyKeys = append(info.LatencyKeys, k)
			}
			slices.Sort(info.LatencyKeys)
		}
		if err := so.SetupDone(info); err != nil {
			return &CheckError{Scenario: sc.Name, Err: err}
		}
	}
	return nil
}

// runner is one run of a scenario.
type runner struct {
	ctx   context.Context
	sc    Scenario
	set   Settings
	wl    Workload
	setup *Setup
	lay   layout
	index int
	obs   []Observer

	base         time.Time // every time below is ns since base (monotonic)
	measureStart int64
	measureEnd   int64 // math.MaxInt64 in iterations mode
	ivLen        int64
	iterations   bool

	stop    atomic.Bool
	stopped chan struct{} // closed with stop set
	stopAt  atomic.Int64  // when the graceful stop came (ns since base), 0 if none
	col     *collector
	hists   *shardSet // the run's latency histograms (see samples.go)

	// cut is set when the grace ran out and ops in flight were cancelled:
	// an op failing after it counts as canceled, whatever its error.
	cut atomic.Bool
	// leftover, when ops were abandoned, is closed once every worker
	// goroutine has returned.
	leftover <-chan struct{}

	// closed model, iterations mode: measured ops not yet claimed
	remaining atomic.Int64
	chunk     int64

	// open model
	gapNs     float64
	offsetNs  float64      // constant arrivals: the schedule's phase (see begin)
	seq       atomic.Int64 // next schedule index
	nextT     atomic.Int64 // poisson: intended start of the next op
	claimedIn atomic.Int64 // claims with an intended start in the measured window
	pace      *crew        // starts workers on demand

	// staged load (nil: none): the whole load's schedule of rates (open)
	// or worker levels (closed); see docs/stages.md.
	sched   *Schedule
	seqBase int64        // open, constant arrivals: the first slot's index
	nextU   atomic.Int64 // open, poisson: the next op's index, in units of 1/uScale ops
}

func newRunner(ctx context.Context, sc Scenario, wl Workload, setup *Setup, index int, obs []Observer) *runner {
	set := sc.Settings
	r := &runner{
		ctx: ctx, sc: sc, set: set, wl: wl, setup: setup, index: index, obs: obs,
		lay:     newLayout(setup, set.Model()),
		ivLen:   int64(set.Interval),
		stopped: make(chan struct{}),
	}
	r.measureStart = int64(set.Warmup)
	r.iterations = set.Iterations > 0
	if r.iterations {
		r.measureEnd = math.MaxInt64
		r.remaining.Store(set.Iterations)
		r.chunk = max(1, min(256, set.Iterations/int64(8*set.Concurrency)))
	} else {
		r.measureEnd = r.measureStart + int64(set.Duration)
	}
	if set.Rate > 0 {
		r.gapNs = 1e9 / set.Rate
	}
	return r
}

func (r *runner) now() int64 { return int64(time.Since(r.base)) }

// run performs one run: workers, collector, resources, validity.
func (r *runner) run() RunResult {
	n := r.set.Concurrency
	opParent, opCancel := context.WithCancel(context.WithoutCancel(r.ctx))
	defer opCancel()
	var wg sync.WaitGroup

	r.hists = newShardSet(r.lay, n)
	col := newCollector(r, n)
	r.col = col
	// The closed model starts its n workers at once; the open model starts
	// them on demand (see crew).
	var workers []*workerState
	var pace *crew
	if r.gapNs > 0 {
		pace = newCrew(r, opParent, &wg)
		col.onDemand()
	} else {
		workers = make([]*workerState, n)
		for i := range workers {
			workers[i] = r.newWorker(i)
		}
	}
	r.pace = pace
	list := func() []*workerState {
		if pace != nil {
			return pace.workers()
		}
		return workers
	}
	r.begin() // sets base; --start-at and shard schedule phase
	startedAt := r.base.Add(time.Duration(r.measureStart))

	// A graceful stop: no new ops; ops in flight get the grace (see
	// supervise).
	stopWatch := context.AfterFunc(r.ctx, func() {
		r.stopAt.Store(r.now())
		r.stop.Store(true)
		close(r.stopped)
		for _, ws := range list() {
			ws.precise.wake()
		}
	})
	defer stopWatch()

	stopOps := context.AfterFunc(opParent, func() {
		for _, ws := range list() {
			ws.octx.fire(opParent.Err())
		}
	})
	for _, ws := range workers {
		r.prepare(ws, opParent)
		wg.Go(ws.loop)
	}
	if pace != nil {
		pace.start() // the first worker; it starts the others as needed
	}
	colDone := make(chan struct{})
	go func() { col.loop(); close(colDone) }()
	// The waiter outlives the run only when ops were abandoned: then Run
	// waits for it after Teardown, within a bound.
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	if r.supervise(list, workersDone, opCancel) {
		r.leftover = workersDone
	}
	<-colDone
	stopOps()
	for _, ws := range list() {
		ws.octx.release()
		ws.precise.close()
	}

	run := col.result(startedAt)
	run.Index = r.index
	return run
}

// supervise bounds the run: once the measured window is over (duration
// mode) or a graceful stop came, ops in flight get the grace to finish;
// then their context is cancelled (and the workload's Abort called); ops
// that still have not returned after abandonWait are abandoned: counted as
// canceled for their worker, which the run no longer waits for. It returns
// true if it abandoned any op; their goroutines run on until the ops return.
func (r *runner) supervise(workers func() []*workerState, done <-chan struct{}, cancel func()) bool {
	var end <-chan time.Time
	if !r.iterations {
		t := time.NewTimer(max(time.Until(r.base.Add(time.Duration(r.measureEnd))), 0))
		defer t.Stop()
		end = t.C
	}
	select {
	case <-done:
		return false
	case <-end:
	case <-r.stopped:
	}
	grace := time.NewTimer(r.set.StopGrace())
	defer grace.Stop()
	select {
	case <-done:
		return false
	case <-grace.C:
	}
	r.cut.Store(true)
	cancel()
	if a, ok := r.wl.(Aborter); ok {
		a.Abort()
	}
	wait := time.NewTimer(abandonWait)
	defer wait.Stop()
	select {
	case <-done:
		return false
	case <-wait.C:
	}
	abandoned := false
	for _, ws := range workers() {
		if ws.inOp.CompareAndSwap(opRunning, opAbandoned) {
			ws.abandon()
			abandoned = true
		}
	}
	return abandoned
}
