package bench

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The collector: merges the workers' intervals into snapshots for the
// observers and into the run's result.

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
	sets    [2][]*hdrhistogram.Histogram  // emitted intervals' histograms, in turn
	alls    [2][2]*hdrhistogram.Histogram // and their merges over labels (see overalls)
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
	all, allSvc := c.overalls(k, iv)
	point := IntervalSummary{
		TMs:    int64(k) * r.ivLen / 1e6,
		Ops:    iv.ops,
		Errors: iv.errs,
		P50Ns:  all.ValueAtQuantile(50),
		P99Ns:  all.ValueAtQuantile(99),
	}
	r.targetOf(&point, iv, int64(k)*r.ivLen, length)
	c.series = append(c.series, point)
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
		Point:        point,
		Start:        r.base.Add(time.Duration(r.measureStart + int64(k)*r.ivLen)),
		T:            time.Duration(int64(k) * r.ivLen),
		Length:       time.Duration(length),
		Ops:          iv.ops,
		Errors:       iv.errs,
		Target:       point.Target,
		Achieved:     point.Achieved,
		ErrorsByKind: maps(iv.errKinds),
		Counters:     r.lay.counterMap(iv.counters),
		Latency:      r.lay.latencyMap(iv, all, allSvc),
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
// "op". all is the interval's overall histogram when the caller already
// merged it (nil: merged here).
func (l layout) latencyMap(iv *interval, all, allSvc *hdrhistogram.Histogram) map[string]*hdrhistogram.Histogram {
	out := make(map[string]*hdrhistogram.Histogram, len(l.keys)+2)
	for i, k := range l.keys {
		out[k] = iv.hists[i]
	}
	if len(l.labels) > 1 || l.labels[0] != OverallKey {
		if all == nil {
			all = l.overall(iv)
		}
		out[OverallKey] = all
		if l.open {
			if allSvc == nil {
				allSvc = NewHistogram()
				for i := range l.labels {
					allSvc.Merge(iv.hists[l.service0()+i])
				}
			}
			out[OverallKey+ServiceSuffix] = allSvc
		}
	}
	return out
}

// overalls returns interval k's latency over every label and, in the open
// model, its service time over every label (nil otherwise). Where there are
// several labels the merges are two histograms that take turns like c.sets,
// so an interval allocates none (a fresh pair each interval was about
// 75 KiB of garbage a second for cache and pool).
func (c *collector) overalls(k int, iv *interval) (all, allSvc *hdrhistogram.Histogram) {
	l := c.r.lay
	if len(l.labels) == 1 {
		if l.open {
			allSvc = iv.hists[l.service0()]
		}
		return iv.hists[0], allSvc
	}
	pair := &c.alls[k%2]
	if pair[0] == nil {
		pair[0], pair[1] = NewHistogram(), NewHistogram()
	} else {
		pair[0].Reset()
		pair[1].Reset()
	}
	for i := range l.labels {
		pair[0].Merge(iv.hists[i])
		if l.open {
			pair[1].Merge(iv.hists[l.service0()+i])
		}
	}
	if l.open {
		allSvc = pair[1]
	}
	return pair[0], allSvc
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
	for k, h := range r.lay.latencyMap(t, nil, nil) {
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
		target := r.set.Rate
		if r.sched != nil { // the staged schedule's mean rate, this shard's share
			target = r.sched.Mean(0, r.measureEnd-r.measureStart) / float64(r.set.shardCount())
		}
		st := &ScheduleStats{TargetRate: target, Late: t.late, GeneratorLate: t.generatorLate, WorkersStarted: r.pace.started()}
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
	if r.sched != nil {
		return max(r.stagedDue()-started, 0)
	}
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

// targetOf fills an interval's target and achieved figures: the interval
// starts at t (ns from the measured start) and lasts length ns.
func (r *runner) targetOf(is *IntervalSummary, iv *interval, t, length int64) {
	if !r.iterations { // the last interval may run on into the grace: no op starts there
		length = min(length, r.measureEnd-r.measureStart-t)
	}
	if length <= 0 || (r.gapNs == 0 && r.sched == nil) {
		return
	}
	sec := float64(length) / 1e9
	share := float64(r.set.shardCount())
	switch {
	case r.gapNs == 0: // closed, staged: workers
		is.Target = r.sched.Mean(t, t+length) / share
		is.Achieved = float64(iv.busyNs) / float64(length)
	case r.sched != nil:
		is.Target = r.sched.Mean(t, t+length) / share
		is.Achieved = float64(iv.started) / sec
	default:
		is.Target = r.set.Rate
		is.Achieved = float64(iv.started) / sec
	}
	is.Late, is.GeneratorLate = iv.late, iv.generatorLate
}

// stagedDue counts this shard's ops of a staged schedule due in the
// measured window.
func (r *runner) stagedDue() int64 {
	total := r.sched.Integral(r.measureEnd - r.measureStart)
	if r.set.Arrival != ArrivalPoisson {
		// slots 0 ≤ j < total, those ≡ index (mod N)
		return shareOf(int64(math.Ceil(total)), r.set.shardIndex(), r.set.shardCount())
	}
	// claimed ones, then the schedule's continuation, drawn the same way
	due := r.claimedIn.Load()
	rng := rand.New(rand.NewPCG(uint64(r.index), 7))
	end := int64(total * uScale)
	for u := r.nextU.Load(); u < end; u += int64(rng.ExpFloat64() * float64(uScale*r.set.shardCount())) {
		if u >= 0 {
			due++
		}
	}
	return due
}
