package live

import (
	"runtime"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	dto "github.com/prometheus/client_model/go"

	"github.com/perfkit/perfkit/bench"
)

// TestMetricsIntervalAllocatesLittle guards a long run's memory: an
// interval's snapshot must not cost the Prometheus observer a fresh copy of
// the histogram's buckets (HDR's Distribution allocated ~100 KiB per
// interval, garbage that made RSS creep over a 10-minute run).
func TestMetricsIntervalAllocatesLittle(t *testing.T) {
	h := bench.NewHistogram()
	for v := time.Microsecond; v < 50*time.Millisecond; v += 7 * time.Microsecond {
		_ = h.RecordValue(int64(v))
	}
	set := bench.DefaultSettings()
	snap := &bench.Snapshot{
		Scenario: "s", Workload: "w", Settings: set, Length: time.Second, Ops: h.TotalCount(),
		Latency: map[string]*hdrhistogram.Histogram{bench.OverallKey: h},
	}
	m := NewMetrics()
	m.Interval(snap) // the series and its histogram are allocated once
	const n = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		m.Interval(snap)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 4<<10 {
		t.Errorf("Metrics.Interval allocated %d bytes per interval: want under 4 KiB (the histogram's buckets must not be copied per interval)", per)
	}
	// The buckets still add up every interval's ops.
	fams := scrapeRegistry(t, m)
	got := value(t, fams, "perfkit_latency_seconds", map[string]string{"scenario": "s", "label": bench.OverallKey}).GetHistogram()
	if want := uint64(n+1) * uint64(h.TotalCount()); got.GetSampleCount() != want {
		t.Errorf("perfkit_latency_seconds count %d: want %d", got.GetSampleCount(), want)
	}
	var last uint64
	for _, b := range got.GetBucket() {
		last = b.GetCumulativeCount()
	}
	if want := uint64(n+1) * uint64(h.TotalCount()); last != want {
		t.Errorf("last bucket (le=%gs) holds %d: want every op, %d", latencyBuckets[len(latencyBuckets)-1], last, want)
	}
}

// scrapeRegistry gathers m's families by name, as scrape does over HTTP.
func scrapeRegistry(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*dto.MetricFamily, len(fams))
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}
