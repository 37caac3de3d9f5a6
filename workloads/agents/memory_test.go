package agents

import (
	"context"
	"runtime"
	"testing"
)

// measureState is the heap one engine worker's agents state keeps once it has
// run a batch: n states are built and each runs one batch as Op would
// (without the engine's recording), and the live heap is read after a GC
// before and after, while the states are still referenced.
func measureState(tb testing.TB, raw map[string]any, n int) float64 {
	tb.Helper()
	wl := build(tb, raw)
	setup(tb, wl, n)
	ctx := context.Background()
	run := func(st *workerState) {
		st.plan(&wl.cfg)
		wl.exec.RunInto(ctx, st.agents, st.results)
	}
	// One batch first, so that what every batch shares (the executor's
	// pooled bookkeeping, its lanes' goroutines) is not counted per state.
	run(wl.newWorkerState(-1))
	states := make([]*workerState, n)
	before := liveHeap()
	for i := range states {
		states[i] = wl.newWorkerState(i)
		run(states[i])
	}
	after := liveHeap()
	runtime.KeepAlive(states)
	return float64(int64(after)-int64(before)) / float64(n)
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestIOWorkerStateIsSmall: an io agent needs neither the cpu agents' hash
// buffer nor a timer of its own (only one per agent sleeping at once), so an
// engine worker's io batch of 32 agents costs its results and little more.
// With a buffer and a timer per agent it was ~52 KiB.
func TestIOWorkerStateIsSmall(t *testing.T) {
	const bound = 10 << 10
	got := measureState(t, map[string]any{"kind": "io", "latency": "fixed:10us", "batch": 32, "workers": 8}, 200)
	t.Logf("io worker state: %.0f B", got)
	if got > bound {
		t.Errorf("an io engine worker's state holds %.0f B of heap, want at most %d", got, bound)
	}
}

// BenchmarkWorkerState reports the heap an engine worker's agents state
// keeps (B/worker), by kind, at the default batch and pool size.
func BenchmarkWorkerState(b *testing.B) {
	for _, kind := range []string{"io", "cpu", "mixed"} {
		b.Run("kind="+kind, func(b *testing.B) {
			raw := map[string]any{"kind": kind, "latency": "fixed:10us", "work": 1}
			var per float64
			for b.Loop() {
				per = measureState(b, raw, 100)
			}
			b.ReportMetric(per, "B/worker")
		})
	}
}

// TestMemoryEstimateCoversWorkerState: the estimate --max-memory checks
// holds, per engine worker, at least what a worker's state measures (the
// lanes' goroutines aside, which live only while a batch runs) and not
// more than twice it.
func TestMemoryEstimateCoversWorkerState(t *testing.T) {
	for _, kind := range []string{"io", "cpu", "mixed"} {
		raw := map[string]any{"kind": kind, "latency": "fixed:10us", "work": 1, "batch": 32, "workers": 8}
		def := Definition()
		v, err := def.Resolve(raw)
		if err != nil {
			t.Fatal(err)
		}
		est, _ := memory(v, 1)
		est -= 8 * goroutineBytes
		got := measureState(t, raw, 100)
		t.Logf("kind %s: state %.0f B, estimate %.0f B", kind, got, est)
		if est < got || est > 2*got {
			t.Errorf("kind %s: estimate %.0f B for a worker's state measured at %.0f B: want %.0f..%.0f", kind, est, got, got, 2*got)
		}
	}
}
