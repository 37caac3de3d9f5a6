package agents

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: the
// executor promises that none of its goroutines outlives a batch.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sleepAgent sleeps for d or until ctx is done.
// deadlineAfter is a context whose deadline passes once n agents have
// called started: its Err is then DeadlineExceeded, as a real deadline's.
type deadlineAfter struct {
	context.Context
	left atomic.Int64
	done chan struct{}
}

type startedKey struct{}

func newDeadlineAfter(n int64) *deadlineAfter {
	c := &deadlineAfter{Context: context.Background(), done: make(chan struct{})}
	c.left.Store(n)
	return c
}

func (c *deadlineAfter) started() {
	if c.left.Add(-1) == 0 {
		close(c.done)
	}
}

func (c *deadlineAfter) Done() <-chan struct{} { return c.done }

func (c *deadlineAfter) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func (c *deadlineAfter) Value(k any) any {
	if k == (startedKey{}) {
		return c
	}
	return c.Context.Value(k)
}

func sleepAgent(d time.Duration) Func {
	return func(ctx context.Context) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// gauge tracks how many agents run at once and the most it has seen.
type gauge struct{ cur, peak atomic.Int64 }

func (g *gauge) wrap(a Func) Func {
	return func(ctx context.Context) error {
		n := g.cur.Add(1)
		defer g.cur.Add(-1)
		for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
		}
		return a(ctx)
	}
}

func TestDefaultWorkers(t *testing.T) {
	want := min(32, runtime.NumCPU()+4)
	if got := DefaultWorkers(); got != want {
		t.Errorf("DefaultWorkers() = %d, want %d", got, want)
	}
	if got := New().Workers(); got != want {
		t.Errorf("New().Workers() = %d, want %d", got, want)
	}
	if got := New(Workers(0)).Workers(); got != want {
		t.Errorf("Workers(0) = %d, want the default %d", got, want)
	}
	if got := New(Workers(3), AgentTimeout(-time.Second)); got.Workers() != 3 || got.AgentTimeout() != 0 {
		t.Errorf("Workers(3), AgentTimeout(-1s) = %d, %s", got.Workers(), got.AgentTimeout())
	}
	// The zero Executor works, with the default pool.
	var zero Executor
	var g gauge
	agents := make([]Agent, 3*want)
	for i := range agents {
		agents[i] = g.wrap(sleepAgent(time.Millisecond))
	}
	if s := Summarize(zero.Run(context.Background(), agents)); zero.Workers() != want || s.OK != len(agents) || g.peak.Load() > int64(want) {
		t.Errorf("zero Executor: %d workers, %+v, peak %d", zero.Workers(), s, g.peak.Load())
	}
}

// Results come back in input order although agents finish in reverse order.
func TestResultsInInputOrder(t *testing.T) {
	const n = 40
	agents := make([]Agent, n)
	for i := range agents {
		agents[i] = Func(func(ctx context.Context) error {
			time.Sleep(time.Duration(n-i) * 200 * time.Microsecond)
			if i%3 == 0 {
				return fmt.Errorf("agent %d", i)
			}
			return nil
		})
	}
	res := New(Workers(8)).Run(context.Background(), agents)
	if len(res) != n {
		t.Fatalf("%d results for %d agents", len(res), n)
	}
	for i, r := range res {
		if i%3 == 0 {
			if r.Outcome != Failed || r.Err == nil || r.Err.Error() != fmt.Sprintf("agent %d", i) {
				t.Errorf("result %d: %v %v, want failed with agent %d's error", i, r.Outcome, r.Err, i)
			}
		} else if r.Outcome != OK || r.Err != nil {
			t.Errorf("result %d: %v %v, want ok", i, r.Outcome, r.Err)
		}
		if !r.Started() || r.Latency <= 0 || r.ExitCode != 0 || len(r.Stderr) != 0 {
			t.Errorf("result %d: started %v latency %s exit %d stderr %q", i, r.Started(), r.Latency, r.ExitCode, r.Stderr)
		}
	}
}

// One failing agent fails only itself: every other agent runs and succeeds.
func TestFailuresIsolated(t *testing.T) {
	var ran atomic.Int64
	boom := errors.New("boom")
	agents := make([]Agent, 20)
	for i := range agents {
		agents[i] = Func(func(context.Context) error {
			ran.Add(1)
			if i == 5 || i == 6 {
				return boom
			}
			return nil
		})
	}
	res := New(Workers(4)).Run(context.Background(), agents)
	if ran.Load() != 20 {
		t.Errorf("%d agents ran, want 20", ran.Load())
	}
	s := Summarize(res)
	if s.OK != 18 || s.Failed != 2 || s.Panicked+s.TimedOut+s.Canceled != 0 {
		t.Errorf("summary %+v, want 18 ok, 2 failed", s)
	}
	if !errors.Is(res[5].Err, boom) || !errors.Is(res[6].Err, boom) {
		t.Errorf("errors %v, %v, want boom", res[5].Err, res[6].Err)
	}
}

// Panics are recovered into their agent's result, with the value and a short
// stack; the batch returns every result.
func TestPanicsRecovered(t *testing.T) {
	sentinel := errors.New("sentinel")
	var nilMap map[string]int
	agents := []Agent{
		Func(func(context.Context) error { return nil }),
		Func(func(context.Context) error { panic("boom\nsecond line") }),
		Func(func(context.Context) error { nilMap["x"] = 1; return nil }),
		Func(func(context.Context) error { panic(fmt.Errorf("wrapped: %w", sentinel)) }),
		Func(func(context.Context) error { panic(nil) }),
		Func(func(context.Context) error { return nil }),
	}
	for _, workers := range []int{1, 3} {
		res := New(Workers(workers)).Run(context.Background(), agents)
		if res[0].Outcome != OK || res[5].Outcome != OK {
			t.Errorf("workers %d: healthy agents %v, %v", workers, res[0].Outcome, res[5].Outcome)
		}
		for i, want := range map[int]string{
			1: `agent panicked: boom\nsecond line`,
			2: "agent panicked: assignment to entry in nil map",
			3: "agent panicked: wrapped: sentinel",
			4: "agent panicked: panic called with nil argument",
		} {
			r := res[i]
			var pe *PanicError
			if r.Outcome != Panicked || !errors.As(r.Err, &pe) {
				t.Errorf("workers %d, agent %d: %v %v, want a PanicError", workers, i, r.Outcome, r.Err)
				continue
			}
			if !strings.HasPrefix(r.Err.Error(), want) || strings.Contains(r.Err.Error(), "\n") {
				t.Errorf("workers %d, agent %d: error %q, want one line starting %q", workers, i, r.Err, want)
			}
			if !strings.Contains(pe.Stack, "TestPanicsRecovered") || strings.Contains(pe.Stack, "runtime.gopanic") || strings.Contains(pe.Stack, "runOne") {
				t.Errorf("workers %d, agent %d: stack does not show the agent's frames only:\n%s", workers, i, pe.Stack)
			}
			if !r.Started() || r.Latency <= 0 {
				t.Errorf("workers %d, agent %d: not timed", workers, i)
			}
		}
		if !errors.Is(res[3].Err, sentinel) {
			t.Errorf("errors.Is does not see through panic(err): %v", res[3].Err)
		}
	}
}

// An agent that calls runtime.Goexit (t.FailNow in a test agent) takes its
// goroutine with it; the executor replaces the lane and finishes the batch.
func TestGoexitRecovered(t *testing.T) {
	var ran atomic.Int64
	agents := make([]Agent, 6)
	for i := range agents {
		agents[i] = Func(func(context.Context) error {
			ran.Add(1)
			if i%2 == 0 {
				runtime.Goexit()
			}
			return nil
		})
	}
	res := New(Workers(1)).Run(context.Background(), agents)
	if ran.Load() != 6 {
		t.Fatalf("%d agents ran, want 6", ran.Load())
	}
	for i, r := range res {
		want := OK
		if i%2 == 0 {
			want = Panicked
		}
		if r.Outcome != want {
			t.Errorf("agent %d: %v %v, want %v", i, r.Outcome, r.Err, want)
		}
	}
	if !strings.Contains(res[0].Err.Error(), "runtime.Goexit") {
		t.Errorf("error %q does not name Goexit", res[0].Err)
	}
}

// Never more than workers agents run at once, and the pool is used.
func TestBoundedConcurrency(t *testing.T) {
	for _, workers := range []int{1, 3, 8} {
		var g gauge
		agents := make([]Agent, 100)
		for i := range agents {
			agents[i] = g.wrap(sleepAgent(2 * time.Millisecond))
		}
		before := runtime.NumGoroutine()
		var maxGoroutines atomic.Int64
		probe := Func(func(context.Context) error {
			maxGoroutines.Store(int64(runtime.NumGoroutine()))
			return nil
		})
		agents[50] = g.wrap(probe)
		res := New(Workers(workers)).Run(context.Background(), agents)
		if s := Summarize(res); s.OK != 100 {
			t.Fatalf("workers %d: %+v", workers, s)
		}
		if p := g.peak.Load(); p > int64(workers) || p < 1 {
			t.Errorf("workers %d: peak %d agents at once", workers, p)
		}
		// The pool's goroutines, plus slack for timers and the runtime.
		if extra := maxGoroutines.Load() - int64(before); extra > int64(workers)+2 {
			t.Errorf("workers %d: %d goroutines more than before the batch", workers, extra)
		}
	}
}

// The pool fills up: with agents that block until all workers are busy, the
// batch only finishes if workers agents really run at once.
func TestPoolFillsUp(t *testing.T) {
	const workers = 8
	var g gauge
	full := make(chan struct{})
	var arrived atomic.Int64
	agents := make([]Agent, workers)
	for i := range agents {
		agents[i] = g.wrap(func(ctx context.Context) error {
			if arrived.Add(1) == workers {
				close(full)
			}
			select {
			case <-full:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := New(Workers(workers)).Run(ctx, agents)
	if s := Summarize(res); s.OK != workers || g.peak.Load() != workers {
		t.Errorf("summary %+v, peak %d: want %d agents at once", s, g.peak.Load(), workers)
	}
}

// Cancelling the batch's context stops new agents; running ones see it.
func TestCancelStopsNewAgents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started atomic.Int64
	agents := make([]Agent, 20)
	for i := range agents {
		agents[i] = Func(func(ctx context.Context) error {
			if started.Add(1) == 2 {
				cancel()
			}
			<-ctx.Done()
			return ctx.Err()
		})
	}
	res := New(Workers(2)).Run(ctx, agents)
	if n := started.Load(); n != 2 {
		t.Errorf("%d agents started after the cancel, want 2", n)
	}
	for i, r := range res {
		if r.Outcome != Canceled || !errors.Is(r.Err, context.Canceled) {
			t.Errorf("agent %d: %v %v, want canceled", i, r.Outcome, r.Err)
		}
		if wantStarted := i < 2; r.Started() != wantStarted || errors.Is(r.Err, ErrNotStarted) == wantStarted {
			t.Errorf("agent %d: started %v, err %v", i, r.Started(), r.Err)
		}
	}
	// A context done before Run starts nothing.
	res = New().Run(ctx, agents[:3])
	for i, r := range res {
		if r.Outcome != Canceled || r.Started() || !errors.Is(r.Err, ErrNotStarted) {
			t.Errorf("pre-cancelled agent %d: %v %v", i, r.Outcome, r.Err)
		}
	}
}

// An agent past its own timeout times out alone; a batch past its context's
// deadline times out its running agents and does not start the rest.
func TestTimeouts(t *testing.T) {
	agents := []Agent{sleepAgent(0), sleepAgent(time.Minute), sleepAgent(time.Millisecond)}
	res := New(Workers(3), AgentTimeout(50*time.Millisecond)).Run(context.Background(), agents)
	if res[0].Outcome != OK || res[2].Outcome != OK {
		t.Errorf("fast agents: %v, %v", res[0].Outcome, res[2].Outcome)
	}
	if r := res[1]; r.Outcome != TimedOut || !errors.Is(r.Err, context.DeadlineExceeded) || r.Latency < 50*time.Millisecond || r.Latency > 30*time.Second {
		t.Errorf("slow agent: %v %v after %s, want timed out after 50ms", r.Outcome, r.Err, r.Latency)
	}

	// The batch's deadline passes once both workers have started an agent
	// (a 50ms timer could pass before a loaded machine started either).
	ctx := newDeadlineAfter(2)
	started := func(ctx context.Context) error {
		ctx.Value(startedKey{}).(*deadlineAfter).started()
		return sleepAgent(time.Minute)(ctx)
	}
	agents = []Agent{Func(started), Func(started), Func(started)}
	res = New(Workers(2)).Run(ctx, agents)
	for i, want := range []Outcome{TimedOut, TimedOut, Canceled} {
		if res[i].Outcome != want || !errors.Is(res[i].Err, context.DeadlineExceeded) {
			t.Errorf("agent %d under a batch deadline: %v %v, want %v", i, res[i].Outcome, res[i].Err, want)
		}
	}
	if !errors.Is(res[2].Err, ErrNotStarted) {
		t.Errorf("agent 2: %v, want not started", res[2].Err)
	}
}

// An io batch of 32 agents sleeping 20ms on 8 workers runs them in
// parallel: Σ agent latency / makespan ≥ workers/3. (Close to 8 on a quiet
// machine; a loaded one stretches the gaps between agents. A serial or
// 2-lane executor stays under the bound.)
func TestSpeedupIO(t *testing.T) {
	const workers = 8
	agents := make([]Agent, 32)
	for i := range agents {
		agents[i] = sleepAgent(20 * time.Millisecond)
	}
	t0 := time.Now()
	res := New(Workers(workers)).Run(context.Background(), agents)
	makespan := time.Since(t0)
	s := Summarize(res)
	speedup := float64(s.Work) / float64(makespan)
	if s.OK != 32 || speedup < workers/3.0 {
		t.Errorf("speedup %.2f (work %s, makespan %s, %+v), want ≥ %.1f", speedup, s.Work, makespan, s, workers/3.0)
	}
}

func TestEmptyAndShortResults(t *testing.T) {
	e := New()
	if res := e.Run(context.Background(), nil); len(res) != 0 {
		t.Errorf("empty batch: %d results", len(res))
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "2 results for 3 agents") {
			t.Errorf("RunInto with short results: panic %v", p)
		}
	}()
	e.RunInto(context.Background(), make([]Agent, 3), make([]Result, 2))
}

// RunInto rewrites every field of a reused result.
func TestRunIntoResetsResults(t *testing.T) {
	e := New(Workers(2))
	results := make([]Result, 2)
	e.RunInto(context.Background(), []Agent{
		Func(func(context.Context) error { return errors.New("x") }),
		Func(func(context.Context) error { panic("y") }),
	}, results)
	results[0].ExitCode, results[0].Stderr = 7, append(results[0].Stderr, "stale"...)
	e.RunInto(context.Background(), []Agent{sleepAgent(0), sleepAgent(0)}, results)
	for i, r := range results {
		if r.Outcome != OK || r.Err != nil || r.ExitCode != 0 || len(r.Stderr) != 0 || !r.Started() {
			t.Errorf("reused result %d: %+v", i, r)
		}
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{OK: "ok", Failed: "failed", Panicked: "panicked", TimedOut: "timed_out", Canceled: "canceled", 9: "Outcome(9)"} {
		if o.String() != want {
			t.Errorf("%d.String() = %q, want %q", o, o.String(), want)
		}
	}
}
