package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// The worker loops: closed (op after op) and open (each op at its intended
// start), the interval hand-off and what happens to an abandoned op.

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
	cur      int           // staged load: the worker's cursor into the schedule's stages
	gid      int           // closed staged load: the worker's index in the whole load
	// levelUntil is when the closed model next asks whether the worker is
	// above the staged level: when it would next be (math.MaxInt64 without
	// stages), so an op costs one comparison.
	levelUntil int64
}

func (r *runner) newWorker(i int) *workerState {
	lu := int64(math.MaxInt64)
	if r.sched != nil {
		lu = 0
	}
	return &workerState{r: r, w: &Worker{ID: i}, gid: i*r.set.shardCount() + r.set.shardIndex(), levelUntil: lu,
		rng: rand.New(rand.NewPCG(uint64(i)+1+uint64(r.set.shardIndex())<<40, uint64(r.index)<<32|0x9e3779b9))}
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
		if t0 >= ws.levelUntil { // staged (else never): is the worker still active?
			if ws.gid >= r.sched.Level(t0-r.measureStart, &ws.cur) {
				if !ws.park() {
					return
				}
				t0 = ws.t
			}
			ws.levelUntil = r.inactiveAt(ws.gid, t0)
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
		intended := r.nextIntended(ws)
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
func (r *runner) nextIntended(ws *workerState) int64 {
	if r.sched != nil {
		return r.stagedIntended(ws)
	}
	if r.set.Arrival != ArrivalPoisson {
		i := r.seq.Add(1) - 1
		return int64(r.offsetNs + float64(i)*r.gapNs)
	}
	gap := int64(ws.rng.ExpFloat64() * r.gapNs)
	return r.nextT.Add(gap) - gap
}

// stagedIntended claims the next op of a staged schedule: the shard's next
// slot of the whole load (constant arrivals), or the next exponential gap
// in ops (Poisson: a Poisson process in the schedule's op count is one of
// the schedule's varying rate). math.MaxInt64 once the schedule is over.
func (r *runner) stagedIntended(ws *workerState) int64 {
	var n float64
	if r.set.Arrival == ArrivalPoisson {
		gap := int64(ws.rng.ExpFloat64() * float64(uScale*r.set.shardCount()))
		n = float64(r.nextU.Add(gap)-gap) / uScale
	} else {
		n = float64(r.seqBase + (r.seq.Add(1)-1)*int64(r.set.shardCount()))
	}
	t, ok := r.sched.Time(n, &ws.cur)
	if !ok {
		return math.MaxInt64
	}
	return r.measureStart + t
}

// inactiveAt is when (ns since base) worker g, active at t, is next above
// the staged level; math.MaxInt64 if never.
func (r *runner) inactiveAt(g int, t int64) int64 {
	at := r.sched.InactiveFrom(g, t-r.measureStart)
	if at == math.MaxInt64 {
		return at
	}
	return r.measureStart + at
}

// park holds a closed-model worker above the staged level until the level
// reaches it again, handing its intervals over meanwhile; its op has
// returned, so ramping down never cuts an op short. False when the worker
// is done.
func (ws *workerState) park() bool {
	r := ws.r
	for {
		if r.stop.Load() {
			ws.finish()
			return false
		}
		until := ws.next
		if at := r.sched.ActiveFrom(ws.gid, ws.t-r.measureStart); at < until-r.measureStart {
			until = r.measureStart + at
		}
		if until > ws.t && !ws.sleep(time.Duration(until-ws.t)) {
			ws.finish()
			return false
		}
		ws.t = r.now()
		if ws.t >= ws.next && !ws.advance() {
			return false
		}
		if ws.gid < r.sched.Level(ws.t-r.measureStart, &ws.cur) {
			return true
		}
	}
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
