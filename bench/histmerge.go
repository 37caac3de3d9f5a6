package bench

import (
	"errors"
	"fmt"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// MergeHistograms merges the histograms of latency summaries, for instance
// one latency key over a scenario's runs (what compare, the HTML report and
// end-of-run thresholds read as the scenario's distribution) or over the
// shards of one run. A summary with no ops and no histogram is skipped; the
// result is nil when nothing was merged. Every summary that can be merged
// is; each that cannot (its histogram does not decode, or holds values
// outside perfkit's range) adds a *HistogramError to the error, so a reader
// that tolerates a damaged run uses the histogram and one that must be
// exact refuses it.
func MergeHistograms(ls []LatencySummary) (*hdrhistogram.Histogram, error) {
	var h *hdrhistogram.Histogram
	var errs []error
	for i, l := range ls {
		if l.Count == 0 && l.Hdr == "" {
			continue
		}
		lh, err := l.Histogram()
		if err != nil {
			errs = append(errs, &HistogramError{Index: i, Err: err})
			continue
		}
		if h == nil {
			h = lh
			continue
		}
		if dropped := h.Merge(lh); dropped > 0 {
			errs = append(errs, &HistogramError{Index: i, Dropped: dropped})
		}
	}
	return h, errors.Join(errs...)
}

// RunLatencies returns the summaries of latency key in each run, a zero
// summary where a run has none: the input of MergeHistograms for a
// scenario's runs.
func RunLatencies(runs []RunResult, key string) []LatencySummary {
	ls := make([]LatencySummary, len(runs))
	for i, r := range runs {
		ls[i] = r.Latency[key]
	}
	return ls
}

// HistogramError is a summary MergeHistograms could not merge exactly.
type HistogramError struct {
	Index   int   // of the summary, in the slice given
	Dropped int64 // values outside the histogram's range, when Err is nil
	Err     error // why the histogram did not decode
}

func (e *HistogramError) Error() string {
	if e.Err != nil {
		return "cannot merge exactly: " + e.Err.Error()
	}
	return fmt.Sprintf("%d values out of the histogram's range", e.Dropped)
}

func (e *HistogramError) Unwrap() error { return e.Err }
