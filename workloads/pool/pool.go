package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Policy is what Acquire does when every connection is lent out and no more
// may be opened.
type Policy uint8

const (
	// Wait queues the caller until a connection comes back, the acquire
	// timeout passes or its context ends. The queue is FIFO: a released
	// connection goes to the longest waiter, never to a newcomer.
	Wait Policy = iota
	// FailFast returns ErrExhausted at once: shed load rather than queue it.
	FailFast
)

// PolicyNames lists the policies as ParsePolicy accepts them.
const PolicyNames = "wait, fail-fast"

// String returns the policy as ParsePolicy reads it.
func (p Policy) String() string {
	switch p {
	case Wait:
		return "wait"
	case FailFast:
		return "fail-fast"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// ParsePolicy reads a policy as written in params and config files.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "wait":
		return Wait, nil
	case "fail-fast":
		return FailFast, nil
	}
	return 0, fmt.Errorf("unknown policy %q (accepted: %s)", s, PolicyNames)
}

// Errors Acquire and Lease return. They are values, so a storm of failed
// acquires allocates nothing.
var (
	// ErrClosed is returned by Acquire on a closed pool, and to every caller
	// still waiting when the pool closes.
	ErrClosed = errors.New("pool: closed")
	// ErrExhausted is the FailFast policy's answer when every connection is
	// lent out (or being dialed) and MaxOpen is reached.
	ErrExhausted = errors.New("pool: exhausted: every connection is in use")
	// ErrAcquireTimeout ends a wait cut short by Config.AcquireTimeout or by
	// the context's deadline. errors.Is(err, context.DeadlineExceeded) holds.
	ErrAcquireTimeout error = acquireTimeoutError{}
	// ErrReleased is returned when a lease is released twice: the second
	// release is refused, so it can never return a connection that has since
	// been lent to another borrower.
	ErrReleased = errors.New("pool: lease already released")
)

type acquireTimeoutError struct{}

func (acquireTimeoutError) Error() string        { return "pool: acquire timed out waiting for a connection" }
func (acquireTimeoutError) Timeout() bool        { return true }
func (acquireTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Config configures a Pool. Dial and MaxOpen are required.
type Config[C any] struct {
	// Dial opens a connection. It runs on the goroutine of the Acquire that
	// needs it (bounded by that caller's context) or on the pool's
	// maintenance goroutine (bounded by the pool's life).
	Dial func(ctx context.Context) (C, error)
	// Close closes a connection; nil means connections need no closing.
	Close func(C) error
	// Check, if set, runs on every borrow of a connection that was open
	// before (not on a fresh one). A connection that fails it is closed and
	// the same Acquire moves on to the next idle one, or dials, so the
	// borrower never sees a connection the peer has already dropped. It
	// should be cheap: it runs on every borrow.
	Check func(ctx context.Context, c C) error

	// MaxOpen caps the connections open at once, counting those being
	// dialed: the pool never holds more, whatever the load.
	MaxOpen int
	// MinIdle is how many idle connections the maintenance goroutine keeps
	// open, ready for a burst; above MaxOpen it is MaxOpen.
	MinIdle int
	// MaxLifetime retires a connection this long after it was dialed: on
	// return, on borrow, or by the maintenance goroutine (0: never), so that
	// load rebalances across servers and server-side limits are respected.
	MaxLifetime time.Duration
	// IdleTimeout closes connections idle this long, down to MinIdle (0:
	// never). The maintenance goroutine enforces it, checking every quarter
	// of the timeout.
	IdleTimeout time.Duration
	// Policy decides what Acquire does when the pool is exhausted.
	Policy Policy
	// AcquireTimeout bounds a Wait for a lent-out connection beyond what the
	// caller's context allows (0: the context alone). Dials are bounded by
	// the context and Dial itself.
	AcquireTimeout time.Duration
	// Now is the clock of connection ages (MaxLifetime, IdleTimeout); nil is
	// time.Now. Tests inject their own.
	Now func() time.Time
}

// Pool is a bounded pool of connections of type C, safe for concurrent use.
//
// Unlike a buffered channel used as a pool, it counts dials in progress
// against MaxOpen, queues waiters in FIFO order with a timeout and a context,
// hands a released connection straight to the longest waiter, retires old
// and idle connections, and closes every connection it ever opened: the idle
// ones on Close, the lent ones when they are released.
type Pool[C any] struct {
	cfg      Config[C] // read-only after New
	lifetime bool      // MaxLifetime > 0
	idleTO   bool      // IdleTimeout > 0

	ctx    context.Context // ends at Close: stops the maintainer and its dials
	cancel context.CancelFunc
	wg     sync.WaitGroup // the maintenance goroutine
	poke   chan struct{}  // wakes the maintainer to refill MinIdle

	waiters sync.Pool // *waiter[C], reused so waiting allocates nothing
	waitNs  atomic.Int64

	mu      sync.Mutex
	closed  bool
	numOpen int // open or being dialed: never above MaxOpen
	inUse   int // lent out
	peak    int
	idle    []*entry[C] // a stack: the most recently returned on top
	head    *waiter[C]  // FIFO queue of waiting Acquires
	tail    *waiter[C]
	nwait   int
	st      counters
}

type counters struct {
	opened, closed, dialErrors, discarded int64
	waits, exhausted, timeouts, canceled  int64
	checkFailures, closeErrors            int64
}

// entry is one connection. It is never reused for another connection, so a
// stale Lease can read it without a race.
type entry[C any] struct {
	p         *Pool[C]
	conn      C
	created   time.Time
	idleSince time.Time
	gen       uint64 // bumped on every lend and return; a Lease holds the value it was lent at
	lent      bool
	next      *entry[C] // links entries to close once the lock is released
}

// grant is what a waiter is woken with: a connection, a reserved slot to dial
// into (e == nil, err == nil), or an error.
type grant[C any] struct {
	e   *entry[C]
	gen uint64
	err error
}

type waiter[C any] struct {
	ch         chan grant[C] // buffered: a grant never blocks the granter
	timer      *time.Timer
	prev, next *waiter[C]
	queued     bool
}

// Lease is a borrowed connection. Release it when done, or Discard it when it
// is broken. It is a small value: acquiring one allocates nothing.
type Lease[C any] struct {
	e   *entry[C]
	gen uint64
}

// Conn is the leased connection. It must not be used after the lease ends,
// nor called on a zero Lease.
func (l Lease[C]) Conn() C { return l.e.conn }

// Release returns the connection for the next borrower (or closes it, if the
// pool is closed or the connection is past MaxLifetime).
func (l Lease[C]) Release() error {
	if l.e == nil {
		return ErrReleased
	}
	return l.e.p.release(l.e, l.gen, false)
}

// Discard closes a connection the borrower found broken, so no one else is
// lent it, and frees its slot for a fresh dial.
func (l Lease[C]) Discard() error {
	if l.e == nil {
		return ErrReleased
	}
	return l.e.p.release(l.e, l.gen, true)
}

// New returns a pool and, when it has connections to keep warm or to retire,
// starts its maintenance goroutine; Close stops it.
func New[C any](cfg Config[C]) (*Pool[C], error) {
	switch {
	case cfg.Dial == nil:
		return nil, errors.New("pool: Config.Dial is nil")
	case cfg.MaxOpen < 1:
		return nil, fmt.Errorf("pool: MaxOpen %d: want at least 1", cfg.MaxOpen)
	case cfg.MinIdle < 0:
		return nil, fmt.Errorf("pool: MinIdle %d: want 0 or more", cfg.MinIdle)
	case cfg.MaxLifetime < 0, cfg.IdleTimeout < 0, cfg.AcquireTimeout < 0:
		return nil, errors.New("pool: MaxLifetime, IdleTimeout and AcquireTimeout must not be negative")
	case cfg.Policy != Wait && cfg.Policy != FailFast:
		return nil, fmt.Errorf("pool: %v: accepted: %s", cfg.Policy, PolicyNames)
	}
	cfg.MinIdle = min(cfg.MinIdle, cfg.MaxOpen)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pool[C]{
		cfg:      cfg,
		lifetime: cfg.MaxLifetime > 0,
		idleTO:   cfg.IdleTimeout > 0,
		poke:     make(chan struct{}, 1),
		idle:     make([]*entry[C], 0, cfg.MaxOpen),
	}
	p.waiters.New = func() any { return &waiter[C]{ch: make(chan grant[C], 1)} }
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if cfg.MinIdle > 0 || p.lifetime || p.idleTO {
		p.wg.Go(func() { p.maintain(maintainEvery(cfg)) })
	}
	return p, nil
}

// Acquire lends a connection: an idle one (the most recently used, so that
// surplus ones grow idle and time out), else a fresh dial while under
// MaxOpen, else it waits its turn (Wait) or fails (FailFast). A wait ends
// with ErrAcquireTimeout at the acquire timeout or the context's deadline,
// with the context's error when it is canceled, and with ErrClosed when the
// pool closes. A context already done returns its error at once.
func (p *Pool[C]) Acquire(ctx context.Context) (Lease[C], error) {
	if err := ctx.Err(); err != nil {
		return Lease[C]{}, err
	}
	var now time.Time
	if p.lifetime {
		now = p.cfg.Now()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return Lease[C]{}, ErrClosed
	}
	var stale *entry[C]
	if e := p.popIdleLocked(now, &stale); e != nil {
		gen := p.lendLocked(e)
		p.wantIdleLocked()
		p.mu.Unlock()
		p.closeList(stale)
		return p.checked(ctx, Lease[C]{e, gen})
	}
	if p.numOpen < p.cfg.MaxOpen {
		p.numOpen++
		p.mu.Unlock()
		p.closeList(stale)
		return p.dialInto(ctx)
	}
	if p.cfg.Policy == FailFast {
		p.st.exhausted++
		p.mu.Unlock()
		return Lease[C]{}, ErrExhausted
	}
	return p.wait(ctx) // unlocks
}

// wait queues the caller; p.mu is held on entry and released.
func (p *Pool[C]) wait(ctx context.Context) (Lease[C], error) {
	w := p.waiters.Get().(*waiter[C])
	w.prev, w.next, w.queued = p.tail, nil, true
	if p.tail != nil {
		p.tail.next = w
	} else {
		p.head = w
	}
	p.tail = w
	p.nwait++
	p.st.waits++
	p.mu.Unlock()

	start := time.Now()
	var timeout <-chan time.Time
	if d := p.cfg.AcquireTimeout; d > 0 {
		if w.timer == nil {
			w.timer = time.NewTimer(d)
		} else {
			w.timer.Reset(d)
		}
		timeout = w.timer.C
	}
	var err error
	select {
	case g := <-w.ch:
		if w.timer != nil {
			w.timer.Stop()
		}
		p.waitNs.Add(int64(time.Since(start)))
		p.waiters.Put(w)
		return p.granted(ctx, g)
	case <-ctx.Done():
		err = ctx.Err()
		if errors.Is(err, context.DeadlineExceeded) {
			err = ErrAcquireTimeout
		}
	case <-timeout:
		err = ErrAcquireTimeout
	}
	if w.timer != nil {
		w.timer.Stop()
	}
	p.waitNs.Add(int64(time.Since(start)))
	p.mu.Lock()
	if err == ErrAcquireTimeout {
		p.st.timeouts++
	} else {
		p.st.canceled++
	}
	if w.queued {
		p.unqueueLocked(w)
		p.mu.Unlock()
		p.waiters.Put(w)
		return Lease[C]{}, err
	}
	p.mu.Unlock()
	// Granted while giving up: pass the grant on rather than hold a
	// connection for a caller that has left.
	g := <-w.ch
	p.waiters.Put(w)
	switch {
	case g.err != nil:
	case g.e != nil:
		_ = p.release(g.e, g.gen, false)
	default:
		p.mu.Lock()
		p.freeSlotLocked()
		p.mu.Unlock()
	}
	return Lease[C]{}, err
}

// granted turns a waiter's grant into a lease.
func (p *Pool[C]) granted(ctx context.Context, g grant[C]) (Lease[C], error) {
	switch {
	case g.err != nil:
		return Lease[C]{}, g.err
	case g.e == nil:
		return p.dialInto(ctx)
	}
	return p.checked(ctx, Lease[C]{g.e, g.gen})
}

// checked runs the health check on a borrowed connection. One that fails is
// closed and the borrower moves on to the next idle connection (after a
// server restart they are all dead, and a peek is cheaper than a dial), or,
// with none idle, dials into the failed one's slot.
func (p *Pool[C]) checked(ctx context.Context, l Lease[C]) (Lease[C], error) {
	if p.cfg.Check == nil {
		return l, nil
	}
	for {
		if err := p.cfg.Check(ctx, l.e.conn); err == nil {
			return l, nil
		}
		var now time.Time
		if p.lifetime {
			now = p.cfg.Now()
		}
		bad := l.e
		p.mu.Lock()
		bad.lent = false
		bad.gen++
		p.inUse--
		p.st.checkFailures++
		p.st.discarded++
		p.st.closed++
		if p.closed {
			p.numOpen--
			p.mu.Unlock()
			p.closeEntry(bad)
			return Lease[C]{}, ErrClosed
		}
		stale := bad
		next := p.popIdleLocked(now, &stale)
		if next != nil {
			p.numOpen-- // bad's slot: next is counted already
			l = Lease[C]{next, p.lendLocked(next)}
		}
		p.mu.Unlock()
		p.closeList(stale)
		if next == nil {
			return p.dialInto(ctx)
		}
	}
}

// popIdleLocked takes the most recently returned idle connection, unlinking
// those past MaxLifetime on the way into the list *stale, to be closed once
// the lock is released.
func (p *Pool[C]) popIdleLocked(now time.Time, stale **entry[C]) *entry[C] {
	for n := len(p.idle); n > 0; n-- {
		e := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		if p.lifetime && now.Sub(e.created) >= p.cfg.MaxLifetime {
			p.numOpen--
			p.st.closed++
			e.next, *stale = *stale, e
			continue
		}
		return e
	}
	return nil
}

// dialInto dials into a slot already counted in numOpen.
func (p *Pool[C]) dialInto(ctx context.Context) (Lease[C], error) {
	c, err := p.cfg.Dial(ctx)
	if err != nil {
		p.mu.Lock()
		p.st.dialErrors++
		p.freeSlotLocked()
		p.mu.Unlock()
		return Lease[C]{}, fmt.Errorf("pool: dial: %w", err)
	}
	e := &entry[C]{p: p, conn: c, created: p.cfg.Now()}
	p.mu.Lock()
	p.st.opened++
	if p.closed {
		p.numOpen--
		p.st.closed++
		p.mu.Unlock()
		p.closeEntry(e)
		return Lease[C]{}, ErrClosed
	}
	gen := p.lendLocked(e)
	p.mu.Unlock()
	return Lease[C]{e, gen}, nil
}

func (p *Pool[C]) release(e *entry[C], gen uint64, broken bool) error {
	var now time.Time
	if p.lifetime || p.idleTO {
		now = p.cfg.Now()
	}
	p.mu.Lock()
	if !e.lent || e.gen != gen {
		p.mu.Unlock()
		return ErrReleased
	}
	e.lent = false
	e.gen++
	p.inUse--
	if broken || p.closed || (p.lifetime && now.Sub(e.created) >= p.cfg.MaxLifetime) {
		if broken {
			p.st.discarded++
		}
		p.st.closed++
		p.freeSlotLocked()
		p.mu.Unlock()
		p.closeEntry(e)
		return nil
	}
	p.putLocked(e, now)
	p.mu.Unlock()
	return nil
}

// lendLocked marks e lent and returns the generation its lease holds.
func (p *Pool[C]) lendLocked(e *entry[C]) uint64 {
	e.lent = true
	e.gen++
	p.inUse++
	if p.inUse > p.peak {
		p.peak = p.inUse
	}
	return e.gen
}

// putLocked makes a healthy connection available: to the longest waiter
// first, so a newcomer never overtakes the queue.
func (p *Pool[C]) putLocked(e *entry[C], now time.Time) {
	if w := p.head; w != nil {
		p.unqueueLocked(w)
		w.ch <- grant[C]{e: e, gen: p.lendLocked(e)}
		return
	}
	e.idleSince = now
	p.idle = append(p.idle, e)
}

// freeSlotLocked gives up one counted connection (closed, or a dial that
// failed): the longest waiter gets the slot to dial into.
func (p *Pool[C]) freeSlotLocked() {
	p.numOpen--
	if p.closed {
		return
	}
	if w := p.head; w != nil {
		p.unqueueLocked(w)
		p.numOpen++
		w.ch <- grant[C]{}
		return
	}
	p.wantIdleLocked()
}

func (p *Pool[C]) unqueueLocked(w *waiter[C]) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		p.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		p.tail = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	p.nwait--
}

// wantIdleLocked wakes the maintainer when MinIdle is not met and it can
// dial: never on the hot path of a pool at MaxOpen.
func (p *Pool[C]) wantIdleLocked() {
	if len(p.idle) < p.cfg.MinIdle && p.numOpen < p.cfg.MaxOpen {
		select {
		case p.poke <- struct{}{}:
		default:
		}
	}
}

func (p *Pool[C]) closeEntry(e *entry[C]) error {
	if p.cfg.Close == nil {
		return nil
	}
	err := p.cfg.Close(e.conn)
	if err != nil {
		p.mu.Lock()
		p.st.closeErrors++
		p.mu.Unlock()
	}
	return err
}

// closeList closes a list of entries linked by next; the first error wins.
func (p *Pool[C]) closeList(e *entry[C]) error {
	var first error
	for e != nil {
		next := e.next
		e.next = nil
		if err := p.closeEntry(e); err != nil && first == nil {
			first = err
		}
		e = next
	}
	return first
}

// Close closes the idle connections, wakes every waiter with ErrClosed and
// stops the maintenance goroutine (cancelling its dial). Lent connections are
// closed as they are released, dials in progress as they finish: nothing the
// pool opened stays open. Close is idempotent; it returns the first error of
// closing the idle connections.
func (p *Pool[C]) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	var list *entry[C]
	for i, e := range p.idle {
		e.next, list = list, e
		p.idle[i] = nil
	}
	p.numOpen -= len(p.idle)
	p.st.closed += int64(len(p.idle))
	p.idle = p.idle[:0]
	for w := p.head; w != nil; w = p.head {
		p.unqueueLocked(w)
		w.ch <- grant[C]{err: ErrClosed}
	}
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	if err := p.closeList(list); err != nil {
		return fmt.Errorf("pool: close: %w", err)
	}
	return nil
}

// Stats are a pool's gauges and counters since New.
type Stats struct {
	MaxOpen int
	// Open counts the connections open or being dialed.
	Open  int
	Idle  int
	InUse int
	// PeakInUse is the most connections lent out at once since New or the
	// last ResetPeak.
	PeakInUse int
	// Waiting is the length of the wait queue.
	Waiting int

	Opened     int64 // successful dials
	Closed     int64 // connections closed, for any reason
	DialErrors int64
	// Discarded connections were closed because their borrower found them
	// broken or the health check failed; CheckFailures counts the latter.
	Discarded     int64
	CheckFailures int64
	CloseErrors   int64

	// Waits counts the Acquires that had to queue; WaitTime is their total
	// time in the queue.
	Waits    int64
	WaitTime time.Duration
	// Exhausted counts FailFast refusals.
	Exhausted int64
	// AcquireTimeouts counts waits ended by the acquire timeout or the
	// context's deadline; Canceled those ended by a canceled context.
	AcquireTimeouts int64
	Canceled        int64
}

// Stats returns a consistent snapshot of the pool's figures.
func (p *Pool[C]) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		MaxOpen:         p.cfg.MaxOpen,
		Open:            p.numOpen,
		Idle:            len(p.idle),
		InUse:           p.inUse,
		PeakInUse:       p.peak,
		Waiting:         p.nwait,
		Opened:          p.st.opened,
		Closed:          p.st.closed,
		DialErrors:      p.st.dialErrors,
		Discarded:       p.st.discarded,
		CheckFailures:   p.st.checkFailures,
		CloseErrors:     p.st.closeErrors,
		Waits:           p.st.waits,
		WaitTime:        time.Duration(p.waitNs.Load()),
		Exhausted:       p.st.exhausted,
		AcquireTimeouts: p.st.timeouts,
		Canceled:        p.st.canceled,
	}
}

// ResetPeak returns PeakInUse and restarts it from the current in-use count,
// so that each measurement window gets its own peak.
func (p *Pool[C]) ResetPeak() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	peak := p.peak
	p.peak = p.inUse
	return peak
}
