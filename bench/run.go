package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
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
		sc.Settings = set
	}
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
			for k := range lay.latencyMap(lay.newInterval()) {
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

// abandon counts the worker's op in flight as canceled and hands its last
// interval over, in the worker's place: after the CompareAndSwap that
// abandoned the op, the worker touches none of its state again. An op that
// began in the warmup counts too: it held its worker through the window.
func (ws *workerState) abandon() {
	iv := ws.w.iv
	if ws.idx < 0 {
		ws.w.flush() // drops the warmup's samples
		iv.reset()
		iv.idx = 0
	}
	iv.ops++
	iv.errs++
	iv.countErr(KindCanceled)
	iv.abandoned++
	ws.w.flush()
	ws.r.col.add(ws.w.ID, iv, math.MaxInt, true)
}

// measureCut moves a worker still in the warmup to the measured run, for
// an op that began in the warmup and was cut at the end of the grace: like
// an abandoned one, it held its worker through the window, and it counts.
func (ws *workerState) measureCut() {
	ws.startMeasured()
}

// startMeasured discards what the worker recorded in the warmup and starts
// its first measured interval.
func (ws *workerState) startMeasured() {
	ws.w.flush() // drops the warmup's samples
	ws.w.iv.reset()
	ws.idx = 0
	ws.w.iv.idx = 0
}

// errKind is the kind an op's error counts under: canceled for any op that
// failed once the grace ran out and ops were cancelled.
func (r *runner) errKind(err error) string {
	if r.cut.Load() {
		return KindCanceled
	}
	return ErrorKind(err)
}

// workerState is one worker goroutine's state, kept outside the loop so the
// loop can be re-entered after a workload panic.
type workerState struct {
	r        *runner
	w        *Worker
	octx     *opCtx
	rng      *rand.Rand
	t        int64 // last clock reading
	next     int64 // next event: interval boundary, warmup end or measured end
	idx      int   // interval index being recorded (-1: warmup)
	started  bool
	budget   int64 // iterations claimed and not yet done
	finished bool
	gone     bool          // its op was abandoned: the worker exits, touching nothing
	inOp     atomic.Int32  // opIdle, opRunning or opAbandoned
	timer    *time.Timer   // open model: waits for the next intended start
	precise  *preciseTimer // open model on Linux: waits for the next intended start
}

func (r *runner) newWorker(i int) *workerState {
	return &workerState{r: r, w: &Worker{ID: i}, rng: rand.New(rand.NewPCG(uint64(i)+1+uint64(r.set.shardIndex())<<40, uint64(r.index)<<32|0x9e3779b9))}
}

// prepare gives a worker its recording state and op context, before it starts.
func (r *runner) prepare(ws *workerState, opParent context.Context) {
	ws.w.iv = r.lay.newCounts()
	ws.w.iv.idx = -1 // the warmup's: its samples are dropped
	ws.w.rec, ws.w.home, ws.w.phase0 = r.hists, r.hists.home(ws.w.ID), r.lay.phase0()
	ws.octx = newOpCtx(opParent, r.base, r.set.Timeout)
}

func (ws *workerState) loop() {
	for !ws.finished && !ws.gone {
		ws.runLoop()
	}
}

// opReturned takes the worker's state back after an op; false means the run
// abandoned the op, and with it the worker.
func (ws *workerState) opReturned() bool {
	if ws.inOp.CompareAndSwap(opRunning, opIdle) {
		return true
	}
	if ws.inOp.Load() == opAbandoned {
		ws.gone = true
		return false
	}
	return true // not in an op (a panic outside one)
}

// runLoop runs ops until the worker is done or an op panics.
func (ws *workerState) runLoop() {
	r := ws.r
	defer func() {
		if p := recover(); p != nil {
			if !ws.opReturned() {
				return
			}
			ws.octx.end()
			iv := ws.w.iv
			t := r.now()
			iv.ops++
			iv.errs++
			iv.countErr(KindPanic)
			ws.t = t
			if r.stop.Load() {
				ws.finish()
			}
		}
	}()
	if !ws.started {
		ws.started = true
		ws.t = r.now()
		ws.idx = -1
		ws.next = min(r.measureStart, r.measureEnd)
		if ws.t >= ws.next && !ws.advance() {
			return
		}
	}
	if r.gapNs > 0 {
		ws.openLoop()
	} else {
		ws.closedLoop()
	}
}

// closedLoop: op after op; latency is service time. One clock read per op:
// an op's end is the next op's start.
func (ws *workerState) closedLoop() {
	r, w, octx := ws.r, ws.w, ws.octx
	t0 := ws.t
	for {
		if r.stop.Load() {
			ws.finish()
			return
		}
		if r.iterations && ws.idx >= 0 {
			if ws.budget == 0 {
				if ws.budget = r.claim(); ws.budget == 0 {
					ws.finish()
					return
				}
			}
			ws.budget--
		}
		octx.begin(t0)
		ws.inOp.Store(opRunning)
		label, err := r.wl.Op(octx, w)
		if !ws.opReturned() {
			return
		}
		t1 := r.now()
		octx.end()
		if ws.idx < 0 && r.cut.Load() {
			ws.measureCut()
		}
		iv := w.iv
		lat := t1 - t0
		iv.ops++
		iv.busyNs += lat
		if err != nil {
			iv.errs++
			iv.countErr(r.errKind(err))
		}
		if w.buf.add(int(label), lat) {
			// The flush is the engine's time, not the next op's: the next
			// op starts after it (one more clock read per sampleLen ops).
			w.flush()
			t1 = r.now()
		}
		t0 = t1
		ws.t = t1
		if t1 >= ws.next && !ws.advance() {
			return
		}
	}
}

// claim takes a chunk of the remaining measured iterations.
func (r *runner) claim() int64 {
	for {
		cur := r.remaining.Load()
		if cur <= 0 {
			return 0
		}
		take := min(r.chunk, cur)
		if r.remaining.CompareAndSwap(cur, cur-take) {
			return take
		}
	}
}

// openLoop: each free worker takes the next intended start from the shared
// schedule, waits for it, and runs the op; latency counts from the intended
// start (coordinated omission corrected), service time from the actual one.
func (ws *workerState) openLoop() {
	r, w, octx := ws.r, ws.w, ws.octx
	for {
		if r.stop.Load() {
			ws.finish()
			return
		}
		intended := r.nextIntended(ws.rng)
		measured := intended >= r.measureStart
		if measured {
			if intended >= r.measureEnd {
				ws.finish()
				return
			}
			if r.iterations && r.remaining.Add(-1) < 0 {
				ws.finish()
				return
			}
			r.claimedIn.Add(1)
		}
		start := ws.t
		generatorLate := false
		if intended > start {
			r.pace.sleepers.Add(1)
			for intended > start { // sleep until due; timers may wake early or late
				if !ws.sleep(time.Duration(intended - start)) {
					r.pace.sleepers.Add(-1)
					ws.finish()
					return
				}
				start = r.now()
			}
			r.pace.sleepers.Add(-1)
			generatorLate = start-intended > int64(LateThreshold)
			ws.t = start
			if start >= ws.next && !ws.advance() {
				return
			}
		}
		if measured && start >= r.measureEnd && !r.iterations {
			// due in the window, but the window is over: never started
			ws.finish()
			return
		}
		r.pace.more() // none asleep on a later slot: one more worker
		octx.begin(start)
		ws.inOp.Store(opRunning)
		label, err := r.wl.Op(octx, w)
		if !ws.opReturned() {
			return
		}
		t1 := r.now()
		octx.end()
		if !measured && r.cut.Load() {
			measured = true
			if ws.idx < 0 {
				ws.measureCut()
			}
		}
		if measured {
			iv := w.iv
			lag := start - intended
			w.sample(int(label), t1-intended)
			w.sample(r.lay.service0()+int(label), t1-start)
			w.sample(r.lay.lagSlot(), lag)
			iv.ops++
			iv.started++
			iv.busyNs += t1 - start
			iv.lastStart = max(iv.lastStart, start)
			if lag > int64(LateThreshold) {
				iv.late++
				if generatorLate {
					iv.generatorLate++
				}
			}
			if err != nil {
				iv.errs++
				iv.countErr(r.errKind(err))
			}
		}
		ws.t = t1
		if t1 >= ws.next && !ws.advance() {
			return
		}
	}
}

// nextIntended claims the next slot of the schedule (ns since base).
func (r *runner) nextIntended(rng *rand.Rand) int64 {
	if r.set.Arrival != ArrivalPoisson {
		i := r.seq.Add(1) - 1
		return int64(r.offsetNs + float64(i)*r.gapNs)
	}
	gap := int64(rng.ExpFloat64() * r.gapNs)
	return r.nextT.Add(gap) - gap
}

// advance handles the clock passing ws.next: the end of the warmup (discard
// what was recorded), an interval boundary (hand the interval to the
// collector), or the end of the measured window. It returns false when the
// worker is done.
func (ws *workerState) advance() bool {
	r := ws.r
	t := ws.t
	if ws.idx < 0 { // warmup over
		ws.startMeasured()
	}
	if t >= r.measureEnd {
		ws.finish()
		return false
	}
	cur := int((t - r.measureStart) / r.ivLen)
	if cur > ws.idx {
		ws.handOff(cur, false)
	}
	ws.next = min(r.measureStart+int64(cur+1)*r.ivLen, r.measureEnd)
	return true
}

// handOff merges the current interval into the collector's and clears it
// for interval idx. It runs once per interval per worker, never per op, so
// the lock it takes is off the per-op path; and each worker needs only one
// set of histograms.
func (ws *workerState) handOff(idx int, final bool) {
	iv := ws.w.iv
	ws.w.flush()
	ws.r.col.add(ws.w.ID, iv, idx, final)
	if final {
		ws.w.iv = nil
		return
	}
	iv.reset()
	iv.idx = idx
	ws.idx = idx
}

// finish hands the last interval over; the worker exits.
func (ws *workerState) finish() {
	if ws.finished {
		return
	}
	ws.finished = true
	if ws.idx < 0 { // stopped during warmup: nothing measured
		ws.startMeasured()
	}
	ws.handOff(math.MaxInt, true)
}

// collector merges the workers' intervals into per-interval snapshots for the
// observers and into the run's totals.
type collector struct {
	r    *runner
	n    int
	wake chan struct{}

	mu      sync.Mutex // guards the fields up to emitted
	reached []int      // per worker: it reports nothing more below this interval
	// atReached counts the workers by reached value, and behind those with
	// reached ≤ emitted (still to report the interval going out next), so
	// that ready is O(1) whatever the number of workers.
	atReached map[int]int
	behind    int
	exited    int
	pending   map[int]*interval
	emitted   int // intervals emitted so far

	total   *interval
	sets    [2][]*hdrhistogram.Histogram // emitted intervals' histograms, in turn
	series  []IntervalSummary
	res0    resourceMark
	res1    resourceMark
	con0    contentionMark // the machine's contention at the measured part's start and end
	con1    contentionMark
	resLast resourceMark // at the last snapshot, for its interval's use
	elapsed int64
}

func newCollector(r *runner, n int) *collector {
	return &collector{
		r: r, n: n, wake: make(chan struct{}, 1),
		reached: make([]int, n), pending: map[int]*interval{}, total: r.lay.newInterval(),
		atReached: map[int]int{0: n}, behind: n,
	}
}

// add merges a worker's interval; data for an interval already emitted
// (a worker stalled in a long op) joins the next one to go out.
func (c *collector) add(worker int, iv *interval, reached int, final bool) {
	c.mu.Lock()
	k := max(iv.idx, c.emitted)
	p := c.pending[k]
	if p == nil {
		p = c.r.lay.newCounts()
		c.pending[k] = p
	}
	p.merge(iv)
	if old := c.reached[worker]; old != reached {
		c.reached[worker] = reached
		if c.atReached[old]--; c.atReached[old] == 0 {
			delete(c.atReached, old)
		}
		c.atReached[reached]++
		if old <= c.emitted && reached > c.emitted {
			c.behind--
		} else if old > c.emitted && reached <= c.emitted {
			c.behind++
		}
	}
	if final {
		c.exited++
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *collector) loop() {
	r := c.r
	// Resources are counted over the measured part only.
	wait := time.Until(r.base.Add(time.Duration(r.measureStart)))
	warm := time.NewTimer(max(wait, 0))
	defer warm.Stop()
	var tick *time.Timer
	tickC := func() <-chan time.Time {
		if tick == nil {
			return nil
		}
		return tick.C
	}
	for {
		select {
		case <-warm.C:
			r.notifyMeasureStart()
			c.res0 = readResources(true)
			c.con0 = readContention()
			tick = time.NewTimer(c.deadline(0))
		case <-c.wake:
		case <-tickC():
			c.emit(false)
			tick.Reset(c.deadline(c.emitted))
		}
		for c.ready() {
			c.emit(false)
			if tick != nil {
				tick.Reset(c.deadline(c.emitted))
			}
		}
		c.mu.Lock()
		done := c.exited == c.n
		c.mu.Unlock()
		if done {
			break
		}
	}
	if tick != nil {
		tick.Stop()
	}
	end := r.now()
	if c.res0 == (resourceMark{}) { // stopped in the warmup
		c.res0 = readResources(false)
		c.con0 = readContention()
	}
	c.res1 = readResources(false)
	c.con1 = readContention()
	if tick != nil { // the measured part began: it has ended
		r.notifyMeasureEnd()
	}
	c.elapsed = max(end-r.measureStart, 0)
	if !r.iterations && !c.stoppedEarly() {
		c.elapsed = max(c.elapsed, r.measureEnd-r.measureStart)
	}
	// Intervals the collector had not caught up with go out one by one; the
	// last is the final one.
	last := c.emitted
	for k := range c.pending {
		last = max(last, k)
	}
	for c.emitted < last {
		c.emit(false)
	}
	c.emit(true)
}

func (c *collector) stoppedEarly() bool { return c.r.stopAt.Load() != 0 }

// deadline is how long to wait before emitting interval k even if some
// worker has not reported it (a stalled op): a quarter interval of grace.
func (c *collector) deadline(k int) time.Duration {
	r := c.r
	at := r.base.Add(time.Duration(r.measureStart + int64(k+1)*r.ivLen + r.ivLen/4))
	return max(time.Until(at), time.Millisecond)
}

// ready reports whether every worker has moved past the next interval.
func (c *collector) ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.behind == 0 && c.exited < c.n
}

// emit closes interval c.emitted: summary into the series, snapshot to the
// observers. The final emit folds in everything still pending.
func (c *collector) emit(final bool) {
	r := c.r
	c.mu.Lock()
	k := c.emitted
	iv := c.pending[k]
	delete(c.pending, k)
	if final {
		for j, p := range c.pending {
			if iv == nil {
				iv = p
			} else {
				iv.merge(p)
			}
			delete(c.pending, j)
		}
	}
	c.emitted++
	c.behind += c.atReached[c.emitted] // those that had reached only this one
	c.mu.Unlock()
	if iv == nil {
		iv = r.lay.newCounts()
	}
	// Two sets of histograms take turns, so an interval allocates none
	// (a fresh set each interval was most of a long run's garbage, and its
	// RSS crept while the GC's goal grew); an observer may keep a
	// snapshot's histograms until the next one arrives (Snapshot.Latency).
	hs := c.sets[k%2]
	if hs == nil {
		hs = r.lay.newHists()
		c.sets[k%2] = hs
	} else {
		for _, h := range hs {
			if h.TotalCount() > 0 {
				h.Reset()
			}
		}
	}
	iv.hists = hs
	r.hists.take(k, final, iv.hists)
	c.total.merge(iv)
	length := r.ivLen
	if final {
		length = max(c.elapsed-int64(k)*r.ivLen, 0)
		if length == 0 && iv.ops == 0 && k > 0 {
			return // the last interval ended exactly on the boundary
		}
	}
	all := r.lay.overall(iv)
	c.series = append(c.series, IntervalSummary{
		TMs:    int64(k) * r.ivLen / 1e6,
		Ops:    iv.ops,
		Errors: iv.errs,
		P50Ns:  all.ValueAtQuantile(50),
		P99Ns:  all.ValueAtQuantile(99),
	})
	if len(r.obs) == 0 {
		return
	}
	s := &Snapshot{
		Scenario:     r.sc.Name,
		Workload:     r.sc.Workload,
		Model:        r.set.Model(),
		Run:          r.index,
		Settings:     r.set,
		Final:        final,
		Start:        r.base.Add(time.Duration(r.measureStart + int64(k)*r.ivLen)),
		T:            time.Duration(int64(k) * r.ivLen),
		Length:       time.Duration(length),
		Ops:          iv.ops,
		Errors:       iv.errs,
		ErrorsByKind: maps(iv.errKinds),
		Counters:     r.lay.counterMap(iv.counters),
		Latency:      r.lay.latencyMap(iv),
		TotalOps:     c.total.ops,
		TotalErrors:  c.total.errs,
		Elapsed:      time.Duration(min(r.now()-r.measureStart, max(c.elapsed, int64(k+1)*r.ivLen))),
	}
	if length > 0 {
		s.InFlight = float64(iv.busyNs) / float64(length)
	}
	mark := readResources(false)
	if c.resLast == (resourceMark{}) {
		c.resLast = c.res0
	}
	s.Resources = mark.since(c.resLast)
	s.RSSBytes = currentRSS(mark)
	c.resLast = mark
	for _, o := range r.obs {
		o.Interval(s)
	}
}

func maps(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func (l layout) counterMap(c []int64) map[string]int64 {
	out := make(map[string]int64, len(c))
	for i, name := range l.counters {
		out[name] = c[i]
	}
	return out
}

// latencyMap names an interval's histograms by latency key, adding the
// overall "op" (and "op.service") when the workload's labels are not just
// "op".
func (l layout) latencyMap(iv *interval) map[string]*hdrhistogram.Histogram {
	out := make(map[string]*hdrhistogram.Histogram, len(l.keys)+2)
	for i, k := range l.keys {
		out[k] = iv.hists[i]
	}
	if len(l.labels) > 1 || l.labels[0] != OverallKey {
		out[OverallKey] = l.overall(iv)
		if l.open {
			h := NewHistogram()
			for i := range l.labels {
				h.Merge(iv.hists[l.service0()+i])
			}
			out[OverallKey+ServiceSuffix] = h
		}
	}
	return out
}

// result builds the run's RunResult from the totals.
func (c *collector) result(startedAt time.Time) RunResult {
	r := c.r
	t := c.total
	run := RunResult{
		StartedAt:      startedAt.UTC(),
		ElapsedNs:      c.elapsed,
		Ops:            t.ops,
		Errors:         t.errs,
		Valid:          true,
		InvalidReasons: []string{},
		Partial:        c.stoppedEarly(),
		AbandonedOps:   t.abandoned,
		Latency:        map[string]LatencySummary{},
		ErrorsByKind:   maps(t.errKinds),
		Counters:       r.lay.counterMap(t.counters),
		Intervals:      c.series,
	}
	if run.Intervals == nil {
		run.Intervals = []IntervalSummary{}
	}
	for k, h := range r.lay.latencyMap(t) {
		run.Latency[k] = Summarize(h)
	}
	if t.ops > 0 {
		run.ErrorRate = float64(t.errs) / float64(t.ops)
	}
	if c.elapsed > 0 {
		run.Throughput = float64(t.ops) / (float64(c.elapsed) / 1e9)
	}
	run.Resources = c.res1.since(c.res0)
	run.Contention = c.con1.since(c.con0, (c.res1.user+c.res1.sys)-(c.res0.user+c.res0.sys))

	if r.gapNs > 0 {
		st := &ScheduleStats{TargetRate: r.set.Rate, Late: t.late, GeneratorLate: t.generatorLate, WorkersStarted: r.pace.started()}
		lag := run.Latency[LagKey]
		st.LagP99Ns, st.LagMaxNs = lag.P99Ns, lag.MaxNs
		window := float64(r.measureEnd - r.measureStart)
		if r.iterations || c.stoppedEarly() {
			window = float64(t.lastStart-r.measureStart) + r.gapNs
			if stop := r.stopAt.Load(); stop != 0 && !r.iterations {
				window = float64(stop - r.measureStart)
			}
		}
		if window > 0 {
			st.AchievedRate = float64(t.started) / (window / 1e9)
		}
		if !c.stoppedEarly() {
			st.Dropped = r.dropped(t.started)
		}
		run.Schedule = st
	}
	c.validate(&run)
	return run
}

// dropped counts ops due in the measured window that never started.
func (r *runner) dropped(started int64) int64 {
	if r.iterations {
		return max(r.set.Iterations-started, 0)
	}
	var due int64
	if r.set.Arrival == ArrivalPoisson {
		// Ops claimed but never run, plus the schedule's continuation to the
		// end of the window, drawn the same way.
		due = r.claimedIn.Load()
		rng := rand.New(rand.NewPCG(uint64(r.index), 7))
		for t := r.nextT.Load(); t < r.measureEnd; t += int64(rng.ExpFloat64() * r.gapNs) {
			if t >= r.measureStart {
				due++
			}
		}
	} else {
		first := int64(math.Ceil((float64(r.measureStart) - r.offsetNs) / r.gapNs))
		last := int64(math.Ceil((float64(r.measureEnd)-r.offsetNs)/r.gapNs)) - 1
		due = last - first + 1
	}
	return max(due-started, 0)
}

// validate marks a run whose numbers cannot be trusted (docs/design.md, "Validity").
func (c *collector) validate(run *RunResult) {
	r := c.r
	Validate(run, r.set, runtime.GOMAXPROCS(0), runtime.NumCPU(), r.setup.Embedded)
}

// Validate marks run invalid, with reasons, when its numbers cannot be
// trusted (docs/design.md, "Validity"): no ops, the achieved rate under
// MinAchievedRatio of the target, more ops than set.MaxLate started late
// while a worker was free, errors over set.MaxErrorRate, or perfkit's CPU
// over MaxCPUSaturation of procs (not checked for an embedded target,
// whose CPU is perfkit's too). A schedule reason names its cause (Diagnose):
// perfkit saturated, the machine contended, or the target slow. It reads
// only the run's figures, so it is tested with injected ones.
func Validate(run *RunResult, set Settings, procs, numCPU int, embedded bool) {
	bad := func(format string, args ...any) {
		run.Valid = false
		run.InvalidReasons = append(run.InvalidReasons, fmt.Sprintf(format, args...))
	}
	if run.Ops == 0 {
		bad("no ops measured")
		return
	}
	if st := run.Schedule; st != nil && ScheduleMissed(*run, set.MaxLate) {
		cause, f := DiagnoseRun(*run, set, procs, numCPU)
		why := f.Explain(cause)
		if st.AchievedRate < MinAchievedRatio*st.TargetRate {
			msg := fmt.Sprintf("achieved rate %.1f/s is under %.0f%% of the target %.1f/s", st.AchievedRate, MinAchievedRatio*100, st.TargetRate)
			if !f.GeneratorBehind { // else the lag reason below explains both
				msg += ": " + why
			}
			bad("%s", msg)
		}
		if f.GeneratorBehind {
			bad("schedule lag: %d ops (%.1f%%, over --max-late %s) started over %s late while a worker was free: %s",
				st.GeneratorLate, 100*float64(st.GeneratorLate)/float64(run.Ops), sharePct(set.MaxLate), LateThreshold, why)
		}
	}
	if run.ErrorRate > set.MaxErrorRate {
		bad("error rate %.2f%% is over the bound %.2f%%", 100*run.ErrorRate, 100*set.MaxErrorRate)
	}
	if !embedded && run.ElapsedNs > 0 && procs > 0 {
		cpu := run.Resources.CPUUserS + run.Resources.CPUSysS
		if share := cpu / (float64(run.ElapsedNs) / 1e9) / float64(procs); share > MaxCPUSaturation {
			bad("perfkit's CPU was saturated (%.0f%% of %d CPUs): the load generator may be the bottleneck; shard the load or give perfkit more CPUs", 100*share, procs)
		}
	}
}

// sharePct prints a share as a percentage without trailing zeros: 0.05 → "5%".
func sharePct(x float64) string { return strconv.FormatFloat(100*x, 'g', 4, 64) + "%" }
