package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Shard places a run as one of Count independent shards of one load (perfkit
// run --shard I/N), run on as many machines and merged exactly afterwards
// (bench/merge). Settings keep the whole load's concurrency, rate and
// iterations; the engine runs the shard's share of them (Settings.ShardShare).
type Shard struct {
	// Index is the shard's place, from 0 to Count-1.
	Index int `json:"index"`
	// Count is the number of shards the load is split into.
	Count int `json:"count"`
}

// String is the shard as --shard takes it: "I/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// PartialReason says why the scenario does not cover the whole load:
// "shard 3/4 missing" (a merge with --allow-partial), "stopped early" (a run
// cut short), or "" when it is whole.
func (s *ScenarioResult) PartialReason() string {
	if n := len(s.MissingShards); n > 0 {
		names := make([]string, n)
		for i, sh := range s.MissingShards {
			names[i] = sh.String()
		}
		if n == 1 {
			return "shard " + names[0] + " missing"
		}
		return "shards " + strings.Join(names, ", ") + " missing"
	}
	partial := s.Partial
	for _, run := range s.Runs {
		partial = partial || run.Partial
	}
	if partial {
		return "stopped early"
	}
	return ""
}

// PartialReason says why the result does not cover the whole load: its
// scenarios' reasons, or "stopped early" when it is marked partial for no
// scenario's reason; "" when it is whole.
func (r *Result) PartialReason() string {
	var why []string
	for i := range r.Scenarios {
		// A merge misses the same shards in every scenario: say it once.
		if w := r.Scenarios[i].PartialReason(); w != "" && !slices.Contains(why, w) {
			why = append(why, w)
		}
	}
	if len(why) == 0 && r.Partial {
		return "stopped early"
	}
	return strings.Join(why, "; ")
}

// validateShard reports shard settings a run cannot use: an index outside
// 0..count-1, a count below 1, or a load too small to give every shard a
// worker (and, with iterations, an op).
func (s Settings) validateShard() error {
	sh := s.Shard
	if sh == nil {
		return nil
	}
	switch {
	case sh.Count < 1:
		return settingErr("shards", sh.Count, nil, "shards %d: must be at least 1", sh.Count)
	case sh.Index < 0 || sh.Index >= sh.Count:
		return settingErr("shard", sh.String(), nil, "shard %s: the index must be 0 to %d (shards count from 0)", sh, sh.Count-1)
	case s.Concurrency < sh.Count && !(s.staged() && s.Rate == 0):
		return settingErr("shard", sh.String(), []string{"concurrency"}, "shard %s: concurrency %d leaves shards without a worker (give at least %d, the whole load's concurrency)", sh, s.Concurrency, sh.Count)
	case s.staged() && s.Rate == 0 && s.stagedWorkers() < sh.Count:
		return settingErr("shard", sh.String(), []string{"stages"}, "shard %s: stages %s reach %d workers, leaving shards without one (reach at least %d)", sh, s.Stages, s.stagedWorkers(), sh.Count)
	case s.Iterations > 0 && s.Iterations < int64(sh.Count):
		return settingErr("shard", sh.String(), []string{"iterations"}, "shard %s: iterations %d leaves shards without an op (give at least %d, the whole load's iterations)", sh, s.Iterations, sh.Count)
	}
	return nil
}

// ShardShare returns the settings shard s.Shard runs: its share of the
// concurrency and the iterations (shares differ by at most one, the first
// shards taking the extra ones) and of the rate (rate/N). In the open model
// with constant arrivals shard I takes the global schedule's slots i ≡ I
// (mod N), so the shards' schedules together are exactly the whole one; with
// Poisson arrivals each shard is an independent Poisson process at rate/N,
// and independent Poisson processes superpose into one at the whole rate.
// Without a shard, s is returned as is. A staged load is split slot by slot
// (open) or worker by worker (closed) from the whole load's schedule (see
// runner.begin and shardWorkers), so each stage's rate is split exactly.
func (s Settings) ShardShare() Settings {
	sh := s.Shard
	if sh == nil || sh.Count <= 1 {
		return s
	}
	if !s.staged() || s.Rate > 0 { // closed stages: see shardWorkers
		s.Concurrency = int(shareOf(int64(s.Concurrency), sh.Index, sh.Count))
	}
	s.Iterations = shareOf(s.Iterations, sh.Index, sh.Count)
	s.Rate /= float64(sh.Count)
	return s
}

// shardWorkers is how many workers the shard of a closed staged load
// starts: its share of the highest level. Worker w of shard I is the whole
// load's worker w·N+I, active while the level is above that, so the
// shards' active workers add up to the level at every instant.
func (s Settings) shardWorkers() int {
	return int(shareOf(int64(s.stagedWorkers()), s.shardIndex(), s.shardCount()))
}

// shareOf is shard i's share of n split N ways.
func shareOf(n int64, i, count int) int64 {
	q, r := n/int64(count), n%int64(count)
	if int64(i) < r {
		q++
	}
	return q
}

// shardIndex is the shard's index, 0 without one.
func (s Settings) shardIndex() int {
	if s.Shard == nil {
		return 0
	}
	return s.Shard.Index
}

// shardCount is the number of shards, 1 without any.
func (s Settings) shardCount() int {
	if s.Shard == nil || s.Shard.Count < 1 {
		return 1
	}
	return s.Shard.Count
}

// measureAt is when run i begins measuring under StartAt (zero without
// one). Run i measures from StartAt + i·(warmup + duration), so in duration
// mode every run of every shard measures the same window, and each run's
// warmup fills the gap after the previous one. In iterations mode runs end
// when their ops are done: only the first is aligned.
func (s Settings) measureAt(i int) time.Time {
	switch {
	case s.StartAt.IsZero():
		return time.Time{}
	case i == 0:
		return s.StartAt
	case s.Iterations > 0:
		return time.Time{}
	}
	return s.StartAt.Add(time.Duration(i) * (s.Warmup + s.Duration))
}

// begin starts the run's clock. Under StartAt it first waits until the
// warmup is due, then places the measured window at the agreed instant (a
// late start shortens the warmup, never moves the window). It anchors the
// open-model schedule at the window's start: the global slot j is due at
// measureStart + j·gap, and this shard takes the slots j ≡ index (mod N), so
// nextIntended stays one atomic add, one multiply and one add. The half
// nanosecond keeps the truncation in nextIntended from moving a slot that
// is due exactly at the window's start into the warmup.
func (r *runner) begin() {
	at := r.set.measureAt(r.index)
	if !at.IsZero() {
		if wait := time.Until(at.Add(-r.set.Warmup)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-r.ctx.Done():
				t.Stop()
			}
		}
	}
	r.base = time.Now()
	if !at.IsZero() {
		r.measureStart = max(int64(at.Sub(r.base)), 0)
		if !r.iterations {
			r.measureEnd = r.measureStart + int64(r.set.Duration)
		}
	}
	if r.sched != nil && r.gapNs > 0 {
		r.beginStaged()
	} else if r.gapNs > 0 && r.set.Arrival != ArrivalPoisson {
		global := r.gapNs / float64(r.set.shardCount())
		r.offsetNs = math.Mod(float64(r.measureStart)+float64(r.set.shardIndex())*global, r.gapNs) + 0.5
	}
}

// uScale is the fixed point of a staged Poisson schedule's op index
// (runner.nextU): 2^20 steps an op, so one atomic add claims a gap.
const uScale = 1 << 20

// beginStaged places the staged open schedule: op j of the whole load is due
// at measureStart + Time(j); the warmup holds the start rate, at negative j
// back to the run's start. This shard takes the ops j ≡ index (mod N), so
// the shards together run exactly the whole schedule, stage by stage.
func (r *runner) beginStaged() {
	n, i := int64(r.set.shardCount()), int64(r.set.shardIndex())
	first := int64(math.Ceil(r.sched.Integral(-r.measureStart))) // ≤ 0: the warmup's ops
	// the shard's first slot: the least j ≥ first with j ≡ i (mod n)
	k := floorDiv(first-i+n-1, n)
	r.seqBase = k*n + i
	r.nextU.Store(int64(math.Ceil(r.sched.Integral(-r.measureStart) * uScale)))
}

// floorDiv is a/b rounded down (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
