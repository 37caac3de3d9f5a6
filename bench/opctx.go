package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// opCtx is the context each op runs under: the run's op context plus the
// per-op deadline. One lives per worker and is reused op after op, so the
// per-op path allocates nothing: setting the deadline is one atomic store, and
// the timer behind Done is armed only when an op asks for Done (net/http
// does, fasthttp and in-process workloads do not).
type opCtx struct {
	parent   context.Context
	base     time.Time
	timeout  int64
	deadline atomic.Int64 // ns since base; meaningful when timeout > 0

	touched atomic.Bool // Done was asked for, or Done closed, during this op

	mu       sync.Mutex
	done     chan struct{} // created lazily; replaced after it closes
	closed   bool
	err      error
	gen      uint64 // op generation, so a late timer never fires for a later op
	armedGen uint64
	armed    bool
	timer    *time.Timer
}

// newOpCtx returns a worker's op context. The caller fires it (fire) when
// parent is done: one watcher for all workers' contexts, rather than one
// registered on parent per worker, which at a million workers made setting
// up and ending a run take seconds.
func newOpCtx(parent context.Context, base time.Time, timeout time.Duration) *opCtx {
	return &opCtx{parent: parent, base: base, timeout: int64(timeout)}
}

// begin starts an op that started at t (ns since base).
func (c *opCtx) begin(t int64) {
	if c.timeout > 0 {
		c.deadline.Store(t + c.timeout)
	}
}

// end finishes an op: disarms the timer and, if the op's Done channel closed,
// readies a fresh one for the next op. It costs nothing when the op never
// asked for Done.
func (c *opCtx) end() {
	if !c.touched.Load() {
		return
	}
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.gen++
	c.armed = false
	if c.closed && c.parent.Err() == nil {
		c.done, c.closed, c.err = nil, false, nil
	}
	c.touched.Store(c.closed)
	c.mu.Unlock()
}

// release stops c's timer; the worker is done with c.
func (c *opCtx) release() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
}

func (c *opCtx) fire(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fireLocked(err)
}

func (c *opCtx) fireLocked(err error) {
	if c.closed {
		return
	}
	if c.done == nil {
		c.done = make(chan struct{})
	}
	close(c.done)
	c.closed, c.err = true, err
	c.touched.Store(true)
}

func (c *opCtx) Deadline() (time.Time, bool) {
	if c.timeout <= 0 {
		return c.parent.Deadline()
	}
	d := c.base.Add(time.Duration(c.deadline.Load()))
	if pd, ok := c.parent.Deadline(); ok && pd.Before(d) {
		return pd, true
	}
	return d, true
}

func (c *opCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.touched.Store(true)
	if c.done == nil {
		c.done = make(chan struct{})
	}
	if c.timeout > 0 && !c.armed && !c.closed {
		c.armedGen = c.gen
		wait := time.Duration(c.deadline.Load()) - time.Since(c.base)
		if c.timer == nil {
			c.timer = time.AfterFunc(max(wait, 0), c.onTimer)
		} else {
			c.timer.Reset(max(wait, 0))
		}
		c.armed = true
	}
	return c.done
}

// onTimer closes Done if the op it was armed for is still running past its
// deadline (a timer that fires late for a later op is ignored).
func (c *opCtx) onTimer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed || c.armedGen != c.gen {
		return
	}
	if wait := time.Duration(c.deadline.Load()) - time.Since(c.base); wait > 0 {
		c.timer.Reset(wait) // fired early: the deadline moved
		return
	}
	c.fireLocked(context.DeadlineExceeded)
}

func (c *opCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if c.timeout > 0 && time.Since(c.base) >= time.Duration(c.deadline.Load()) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *opCtx) Value(key any) any { return c.parent.Value(key) }

var _ context.Context = (*opCtx)(nil)
