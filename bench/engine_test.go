package bench

import (
	"context"
	"errors"
	"math"
	"slices"
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
	res := mustRun(t, scenario(wl, func(s *Settings) { s.Concurrency = 5 }))
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
			wl := &testWorkload{}
			res := mustRun(t, scenario(wl, func(s *Settings) {
				s.Concurrency = c
				s.Duration = 0
				s.Iterations = n
				s.Warmup = 20 * time.Millisecond
			}))
			run := res.Runs[0]
			if run.Ops != n || run.Latency[OverallKey].Count != n {
				t.Fatalf("c=%d n=%d: ops %d, latency count %d", c, n, run.Ops, run.Latency[OverallKey].Count)
			}
			if wl.calls.Load() <= n {
				t.Fatalf("c=%d n=%d: %d calls: the warmup ran no ops", c, n, wl.calls.Load())
			}
			var sum int64
			for _, iv := range run.Intervals {
				sum += iv.Ops
			}
			if sum != n {
				t.Fatalf("intervals hold %d ops, want %d", sum, n)
			}
		}
	}
}

func TestWarmupNotRecorded(t *testing.T) {
	var measuring atomic.Bool
	// Ops during the warmup fail; measured ops succeed. No error may show.
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
		time.Sleep(100 * time.Microsecond)
		if !measuring.Load() {
			return 0, errors.New("warmup op")
		}
		return 0, nil
	}}
	time.AfterFunc(150*time.Millisecond, func() { measuring.Store(true) })
	res := mustRun(t, scenario(wl, func(s *Settings) {
		s.Warmup = 300 * time.Millisecond
		s.Concurrency = 2
	}))
	run := res.Runs[0]
	if run.Errors != 0 {
		t.Fatalf("%d warmup errors recorded", run.Errors)
	}
	if run.Ops == 0 || run.Ops >= wl.calls.Load() {
		t.Fatalf("ops %d of %d calls", run.Ops, wl.calls.Load())
	}
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
	if math.Abs(st.AchievedRate-2000)/2000 > 0.02 {
		t.Fatalf("achieved %.1f/s, want 2000 ± 2%%", st.AchievedRate)
	}
	if run.Ops < 1960 || run.Ops > 2001 {
		t.Fatalf("ops %d, want ~2000", run.Ops)
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
	// 2000 Poisson arrivals in 1s: sd ≈ 45; 5 sd either way.
	if ops := res.Runs[0].Ops; ops < 1775 || ops > 2225 {
		t.Fatalf("ops %d, want 2000 ± 225", ops)
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
	if svc.P90Ns > int64(50*time.Millisecond) {
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
		case <-time.After(time.Second):
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
	if p := run.Latency[OverallKey].MaxNs; p > int64(500*time.Millisecond) {
		t.Fatalf("max latency %v: the timeout did not cut the op", time.Duration(p))
	}
}

func TestDeadlineVisibleAndReset(t *testing.T) {
	// Every op sees a deadline about timeout from its start, and a Done that
	// fired for one op does not leak into the next.
	var bad atomic.Int64
	var i atomic.Int64
	wl := &testWorkload{op: func(ctx context.Context, _ *Worker) (Label, error) {
		d, ok := ctx.Deadline()
		if !ok || time.Until(d) > 100*time.Millisecond || time.Until(d) < 0 {
			bad.Add(1)
		}
		if i.Add(1)%2 == 0 {
			<-ctx.Done() // wait for this op's timeout
			return 0, ctx.Err()
		}
		select {
		case <-ctx.Done():
			bad.Add(1) // closed at the start of an op: leaked
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
	wl := &testWorkload{op: func(context.Context, *Worker) (Label, error) {
		time.Sleep(time.Millisecond)
		return 0, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
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
	res := mustRun(t, scenario(&testWorkload{}, func(s *Settings) { s.Count = 3; s.Duration = 50 * time.Millisecond }))
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
	// At 0.5 ops/s the second op is 2s away; a stop must not wait for it.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	res, err := Run(ctx, scenario(&testWorkload{}, func(s *Settings) { s.Rate = 0.5; s.Duration = time.Minute; s.Concurrency = 1 }))
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
		res := mustRun(t, scenario(wl, func(s *Settings) { s.Rate = rate; s.Duration = 100 * time.Millisecond }))
		l := res.Runs[0].Latency
		if l["batch"].Count == 0 || l[OverallKey].Count != l["batch"].Count {
			t.Fatalf("rate %v: batch %d, op %d", rate, l["batch"].Count, l[OverallKey].Count)
		}
		if rate > 0 && l[OverallKey+ServiceSuffix].Count != l["batch"].Count {
			t.Fatalf("op.service %d", l[OverallKey+ServiceSuffix].Count)
		}
	}
}
