package bench

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// BenchmarkScheduleSlot is the cost of claiming one intended start: the
// constant schedule (one atomic add, a multiply), a staged one (the same
// add, then the inverse of the rate's integral through the worker's cursor:
// a square root) and a staged Poisson one. Compare with BenchmarkFloor.
func BenchmarkScheduleSlot(b *testing.B) {
	for _, c := range []struct {
		name           string
		stages, arrive string
	}{
		{"constant", "", ArrivalConstant},
		{"staged", "1h:1e6,1h:1e6,1h:1e5", ArrivalConstant},
		{"staged-poisson", "1h:1e6,1h:1e6,1h:1e5", ArrivalPoisson},
	} {
		b.Run(c.name, func(b *testing.B) {
			set := DefaultSettings()
			set.Rate, set.Stages, set.Arrival, set.Warmup = 1e5, c.stages, c.arrive, 0
			set.Duration = set.ParsedStages().Total()
			if c.stages == "" {
				set.Duration = time.Hour
			}
			r := newRunner(context.Background(), Scenario{Name: "b", Settings: set}, nil, &Setup{}, 0, nil)
			r.sched = set.schedule()
			r.begin()
			ws := &workerState{rng: rand.New(rand.NewPCG(1, 2))}
			var sink int64
			b.ReportAllocs()
			for b.Loop() {
				sink += r.nextIntended(ws)
			}
			if sink == 0 {
				b.Fatal("no slots")
			}
		})
	}
}

// BenchmarkStagedEngine is the engine's per-op cost with a no-op workload
// and one worker for 300ms, without stages and with one flat stage of the
// same load: open model at a rate no worker keeps up with (its schedule
// always due), closed model with its one worker. ns/op is per run;
// ns/engine-op and allocs/engine-op are per op: compare each staged case
// with its unstaged one (and BenchmarkFloor).
func BenchmarkStagedEngine(b *testing.B) {
	for _, c := range []struct {
		name, stages string
		rate         float64
	}{
		{"open/constant", "", 5e6}, {"open/staged", "300ms:5e6", 5e6},
		{"closed/constant", "", 0}, {"closed/staged", "300ms:1", 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			var ops, ns int64
			var mallocs uint64
			for b.Loop() {
				set := DefaultSettings()
				set.Rate, set.Concurrency, set.Warmup, set.Duration, set.Stages = c.rate, 1, 0, 300*time.Millisecond, c.stages
				set.MaxLate = 1
				sc := Scenario{Name: "noop", New: func() (Workload, error) { return noop{}, nil }, Settings: set}
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				res, err := Run(context.Background(), sc)
				runtime.ReadMemStats(&m1)
				if err != nil {
					b.Fatal(err)
				}
				ops += res.Runs[0].Ops
				ns += res.Runs[0].ElapsedNs
				mallocs += m1.Mallocs - m0.Mallocs
			}
			b.ReportMetric(float64(ns)/float64(ops), "ns/engine-op")
			b.ReportMetric(float64(mallocs)/float64(ops), "allocs/engine-op")
		})
	}
}
