package bench

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// crew starts the open model's workers on demand, up to the cap
// (Settings.Concurrency): a run holds about rate × latency workers, not
// the cap. Each worker claims the next slot of the shared schedule when
// it is free and sleeps until it is due, as before; a worker about to run
// an op starts another only when no worker is asleep on a later slot —
// when the next slot would otherwise find every worker busy. No pacer
// goroutine hands slots over: a hand-off wakes the scheduler of a second
// CPU on every op, which cost more than the wait it saved.
type crew struct {
	r        *runner
	opParent context.Context
	wg       *sync.WaitGroup
	limit    int
	sleepers atomic.Int32 // workers asleep on a claimed slot
	n        atomic.Int32 // workers started

	mu  sync.Mutex
	all []*workerState // every worker started, by ID
}

func newCrew(r *runner, opParent context.Context, wg *sync.WaitGroup) *crew {
	return &crew{r: r, opParent: opParent, wg: wg, limit: r.set.Concurrency}
}

// more starts a worker when none is asleep on a later slot and the cap
// allows; the worker claims the next slot itself.
func (c *crew) more() {
	if c.sleepers.Load() > 0 || int(c.n.Load()) >= c.limit {
		return
	}
	c.start()
}

// start starts a worker (below the cap).
func (c *crew) start() {
	r := c.r
	c.mu.Lock()
	id := len(c.all)
	if id >= c.limit {
		c.mu.Unlock()
		return
	}
	ws := r.newWorker(id)
	r.prepare(ws, c.opParent)
	ws.precise = newPreciseTimer() // before the worker is listed: a stop wakes it
	c.all = append(c.all, ws)
	c.n.Store(int32(len(c.all)))
	c.mu.Unlock()
	r.col.join(id, r.intervalAt(r.now()))
	c.wg.Go(ws.loop)
}

// workers lists the workers started so far.
func (c *crew) workers() []*workerState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*workerState(nil), c.all...)
}

// started is how many workers the run started.
func (c *crew) started() int { return int(c.n.Load()) }

// sleep waits about d for the worker's next slot, or until a graceful stop
// (false). On Linux the wait is the worker's timerfd (kernel precision, one
// wake-up through the poller; see preciseTimer), which a stop expires at
// once; elsewhere it is a runtime timer.
func (ws *workerState) sleep(d time.Duration) bool {
	r := ws.r
	if t := ws.precise; t != nil {
		t.sleep(d, &r.stop)
		return !r.stop.Load()
	}
	if ws.timer == nil {
		ws.timer = time.NewTimer(d)
	} else {
		ws.timer.Reset(d)
	}
	select {
	case <-ws.timer.C:
		return true
	case <-r.stopped:
		ws.timer.Stop()
		return false
	}
}

// intervalAt is the interval index a worker recording at t reports into.
func (r *runner) intervalAt(t int64) int {
	if t < r.measureStart {
		return 0
	}
	return int((min(t, r.measureEnd-1) - r.measureStart) / r.ivLen)
}

// onDemand prepares the collector for workers started on demand (see
// crew): none yet; each counts from its join.
func (c *collector) onDemand() {
	c.mu.Lock()
	for i := range c.reached {
		c.reached[i] = math.MaxInt
	}
	c.atReached = map[int]int{math.MaxInt: len(c.reached)}
	c.behind = 0
	c.n = 0
	c.mu.Unlock()
}

// join counts a worker started at interval k: it reports nothing below k.
// A worker is started only by a running one (or the run itself, first), so
// once every worker counted has exited, none will start.
func (c *collector) join(id, k int) {
	c.mu.Lock()
	if c.atReached[math.MaxInt]--; c.atReached[math.MaxInt] == 0 {
		delete(c.atReached, math.MaxInt)
	}
	c.reached[id] = k
	c.atReached[k]++
	if k <= c.emitted {
		c.behind++
	}
	c.n++
	c.mu.Unlock()
}
