package pool

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// Under 100 borrowers on max-open 4, the server never sees more than 4
// connections, the pool never counts more than 4 open (dials included), and
// no connection is ever lent to two borrowers at once.
func TestMaxOpenUnderContention(t *testing.T) {
	srv := newEcho(t)
	p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 4, MinIdle: 2})
	ctx := context.Background()

	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if st := p.Stats(); st.Open > 4 || st.InUse > 4 {
				t.Errorf("pool over max-open: %+v", st)
				return
			}
			time.Sleep(50 * time.Microsecond)
		}
	})

	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			x := newExchange(protoEcho)
			for range 30 {
				l, err := p.Acquire(ctx)
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				c := l.Conn()
				if !c.busy.CompareAndSwap(false, true) {
					t.Errorf("connection %p lent to two borrowers at once", c)
				}
				if err := c.roundTrip(ctx, x); err != nil {
					t.Errorf("round trip: %v", err)
				}
				c.busy.Store(false)
				if err := l.Release(); err != nil {
					t.Errorf("Release: %v", err)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	sampler.Wait()

	st := p.Stats()
	if got := srv.peak.Load(); got > 4 {
		t.Errorf("server saw %d connections at once, want at most 4", got)
	}
	if st.PeakInUse > 4 || st.Opened > 4 {
		t.Errorf("peak in use %d, opened %d: want at most 4", st.PeakInUse, st.Opened)
	}
	if st.Waits == 0 || st.WaitTime <= 0 {
		t.Errorf("100 borrowers on 4 connections never waited: %+v", st)
	}
	if st.InUse != 0 || st.Waiting != 0 || st.Idle != st.Open {
		t.Errorf("after the borrowers left: %+v", st)
	}
}

// Waiters are served in arrival order, and a newcomer arriving as a
// connection is released queues behind them instead of taking it.
func TestWaitIsFIFO(t *testing.T) {
	srv := newEcho(t)
	p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 1})
	ctx := context.Background()
	first, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var (
		mu    sync.Mutex
		order []int
		wg    sync.WaitGroup
	)
	served := func(i int, l Lease[*testConn]) {
		mu.Lock()
		order = append(order, i)
		mu.Unlock()
		if err := l.Release(); err != nil {
			t.Error(err)
		}
	}
	for i := range n {
		wg.Go(func() {
			l, err := p.Acquire(ctx)
			if err != nil {
				t.Errorf("waiter %d: %v", i, err)
				return
			}
			served(i, l)
		})
		waitFor(t, "waiter to queue", func() bool { return p.Stats().Waiting == i+1 })
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	newcomer, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	served(n, newcomer)
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("served in order %v, want 0..%d", order, n)
		}
	}
	if len(order) != n+1 {
		t.Fatalf("served %d, want %d", len(order), n+1)
	}
	if st := p.Stats(); st.Waits != n+1 && st.Waits != n {
		t.Errorf("waits %d, want %d (or %d if the newcomer found the queue empty)", st.Waits, n+1, n)
	}
}

func TestFailFastCountsExhausted(t *testing.T) {
	srv := newEcho(t)
	p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 2, Policy: FailFast})
	ctx := context.Background()
	l1, err1 := p.Acquire(ctx)
	l2, err2 := p.Acquire(ctx)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := p.Acquire(ctx); err != ErrExhausted {
			t.Fatalf("Acquire on an exhausted pool: %v, want ErrExhausted", err)
		}
	}
	st := p.Stats()
	if st.Exhausted != 5 || st.Waits != 0 || st.Waiting != 0 {
		t.Errorf("exhausted %d waits %d waiting %d, want 5, 0, 0", st.Exhausted, st.Waits, st.Waiting)
	}
	l1.Release()
	l3, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire after a release: %v", err)
	}
	l3.Release()
	l2.Release()
}

// Dials in progress count toward MaxOpen: while two are dialing on a pool of
// two, a third borrower is refused rather than opening a third connection.
func TestDialsInProgressCountTowardMaxOpen(t *testing.T) {
	srv := newEcho(t)
	tgt := echoTarget(srv)
	gate := make(chan struct{})
	dialing := make(chan struct{}, 2)
	p := newTestPool(t, srv, Config[*testConn]{
		MaxOpen: 2, Policy: FailFast,
		Dial: func(ctx context.Context) (*testConn, error) {
			dialing <- struct{}{}
			<-gate
			c, err := tgt.dial(ctx)
			if err != nil {
				return nil, err
			}
			return &testConn{conn: c}, nil
		},
	})
	ctx := context.Background()
	leases := make(chan Lease[*testConn], 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			l, err := p.Acquire(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			leases <- l
		})
	}
	<-dialing
	<-dialing
	if _, err := p.Acquire(ctx); err != ErrExhausted {
		t.Errorf("Acquire with 2 dials in progress on max-open 2: %v, want ErrExhausted", err)
	}
	if st := p.Stats(); st.Open != 2 || st.InUse != 0 {
		t.Errorf("open %d in use %d while dialing, want 2, 0", st.Open, st.InUse)
	}
	close(gate)
	wg.Wait()
	close(leases)
	for l := range leases {
		l.Release()
	}
	if got := srv.peak.Load(); got > 2 {
		t.Errorf("server saw %d connections, want at most 2", got)
	}
}

func TestAcquireTimeout(t *testing.T) {
	srv := newEcho(t)
	p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 1, AcquireTimeout: 30 * time.Millisecond})
	held, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	// The pool's own acquire timeout.
	start := time.Now()
	_, err = p.Acquire(context.Background())
	if err != ErrAcquireTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire past the acquire timeout: %v, want ErrAcquireTimeout (is DeadlineExceeded)", err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("gave up after %v, before the 30ms timeout", d)
	}

	// The context's deadline, shorter than the acquire timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	_, err = p.Acquire(ctx)
	cancel()
	if err != ErrAcquireTimeout {
		t.Fatalf("Acquire past the context's deadline: %v, want ErrAcquireTimeout", err)
	}

	// A canceled context is not a timeout.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(5*time.Millisecond, cancel)
	if _, err = p.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire with a canceled context: %v, want context.Canceled", err)
	}

	st := p.Stats()
	if st.AcquireTimeouts != 2 || st.Canceled != 1 || st.Waits != 3 || st.Waiting != 0 {
		t.Errorf("timeouts %d canceled %d waits %d waiting %d, want 2, 1, 3, 0", st.AcquireTimeouts, st.Canceled, st.Waits, st.Waiting)
	}
	// Nobody is left in the queue: the release goes to the idle stack.
	held.Release()
	if st := p.Stats(); st.Idle != 1 || st.InUse != 0 {
		t.Errorf("after release: idle %d in use %d, want 1, 0", st.Idle, st.InUse)
	}
}

// Borrowers with tiny, random timeouts race their grants: whichever way each
// race goes, every connection ends up back in the pool and none is lost.
func TestTimeoutRacesLoseNoConnection(t *testing.T) {
	srv := newEcho(t)
	p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 3})
	var wg sync.WaitGroup
	var ok, timedOut atomic.Int64
	for g := range 32 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(1000))*time.Microsecond)
				l, err := p.Acquire(ctx)
				cancel()
				if err != nil {
					switch {
					case err == ErrAcquireTimeout: // gave up waiting
						timedOut.Add(1)
					case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
						// expired before it could wait, or while dialing
					default:
						t.Errorf("Acquire: %v", err)
					}
					continue
				}
				c := l.Conn()
				if !c.busy.CompareAndSwap(false, true) {
					t.Error("connection lent twice")
				}
				time.Sleep(time.Duration(r.IntN(50)) * time.Microsecond)
				c.busy.Store(false)
				l.Release()
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	st := p.Stats()
	if st.InUse != 0 || st.Waiting != 0 || st.Idle != st.Open || st.Open > 3 || st.Open == 0 {
		t.Errorf("after the race: %+v", st)
	}
	if st.AcquireTimeouts != timedOut.Load() {
		t.Errorf("stats count %d timeouts, borrowers saw %d", st.AcquireTimeouts, timedOut.Load())
	}
	t.Logf("%d served, %d timed out", ok.Load(), timedOut.Load())
}

// MaxLifetime retires a connection on borrow and on return, by the pool's
// clock.
func TestMaxLifetimeRetires(t *testing.T) {
	srv := newEcho(t)
	clock := newFakeClock()
	p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 2, MaxLifetime: time.Minute, Now: clock.now})
	ctx := context.Background()

	l, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c1 := l.Conn()
	l.Release()
	clock.advance(30 * time.Second)
	if l, err = p.Acquire(ctx); err != nil || l.Conn() != c1 {
		t.Fatalf("young connection not reused: %v", err)
	}
	l.Release()

	clock.advance(31 * time.Second) // c1 is 61s old
	if l, err = p.Acquire(ctx); err != nil || l.Conn() == c1 {
		t.Fatalf("connection past MaxLifetime lent again: %v", err)
	}
	clock.advance(2 * time.Minute)
	l.Release() // past its lifetime on return: closed, not kept

	st := p.Stats()
	if st.Opened != 2 || st.Closed != 2 || st.Open != 0 || st.Idle != 0 {
		t.Errorf("opened %d closed %d open %d idle %d, want 2, 2, 0, 0", st.Opened, st.Closed, st.Open, st.Idle)
	}
	waitFor(t, "server to see both connections closed", func() bool { return srv.open.Load() == 0 })
}

// The maintainer closes connections idle past IdleTimeout, down to MinIdle.
func TestIdleTimeoutRetires(t *testing.T) {
	srv := newEcho(t)
	p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 4, MinIdle: 1, IdleTimeout: 40 * time.Millisecond})
	ctx := context.Background()
	var ls []Lease[*testConn]
	for range 4 {
		l, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		l.Release()
	}
	waitFor(t, "idle connections to time out down to min-idle", func() bool {
		st := p.Stats()
		return st.Idle == 1 && st.Open == 1
	})
	if st := p.Stats(); st.Closed != 3 {
		t.Errorf("closed %d, want 3", st.Closed)
	}
	waitFor(t, "server to see 1 connection", func() bool { return srv.open.Load() == 1 })
}

// The maintainer dials MinIdle connections before anyone asks, and tops them
// up after a borrow.
func TestMinIdleKeptWarm(t *testing.T) {
	srv := newEcho(t)
	// Mark the connections dialed before the borrow, so the test can tell a
	// warm one from one dialed for the borrower (the maintenance goroutine
	// may top min-idle up at any moment after the borrow).
	var warm atomic.Bool
	tgt := echoTarget(srv)
	p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 4, MinIdle: 3, Dial: func(ctx context.Context) (*testConn, error) {
		c, err := tgt.dial(ctx)
		if err != nil {
			return nil, err
		}
		tc := &testConn{conn: c}
		tc.warm = !warm.Load()
		return tc, nil
	}})
	waitFor(t, "3 warm connections", func() bool { return p.Stats().Idle == 3 })
	warm.Store(true)
	l, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !l.Conn().warm {
		t.Errorf("borrowing dialed a new connection instead of taking a warm one")
	}
	waitFor(t, "min-idle topped up", func() bool { st := p.Stats(); return st.Idle == 3 && st.Open == 4 })
	l.Release()
	if got := srv.peak.Load(); got > 4 {
		t.Errorf("server saw %d connections, want at most 4", got)
	}
}

// The health check replaces a connection the server dropped while it was
// idle, so the borrower gets a working one.
func TestHealthCheckReplacesDeadConn(t *testing.T) {
	srv := newEcho(t)
	p := newTestPool(t, srv, Config[*testConn]{
		MaxOpen: 1,
		Check:   func(ctx context.Context, c *testConn) error { return c.check(ctx) },
	})
	ctx := context.Background()
	x := newExchange(protoEcho)
	l, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c1 := l.Conn()
	if err := c1.roundTrip(ctx, x); err != nil {
		t.Fatal(err)
	}
	l.Release()
	// The live, idle connection passes the check.
	if l, err = p.Acquire(ctx); err != nil || l.Conn() != c1 {
		t.Fatalf("healthy idle connection replaced: %v", err)
	}
	l.Release()

	srv.dropAll()
	waitFor(t, "server to drop its side", func() bool { return srv.open.Load() == 0 })
	l, err = p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l.Conn() == c1 {
		t.Fatal("dead connection lent")
	}
	if err := l.Conn().roundTrip(ctx, x); err != nil {
		t.Fatalf("round trip on the replacement: %v", err)
	}
	l.Release()
	st := p.Stats()
	if st.CheckFailures != 1 || st.Discarded != 1 || st.Opened != 2 || st.Closed != 1 || st.Open != 1 {
		t.Errorf("stats after a failed check: %+v", st)
	}
}

// After a server restart every idle connection is dead: one borrow checks
// its way through all of them, closes them, and dials one fresh connection.
func TestHealthCheckSkipsEveryDeadIdleConn(t *testing.T) {
	srv := newEcho(t)
	p := newTestPool(t, srv, Config[*testConn]{
		MaxOpen: 3,
		Check:   func(ctx context.Context, c *testConn) error { return c.check(ctx) },
	})
	ctx := context.Background()
	x := newExchange(protoEcho)
	var ls []Lease[*testConn]
	for range 3 {
		l, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Conn().roundTrip(ctx, x); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		l.Release()
	}
	srv.dropAll()
	waitFor(t, "server to drop its side", func() bool { return srv.open.Load() == 0 })
	l, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Conn().roundTrip(ctx, x); err != nil {
		t.Fatalf("round trip on the fresh connection: %v", err)
	}
	l.Release()
	st := p.Stats()
	if st.CheckFailures != 3 || st.Opened != 4 || st.Closed != 3 || st.Open != 1 || st.Idle != 1 {
		t.Errorf("after a restart: %+v", st)
	}
}

// Without a health check, a borrower that finds its connection broken
// discards it; the pool never lends it again.
func TestDiscardedConnIsNotReused(t *testing.T) {
	srv := newEcho(t)
	p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 1})
	ctx := context.Background()
	x := newExchange(protoEcho)
	l, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c1 := l.Conn()
	if err := c1.roundTrip(ctx, x); err != nil { // the server has accepted it
		t.Fatal(err)
	}
	l.Release()
	srv.dropAll()
	waitFor(t, "server to drop its side", func() bool { return srv.open.Load() == 0 })

	l, _ = p.Acquire(ctx)
	err = l.Conn().roundTrip(ctx, x)
	if err == nil {
		t.Fatal("round trip on a dropped connection succeeded")
	}
	if k := bench.ErrorKind(newErrTable().classify(err)); k != KindConnReset {
		t.Errorf("round trip on a dropped connection (%v) counted as %s, want %s", err, k, KindConnReset)
	}
	if err := l.Discard(); err != nil {
		t.Fatal(err)
	}
	l, err = p.Acquire(ctx)
	if err != nil || l.Conn() == c1 {
		t.Fatalf("after a discard: %v (same conn: %v)", err, l.Conn() == c1)
	}
	if err := l.Conn().roundTrip(ctx, x); err != nil {
		t.Fatal(err)
	}
	l.Release()
	if st := p.Stats(); st.Discarded != 1 || st.Opened != 2 {
		t.Errorf("discarded %d opened %d, want 1, 2", st.Discarded, st.Opened)
	}
}

// A dial that fails passes its slot to the next waiter, so a failed dial
// never shrinks the pool or strands the queue.
func TestFailedDialPassesSlotOn(t *testing.T) {
	srv := newEcho(t)
	tgt := echoTarget(srv)
	var fail atomic.Bool
	errDown := errors.New("server down")
	p := newTestPool(t, srv, Config[*testConn]{
		MaxOpen: 1,
		Dial: func(ctx context.Context) (*testConn, error) {
			if fail.Load() {
				return nil, errDown
			}
			c, err := tgt.dial(ctx)
			if err != nil {
				return nil, err
			}
			return &testConn{conn: c}, nil
		},
	})
	ctx := context.Background()
	l, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := p.Acquire(ctx)
		got <- err
	}()
	waitFor(t, "waiter to queue", func() bool { return p.Stats().Waiting == 1 })
	fail.Store(true)
	l.Discard() // frees the slot: the waiter dials into it, and fails
	if err := <-got; !errors.Is(err, errDown) {
		t.Fatalf("waiter: %v, want the dial error", err)
	}
	if st := p.Stats(); st.Open != 0 || st.DialErrors != 1 || st.Waiting != 0 {
		t.Errorf("after a failed dial: %+v", st)
	}
	fail.Store(false)
	if l, err = p.Acquire(ctx); err != nil {
		t.Fatalf("Acquire once the server is back: %v", err)
	}
	l.Release()
}

// A lease released twice is refused, and a stale lease cannot release a
// connection since lent to someone else.
func TestDoubleReleaseRefused(t *testing.T) {
	srv := newEcho(t)
	p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 1})
	ctx := context.Background()
	l1, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l1.Release(); err != ErrReleased {
		t.Errorf("second Release: %v, want ErrReleased", err)
	}
	l2, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Conn() != l1.Conn() {
		t.Fatal("expected the same connection")
	}
	if err := l1.Discard(); err != ErrReleased {
		t.Errorf("stale Discard: %v, want ErrReleased", err)
	}
	if st := p.Stats(); st.InUse != 1 || st.Discarded != 0 {
		t.Errorf("a stale lease changed the pool: %+v", st)
	}
	if err := l2.Release(); err != nil {
		t.Error(err)
	}
	if err := (Lease[*testConn]{}).Release(); err != ErrReleased {
		t.Errorf("zero Lease Release: %v, want ErrReleased", err)
	}
}

// Close closes idle connections at once, lent ones when released and dials
// in progress when they finish, wakes waiters with ErrClosed, and leaves the
// server with no connection (goleak in TestMain checks the goroutines).
func TestCloseLeaksNothing(t *testing.T) {
	srv := newEcho(t)
	ctx := context.Background()

	t.Run("idle", func(t *testing.T) {
		p := newTestPool(t, srv, Config[*testConn]{MaxOpen: 3, MinIdle: 2, IdleTimeout: time.Hour})
		var ls []Lease[*testConn]
		for range 3 {
			l, err := p.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Release()
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if st := p.Stats(); st.Open != 0 || st.Idle != 0 || st.Closed != st.Opened {
			t.Errorf("after Close: %+v", st)
		}
		waitFor(t, "server to see no connection", func() bool { return srv.open.Load() == 0 })
	})

	t.Run("lent, dialing and waiting", func(t *testing.T) {
		tgt := echoTarget(srv)
		gate := make(chan struct{})
		var dials atomic.Int64
		dialing := make(chan struct{}, 1)
		p := newTestPool(t, srv, Config[*testConn]{
			MaxOpen: 3,
			Dial: func(ctx context.Context) (*testConn, error) {
				if dials.Add(1) == 3 { // the third dial is still in progress at Close
					dialing <- struct{}{}
					select {
					case <-gate:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}
				c, err := tgt.dial(ctx)
				if err != nil {
					return nil, err
				}
				return &testConn{conn: c}, nil
			},
		})
		l1, err1 := p.Acquire(ctx)
		l2, err2 := p.Acquire(ctx)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		dialed := make(chan error, 1)
		go func() {
			_, err := p.Acquire(ctx)
			dialed <- err
		}()
		<-dialing
		waiter := make(chan error, 1)
		go func() { // three open (one dialing): this one waits
			_, err := p.Acquire(ctx)
			waiter <- err
		}()
		waitFor(t, "waiter to queue", func() bool { return p.Stats().Waiting == 1 })

		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-waiter; err != ErrClosed {
			t.Errorf("waiter woken by Close: %v, want ErrClosed", err)
		}
		close(gate)
		if err := <-dialed; err != ErrClosed {
			t.Errorf("dial finishing after Close: %v, want ErrClosed", err)
		}
		waitFor(t, "server to see only the lent connections", func() bool { return srv.open.Load() == 2 })
		if err := l1.Release(); err != nil {
			t.Fatal(err)
		}
		if err := l2.Discard(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "server to see no connection", func() bool { return srv.open.Load() == 0 })
		st := p.Stats()
		if st.Open != 0 || st.Idle != 0 || st.InUse != 0 || st.Opened != 3 || st.Closed != 3 {
			t.Errorf("after Close: %+v", st)
		}
		if _, err := p.Acquire(ctx); err != ErrClosed {
			t.Errorf("Acquire after Close: %v, want ErrClosed", err)
		}
		if err := p.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	dial := func(context.Context) (int, error) { return 0, nil }
	for name, cfg := range map[string]Config[int]{
		"no dial":          {MaxOpen: 1},
		"max-open 0":       {Dial: dial},
		"negative idle":    {Dial: dial, MaxOpen: 1, MinIdle: -1},
		"negative timeout": {Dial: dial, MaxOpen: 1, AcquireTimeout: -time.Second},
		"bad policy":       {Dial: dial, MaxOpen: 1, Policy: 7},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	for _, p := range []Policy{Wait, FailFast} {
		got, err := ParsePolicy(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePolicy(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParsePolicy("lifo"); err == nil {
		t.Error("ParsePolicy accepted lifo")
	}
}
