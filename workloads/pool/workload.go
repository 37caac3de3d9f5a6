package pool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// Name is the workload's name on the command line and in results.
const Name = "pool"

// Defaults of the parameters. Under the engine's default -c 8, max-open 4
// puts two borrowers on every connection, so a default run shows real
// contention: waits, a busy pool, and the wait's share of each op.
const (
	DefaultMaxOpen        = 4
	DefaultMinIdle        = 1
	DefaultHold           = "200us"
	DefaultAcquireTimeout = time.Second
	DefaultPolicy         = "wait"
)

// Latency phases and counters the workload records.
const (
	PhaseAcquireWait = "acquire_wait" // Acquire: queueing, and the dial when it dials
	PhaseRoundTrip   = "round_trip"   // one request and its reply on the leased connection
	PhaseHold        = "hold"         // holding the connection after the round trip

	// Connections opened and closed in the measured window: 0 for a warm
	// pool without churn (max-lifetime, idle-timeout, broken connections);
	// the warm ones are DerivedWarm.
	CounterOpened   = "conns_opened"
	CounterClosed   = "conns_closed"
	CounterExhaust  = "exhausted"
	CounterTimeouts = "acquire_timeouts"

	// Derived figures: the share of max-open × time that connections were
	// lent for a round trip or a hold, the most lent at once, and the
	// connections already open when the measured window began (opened in
	// the warmup or an earlier run, which conns_opened leaves out): so
	// peak_in_use ≤ conns_warm + conns_opened, and a table showing
	// conns_opened 0 beside peak_in_use 4 says where the 4 came from.
	DerivedUtilisation = "utilisation"
	DerivedPeakInUse   = "peak_in_use"
	DerivedWarm        = "conns_warm"
)

// Definition declares the pool workload: its parameters and constructor.
//
// There is no workers parameter: the engine's -c is the number of borrowers
// (closed model), or the cap on borrowers in flight (open model, -r), and a
// second knob for the same thing would only disagree with it.
func Definition() bench.Definition {
	return bench.Definition{
		Name: Name,
		Help: "connection pool contention: -c borrowers share max-open real TCP connections (acquire, one round trip, hold, release); no target: an embedded echo server",
		Params: []bench.Param{
			{Name: "target", Kind: bench.String, Help: "where connections go: tcp://HOST:PORT (an echo service), redis://[:PASSWORD@]HOST[:PORT] (PING round trips); empty: the embedded echo server", Redact: redactTarget, Check: bench.Check(checkTarget)},
			{Name: "max-open", Kind: bench.Int, Default: strconv.Itoa(DefaultMaxOpen), Help: "most connections open at once, dials in progress included", Check: checkMaxOpen},
			{Name: "min-idle", Kind: bench.Int, Default: strconv.Itoa(DefaultMinIdle), Help: "idle connections kept open and warm (capped at max-open)", Check: checkMinIdle},
			{Name: "max-lifetime", Kind: bench.Duration, Default: "0s", Help: "retire a connection this long after it was opened (0: never)", Check: checkNonNegative},
			{Name: "idle-timeout", Kind: bench.Duration, Default: "0s", Help: "close connections idle this long, down to min-idle (0: never)", Check: checkNonNegative},
			{Name: "policy", Kind: bench.String, Default: DefaultPolicy, Help: "when every connection is in use: wait (FIFO queue, fair) or fail-fast (error exhausted)", Check: bench.Check(checkPolicy)},
			{Name: "hold", Kind: bench.DistKind, Default: DefaultHold, Help: "how long a borrower keeps the connection after its round trip (e.g. 1ms, uniform:100us..2ms, lognormal:p50=1ms,p99=20ms)"},
			{Name: "acquire-timeout", Kind: bench.Duration, Default: DefaultAcquireTimeout.String(), Help: "longest wait for a connection, counted as acquire_timeout (0: the op's --timeout alone)", Check: checkNonNegative},
			{Name: "health-check", Kind: bench.Bool, Default: "false", Help: "check a connection on borrow (a non-blocking peek: no round trip) and replace it if the peer dropped it"},
		},
		New: func(v bench.Values) (bench.Workload, error) {
			cfg, err := newConfig(v)
			if err != nil {
				return nil, err
			}
			if cfg.target != nil {
				if err := probe(*cfg.target); err != nil {
					return nil, err
				}
			}
			return newWorkload(cfg), nil
		},
	}
}

// config is the validated form of the parameters.
type config struct {
	target         *target // nil: the embedded echo server
	maxOpen        int
	minIdle        int
	maxLifetime    time.Duration
	idleTimeout    time.Duration
	policy         Policy
	hold           bench.Dist
	acquireTimeout time.Duration
	healthCheck    bool
}

// maxMaxOpen bounds max-open: far above any real pool, low enough that a
// typo (max-open 1e9) is caught rather than exhausting file descriptors.
const maxMaxOpen = 1 << 16

func newConfig(v bench.Values) (config, error) {
	cfg := config{
		maxLifetime:    v.Duration("max-lifetime"),
		idleTimeout:    v.Duration("idle-timeout"),
		hold:           v.Dist("hold"),
		acquireTimeout: v.Duration("acquire-timeout"),
		healthCheck:    v.Bool("health-check"),
	}
	if err := checkMaxOpen(v.Int("max-open")); err != nil {
		return config{}, fmt.Errorf("param max-open: %w", err)
	}
	if err := checkMinIdle(v.Int("min-idle")); err != nil {
		return config{}, fmt.Errorf("param min-idle: %w", err)
	}
	cfg.maxOpen = int(v.Int("max-open"))
	cfg.minIdle = min(int(v.Int("min-idle")), cfg.maxOpen)
	for _, name := range []string{"max-lifetime", "idle-timeout", "acquire-timeout"} {
		if err := checkNonNegative(v.Duration(name)); err != nil {
			return config{}, fmt.Errorf("param %s: %w", name, err)
		}
	}
	pol, err := ParsePolicy(v.String("policy"))
	if err != nil {
		return config{}, fmt.Errorf("param policy: %w", err)
	}
	cfg.policy = pol
	if s := v.String("target"); s != "" {
		t, err := parseTarget(s)
		if err != nil {
			return config{}, fmt.Errorf("param target: %w", err)
		}
		cfg.target = &t
	}
	return cfg, nil
}

func checkMaxOpen(v any) error {
	n, _ := v.(int64)
	if n < 1 || n > maxMaxOpen {
		return fmt.Errorf("%v: want 1..%d connections", v, maxMaxOpen)
	}
	return nil
}

func checkMinIdle(v any) error {
	n, _ := v.(int64)
	if n < 0 || n > maxMaxOpen {
		return fmt.Errorf("%v: want 0..%d connections (values above max-open mean max-open)", v, maxMaxOpen)
	}
	return nil
}

func checkNonNegative(v any) error {
	if d, _ := v.(time.Duration); d < 0 {
		return fmt.Errorf("%v: must not be negative (0 turns it off)", d)
	}
	return nil
}

func checkPolicy(s string) error { _, err := ParsePolicy(s); return err }

func checkTarget(s string) error {
	if s == "" {
		return nil
	}
	_, err := parseTarget(s)
	return err
}

// workload drives a Pool of TCP connections: each op borrows one, makes a
// round trip on it, holds it, and gives it back.
type workload struct {
	cfg  config
	errs *errTable

	// Set by Setup.
	pool  *Pool[*conn]
	srv   *echoServer // nil with a target
	tgt   target
	hold  bool // the hold phase is declared
	phase struct{ wait, rt, hold bench.Phase }
	count struct{ opened, closed, exhausted, timeouts bench.Counter }

	mu      sync.Mutex
	workers []*worker // by worker ID

	// Connections opened and closed, by the pool's dial and close funcs, and
	// how many of them ops have counted: ops report the difference, so each
	// event is counted once, by the worker that first sees it.
	opened, closed         atomic.Int64
	seenOpened, seenClosed atomic.Int64
}

func newWorkload(cfg config) *workload { return &workload{cfg: cfg, errs: newErrTable()} }

var (
	_ bench.Workload = (*workload)(nil)
	_ bench.Deriver  = (*workload)(nil)
)

// Setup starts the embedded echo server when no target was given, declares
// the phases and counters, and builds the pool (which starts warming min-idle
// connections).
func (wl *workload) Setup(ctx context.Context, s *bench.Setup) error {
	wl.phase.wait = s.Phase(PhaseAcquireWait)
	wl.phase.rt = s.Phase(PhaseRoundTrip)
	if wl.hold = !wl.cfg.hold.IsZero(); wl.hold {
		wl.phase.hold = s.Phase(PhaseHold)
	}
	wl.count.opened = s.Counter(CounterOpened)
	wl.count.closed = s.Counter(CounterClosed)
	wl.count.exhausted = s.Counter(CounterExhaust)
	wl.count.timeouts = s.Counter(CounterTimeouts)

	// s.External stays unset even with a target: the pool under test is
	// perfkit's own code, so its CPU and allocations per op gate.
	if wl.cfg.target != nil {
		wl.tgt = *wl.cfg.target
	} else {
		srv, err := startEcho()
		if err != nil {
			return err
		}
		wl.srv = srv
		wl.tgt = target{proto: protoEcho, addr: srv.addr, shown: "tcp://" + srv.addr}
		s.Embedded = true
		s.Notes = append(s.Notes, fmt.Sprintf("embedded echo server %s (no target given)", srv.addr))
	}
	if s.Model == bench.ModelOpen {
		s.Notes = append(s.Notes, fmt.Sprintf("up to %d borrowers in flight (-c) on max-open %d, policy %s", s.Concurrency, wl.cfg.maxOpen, wl.cfg.policy))
	} else {
		s.Notes = append(s.Notes, fmt.Sprintf("%d borrowers (-c) on max-open %d, policy %s", s.Concurrency, wl.cfg.maxOpen, wl.cfg.policy))
		if wl.cfg.policy == FailFast && s.Concurrency > wl.cfg.maxOpen {
			s.Notes = append(s.Notes, "fail-fast in the closed model: a refused borrower retries at once, so exhausted counts retries; an open-model run (-r) measures the share of arrivals shed")
		}
	}

	pc := Config[*conn]{
		Dial:           wl.dial,
		Close:          wl.closeConn,
		MaxOpen:        wl.cfg.maxOpen,
		MinIdle:        wl.cfg.minIdle,
		MaxLifetime:    wl.cfg.maxLifetime,
		IdleTimeout:    wl.cfg.idleTimeout,
		Policy:         wl.cfg.policy,
		AcquireTimeout: wl.cfg.acquireTimeout,
	}
	if wl.cfg.healthCheck {
		pc.Check = func(ctx context.Context, c *conn) error { return c.check(ctx) }
	}
	p, err := New(pc)
	if err != nil {
		return err
	}
	wl.pool = p
	return nil
}

func (wl *workload) dial(ctx context.Context) (*conn, error) {
	c, err := wl.tgt.dial(ctx)
	if err != nil {
		return nil, err
	}
	wl.opened.Add(1)
	return c, nil
}

func (wl *workload) closeConn(c *conn) error {
	wl.closed.Add(1)
	return c.close()
}

// Teardown closes the pool (every connection it opened: no op is in flight
// now), then stops the embedded server and waits for its goroutines.
func (wl *workload) Teardown(context.Context) error {
	var err error
	if wl.pool != nil {
		err = wl.pool.Close()
	}
	wl.mu.Lock()
	for _, st := range wl.workers {
		if st != nil {
			st.precise.close()
		}
	}
	wl.mu.Unlock()
	if wl.srv != nil {
		if serr := wl.srv.close(); serr != nil {
			err = errors.Join(err, fmt.Errorf("embedded echo server: %w", serr))
		}
	}
	return err
}

// worker is the per-worker state kept in bench.Worker.State.
type worker struct {
	rng     *rand.Rand
	x       *exchange
	timer   *time.Timer // the long part of a hold, which ctx can cut short
	precise *holdTimer  // the last coarseHold of it, on time
}

// coarseHold is the part of a hold left to the precise timer: holds longer
// than this wait on a runtime timer (and end early when the op's context
// does) until this much is left.
const coarseHold = 2 * time.Millisecond

// workerFor returns worker id's state. The engine hands each run fresh
// Workers, so states are kept by ID and reused run after run (runs never
// overlap); Teardown releases their timers.
func (wl *workload) workerFor(id int) *worker {
	wl.mu.Lock()
	defer wl.mu.Unlock()
	if id < len(wl.workers) && wl.workers[id] != nil {
		return wl.workers[id]
	}
	st := &worker{rng: rand.New(rand.NewPCG(uint64(id)+1, 0x706f6f6c)), x: newExchange(wl.tgt.proto)}
	if wl.hold {
		st.precise = newHoldTimer()
	}
	if id >= len(wl.workers) {
		wl.workers = append(wl.workers, make([]*worker, id+1-len(wl.workers))...)
	}
	wl.workers[id] = st
	return st
}

// Op borrows a connection, makes one round trip on it, holds it for a draw
// of hold, and releases it. A connection that fails its round trip is
// discarded, never returned to the pool.
func (wl *workload) Op(ctx context.Context, w *bench.Worker) (bench.Label, error) {
	st, _ := w.State.(*worker)
	if st == nil {
		st = wl.workerFor(w.ID)
		w.State = st
	}
	t0 := time.Now()
	lease, err := wl.pool.Acquire(ctx)
	t1 := time.Now()
	wl.countConns(w)
	if err != nil {
		kerr := wl.errs.classify(err)
		switch kerr {
		case wl.errs.exhausted:
			w.Count(wl.count.exhausted, 1)
		case wl.errs.acquireTimeout:
			w.Count(wl.count.timeouts, 1)
		}
		return 0, kerr
	}
	w.Phase(wl.phase.wait, t1.Sub(t0))

	if err := lease.Conn().roundTrip(ctx, st.x); err != nil {
		_ = lease.Discard()
		return 0, wl.errs.classify(err)
	}
	t2 := time.Now()
	w.Phase(wl.phase.rt, t2.Sub(t1))

	if wl.hold {
		err := st.sleep(ctx, wl.cfg.hold.Sample(st.rng))
		w.Phase(wl.phase.hold, time.Since(t2))
		if err != nil {
			_ = lease.Release()
			return 0, wl.errs.classify(err)
		}
	}
	_ = lease.Release()
	return 0, nil
}

// countConns reports the connections opened and closed since any worker
// last did. Pool events (a dial by the maintainer, a close on release) have
// no op of their own; the engine sums counters over workers, so each is
// claimed exactly once.
func (wl *workload) countConns(w *bench.Worker) {
	if n := claim(&wl.seenOpened, wl.opened.Load()); n > 0 {
		w.Count(wl.count.opened, n)
	}
	if n := claim(&wl.seenClosed, wl.closed.Load()); n > 0 {
		w.Count(wl.count.closed, n)
	}
}

// claim advances seen to cur and returns by how much it moved (0 if another
// worker got there first).
func claim(seen *atomic.Int64, cur int64) int64 {
	for {
		s := seen.Load()
		if cur <= s {
			return 0
		}
		if seen.CompareAndSwap(s, cur) {
			return cur - s
		}
	}
}

// sleep holds for d, or until ctx's deadline; a cancel ends it early unless
// under coarseHold of it is left.
func (st *worker) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	start := time.Now()
	end := start.Add(d)
	var cut error
	if dl, ok := ctx.Deadline(); ok && dl.Before(end) {
		end, cut = dl, context.DeadlineExceeded
	}
	if long := end.Sub(start) - coarseHold; long > 0 {
		if st.timer == nil {
			st.timer = time.NewTimer(long)
		} else {
			st.timer.Reset(long)
		}
		select {
		case <-st.timer.C:
		case <-ctx.Done():
			st.timer.Stop()
			return ctx.Err()
		}
	}
	st.precise.sleep(time.Until(end))
	return cut
}

// Derive reports the pool's utilisation over the run — the time connections
// were lent for round trips and holds, over max-open × the measured time —
// and the peak in use since the previous run (warmup included).
func (wl *workload) Derive(run *bench.RunResult) map[string]float64 {
	out := map[string]float64{DerivedPeakInUse: float64(wl.pool.ResetPeak())}
	// Every open and close claimed so far (warmup and earlier runs too),
	// less those this window counted: what was open when it began.
	open := wl.seenOpened.Load() - wl.seenClosed.Load()
	out[DerivedWarm] = float64(max(0, open-run.Counters[CounterOpened]+run.Counters[CounterClosed]))
	if run.ElapsedNs > 0 {
		var busy float64
		for _, k := range []string{PhaseRoundTrip, PhaseHold} {
			if l, ok := run.Latency[k]; ok {
				busy += l.MeanNs * float64(l.Count)
			}
		}
		out[DerivedUtilisation] = min(1, busy/(float64(run.ElapsedNs)*float64(wl.cfg.maxOpen)))
	}
	return out
}
