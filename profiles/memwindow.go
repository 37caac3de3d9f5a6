package profiles

import (
	"math"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// memWindow is an allocs capture. The runtime's allocation counters run
// since the process started, so the window's allocations are those at its
// end less those at its start. The start is kept as raw records, not as an
// encoded profile: encoding one (runtime/pprof's proto writer, gzip) costs
// about a megabyte of allocations of its own, which the end would count as
// allocations of the window. Both buffers are allocated before the GC that
// publishes the start, so they are counted before the window, not in it;
// only the delta is encoded, once, after the window.
type memWindow struct {
	base, end []runtime.MemProfileRecord
	rate      int64 // runtime.MemProfileRate in force over the window
}

// memSlack is room for allocation sites that appear while the buffers are
// made (start) or during the window (end).
func memSlack(n int) int { return n + n/2 + 256 }

// startMemWindow records the allocation counters as the window starts. A
// GC first publishes every allocation made so far (the runtime publishes
// them a GC cycle late).
func startMemWindow() *memWindow {
	n, _ := runtime.MemProfile(nil, true)
	for {
		size := memSlack(n)
		w := &memWindow{base: make([]runtime.MemProfileRecord, size), end: make([]runtime.MemProfileRecord, 2*size)}
		runtime.GC()
		var ok bool
		// inuseZero: a site whose memory is all freed still has
		// allocations to subtract.
		if n, ok = runtime.MemProfile(w.base, true); ok {
			w.base = w.base[:n]
			w.rate = int64(runtime.MemProfileRate)
			return w
		}
	}
}

// stop reads the counters at the end of the window (after a GC, which
// publishes the window's allocations) and returns the difference as an
// allocs profile.
func (w *memWindow) stop() *profile.Profile {
	runtime.GC()
	n, ok := runtime.MemProfile(w.end, true)
	for !ok {
		// More sites than room: this buffer is allocated in the window,
		// under this method, which the own-frames rule drops.
		w.end = make([]runtime.MemProfileRecord, memSlack(n))
		runtime.GC()
		n, ok = runtime.MemProfile(w.end, true)
	}
	return memDelta(w.base, w.end[:n], w.rate)
}

// memKey identifies an allocation site as the runtime buckets them: a stack
// and a block size.
type memKey struct {
	stk  [32]uintptr
	size int64
}

type memCounts struct{ allocObjects, allocBytes, freeObjects, freeBytes int64 }

func countsByKey(recs []runtime.MemProfileRecord, keys *[]memKey) map[memKey]memCounts {
	m := make(map[memKey]memCounts, len(recs))
	for i := range recs {
		r := &recs[i]
		k := memKey{stk: r.Stack0}
		if r.AllocObjects > 0 {
			k.size = r.AllocBytes / r.AllocObjects
		}
		c, seen := m[k]
		if !seen && keys != nil {
			*keys = append(*keys, k)
		}
		c.allocObjects += r.AllocObjects
		c.allocBytes += r.AllocBytes
		c.freeObjects += r.FreeObjects
		c.freeBytes += r.FreeBytes
		m[k] = c
	}
	return m
}

// memDelta is the allocs profile of end less base, laid out as
// runtime/pprof lays out its own (alloc_objects, alloc_space, inuse_objects,
// inuse_space; sampled values scaled up by the sampling rate; runtime frames
// above the allocating function hidden). In-use values are the change over
// the window, so they can be negative.
func memDelta(base, end []runtime.MemProfileRecord, rate int64) *profile.Profile {
	before := countsByKey(base, nil)
	var keys []memKey
	after := countsByKey(end, &keys)
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"},
		},
		DefaultSampleType: "alloc_space",
		PeriodType:        &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:            rate,
	}
	// One mapping, the executable, already symbolised: pprof then neither
	// looks for the binary nor tries to symbolise the addresses again.
	exe, _ := os.Executable()
	m := &profile.Mapping{ID: 1, Limit: math.MaxUint64, File: exe, HasFunctions: true, HasFilenames: true, HasLineNumbers: true, HasInlineFrames: true}
	p.Mapping = []*profile.Mapping{m}
	b := &locBuilder{p: p, m: m, locs: map[locKey]*profile.Location{}, funcs: map[funcKey]*profile.Function{}}
	for _, k := range keys {
		a, z := after[k], before[k]
		d := memCounts{a.allocObjects - z.allocObjects, a.allocBytes - z.allocBytes, a.freeObjects - z.freeObjects, a.freeBytes - z.freeBytes}
		inObj, inBytes := d.allocObjects-d.freeObjects, d.allocBytes-d.freeBytes
		if d.allocObjects == 0 && inObj == 0 && inBytes == 0 {
			continue
		}
		f := sampleScale(k.size, rate)
		s := &profile.Sample{
			Location: b.stack(k.stk[:]),
			Value: []int64{
				int64(float64(d.allocObjects) * f), int64(float64(d.allocBytes) * f),
				int64(float64(inObj) * f), int64(float64(inBytes) * f),
			},
		}
		if k.size > 0 {
			s.NumLabel = map[string][]int64{"bytes": {k.size}}
		}
		p.Sample = append(p.Sample, s)
	}
	return p
}

// sampleScale undoes the runtime's sampling of allocations of size bytes,
// one per rate bytes on average (as runtime/pprof's scaleHeapSample: a
// block is sampled with probability 1-exp(-size/rate)).
func sampleScale(size, rate int64) float64 {
	if rate <= 1 || size <= 0 {
		return 1
	}
	return 1 / (1 - math.Exp(-float64(size)/float64(rate)))
}

type locKey struct {
	pc   uintptr
	fn   string
	line int
}

type funcKey struct{ name, file string }

// locBuilder symbolises stacks of this process into a profile's locations
// and functions, one location per logical frame (inlined calls included).
type locBuilder struct {
	p     *profile.Profile
	m     *profile.Mapping
	locs  map[locKey]*profile.Location
	funcs map[funcKey]*profile.Function
}

func (b *locBuilder) stack(stk []uintptr) []*profile.Location {
	if i := slices.Index(stk, 0); i >= 0 {
		stk = stk[:i]
	}
	var frames []runtime.Frame
	it := runtime.CallersFrames(stk)
	for {
		fr, more := it.Next()
		if fr.Function != "" || fr.PC != 0 {
			frames = append(frames, fr)
		}
		if !more {
			break
		}
	}
	// The allocator's own frames sit above the allocating function: hide
	// them, as runtime/pprof does, unless nothing else is left.
	if i := slices.IndexFunc(frames, func(f runtime.Frame) bool { return !isRuntimeFunc(f.Function) }); i > 0 {
		frames = frames[i:]
	}
	out := make([]*profile.Location, 0, len(frames))
	for _, fr := range frames {
		out = append(out, b.location(fr))
	}
	return out
}

func isRuntimeFunc(name string) bool {
	return strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "internal/runtime/")
}

func (b *locBuilder) location(fr runtime.Frame) *profile.Location {
	k := locKey{fr.PC, fr.Function, fr.Line}
	if l := b.locs[k]; l != nil {
		return l
	}
	fk := funcKey{fr.Function, fr.File}
	fn := b.funcs[fk]
	if fn == nil {
		fn = &profile.Function{ID: uint64(len(b.p.Function) + 1), Name: fr.Function, SystemName: fr.Function, Filename: fr.File}
		b.funcs[fk] = fn
		b.p.Function = append(b.p.Function, fn)
	}
	l := &profile.Location{ID: uint64(len(b.p.Location) + 1), Mapping: b.m, Address: uint64(fr.PC), Line: []profile.Line{{Function: fn, Line: int64(fr.Line)}}}
	b.locs[k] = l
	b.p.Location = append(b.p.Location, l)
	return l
}
