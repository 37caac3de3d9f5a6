package bench

import (
	"context"
	"github.com/HdrHistogram/hdrhistogram-go"
	"runtime"
	"sync"
	"sync/atomic"
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
	// One label, and two (hit and miss, as cache and pool have): the
	// merges over labels take turns too. (The open model's are checked by
	// TestOverallsTakeTurns: under the race detector its collector lags
	// 10 ms intervals, and the shards' sets for the intervals it has yet to
	// take make the figure noise.)
	for _, tc := range []struct {
		name   string
		labels bool
		rate   float64
	}{{"one label", false, 0}, {"two labels", true, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			alloc := func(d time.Duration) (uint64, int) {
				var hit, miss Label
				var n atomic.Int64
				wl := &testWorkload{op: func(ctx context.Context, w *Worker) (Label, error) {
					time.Sleep(time.Millisecond)
					if n.Add(1)%2 == 0 {
						return miss, nil
					}
					return hit, nil
				}}
				if tc.labels {
					wl.setup = func(s *Setup) error {
						hit, miss = s.Label("hit"), s.Label("miss")
						return nil
					}
				}
				sc := scenario(wl, func(s *Settings) {
					s.Concurrency = 1
					s.Duration = d
					s.Interval = 10 * time.Millisecond
					if tc.rate > 0 {
						s.Rate, s.Concurrency = tc.rate, 4
					}
				})
				var m0, m1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m0)
				res := mustRun(t, sc)
				runtime.ReadMemStats(&m1)
				return m1.TotalAlloc - m0.TotalAlloc, len(res.Runs[0].Intervals)
			}
			// The least of two runs of each length: what a run allocates
			// besides its intervals (sets of histograms as workers join)
			// varies from run to run, and only adds.
			least := func(d time.Duration) (uint64, int) {
				b, n := alloc(d)
				if b2, n2 := alloc(d); b2 < b {
					b, n = b2, n2
				}
				return b, n
			}
			a, na := least(200 * time.Millisecond)
			b, nb := least(800 * time.Millisecond)
			per := (float64(b) - float64(a)) / float64(max(nb-na, 1))
			t.Logf("%.0f B per interval (%d vs %d intervals)", per, na, nb)
			if per > 8<<10 {
				t.Fatalf("%.0f B allocated per interval, want under 8 KiB (a histogram is ~37 KiB)", per)
			}
		})
	}
}

// TestOverallsTakeTurns: an interval's merges over labels (latency and, in
// the open model, service time) are two pairs of histograms that take turns,
// and hold exactly that interval's values.
func TestOverallsTakeTurns(t *testing.T) {
	s := &Setup{}
	s.Label("hit")
	s.Label("miss")
	lay := newLayout(s, ModelOpen)
	c := &collector{r: &runner{lay: lay}}
	var seen [2][2]*hdrhistogram.Histogram
	for k := range 6 {
		iv := lay.newInterval()
		iv.hists[0].RecordValue(int64(100 + k))             // hit
		iv.hists[1].RecordValue(int64(200 + k))             // miss
		iv.hists[lay.service0()].RecordValue(int64(10 + k)) // hit.service
		all, svc := c.overalls(k, iv)
		if all.TotalCount() != 2 || all.Min() != int64(100+k) || all.Max() != int64(200+k) {
			t.Fatalf("interval %d: overall holds %d values, %d..%d", k, all.TotalCount(), all.Min(), all.Max())
		}
		if svc == nil || svc.TotalCount() != 1 || svc.Max() != int64(10+k) {
			t.Fatalf("interval %d: overall service time %v", k, svc)
		}
		if k >= 2 && (seen[k%2][0] != all || seen[k%2][1] != svc) {
			t.Fatalf("interval %d allocated its merges: they should be interval %d's", k, k-2)
		}
		if k == 1 && (seen[0][0] == all || seen[0][1] == svc) {
			t.Fatal("intervals 0 and 1 share a merge: an observer may still hold interval 0's")
		}
		seen[k%2] = [2]*hdrhistogram.Histogram{all, svc}
	}

	one := newLayout(&Setup{}, ModelOpen) // the one label: its own histograms, no merge
	c = &collector{r: &runner{lay: one}}
	iv := one.newInterval()
	if all, svc := c.overalls(0, iv); all != iv.hists[0] || svc != iv.hists[one.service0()] {
		t.Fatal("a single label's overall should be its own histograms")
	}
}
