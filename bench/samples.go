package bench

import (
	"runtime"
	"sync"
	"sync/atomic"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// How latencies are recorded. A worker does
// not own histograms: it appends each latency, tagged with its histogram
// slot, to a small buffer of its own (sampleBuf, 512 bytes), and when the
// buffer is full or its interval ends it flushes the buffer into one of the
// run's histogram shards (shardSet). There are at most 2 × GOMAXPROCS shards,
// each holding one histogram per latency key for the intervals not yet
// emitted, so the engine's memory is bounded by CPUs and keys, not workers:
// 10,000 workers cost 10,000 × 512 B of buffers, not 10,000 × ~40 KiB per key.
//
// The per-op path stays free of locks and allocation: an append is one store
// and an increment. A flush takes a shard's lock once per sampleLen samples;
// a worker tries its own shard, then the others, without waiting
// (TryLock), and waits only if every shard is busy, which at most GOMAXPROCS
// running goroutines cannot make common. BenchmarkRecord measures this
// against per-worker histograms and a single shared one.

// sampleLen is the number of latencies a worker buffers before a flush.
// 64 keeps a worker's buffer at 512 bytes and a flush's lock and
// cache-warm histogram updates amortised over 64 ops (see BenchmarkRecord).
const sampleLen = 64

// Packing of a sample: the histogram slot in the top 16 bits, the value
// (ns, clamped to histMax) in the low 48.
const (
	slotShift = 48
	valueMask = 1<<slotShift - 1
	// MaxLatencyKeys bounds the latency keys (labels, phases, and the open
	// model's per-label service times) a workload may declare.
	MaxLatencyKeys = 1 << (64 - slotShift)
)

// sampleBuf is a worker's buffer of latencies not yet in a shard.
type sampleBuf struct {
	n int
	v [sampleLen]uint64
}

// add appends a latency of slot; true when the buffer is full.
func (b *sampleBuf) add(slot int, v int64) bool {
	if uint64(v) > uint64(histMax) { // also negative
		v = clampLatency(v)
	}
	b.v[b.n&(sampleLen-1)] = uint64(slot)<<slotShift | uint64(v)
	b.n++
	return b.n == sampleLen
}

func clampLatency(v int64) int64 {
	if v < 0 {
		return 0
	}
	return histMax
}

// shardSet is the run's latency histograms: per shard, a set of histograms
// (one per latency key) for each interval not yet emitted.
type shardSet struct {
	lay    layout
	shards []shard
	// emitted is the first interval the collector has not taken; samples for
	// an earlier one (a worker that stalled in a long op) join it. take
	// raises it before sweeping the shards, and flush reads it under a
	// shard's lock, so a flush either lands before the sweep of its shard or
	// sees the raised value.
	emitted atomic.Int64
}

type shard struct {
	mu   sync.Mutex
	ivs  map[int][]*hdrhistogram.Histogram // interval index → histograms by key
	free [][]*hdrhistogram.Histogram       // emptied sets, for reuse
	_    [64]byte                          // keep shards' locks off each other's cache lines
}

// newShardSet returns the histograms of a run of `workers` workers.
func newShardSet(lay layout, workers int) *shardSet {
	n := max(1, min(workers, 2*runtime.GOMAXPROCS(0)))
	s := &shardSet{lay: lay, shards: make([]shard, n)}
	for i := range s.shards {
		s.shards[i].ivs = make(map[int][]*hdrhistogram.Histogram, 2)
	}
	return s
}

// home is the shard a worker flushes to first.
func (s *shardSet) home(worker int) int { return worker % len(s.shards) }

// flush records b's samples for interval idx into a shard and empties b.
// Samples of the warmup (idx < 0) are dropped.
func (s *shardSet) flush(home, idx int, b *sampleBuf) {
	n := min(b.n, sampleLen)
	b.n = 0
	if idx < 0 || n == 0 {
		return
	}
	sh := s.lock(home)
	k := max(idx, int(s.emitted.Load()))
	hs := sh.ivs[k]
	if hs == nil {
		if last := len(sh.free) - 1; last >= 0 {
			hs, sh.free = sh.free[last], sh.free[:last]
		} else {
			hs = s.lay.newHists()
		}
		sh.ivs[k] = hs
	}
	for _, x := range b.v[:n] {
		_ = hs[x>>slotShift].RecordValue(int64(x & valueMask)) // in range: add clamps
	}
	sh.mu.Unlock()
}

// lock locks a free shard, home first, and returns it; it waits on home
// only when all are busy.
func (s *shardSet) lock(home int) *shard {
	n := len(s.shards)
	for i := range n {
		sh := &s.shards[(home+i)%n]
		if sh.mu.TryLock() {
			return sh
		}
	}
	sh := &s.shards[home]
	sh.mu.Lock()
	return sh
}

// take removes interval k's histograms from every shard (every interval's,
// when final) and returns them merged into dst; flushes from now on go to
// later intervals.
func (s *shardSet) take(k int, final bool, dst []*hdrhistogram.Histogram) {
	s.emitted.Store(int64(k + 1))
	var got [][]*hdrhistogram.Histogram
	for i := range s.shards {
		sh := &s.shards[i]
		got = got[:0]
		sh.mu.Lock()
		for j, hs := range sh.ivs {
			if j <= k || final {
				got = append(got, hs)
				delete(sh.ivs, j)
			}
		}
		sh.mu.Unlock()
		for _, hs := range got {
			mergeHists(dst, hs)
			for _, h := range hs {
				if h.TotalCount() > 0 {
					h.Reset()
				}
			}
		}
		if len(got) > 0 {
			sh.mu.Lock()
			if len(sh.free) < 2 { // enough for the next interval or two
				sh.free = append(sh.free, got[:min(len(got), 2-len(sh.free))]...)
			}
			sh.mu.Unlock()
		}
	}
}
