package bench

import (
	"context"
	"fmt"
	"testing"
	"time"
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
