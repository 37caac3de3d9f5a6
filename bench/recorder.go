package bench

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range and precision. Two significant figures keep a worker's
// histogram at ~37 KiB (three would be ~270 KiB, 17 MiB for 64 workers) while
// bounding the error of any recorded value to under 1%.
const (
	histMin    = 1
	histMax    = int64(time.Hour)
	histSigFig = 2
)

// NewHistogram returns an empty latency histogram with perfkit's range and
// precision (1 ns to 1 h, two significant figures).
func NewHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSigFig) }

// OverallKey is the latency key of all ops of a run, whatever their label.
const OverallKey = "op"

// Latency keys besides labels and phases.
const (
	// ServiceSuffix follows a label for its service time in the open model
	// (from the actual start; the label itself is from the intended start).
	ServiceSuffix = ".service"
	// LagKey is the open model's schedule lag: actual minus intended start.
	LagKey = "schedule_lag"
)

// layout maps what a workload declared to histogram slots:
// [labels][phases][service per label, open only][lag, open only].
type layout struct {
	labels   []string
	phases   []string
	counters []string
	open     bool
	keys     []string // latency key of each slot
}

func newLayout(s *Setup, m Model) layout {
	l := layout{labels: s.labelNames(), phases: s.phases, counters: s.counters, open: m == ModelOpen}
	l.keys = append(l.keys, l.labels...)
	l.keys = append(l.keys, l.phases...)
	if l.open {
		for _, lb := range l.labels {
			l.keys = append(l.keys, lb+ServiceSuffix)
		}
		l.keys = append(l.keys, LagKey)
	}
	return l
}

func (l layout) phase0() int   { return len(l.labels) }
func (l layout) service0() int { return len(l.labels) + len(l.phases) }
func (l layout) lagSlot() int  { return len(l.keys) - 1 }

// newInterval returns an interval with histograms: the collector's.
func (l layout) newInterval() *interval {
	iv := l.newCounts()
	iv.hists = l.newHists()
	return iv
}

// newCounts returns an interval without histograms: a worker's, whose
// latencies go through its sample buffer into the run's shards instead.
func (l layout) newCounts() *interval {
	return &interval{phase0: l.phase0(), counters: make([]int64, len(l.counters))}
}

// newHists returns an empty histogram per latency key.
func (l layout) newHists() []*hdrhistogram.Histogram {
	hs := make([]*hdrhistogram.Histogram, len(l.keys))
	for i := range hs {
		hs[i] = NewHistogram()
	}
	return hs
}

// interval is what one worker counts during one interval (its latencies go
// through its sampleBuf), and what the collector keeps per emitted interval
// and for the run's totals (with histograms).
type interval struct {
	idx int // interval index the data belongs to; -1 in the warmup

	ops      int64
	errs     int64
	busyNs   int64                     // sum of service times (in-flight by Little's law)
	hists    []*hdrhistogram.Histogram // per latency key; nil in a worker's interval
	phase0   int
	counters []int64
	errKinds map[string]int64 // allocated on the first error

	abandoned int64 // ops that never returned within the grace (also in ops and errs)

	// open model, measured ops only
	started       int64
	late          int64
	generatorLate int64
	lastStart     int64
}

func record(h *hdrhistogram.Histogram, v int64) {
	if v > histMax {
		v = histMax
	} else if v < 0 {
		v = 0
	}
	_ = h.RecordValue(v) // in range by construction
}

// countErr counts an error of kind k.
func (iv *interval) countErr(k string) {
	if iv.errKinds == nil {
		iv.errKinds = make(map[string]int64, 2)
	}
	iv.errKinds[k]++
}

func (iv *interval) reset() {
	iv.ops, iv.errs, iv.busyNs, iv.abandoned = 0, 0, 0, 0
	iv.started, iv.late, iv.generatorLate, iv.lastStart = 0, 0, 0, 0
	for _, h := range iv.hists {
		if h.TotalCount() > 0 {
			h.Reset()
		}
	}
	clear(iv.counters)
	clear(iv.errKinds)
}

// merge adds o's figures into iv (histograms merge exactly).
func (iv *interval) merge(o *interval) {
	iv.ops += o.ops
	iv.errs += o.errs
	iv.abandoned += o.abandoned
	iv.busyNs += o.busyNs
	iv.started += o.started
	iv.late += o.late
	iv.generatorLate += o.generatorLate
	iv.lastStart = max(iv.lastStart, o.lastStart)
	if iv.hists != nil {
		mergeHists(iv.hists, o.hists)
	}
	for i, c := range o.counters {
		iv.counters[i] += c
	}
	for k, n := range o.errKinds {
		if n != 0 {
			if iv.errKinds == nil {
				iv.errKinds = make(map[string]int64, len(o.errKinds))
			}
			iv.errKinds[k] += n
		}
	}
}

// mergeHists adds src's histograms into dst's, key by key (src may be nil).
func mergeHists(dst, src []*hdrhistogram.Histogram) {
	for i, h := range src {
		if h.TotalCount() > 0 {
			dst[i].Merge(h)
		}
	}
}

// overall merges the label histograms into one: every op of the interval.
func (l layout) overall(iv *interval) *hdrhistogram.Histogram {
	if len(l.labels) == 1 {
		return iv.hists[0]
	}
	h := NewHistogram()
	for i := range l.labels {
		h.Merge(iv.hists[i])
	}
	return h
}
