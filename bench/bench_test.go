package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

type noop struct{}

func (noop) Setup(context.Context, *Setup) error        { return nil }
func (noop) Op(context.Context, *Worker) (Label, error) { return 0, nil }
func (noop) Teardown(context.Context) error             { return nil }

// BenchmarkFloor is what one op must cost at least: one clock read and one
// HDR record. BenchmarkEngine's ns/op divided by this is the engine's
// overhead ratio (target ≤ 1.5).
func BenchmarkFloor(b *testing.B) {
	h := NewHistogram()
	base := time.Now()
	var t0 int64
	for b.Loop() {
		t1 := int64(time.Since(base))
		record(h, t1-t0)
		t0 = t1
	}
}

// BenchmarkEngine is the engine's per-op cost with a no-op workload, closed
// model: b.N measured ops over 1 and 2 workers.
func BenchmarkEngine(b *testing.B) {
	for _, c := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", c), func(b *testing.B) {
			set := DefaultSettings()
			set.Concurrency = c
			set.Warmup = 0
			set.Duration = 0
			set.Iterations = int64(b.N)
			sc := Scenario{Name: "noop", New: func() (Workload, error) { return noop{}, nil }, Settings: set}
			b.ReportAllocs()
			b.ResetTimer()
			res, err := Run(context.Background(), sc)
			if err != nil || res.Runs[0].Ops != int64(b.N) {
				b.Fatalf("err %v, ops %d of %d", err, res.Runs[0].Ops, b.N)
			}
		})
	}
}

// BenchmarkEngineMemory runs 1M and 20M no-op ops and reports the run's peak
// RSS: memory must not grow with the number of ops (within 10%).
func BenchmarkEngineMemory(b *testing.B) {
	for _, n := range []int64{1_000_000, 20_000_000} {
		b.Run(fmt.Sprintf("ops=%dM", n/1_000_000), func(b *testing.B) {
			var rss int64
			for b.Loop() {
				set := DefaultSettings()
				set.Concurrency = 2
				set.Warmup = 0
				set.Duration = 0
				set.Iterations = n
				sc := Scenario{Name: "noop", New: func() (Workload, error) { return noop{}, nil }, Settings: set}
				res, err := Run(context.Background(), sc)
				if err != nil {
					b.Fatal(err)
				}
				rss = max(rss, res.Runs[0].Resources.MaxRSSBytes)
			}
			b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
		})
	}
}

// BenchmarkRecord compares ways of recording one latency per op from many
// goroutines (the choice behind samples.go). Each goroutine is a worker;
// ns/op is per recorded latency; worker-B is the memory each worker adds.
//
//   - worker-hdr: each worker owns an HDR histogram (perfkit before 2026-12):
//     no sharing at all, but ~40 KiB per worker and latency key.
//   - mutex-hdr: one histogram behind one lock: no per-worker memory, but
//     every op takes the shared lock.
//   - buffered-shards: a 512-byte buffer per worker, flushed every 64 ops
//     into one of 2×GOMAXPROCS sharded histograms (what the engine does).
func BenchmarkRecord(b *testing.B) {
	lay := layout{labels: []string{"op"}, keys: []string{"op"}}
	for _, par := range []int{1, 64} {
		b.Run(fmt.Sprintf("worker-hdr/par=%d", par), func(b *testing.B) {
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				h := NewHistogram()
				v := int64(1000)
				for pb.Next() {
					record(h, v)
					v = v*7%100_000 + 1
				}
			})
			b.ReportMetric(float64(NewHistogram().ByteSize()), "worker-B")
		})
		b.Run(fmt.Sprintf("mutex-hdr/par=%d", par), func(b *testing.B) {
			var mu sync.Mutex
			h := NewHistogram()
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				v := int64(1000)
				for pb.Next() {
					mu.Lock()
					record(h, v)
					mu.Unlock()
					v = v*7%100_000 + 1
				}
			})
			b.ReportMetric(0, "worker-B")
		})
		b.Run(fmt.Sprintf("buffered-shards/par=%d", par), func(b *testing.B) {
			set := newShardSet(lay, par*runtime.GOMAXPROCS(0))
			var ids atomic.Int64
			b.SetParallelism(par)
			b.RunParallel(func(pb *testing.PB) {
				home := set.home(int(ids.Add(1)))
				var buf sampleBuf
				v := int64(1000)
				for pb.Next() {
					if buf.add(0, v) {
						set.flush(home, 0, &buf)
					}
					v = v*7%100_000 + 1
				}
			})
			b.ReportMetric(float64(unsafe.Sizeof(sampleBuf{})), "worker-B")
		})
	}
}

// sleeper's ops sleep, so every worker is alive at once.
type sleeper struct{ d time.Duration }

func (sleeper) Setup(context.Context, *Setup) error { return nil }
func (s sleeper) Op(context.Context, *Worker) (Label, error) {
	time.Sleep(s.d)
	return 0, nil
}
func (sleeper) Teardown(context.Context) error { return nil }

// BenchmarkEngineWorkerBytes is the engine's memory per worker: heap and
// stacks in use in the middle of a closed run of 10,000 workers whose ops
// sleep, less what was in use before, divided by the workers.
func BenchmarkEngineWorkerBytes(b *testing.B) {
	const n = 10_000
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		set := DefaultSettings()
		set.Concurrency = n
		set.Warmup = 0
		set.Duration = 600 * time.Millisecond
		sc := Scenario{Name: "sleep", New: func() (Workload, error) { return sleeper{time.Millisecond}, nil }, Settings: set}
		mid := time.AfterFunc(400*time.Millisecond, func() { runtime.ReadMemStats(&m1) })
		if _, err := Run(context.Background(), sc); err != nil {
			b.Fatal(err)
		}
		mid.Stop()
		used := func(m *runtime.MemStats) float64 { return float64(m.HeapInuse + m.StackInuse) }
		b.ReportMetric((used(&m1)-used(&m0))/n, "B/worker")
	}
}

// BenchmarkStop is how long a run of many workers takes to end after a
// graceful stop (SIGTERM or Ctrl-C cancel the run's context): ops of 10 ms
// in flight finish, every worker hands its last interval over, the result
// is built. The documented bound is the grace (--grace, 5s) plus a second.
func BenchmarkStop(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			var worst time.Duration
			for b.Loop() {
				set := DefaultSettings()
				set.Concurrency = n
				set.Warmup = 0
				set.Duration = time.Minute
				sc := Scenario{Name: "sleep", New: func() (Workload, error) { return sleeper{10 * time.Millisecond}, nil }, Settings: set}
				ctx, cancel := context.WithCancel(context.Background())
				var stopAt time.Time
				time.AfterFunc(time.Second, func() { stopAt = time.Now(); cancel() })
				res, err := Run(ctx, sc)
				took := time.Since(stopAt)
				if err != nil || !res.Partial {
					b.Fatalf("err %v, partial %v", err, res.Partial)
				}
				worst = max(worst, took)
			}
			b.ReportMetric(float64(worst.Milliseconds()), "stop-ms")
		})
	}
}
