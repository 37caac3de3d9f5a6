package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseStages(t *testing.T) {
	st, err := ParseStages(" 30s:100, 2m:1_000 ,500ms:0")
	if err != nil {
		t.Fatal(err)
	}
	want := Stages{{30 * time.Second, 100}, {2 * time.Minute, 1000}, {500 * time.Millisecond, 0}}
	if !slices.Equal(st, want) {
		t.Fatalf("got %v, want %v", st, want)
	}
	if st.Total() != 150*time.Second+500*time.Millisecond || st.Max() != 1000 {
		t.Errorf("total %s, max %g", st.Total(), st.Max())
	}
	if back, err := ParseStages(st.String()); err != nil || !slices.Equal(back, st) {
		t.Errorf("String %q reads back as %v, %v", st.String(), back, err)
	}
	for _, bad := range []string{"30s", "30s:", ":100", "0s:100", "-5s:10", "30s:-1", "30s:x", "30s:NaN", "30s:Inf", "30:100", "30s:100,", "30s:100,,1s:2", "2562047h:1,2562047h:1"} {
		_, err := ParseStages(bad)
		if err == nil {
			t.Errorf("%q: accepted", bad)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, bad) || (!strings.Contains(msg, StagesForm) && !strings.Contains(msg, "overflows")) {
			t.Errorf("%q: error %q should be one line naming the value and the accepted form", bad, msg)
		}
	}
}

// sched3 is 1/s, then 3s up to 500/s, 2s up to 1000/s, 2s down to 0.
func sched3() *Schedule {
	return NewSchedule(1, Stages{{3 * time.Second, 500}, {2 * time.Second, 1000}, {2 * time.Second, 0}})
}

func TestScheduleIntegralAtStageEnds(t *testing.T) {
	s := sched3()
	for _, c := range []struct {
		t    int64
		want float64
	}{
		{-2e9, -2}, // the warmup holds the start rate
		{0, 0},
		{1.5e9, 1.5 + 499.0/3*1.5*1.5/2},
		{3e9, (1 + 500) / 2.0 * 3},
		{5e9, 751.5 + 1500},
		{7e9, 751.5 + 1500 + 1000},
		{9e9, 3251.5}, // over: nothing more is due
	} {
		if got := s.Integral(c.t); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("Integral(%ds) = %g, want %g", c.t/1e9, got, c.want)
		}
	}
	if s.At(3e9) != 500 || s.At(4e9) != 750 || s.At(6e9) != 500 || s.At(-1) != 1 || s.Len() != 7e9 {
		t.Errorf("At: %g %g %g %g, Len %d", s.At(3e9), s.At(4e9), s.At(6e9), s.At(-1), s.Len())
	}
	if m := s.Mean(3e9, 5e9); m != 750 {
		t.Errorf("mean over the second stage %g, want 750", m)
	}
}

// Time inverts Integral: op n is due when n ops are, to the nanosecond
// (bar float rounding), through ramps up and down, a flat stage and a stage
// at zero, whatever the cursor says.
func TestScheduleTimeInvertsIntegral(t *testing.T) {
	for _, s := range []*Schedule{
		sched3(),
		NewSchedule(0.001, Stages{{time.Second, 0}, {time.Second, 0}, {2 * time.Second, 8000}, {time.Second, 8000}, {time.Second, 10}}),
		NewSchedule(250, nil), // constant
	} {
		var cur int
		prev := int64(math.MinInt64)
		end := s.Integral(10e9)
		for n := -3.0; n < min(end, 20000); n += 0.75 {
			got, ok := s.Time(n, &cur)
			if !ok {
				t.Fatalf("op %g of %g: schedule over", n, end)
			}
			if got < prev {
				t.Fatalf("op %g due at %d, before the previous one (%d)", n, got, prev)
			}
			prev = got
			if back := s.Integral(got); math.Abs(back-n) > 1e-3 {
				t.Fatalf("op %g due at %dns, where %g are due", n, got, back)
			}
			wild := 2 // a stale cursor only costs time
			if again, _ := s.Time(n, &wild); again != got {
				t.Fatalf("op %g: %d with a stale cursor, %d with the worker's", n, again, got)
			}
		}
		if s.Stages() > 0 {
			if _, ok := s.Time(end, &cur); ok {
				t.Errorf("op %g due after the schedule's end", end)
			}
		}
	}
}

func TestScheduleLevelAndActiveFrom(t *testing.T) {
	// 2 workers, up to 10 in 1s, hold 1s, down to 0 in 1s.
	s := NewSchedule(2, Stages{{time.Second, 10}, {time.Second, 10}, {time.Second, 0}})
	var cur int
	for _, c := range []struct {
		t    int64
		want int
	}{{-1, 2}, {0, 2}, {0.5e9, 6}, {1e9, 10}, {1.5e9, 10}, {2.5e9, 5}, {3e9, 0}, {4e9, 0}} {
		if got := s.Level(c.t, &cur); got != c.want {
			t.Errorf("Level(%gs) = %d, want %d", float64(c.t)/1e9, got, c.want)
		}
	}
	// worker 5 (the sixth) is active from level 5.5: 3.5/8 of the first second
	if at := s.ActiveFrom(5, 0); at != int64(math.Ceil(3.5/8*1e9)) {
		t.Errorf("worker 5 active from %d", at)
	}
	if at := s.ActiveFrom(5, 2.9e9); at != math.MaxInt64 {
		t.Errorf("worker 5 after the ramp down: active again at %d, want never", at)
	}
	if at := s.ActiveFrom(1, 1.2e9); at != 1.2e9 {
		t.Errorf("an active worker: %d", at)
	}
	// every instant agrees with Level
	for w := range 10 {
		at := s.ActiveFrom(w, 0)
		if at == math.MaxInt64 {
			t.Errorf("worker %d never active", w)
			continue
		}
		if s.Level(at, &cur) <= w || (at > 0 && s.Level(at-1, &cur) > w) {
			t.Errorf("worker %d: active from %d, levels %d then %d", w, at, s.Level(at-1, &cur), s.Level(at, &cur))
		}
	}
}

// stagedSlots returns a runner's measured intended starts of a staged open
// schedule, until it ends.
func stagedSlots(t *testing.T, set Settings, poisson bool) []int64 {
	t.Helper()
	if poisson {
		set.Arrival = ArrivalPoisson
	}
	set.Duration = set.ParsedStages().Total()
	r := newRunner(context.Background(), Scenario{Name: "t", Settings: set.ShardShare()}, nil, &Setup{}, 0, nil)
	r.sched = set.schedule()
	r.begin()
	ws := &workerState{rng: rand.New(rand.NewPCG(uint64(set.shardIndex())+1, 3))}
	var out []int64
	for {
		v := r.nextIntended(ws)
		if v >= r.measureEnd {
			break
		}
		if v < 0 {
			t.Fatalf("slot at %d, before the run began", v)
		}
		if v >= r.measureStart {
			out = append(out, v-r.measureStart)
		}
	}
	if due := r.stagedDue(); due != int64(len(out)) && !poisson {
		t.Errorf("shard %v: %d slots due, counted %d", set.Shard, due, len(out))
	}
	return out
}

// The shards of a staged load take every N-th slot of the whole one: their
// slots together are the whole schedule's, so each stage's rate is split
// exactly.
func TestStagedShardsUnionIsTheSchedule(t *testing.T) {
	set := DefaultSettings()
	set.Rate, set.Warmup, set.Stages = 3, 1234567*time.Microsecond, "1s:300,500ms:300,1s:37,1s:0"
	whole := stagedSlots(t, set, false)
	s := set.schedule()
	if want := int(math.Ceil(s.Integral(s.Len()))); len(whole) != want {
		t.Fatalf("whole load: %d slots, want %d", len(whole), want)
	}
	for _, n := range []int{2, 3, 7} {
		var union []int64
		for i := range n {
			set.Shard = &Shard{i, n}
			union = append(union, stagedSlots(t, set, false)...)
		}
		set.Shard = nil
		slices.Sort(union)
		if !slices.Equal(union, whole) {
			t.Fatalf("%d shards: %d slots, whole %d; not the same", n, len(union), len(whole))
		}
	}
}

// Poisson arrivals through stages: each stage gets its due ops, within 5
// standard deviations, and the shards' processes add up to the whole.
func TestStagedPoissonFollowsTheStages(t *testing.T) {
	set := DefaultSettings()
	set.Rate, set.Warmup, set.Stages = 100, 0, "1s:4000,1s:4000,1s:0"
	s := set.schedule()
	for _, n := range []int{1, 3} {
		var all []int64
		for i := range n {
			if n > 1 {
				set.Shard = &Shard{i, n}
			}
			all = append(all, stagedSlots(t, set, true)...)
		}
		for k := range s.Stages() {
			t0, t1 := s.StageBounds(k)
			want := s.Integral(t1) - s.Integral(t0)
			got := 0
			for _, v := range all {
				if v >= t0 && v < t1 {
					got++
				}
			}
			if math.Abs(float64(got)-want) > 5*math.Sqrt(want) {
				t.Errorf("%d shards, stage %d: %d arrivals, want %g ± %g", n, k+1, got, want, 5*math.Sqrt(want))
			}
		}
	}
}

func TestValidateStages(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Settings)
		want string // "" valid
	}{
		{func(s *Settings) { s.Stages = "10s:100" }, ""},
		{func(s *Settings) { s.Stages, s.Duration = "10s:100", 0 }, ""},
		{func(s *Settings) { s.Stages = "10s:100,5s:0"; s.Duration = 15 * time.Second }, ""},
		{func(s *Settings) { s.Stages, s.Duration = "10s:100", time.Minute }, "duration 1m0s and stages 10s:100 (10s in all) both set"},
		{func(s *Settings) { s.Stages, s.Duration, s.Iterations = "10s:100", 0, 50 }, "stages 10s:100 and iterations 50 both set"},
		{func(s *Settings) { s.Stages = "10s" }, `stages "10s"`},
		{func(s *Settings) { s.Stages, s.Rate = "10s:3e7", 1 }, "rate 3e+07: at most"},
		{func(s *Settings) { s.Stages = "10s:3e7" }, "workers: at most"},
	} {
		set := DefaultSettings()
		set.Duration = 10 * time.Second
		c.mod(&set)
		err := set.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", set.Stages, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: error %v, want %q", set.Stages, err, c.want)
		}
	}
}

// A closed staged run ramps its workers: each interval's target is the mean
// level, ops in flight follow it, and ramping down lets every op finish: none
// is cancelled, and every op begun is counted.
func TestClosedStagesRampWorkersWithoutLosingOps(t *testing.T) {
	var begun atomic.Int64
	wl := &testWorkload{op: func(ctx context.Context, w *Worker) (Label, error) {
		begun.Add(1)
		time.Sleep(15 * time.Millisecond) // ignores ctx: a cut op would show as canceled
		return 0, ctx.Err()
	}}
	sc := scenario(wl, func(s *Settings) {
		s.Concurrency, s.Duration, s.Stages, s.Interval = 1, 0, "300ms:6,300ms:6,300ms:0", 100*time.Millisecond
	})
	res, err := Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	run := res.Runs[0]
	if run.Errors != 0 || run.AbandonedOps != 0 || run.Ops != begun.Load() {
		t.Fatalf("ops %d of %d begun, errors %v, abandoned %d", run.Ops, begun.Load(), run.ErrorsByKind, run.AbandonedOps)
	}
	// never more workers than the level (an interval's figure may hold
	// the next one's too when a stalled machine delays its hand-off, so
	// the bound is on the ops in flight themselves)
	if m := wl.maxSeen.Load(); m > 6 {
		t.Errorf("%d ops in flight, over the highest level 6", m)
	}
	s := sc.Settings.schedule()
	if len(run.Intervals) < 8 {
		t.Fatalf("%d intervals", len(run.Intervals))
	}
	for i, iv := range run.Intervals[:8] {
		t0 := iv.TMs * 1e6
		if want := s.Mean(t0, t0+100e6); math.Abs(iv.Target-want) > 1e-9 {
			t.Errorf("interval %d: target %g, want %g", i, iv.Target, want)
		}
	}
	// on the plateau (300-600ms), summed: a late hand-off moves figures
	// from one interval to the next, not out of the run
	if top := run.Intervals[3].Achieved + run.Intervals[4].Achieved + run.Intervals[5].Achieved; top < 3*2 {
		t.Errorf("on the plateau only %.2f ops in flight on average (target 6)", top/3)
	}
}

// An open staged run follows its stages: the intervals carry the schedule's
// mean rate as their target, and every op due is started.
func TestOpenStagesIntervalsCarryTheirTarget(t *testing.T) {
	wl := &testWorkload{}
	sc := scenario(wl, func(s *Settings) {
		s.Rate, s.Duration, s.Stages, s.Interval, s.Concurrency = 1, 0, "400ms:500,400ms:2000,200ms:0", 100*time.Millisecond, 4
	})
	res, err := Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	run := res.Runs[0]
	s := sc.Settings.schedule()
	due := math.Ceil(s.Integral(s.Len()))
	if float64(run.Ops) < 0.75*due || float64(run.Ops) > due {
		t.Errorf("%d ops started of %g due", run.Ops, due)
	}
	if want := due / 1.0; math.Abs(run.Schedule.TargetRate-s.Integral(s.Len())) > 1e-6 {
		t.Errorf("target rate %g, want %g", run.Schedule.TargetRate, want)
	}
	var target, achieved float64
	for i, iv := range run.Intervals {
		t0 := iv.TMs * 1e6
		if want := s.Mean(t0, t0+100e6); i < 10 && math.Abs(iv.Target-want) > 1e-9 {
			t.Errorf("interval %d: target %g, want %g", i, iv.Target, want)
		}
		target += iv.Target / 10
		achieved += iv.Achieved / 10
	}
	if math.Abs(target-s.Integral(s.Len())) > 1e-6 || achieved < 0.75*target {
		t.Errorf("ops in the intervals: target %g, achieved %g", target, achieved)
	}
}

// InactiveFrom agrees with Level: worker g is active up to that instant and
// not at it.
func TestScheduleInactiveFrom(t *testing.T) {
	s := NewSchedule(2, Stages{{time.Second, 10}, {time.Second, 10}, {time.Second, 0}, {time.Second, 7}})
	var cur int
	for w := range 10 {
		for _, from := range []int64{-5, 0, 1.5e9, 2.2e9} {
			at := s.InactiveFrom(w, from)
			if at == math.MaxInt64 {
				t.Errorf("worker %d from %d: never inactive", w, from)
				continue
			}
			if s.Level(at, &cur) > w || (at > from && s.Level(at-1, &cur) <= w) {
				t.Errorf("worker %d from %d: inactive at %d, levels %d then %d", w, from, at, s.Level(at-1, &cur), s.Level(at, &cur))
			}
		}
	}
	if at := s.InactiveFrom(1, 3.9e9); at != math.MaxInt64 {
		t.Errorf("worker 1 at the end (level 7): inactive at %d, want never", at)
	}
}

// A closed staged load split over shards: each shard starts its share of
// the highest level (worker w of shard I is the whole load's w·N+I), and
// -c, the level the stages start from, need not cover the shards.
func TestClosedStagesShardWorkers(t *testing.T) {
	set := DefaultSettings()
	set.Concurrency, set.Stages, set.Duration = 1, "1s:7,1s:0", 0
	for i := range 3 {
		set.Shard = &Shard{i, 3}
		if err := set.Validate(); err != nil {
			t.Fatal(err)
		}
		if got, want := set.ShardShare().shardWorkers(), []int{3, 2, 2}[i]; got != want {
			t.Errorf("shard %d/3: %d workers, want %d", i, got, want)
		}
	}
	set.Stages = "1s:2"
	if err := set.Validate(); err == nil || !strings.Contains(err.Error(), "reach 2 workers") {
		t.Errorf("2 workers over 3 shards: %v", err)
	}
}

// A closed staged load's memory is estimated for its highest level, not -c.
func TestEstimateMemoryOfClosedStages(t *testing.T) {
	set := DefaultSettings()
	set.Concurrency, set.Stages, set.Duration = 1, "10s:5000", 0
	if est := EstimateMemory(Scenario{Settings: set}); est.Bytes != float64(5000*WorkerBytes) {
		t.Errorf("estimate %g bytes, want 5000 workers' %d", est.Bytes, 5000*WorkerBytes)
	}
}
