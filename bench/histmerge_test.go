package bench

import (
	"errors"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func summaryOf(t *testing.T, vals ...int64) LatencySummary {
	t.Helper()
	h := NewHistogram()
	for _, v := range vals {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	return Summarize(h)
}

func TestMergeHistograms(t *testing.T) {
	runs := []RunResult{
		{Latency: map[string]LatencySummary{"op": summaryOf(t, 1000, 2000)}},
		{Latency: map[string]LatencySummary{}}, // the key is missing: skipped
		{Latency: map[string]LatencySummary{"op": summaryOf(t, 3000)}},
	}
	h, err := MergeHistograms(RunLatencies(runs, "op"))
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 3 || h.Max() < 2990 || h.Max() > 3010 {
		t.Errorf("merged %d values, max %d; want 3, max ~3000", h.TotalCount(), h.Max())
	}
	if h, err := MergeHistograms(RunLatencies(runs, "nope")); h != nil || err != nil {
		t.Errorf("no data: %v, %v; want nil, nil", h, err)
	}
}

// A summary that cannot be merged exactly is reported with its index, and
// the rest are still merged for readers that tolerate it.
func TestMergeHistogramsErrors(t *testing.T) {
	wide := hdrhistogram.New(1, 100*int64(time.Hour), 2)
	if err := wide.RecordValue(10 * int64(time.Hour)); err != nil {
		t.Fatal(err)
	}
	outOfRange := Summarize(wide)
	ls := []LatencySummary{summaryOf(t, 1000), {Count: 1, Hdr: "not a histogram"}, outOfRange, summaryOf(t, 5000)}
	h, err := MergeHistograms(ls)
	if h == nil || h.TotalCount() != 2 {
		t.Fatalf("merged %v; want the two good summaries", h)
	}
	var he *HistogramError
	if !errors.As(err, &he) || he.Index != 1 || he.Err == nil {
		t.Fatalf("error %v; want a decode error of summary 1", err)
	}
	if want := "1 values out of the histogram's range"; !containsErr(err, func(e *HistogramError) bool { return e.Index == 2 && e.Error() == want }) {
		t.Errorf("error %v; want summary 2: %s", err, want)
	}
}

func containsErr(err error, f func(*HistogramError) bool) bool {
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if he, ok := e.(*HistogramError); ok && f(he) {
			return true
		}
	}
	return false
}
