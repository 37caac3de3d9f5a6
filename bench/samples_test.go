package bench

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

func testLayout(labels ...string) layout {
	return layout{labels: labels, keys: labels}
}

// Every sample flushed from many goroutines lands in exactly one histogram,
// including those flushed while the collector takes intervals away.
func TestShardsKeepEverySample(t *testing.T) {
	lay := testLayout("a", "b")
	set := newShardSet(lay, 64)
	const workers, per = 16, 10_000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var taken [][]int64
	got := make(chan int64)
	go func() { // the collector: takes intervals 0, 1, 2 … while workers record
		var sum int64
		for k := 0; ; k++ {
			dst := lay.newHists()
			select {
			case <-stop:
				set.take(k, true, dst)
				sum += dst[0].TotalCount() + dst[1].TotalCount()
				got <- sum
				return
			default:
				set.take(k, false, dst)
				sum += dst[0].TotalCount() + dst[1].TotalCount()
				taken = append(taken, []int64{dst[0].TotalCount(), dst[1].TotalCount()})
				runtime.Gosched()
			}
		}
	}()
	for w := range workers {
		wg.Go(func() {
			var b sampleBuf
			home := set.home(w)
			for i := range per {
				if b.add(i%2, int64(i+1)) {
					set.flush(home, i/1000, &b) // interval i/1000, behind or ahead of the collector
				}
			}
			set.flush(home, per/1000, &b)
		})
	}
	wg.Wait()
	close(stop)
	if sum := <-got; sum != workers*per {
		t.Fatalf("histograms hold %d samples, want %d", sum, workers*per)
	}
}

// A flush for an interval already taken joins the next one to go out.
func TestLateFlushJoinsNextInterval(t *testing.T) {
	lay := testLayout("op")
	set := newShardSet(lay, 1)
	dst := lay.newHists()
	set.take(0, false, dst) // interval 0 goes out empty
	var b sampleBuf
	b.add(0, 5)
	set.flush(0, 0, &b) // a worker stalled in interval 0
	dst = lay.newHists()
	set.take(1, false, dst)
	if n := dst[0].TotalCount(); n != 1 {
		t.Fatalf("interval 1 holds %d samples, want the late one", n)
	}
}

// The warmup's samples are dropped; out-of-range values are clamped.
func TestFlushDropsWarmupAndClamps(t *testing.T) {
	lay := testLayout("op")
	set := newShardSet(lay, 1)
	var b sampleBuf
	b.add(0, 7)
	set.flush(0, -1, &b)
	if b.n != 0 {
		t.Fatalf("buffer not emptied by a warmup flush")
	}
	b.add(0, -3)
	b.add(0, histMax*2)
	set.flush(0, 0, &b)
	dst := lay.newHists()
	set.take(0, true, dst)
	h := dst[0]
	if h.TotalCount() != 2 || h.Min() != 0 || !h.ValuesAreEquivalent(h.Max(), histMax) {
		t.Fatalf("count %d min %d max %d, want 2 samples clamped to [0, %d]", h.TotalCount(), h.Min(), h.Max(), histMax)
	}
}

// The engine's heap per worker does not grow with latency keys: workers
// buffer samples; histograms are per shard. Before the shards, each worker
// allocated ~40 KiB per key (here 8 keys: 320 KiB). The marginal cost is
// measured between runs of 1,000 and 3,000 workers (as many as each run
// started: the open model starts them on demand, so ops are held long
// enough to need them all), so the run's fixed costs (the result's
// encoded histograms) cancel out. Allocation counts are
// the same on a busy machine, so the bound holds anywhere.
func TestEngineHeapPerWorker(t *testing.T) {
	wl := &testWorkload{
		setup: func(s *Setup) error {
			s.Label("a")
			s.Label("b")
			s.Label("c")
			s.Phase("p")
			return nil
		},
		op: func(ctx context.Context, w *Worker) (Label, error) {
			w.Phase(0, time.Microsecond)
			time.Sleep(50 * time.Millisecond) // ops in flight: the open model starts workers for them
			return Label(w.ID % 3), nil
		},
	}
	alloc := func(n int) (uint64, int) {
		sc := scenario(wl, func(s *Settings) {
			s.Concurrency = n
			s.Duration = 0
			s.Iterations = 4000
			s.Rate = 1e6 // open model: 3 labels + phase + 3 service + lag = 8 keys
			// one interval, however long the run: the open model starts its
			// workers during the run, and each interval allocates histograms
			s.Interval = time.Minute
		})
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		res := mustRun(t, sc)
		runtime.ReadMemStats(&m1)
		if ops := res.Runs[0].Ops; ops != 4000 {
			t.Fatalf("ops %d, want 4000", ops)
		}
		return m1.TotalAlloc - m0.TotalAlloc, res.Runs[0].Schedule.WorkersStarted
	}
	a, na := alloc(1000)
	b, nb := alloc(3000)
	if nb-na < 500 { // workers start on demand: ops return too fast here
		t.Skipf("%d and %d workers started: too close to measure", na, nb)
	}
	per := (float64(b) - float64(a)) / float64(nb-na)
	t.Logf("engine heap: %.0f B per worker (%d and %d workers)", per, na, nb)
	if per > 4<<10 {
		t.Fatalf("engine allocated %.0f B per worker, want under 4 KiB (no per-worker histograms)", per)
	}
}

// An interval allocates no histograms: the collector's two sets take turns
// (a fresh set per interval made a long run's RSS creep). Measured as the
// extra allocation of a run with 60 more intervals, so fixed costs cancel.
func TestIntervalsAllocateNoHistograms(t *testing.T) {
	alloc := func(d time.Duration) (uint64, int) {
		wl := &testWorkload{op: func(ctx context.Context, w *Worker) (Label, error) {
			time.Sleep(time.Millisecond)
			return 0, nil
		}}
		sc := scenario(wl, func(s *Settings) {
			s.Concurrency = 1
			s.Duration = d
			s.Interval = 10 * time.Millisecond
		})
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		res := mustRun(t, sc)
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc, len(res.Runs[0].Intervals)
	}
	a, na := alloc(200 * time.Millisecond)
	b, nb := alloc(800 * time.Millisecond)
	per := (float64(b) - float64(a)) / float64(max(nb-na, 1))
	t.Logf("%.0f B per interval (%d vs %d intervals)", per, na, nb)
	if per > 8<<10 {
		t.Fatalf("%.0f B allocated per interval, want under 8 KiB (a histogram is ~37 KiB)", per)
	}
}
