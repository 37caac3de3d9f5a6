package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/google/pprof/profile"
)

// Sampling rates a mutex or block capture sets for its window, and restores
// after.
const (
	// DefaultMutexFraction samples one in this many mutex contention events
	// (runtime.SetMutexProfileFraction).
	DefaultMutexFraction = 5
	// DefaultBlockRate samples blocking events, about one per this many
	// nanoseconds spent blocked (runtime.SetBlockProfileRate).
	DefaultBlockRate = 10_000
)

// CaptureOptions tune a capture; the zero value is ready to use.
type CaptureOptions struct {
	// MutexFraction is the mutex profile fraction for the window; 0 means
	// DefaultMutexFraction. The previous fraction is restored by Stop.
	MutexFraction int
	// BlockRate is the block profile rate for the window; 0 means
	// DefaultBlockRate. The runtime has no getter for it, so Stop turns block
	// profiling off again (rate 0, the runtime's default).
	BlockRate int
	// Window is how long the measured part is expected to last (0: unknown).
	// A goroutine snapshot is taken in its middle, while the load runs;
	// without a window, as the capture starts.
	Window time.Duration
}

// Capture records one profile of this process over a window, from Start to
// Stop. Captures of different kinds may run at once; only one cpu capture
// can (the runtime has one CPU profiler).
type Capture struct {
	kind  Kind
	start time.Time

	cpu        bytes.Buffer
	base       *profile.Profile // mutex, block: the snapshot at Start
	mem        *memWindow       // allocs
	prevMutex  int
	goroutines *snapshotTimer

	mu      sync.Mutex
	stopped bool
}

// Start begins capturing a profile of kind. Allocs, mutex and block
// profiles are deltas over the window (their runtime counters run since the
// process started); heap is a snapshot at Stop, after a GC; goroutine one in
// the middle of the window. Allocs runs a GC at Start, so what was
// allocated before the window is not counted in it, and another at Stop, so
// all that was allocated in it is. Every kind leaves out perfkit's own
// profiling work (see ExcludeOwn).
func Start(kind Kind, opts CaptureOptions) (*Capture, error) {
	c := &Capture{kind: kind, start: time.Now()}
	var err error
	switch kind {
	case CPU:
		if err := pprof.StartCPUProfile(&c.cpu); err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
	case Heap:
	case Allocs:
		c.mem = startMemWindow()
		// The window begins when the base is read, after its GC: on a
		// busy machine that can be a good part of a short window later.
		c.start = time.Now()
	case Mutex:
		frac := opts.MutexFraction
		if frac <= 0 {
			frac = DefaultMutexFraction
		}
		c.prevMutex = runtime.SetMutexProfileFraction(frac)
		if c.base, err = snapshot("mutex"); err != nil {
			runtime.SetMutexProfileFraction(c.prevMutex)
		}
	case Block:
		rate := opts.BlockRate
		if rate <= 0 {
			rate = DefaultBlockRate
		}
		runtime.SetBlockProfileRate(rate)
		if c.base, err = snapshot("block"); err != nil {
			runtime.SetBlockProfileRate(0)
		}
	case Goroutine:
		c.goroutines = newSnapshotTimer(opts.Window/2, func() (*profile.Profile, error) { return snapshot("goroutine") })
	default:
		_, err = ParseKind(string(kind))
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Kind is the kind of profile being captured.
func (c *Capture) Kind() Kind { return c.kind }

// Stop ends the window and returns the profile. It restores the sampling
// rates Start changed. A second Stop is an error.
func (c *Capture) Stop() (*profile.Profile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, fmt.Errorf("%s profile: already stopped", c.kind)
	}
	c.stopped = true
	end := time.Now()
	var p *profile.Profile
	var err error
	switch c.kind {
	case CPU:
		pprof.StopCPUProfile()
		p, err = Parse(c.cpu.Bytes())
	case Heap:
		runtime.GC()
		p, err = snapshot("heap")
	case Allocs:
		p = c.mem.stop()
	case Mutex:
		p, err = delta(c.base, "mutex")
		runtime.SetMutexProfileFraction(c.prevMutex)
	case Block:
		p, err = delta(c.base, "block")
		runtime.SetBlockProfileRate(0)
	case Goroutine:
		p, err = c.goroutines.stop()
	}
	if err != nil {
		return nil, fmt.Errorf("%s profile: %w", c.kind, err)
	}
	p = ExcludeOwn(p)
	// The window is Start to Stop (the runtime's CPU profile counts from
	// when its writer goroutine got going).
	p.TimeNanos = c.start.UnixNano()
	if c.kind.Windowed() {
		p.DurationNanos = end.Sub(c.start).Nanoseconds()
	}
	SetComment(p, CommentKind, string(c.kind))
	return p, nil
}

// snapshot writes a runtime/pprof profile and parses it back.
func snapshot(name string) (*profile.Profile, error) {
	rp := pprof.Lookup(name)
	if rp == nil {
		return nil, fmt.Errorf("runtime has no %s profile", name)
	}
	var buf bytes.Buffer
	if err := rp.WriteTo(&buf, 0); err != nil {
		return nil, err
	}
	return Parse(buf.Bytes())
}

// delta is the named cumulative profile now, less base: what happened in
// between (net/http/pprof's ?seconds=N does the same).
func delta(base *profile.Profile, name string) (*profile.Profile, error) {
	now, err := snapshot(name)
	if err != nil {
		return nil, err
	}
	return subtract(now, base)
}

func subtract(now, base *profile.Profile) (*profile.Profile, error) {
	neg := base.Copy()
	neg.Scale(-1)
	d, err := profile.Merge([]*profile.Profile{neg, now})
	if err != nil {
		return nil, err
	}
	d.DefaultSampleType = now.DefaultSampleType
	return d, nil
}

// snapshotTimer takes one snapshot after a delay, or at stop if that comes
// first. The timer's goroutine is waited for by stop.
type snapshotTimer struct {
	take  func() (*profile.Profile, error)
	timer *time.Timer
	done  chan struct{}
	p     *profile.Profile
	err   error
}

func newSnapshotTimer(after time.Duration, take func() (*profile.Profile, error)) *snapshotTimer {
	s := &snapshotTimer{take: take, done: make(chan struct{})}
	if after <= 0 {
		s.p, s.err = take()
		close(s.done)
		return s
	}
	s.timer = time.AfterFunc(after, func() {
		s.p, s.err = take()
		close(s.done)
	})
	return s
}

func (s *snapshotTimer) stop() (*profile.Profile, error) {
	if s.timer != nil && s.timer.Stop() {
		s.p, s.err = s.take() // stopped before the middle: take it now
		close(s.done)
	}
	<-s.done
	if s.p == nil && s.err == nil {
		return nil, errors.New("no snapshot taken")
	}
	return s.p, s.err
}

// AllocsSampleRate is the heap sampling rate (runtime.MemProfileRate: one
// sample per this many bytes allocated, on average) perfkit sets for a run
// with an allocs profile. Go's default, 512 KiB, leaves a window of a few
// megabytes with a handful of samples, so its bytes per op would be noise.
// An allocs profile is a delta of raw counts, all sampled at this rate, so
// scaling them by it is exact.
const AllocsSampleRate = 4096

// SetAllocsSampling sets AllocsSampleRate for the process, as early as it
// can be (before the workloads set up), and returns the function that puts
// the previous rate back.
func SetAllocsSampling() (restore func()) {
	prev := runtime.MemProfileRate
	if prev == 0 || prev <= AllocsSampleRate {
		return func() {} // profiling off, or already finer: leave it
	}
	runtime.MemProfileRate = AllocsSampleRate
	return func() { runtime.MemProfileRate = prev }
}
