package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testWorkload is a configurable in-process workload for engine tests.
type testWorkload struct {
	op       func(ctx context.Context, w *Worker) (Label, error)
	setup    func(s *Setup) error
	inFlight atomic.Int64
	maxSeen  atomic.Int64
	calls    atomic.Int64
}

func (t *testWorkload) Setup(_ context.Context, s *Setup) error {
	if t.setup != nil {
		return t.setup(s)
	}
	return nil
}

func (t *testWorkload) Op(ctx context.Context, w *Worker) (Label, error) {
	t.calls.Add(1)
	n := t.inFlight.Add(1)
	defer t.inFlight.Add(-1)
	for {
		m := t.maxSeen.Load()
		if n <= m || t.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if t.op != nil {
		return t.op(ctx, w)
	}
	return 0, nil
}

func (t *testWorkload) Teardown(context.Context) error { return nil }

func scenario(wl Workload, mod func(*Settings)) Scenario {
	set := DefaultSettings()
	set.Warmup = 0
	set.Duration = 200 * time.Millisecond
	set.Interval = 50 * time.Millisecond
	if mod != nil {
		mod(&set)
	}
	return Scenario{Name: "t", Workload: "test", New: func() (Workload, error) { return wl, nil }, Settings: set}
}

// withLongerWarmups runs attempt with a warmup of w, then 10 and 100 times
// that, until attempt reports that some ops ran during the warmup. Whether a
// worker goroutine gets a CPU inside a short warmup is up to the machine: on
// a loaded one it may not, and a test must not fail for that; a warmup that
// runs no ops in 100 times its length is an engine that skips it.
func withLongerWarmups(t *testing.T, w time.Duration, attempt func(warmup time.Duration) bool) {
	t.Helper()
	for range 3 {
		if attempt(w) {
			return
		}
		w *= 10
	}
	t.Fatalf("no op ran during a warmup of %s", w/10)
}

func mustRun(t *testing.T, sc Scenario, obs ...Observer) ScenarioResult {
	t.Helper()
	res, err := Run(context.Background(), sc, obs...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestClosedNeverExceedsConcurrency(t *testing.T) {
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
		time.Sleep(200 * time.Microsecond)
		return 0, nil
	}}
	res := mustRun(t, scenario(wl, func(s *Settings) { s.Concurrency = 5; s.Duration = 0; s.Iterations = 2000 }))
	if got := wl.maxSeen.Load(); got > 5 || got < 2 {
		t.Fatalf("max in flight %d, want ≤ 5 (and > 1)", got)
	}
	run := res.Runs[0]
	if run.Ops == 0 || run.Latency[OverallKey].Count != run.Ops {
		t.Fatalf("ops %d, latency count %d", run.Ops, run.Latency[OverallKey].Count)
	}
	if !run.Valid {
		t.Fatalf("invalid: %v", run.InvalidReasons)
	}
}

func TestIterationsExact(t *testing.T) {
	for _, c := range []int{1, 3, 8} {
		for _, n := range []int64{1, 7, 1000, 12345} {
			// Exactly n measured ops whatever the warmup ran; the calls
			// beyond n are the warmup's.
			withLongerWarmups(t, 20*time.Millisecond, func(warmup time.Duration) bool {
				wl := &testWorkload{}
				res := mustRun(t, scenario(wl, func(s *Settings) {
					s.Concurrency = c
					s.Duration = 0
					s.Iterations = n
					s.Warmup = warmup
				}))
				run := res.Runs[0]
				if run.Ops != n || run.Latency[OverallKey].Count != n {
					t.Fatalf("c=%d n=%d: ops %d, latency count %d", c, n, run.Ops, run.Latency[OverallKey].Count)
				}
				var sum int64
				for _, iv := range run.Intervals {
					sum += iv.Ops
				}
				if sum != n {
					t.Fatalf("intervals hold %d ops, want %d", sum, n)
				}
				return wl.calls.Load() > n
			})
		}
	}
}

func TestWarmupNotRecorded(t *testing.T) {
	// Ops that begin before half the warmup has passed fail; later ones
	// succeed. The cut-off is taken before the run starts its clock, so
	// every failing op began in the warmup however slow the machine: no
	// error may show.
	withLongerWarmups(t, 300*time.Millisecond, func(warmup time.Duration) bool {
		cutoff := time.Now().Add(warmup / 2)
		var failed atomic.Int64
		wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
			time.Sleep(100 * time.Microsecond)
			if time.Now().Before(cutoff) {
				failed.Add(1)
				return 0, errors.New("warmup op")
			}
			return 0, nil
		}}
		res := mustRun(t, scenario(wl, func(s *Settings) {
			s.Warmup = warmup
			s.Duration = 0
			s.Iterations = 200
			s.Concurrency = 2
		}))
		run := res.Runs[0]
		if run.Errors != 0 {
			t.Fatalf("%d warmup errors recorded (%d ops failed in the warmup)", run.Errors, failed.Load())
		}
		if run.Ops != 200 {
			t.Fatalf("ops %d of %d calls, want 200", run.Ops, wl.calls.Load())
		}
		return failed.Load() > 0
	})
}

func TestErrorsByKindAndPanic(t *testing.T) {
	var i atomic.Int64
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
		switch i.Add(1) % 4 {
		case 0:
			panic("boom")
		case 1:
			return 0, Errorf("http_503", nil)
		case 2:
			return 0, context.DeadlineExceeded
		}
		return 0, nil
	}}
	res := mustRun(t, scenario(wl, func(s *Settings) { s.Duration = 0; s.Iterations = 4000; s.Concurrency = 2; s.MaxErrorRate = 1 }))
	run := res.Runs[0]
	k := run.ErrorsByKind
	if run.Ops != 4000 || k[KindPanic] != 1000 || k["http_503"] != 1000 || k[KindTimeout] != 1000 || run.Errors != 3000 {
		t.Fatalf("ops %d errors %d by kind %v", run.Ops, run.Errors, k)
	}
	if run.ErrorRate != 0.75 {
		t.Fatalf("error rate %v", run.ErrorRate)
	}
}

func TestLabelsPhasesCounters(t *testing.T) {
	var hit, miss Label
	var wait Phase
	var bytes Counter
	wl := &testWorkload{
		setup: func(s *Setup) error {
			hit, miss = s.Label("hit"), s.Label("miss")
			wait = s.Phase("acquire_wait")
			bytes = s.Counter("bytes")
			return nil
		},
		op: func(_ context.Context, w *Worker) (Label, error) {
			w.Count(bytes, 10)
			w.Phase(wait, time.Microsecond)
			if w.ID == 0 {
				return miss, nil
			}
			return hit, nil
		},
	}
	res := mustRun(t, scenario(wl, func(s *Settings) { s.Duration = 0; s.Iterations = 1000; s.Concurrency = 2 }))
	run := res.Runs[0]
	l := run.Latency
	if l["hit"].Count+l["miss"].Count != 1000 || l[OverallKey].Count != 1000 || l["acquire_wait"].Count != 1000 {
		t.Fatalf("latency counts: %+v", l)
	}
	if run.Counters["bytes"] != 10000 {
		t.Fatalf("counters %v", run.Counters)
	}
}

func TestPercentilesMatchExact(t *testing.T) {
	// Each op reports a known latency through a phase; HDR percentiles must
	// match the exact ones within the histogram's precision (under 1%).
	var n atomic.Int64
	var ph Phase
	var mu sync.Mutex
	var vals []int64
	wl := &testWorkload{
		setup: func(s *Setup) error { ph = s.Phase("v"); return nil },
		op: func(_ context.Context, w *Worker) (Label, error) {
			i := n.Add(1)
			v := int64(1000 + (i*7919)%1000000) // 1µs .. 1ms, scrambled
			mu.Lock()
			vals = append(vals, v)
			mu.Unlock()
			w.Phase(ph, time.Duration(v))
			return 0, nil
		},
	}
	res := mustRun(t, scenario(wl, func(s *Settings) { s.Duration = 0; s.Iterations = 100000; s.Concurrency = 4 }))
	slices.Sort(vals)
	got := res.Runs[0].Latency["v"]
	for _, c := range []struct {
		q   float64
		got int64
	}{{50, got.P50Ns}, {90, got.P90Ns}, {99, got.P99Ns}, {99.9, got.P999Ns}} {
		exact := vals[int(math.Ceil(c.q/100*float64(len(vals))))-1]
		if rel := math.Abs(float64(c.got-exact)) / float64(exact); rel > 0.01 {
			t.Errorf("p%v: hdr %d, exact %d (%.2f%% off)", c.q, c.got, exact, 100*rel)
		}
	}
	if got.MaxNs < vals[len(vals)-1] || float64(got.MaxNs) > 1.01*float64(vals[len(vals)-1]) {
		t.Errorf("max %d, exact %d", got.MaxNs, vals[len(vals)-1])
	}
	h, err := got.Histogram()
	if err != nil || h.TotalCount() != 100000 {
		t.Fatalf("decoded hdr: %v, count %d", err, h.TotalCount())
	}
}

// TestOpenModelSchedule checks the constant schedule itself, without the
// clock: 2000/s over a 1s window after a 100ms warmup is 2000 intended starts
// 500µs apart from the window's start, and 2000 ops due.
func TestOpenModelSchedule(t *testing.T) {
	set := DefaultSettings()
	set.Rate, set.Warmup, set.Duration, set.Concurrency = 2000, 100*time.Millisecond, time.Second, 4
	r := newRunner(context.Background(), Scenario{Name: "t", Settings: set}, nil, &Setup{}, 0, nil)
	r.begin()
	var in []int64
	for {
		v := r.nextIntended(nil)
		if v >= r.measureEnd {
			break
		}
		if v >= r.measureStart {
			in = append(in, v)
		}
	}
	if len(in) != 2000 || in[0] != int64(100*time.Millisecond) {
		t.Fatalf("%d intended starts in the window, first at %s; want 2000 from 100ms", len(in), time.Duration(in[0]))
	}
	for i := 1; i < len(in); i++ {
		if d := in[i] - in[i-1]; d < 499_999 || d > 500_001 {
			t.Fatalf("starts %d and %d are %dns apart, want 500µs", i-1, i, d)
		}
	}
	if d := r.dropped(0); d != 2000 {
		t.Fatalf("%d due with none started, want 2000", d)
	}
	if d := r.dropped(1990); d != 10 {
		t.Fatalf("%d dropped with 1990 started, want 10", d)
	}
}

// TestOpenModelPoissonSchedule: Poisson arrivals at 2000/s over 1s are 2000
// ± 225 (5 sd) intended starts, with exponential gaps (mean 500µs).
func TestOpenModelPoissonSchedule(t *testing.T) {
	set := DefaultSettings()
	set.Rate, set.Arrival, set.Warmup, set.Duration = 2000, ArrivalPoisson, 0, time.Second
	for seed := range uint64(5) {
		r := newRunner(context.Background(), Scenario{Name: "t", Settings: set}, nil, &Setup{}, 0, nil)
		r.begin()
		ws := &workerState{rng: rand.New(rand.NewPCG(seed, 1))}
		n := 0
		for r.nextIntended(ws) < r.measureEnd {
			n++
		}
		if n < 1775 || n > 2225 {
			t.Fatalf("seed %d: %d arrivals in 1s, want 2000 ± 225", seed, n)
		}
	}
}

// TestOpenModelRate runs the schedule for real. How many ops start in the
// window is up to the machine (a loaded one drops some), so the smoke test
// asserts the accounting: every due op is started or counted dropped, the
// achieved rate is what started, and a shortfall makes the run invalid.
func TestOpenModelRate(t *testing.T) {
	wl := &testWorkload{}
	res := mustRun(t, scenario(wl, func(s *Settings) {
		s.Rate = 2000
		s.Duration = time.Second
		s.Warmup = 100 * time.Millisecond
		s.Concurrency = 4
	}))
	run := res.Runs[0]
	st := run.Schedule
	if st == nil {
		t.Fatal("no schedule stats")
	}
	if run.Ops == 0 || run.Ops > 2000 || run.Ops+st.Dropped != 2000 {
		t.Fatalf("ops %d + dropped %d, want 2000 due", run.Ops, st.Dropped)
	}
	if math.Abs(st.AchievedRate-float64(run.Ops)) > 1e-6 || st.TargetRate != 2000 {
		t.Fatalf("achieved %.3f/s of %g with %d ops in 1s", st.AchievedRate, st.TargetRate, run.Ops)
	}
	// (Valid runs may still be marked invalid for schedule lag when the
	// machine is loaded.)
	if st.AchievedRate < MinAchievedRatio*2000 && (run.Valid || !strings.Contains(fmt.Sprint(run.InvalidReasons), "achieved rate")) {
		t.Fatalf("achieved %.1f/s, valid %v: %v", st.AchievedRate, run.Valid, run.InvalidReasons)
	}
	if res.Model != ModelOpen {
		t.Fatalf("model %s", res.Model)
	}
	for _, k := range []string{OverallKey, OverallKey + ServiceSuffix, LagKey} {
		if run.Latency[k].Count != run.Ops {
			t.Fatalf("%s count %d, ops %d", k, run.Latency[k].Count, run.Ops)
		}
	}
}

func TestOpenModelPoissonRate(t *testing.T) {
	wl := &testWorkload{}
	res := mustRun(t, scenario(wl, func(s *Settings) {
		s.Rate = 2000
		s.Arrival = ArrivalPoisson
		s.Duration = time.Second
		s.Concurrency = 4
	}))
	// 2000 Poisson arrivals in 1s: sd ≈ 45; 5 sd either way. Ops the
	// machine was too slow to start count as dropped.
	run := res.Runs[0]
	if due := run.Ops + run.Schedule.Dropped; run.Ops == 0 || due < 1775 || due > 2225 {
		t.Fatalf("ops %d + dropped %d, want 2000 ± 225 due", run.Ops, run.Schedule.Dropped)
	}
}

// TestCoordinatedOmission is wrk2's test: an op that stalls 500ms once a
// second under an open model at 100/s. Latency from the intended start must
// show the stall at p99; the service time must not.
func TestCoordinatedOmission(t *testing.T) {
	var stalled atomic.Bool
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
		if stalled.CompareAndSwap(false, true) {
			time.Sleep(500 * time.Millisecond)
			time.AfterFunc(500*time.Millisecond, func() { stalled.Store(false) })
		}
		return 0, nil
	}}
	res := mustRun(t, scenario(wl, func(s *Settings) {
		s.Rate = 100
		s.Duration = 2 * time.Second
		s.Concurrency = 1
		s.Interval = time.Second
	}))
	run := res.Runs[0]
	co, svc := run.Latency[OverallKey], run.Latency[OverallKey+ServiceSuffix]
	if co.P99Ns < int64(300*time.Millisecond) {
		t.Fatalf("p99 from intended start %v: the stall is hidden", time.Duration(co.P99Ns))
	}
	if co.P90Ns < int64(200*time.Millisecond) {
		t.Fatalf("p90 from intended start %v: ops queued behind the stall should wait", time.Duration(co.P90Ns))
	}
	// Queued ops waited ≥ 200ms at p90 (checked above); their service time
	// is a no-op's, far under that even when a loaded machine adds stalls.
	if svc.P90Ns > int64(150*time.Millisecond) {
		t.Fatalf("service p90 %v: only the stalled ops are slow", time.Duration(svc.P90Ns))
	}
	if run.Schedule.Late == 0 {
		t.Fatal("no late ops counted")
	}
}

func TestOpenModelDropsWhenCapped(t *testing.T) {
	// One worker, ops of 20ms, 200/s: at most 50/s can start; the rest are
	// due but never start: counted as dropped, and the run is invalid.
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
		time.Sleep(20 * time.Millisecond)
		return 0, nil
	}}
	res := mustRun(t, scenario(wl, func(s *Settings) {
		s.Rate = 200
		s.Duration = 500 * time.Millisecond
		s.Concurrency = 1
	}))
	run := res.Runs[0]
	if run.Valid || run.Schedule.Dropped < 50 || run.Schedule.Dropped+run.Ops != 100 {
		t.Fatalf("valid %v, ops %d, dropped %d, reasons %v", run.Valid, run.Ops, run.Schedule.Dropped, run.InvalidReasons)
	}
}

func TestTimeoutViaContext(t *testing.T) {
	wl := &testWorkload{op: func(ctx context.Context, _ *Worker) (Label, error) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Second):
			return 0, nil
		}
	}}
	res := mustRun(t, scenario(wl, func(s *Settings) {
		s.Timeout = 20 * time.Millisecond
		s.Duration = 0
		s.Iterations = 10
		s.Concurrency = 2
		s.MaxErrorRate = 1
	}))
	run := res.Runs[0]
	if run.ErrorsByKind[KindTimeout] != 10 {
		t.Fatalf("errors %v", run.ErrorsByKind)
	}
	if p := run.Latency[OverallKey].MaxNs; p > int64(5*time.Second) {
		t.Fatalf("max latency %v: the timeout did not cut the op", time.Duration(p))
	}
}

func TestDeadlineVisibleAndReset(t *testing.T) {
	// Every op sees a deadline at most timeout ahead and later than the
	// previous op's, and a Done that fired for one op does not leak into the
	// next. A slow machine may reach an op's deadline before the op looks
	// (Done closed then is right), so what counts is Done closed before
	// the deadline.
	var bad atomic.Int64
	var i atomic.Int64
	var prev time.Time // one worker: no race
	wl := &testWorkload{op: func(ctx context.Context, _ *Worker) (Label, error) {
		d, ok := ctx.Deadline()
		now := time.Now()
		if !ok || d.Sub(now) > 100*time.Millisecond || !d.After(prev) {
			bad.Add(1)
		}
		prev = d
		if i.Add(1)%2 == 0 {
			<-ctx.Done() // wait for this op's timeout
			return 0, ctx.Err()
		}
		select {
		case <-ctx.Done():
			if now.Before(d) {
				bad.Add(1) // closed before this op's deadline: leaked
			}
		default:
		}
		return 0, nil
	}}
	res := mustRun(t, scenario(wl, func(s *Settings) {
		s.Timeout = 100 * time.Millisecond
		s.Duration = 0
		s.Iterations = 10
		s.Concurrency = 1
		s.MaxErrorRate = 1
	}))
	if bad.Load() != 0 || res.Runs[0].ErrorsByKind[KindTimeout] != 5 {
		t.Fatalf("bad %d, errors %v", bad.Load(), res.Runs[0].ErrorsByKind)
	}
}

func TestCancelWritesPartial(t *testing.T) {
	// The 50th op stops the run, so some ops were measured however slow
	// the machine.
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
		time.Sleep(time.Millisecond)
		if calls.Add(1) == 50 {
			cancel()
		}
		return 0, nil
	}}
	sc := scenario(wl, func(s *Settings) { s.Duration = time.Hour; s.Count = 3; s.Concurrency = 2 })
	res, err := Run(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || len(res.Runs) != 1 || !res.Runs[0].Partial || res.Runs[0].Ops == 0 {
		t.Fatalf("partial %v, runs %d, ops %d", res.Partial, len(res.Runs), res.Runs[0].Ops)
	}
	if el := time.Duration(res.Runs[0].ElapsedNs); el > 10*time.Second {
		t.Fatalf("elapsed %v: the stop did not end the run", el)
	}
}

func TestCountRuns(t *testing.T) {
	res := mustRun(t, scenario(&testWorkload{}, func(s *Settings) { s.Count = 3; s.Duration = 0; s.Iterations = 100 }))
	if len(res.Runs) != 3 {
		t.Fatalf("%d runs", len(res.Runs))
	}
	for i, r := range res.Runs {
		if r.Index != i || r.Ops == 0 {
			t.Fatalf("run %d: index %d ops %d", i, r.Index, r.Ops)
		}
	}
}

func TestObserversSeeIntervals(t *testing.T) {
	var mu sync.Mutex
	var snaps []*Snapshot
	obs := ObserverFunc(func(s *Snapshot) { mu.Lock(); snaps = append(snaps, s); mu.Unlock() })
	res := mustRun(t, scenario(&testWorkload{}, func(s *Settings) { s.Duration = 300 * time.Millisecond; s.Interval = 100 * time.Millisecond }), obs)
	if len(snaps) < 3 || !snaps[len(snaps)-1].Final {
		t.Fatalf("%d snapshots", len(snaps))
	}
	var ops int64
	for i, s := range snaps {
		ops += s.Ops
		if s.Latency[OverallKey] == nil {
			t.Fatalf("snapshot %d has no %s histogram", i, OverallKey)
		}
	}
	if ops != res.Runs[0].Ops || snaps[len(snaps)-1].TotalOps != ops {
		t.Fatalf("snapshots hold %d ops, run %d", ops, res.Runs[0].Ops)
	}
}

func TestSetupError(t *testing.T) {
	wl := &testWorkload{setup: func(*Setup) error { return errors.New("no route") }}
	_, err := Run(context.Background(), scenario(wl, nil))
	var se *SetupError
	if !errors.As(err, &se) {
		t.Fatalf("err %v", err)
	}
}

func TestEveryOpFailed(t *testing.T) {
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) { return 0, Errorf("conn_refused", nil) }}
	res := mustRun(t, scenario(wl, nil))
	run := res.Runs[0]
	if run.Errors != run.Ops || run.Valid {
		t.Fatalf("errors %d ops %d valid %v", run.Errors, run.Ops, run.Valid)
	}
}

func TestCancelInterruptsOpenModelWait(t *testing.T) {
	// At 0.01 ops/s the second op is 100s away; a stop, made just after the
	// first op, must not wait for it.
	ctx, cancel := context.WithCancel(context.Background())
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
		time.AfterFunc(50*time.Millisecond, cancel)
		return 0, nil
	}}
	start := time.Now()
	res, err := Run(ctx, scenario(wl, func(s *Settings) { s.Rate = 0.01; s.Duration = time.Hour; s.Concurrency = 1 }))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || res.Runs[0].Ops != 1 {
		t.Fatalf("partial %v ops %d", res.Partial, res.Runs[0].Ops)
	}
	if waited := time.Since(start); waited > 20*time.Second {
		t.Fatalf("stop took %v", waited)
	}
}

func TestSingleLabelHasOverall(t *testing.T) {
	wl := &testWorkload{setup: func(s *Setup) error { s.Label("batch"); return nil }}
	for _, rate := range []float64{0, 1000} {
		res := mustRun(t, scenario(wl, func(s *Settings) { s.Rate = rate; s.Duration = 0; s.Iterations = 50 }))
		l := res.Runs[0].Latency
		if l["batch"].Count == 0 || l[OverallKey].Count != l["batch"].Count {
			t.Fatalf("rate %v: batch %d, op %d", rate, l["batch"].Count, l[OverallKey].Count)
		}
		if rate > 0 && l[OverallKey+ServiceSuffix].Count != l["batch"].Count {
			t.Fatalf("op.service %d", l[OverallKey+ServiceSuffix].Count)
		}
	}
}

// TestOpenModelStartsWorkersOnDemand: the cap is a bound, not a pool to
// fill. Ops that return at once, 5ms apart, need one worker and one asleep
// on the next slot; a worker starts another only when none is asleep (a
// busy machine may add a few), never the cap of 1000, and never fewer than
// were in flight.
func TestOpenModelStartsWorkersOnDemand(t *testing.T) {
	wl := &testWorkload{}
	res := mustRun(t, scenario(wl, func(s *Settings) {
		s.Rate = 200
		s.Duration = 0
		s.Iterations = 40
		s.Concurrency = 1000
	}))
	run := res.Runs[0]
	st := run.Schedule
	if run.Ops != 40 || st.WorkersStarted < 1 || st.WorkersStarted > 50 || int64(st.WorkersStarted) < wl.maxSeen.Load() {
		t.Fatalf("%d ops, %d workers started (peak in flight %d), want 40 ops on a few workers", run.Ops, st.WorkersStarted, wl.maxSeen.Load())
	}
}

// TestOpenModelCapHoldsSlots: with every worker busy, due slots wait for
// one, never a new worker past the cap, and their lateness is the target's:
// late, but not late while a worker was free (only the first three slots,
// each waited for by a worker then idle, could be that).
func TestOpenModelCapHoldsSlots(t *testing.T) {
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
		time.Sleep(30 * time.Millisecond)
		return 0, nil
	}}
	res := mustRun(t, scenario(wl, func(s *Settings) {
		s.Rate = 500
		s.Duration = 0
		s.Iterations = 15
		s.Concurrency = 3
		s.MaxLate = 1
	}))
	run := res.Runs[0]
	st := run.Schedule
	if run.Ops != 15 || st.WorkersStarted != 3 || wl.maxSeen.Load() > 3 {
		t.Fatalf("%d ops, %d workers started, peak in flight %d; want 15 ops on 3 workers", run.Ops, st.WorkersStarted, wl.maxSeen.Load())
	}
	if st.Late < 10 || st.GeneratorLate > 3 {
		t.Fatalf("late %d, generator late %d: want most ops late, at most 3 of them while a worker was free", st.Late, st.GeneratorLate)
	}
}

// TestOpenModelIntervalsWithWorkersJoining: workers started mid-run join
// the collector at the interval they start in; every op lands in exactly
// one snapshot, the snapshots' histograms count them all, and the run ends
// (the collector does not wait for workers never started).
func TestOpenModelIntervalsWithWorkersJoining(t *testing.T) {
	var mu sync.Mutex
	var snaps []*Snapshot
	var recorded int64 // read in the callback: a snapshot's histograms are reused after the next
	obs := ObserverFunc(func(s *Snapshot) {
		mu.Lock()
		snaps = append(snaps, s)
		recorded += s.Latency[OverallKey].TotalCount()
		mu.Unlock()
	})
	var calls atomic.Int64
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
		if calls.Add(1)%50 == 0 { // now and then a slow op: more workers start
			time.Sleep(20 * time.Millisecond)
		}
		return 0, nil
	}}
	res := mustRun(t, scenario(wl, func(s *Settings) {
		s.Rate = 1000
		s.Warmup = 50 * time.Millisecond
		s.Duration = 300 * time.Millisecond
		s.Interval = 50 * time.Millisecond
		s.Concurrency = 500
	}), obs)
	run := res.Runs[0]
	if len(snaps) < 2 || !snaps[len(snaps)-1].Final {
		t.Fatalf("%d snapshots", len(snaps))
	}
	var ops int64
	for _, s := range snaps {
		ops += s.Ops
	}
	if ops != run.Ops || recorded != ops || run.Schedule.WorkersStarted < 2 || run.Schedule.WorkersStarted >= 500 {
		t.Fatalf("snapshots hold %d ops (%d in histograms), run %d; %d workers started", ops, recorded, run.Ops, run.Schedule.WorkersStarted)
	}
}
