package pool

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// testConn is a pooled connection that knows whether it is lent, so a test
// sees at once if the pool ever hands one connection to two borrowers.
type testConn struct {
	*conn
	busy atomic.Bool
	warm bool // dialed before the test's borrow (TestMinIdleKeptWarm)
}

// newEcho starts an embedded echo server, closed when the test ends.
func newEcho(tb testing.TB) *echoServer {
	tb.Helper()
	srv, err := startEcho()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := srv.close(); err != nil {
			tb.Errorf("echo server close: %v", err)
		}
	})
	return srv
}

func echoTarget(srv *echoServer) target {
	return target{proto: protoEcho, addr: srv.addr, shown: "tcp://" + srv.addr}
}

// newTestPool builds a pool of real TCP connections to srv from cfg (whose
// Dial and Close, if nil, are filled in) and closes it when the test ends.
func newTestPool(tb testing.TB, srv *echoServer, cfg Config[*testConn]) *Pool[*testConn] {
	tb.Helper()
	tgt := echoTarget(srv)
	if cfg.Dial == nil {
		cfg.Dial = func(ctx context.Context) (*testConn, error) {
			c, err := tgt.dial(ctx)
			if err != nil {
				return nil, err
			}
			return &testConn{conn: c}, nil
		}
	}
	if cfg.Close == nil {
		cfg.Close = func(c *testConn) error { return c.close() }
	}
	p, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// waitFor polls cond until it holds, failing the test after a few seconds.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fakeClock is an injectable clock of connection ages.
type fakeClock struct {
	base time.Time
	off  atomic.Int64
}

func newFakeClock() *fakeClock               { return &fakeClock{base: time.Now()} }
func (c *fakeClock) now() time.Time          { return c.base.Add(time.Duration(c.off.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// build resolves raw params as the command line would and builds the workload.
func build(tb testing.TB, raw map[string]any) *workload {
	tb.Helper()
	def := Definition()
	w, err := def.Build(raw)
	if err != nil {
		tb.Fatalf("Build(%v): %v", raw, err)
	}
	return w.(*workload)
}

// buildErr returns the error that resolving or building raw params gives.
func buildErr(raw map[string]any) error {
	def := Definition()
	_, err := def.Build(raw)
	return err
}

// setup sets wl up as the engine would and tears it down when the test ends.
func setup(tb testing.TB, wl *workload, conc int) *bench.Setup {
	tb.Helper()
	s := &bench.Setup{Concurrency: conc, Model: bench.ModelClosed, Timeout: 5 * time.Second}
	if err := wl.Setup(context.Background(), s); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := wl.Teardown(context.Background()); err != nil {
			tb.Errorf("teardown: %v", err)
		}
	})
	return s
}

// runScenario runs wl through the engine with a short measured window.
func runScenario(tb testing.TB, wl *workload, raw map[string]any, conc int, d time.Duration) bench.RunResult {
	tb.Helper()
	return runSettings(tb, wl, raw, func(s *bench.Settings) { s.Duration, s.Concurrency = d, conc })
}

// runOps is runScenario for n ops: what a test needs to see (a refusal, a
// peak) takes ops, and a loaded machine may run none in 100ms.
func runOps(tb testing.TB, wl *workload, raw map[string]any, conc int, n int64) bench.RunResult {
	tb.Helper()
	return runSettings(tb, wl, raw, func(s *bench.Settings) { s.Duration, s.Iterations, s.Concurrency = 0, n, conc })
}

func runSettings(tb testing.TB, wl *workload, raw map[string]any, mod func(*bench.Settings)) bench.RunResult {
	tb.Helper()
	def := Definition()
	v, err := def.Resolve(raw)
	if err != nil {
		tb.Fatal(err)
	}
	set := bench.DefaultSettings()
	set.Warmup = 0
	mod(&set)
	res, err := bench.Run(context.Background(), bench.Scenario{
		Name: Name, Workload: Name, Params: v, Settings: set,
		New: func() (bench.Workload, error) { return wl, nil },
	})
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	if len(res.Runs) != 1 {
		tb.Fatalf("runs: %d, want 1", len(res.Runs))
	}
	return res.Runs[0]
}
