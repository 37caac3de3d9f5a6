// Package agents is a parallel agent executor and the perfkit workload that
// drives it.
//
// An Executor runs a batch of agents on a bounded pool of goroutines and
// returns one Result per agent, in input order. It fixes what naive
// "go func per task" executors get wrong: the number of agents running at
// once never exceeds the pool size; results do not arrive in completion
// order; an agent that fails, panics or calls runtime.Goexit yields an error
// in its own Result and never fails the batch or its siblings; every agent
// can have a timeout; and cancelling the batch's context stops new agents
// from starting and marks them canceled.
//
// Agents run in one of two modes. Goroutine mode runs an in-process function
// (Func, or any Agent). Process mode runs an OS process (a *Command) in its
// own process group: on a timeout the whole group is killed, so grandchildren
// die with the agent, and its exit status and the tail of its standard error
// are captured. A batch may mix both.
//
// The workload (Definition) measures the executor: one op is one batch; the
// batch label holds batch makespans, the agent phase each agent's latency,
// and the derived figures the speedup over running the batch serially and
// the parallel efficiency.
package agents

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxDefaultWorkers caps DefaultWorkers: past it, a big machine would only
// start more processes and goroutines than a batch of agents can use.
const MaxDefaultWorkers = 32

// DefaultWorkers is the pool size of an executor given none:
// min(32, NumCPU+4), Python's ThreadPoolExecutor rule. It keeps every CPU busy
// with CPU-bound agents and leaves a few workers to overlap agents that block
// on I/O or a child process, without a fork storm on a large machine.
func DefaultWorkers() int { return min(MaxDefaultWorkers, runtime.NumCPU()+4) }

// Agent is one unit of work in a batch. Run must return when ctx is done:
// the executor cannot preempt a goroutine, so an agent that ignores its
// context holds its worker until it returns (a *Command is killed instead).
type Agent interface {
	Run(ctx context.Context) error
}

// Func adapts an in-process function to an Agent (goroutine mode).
type Func func(ctx context.Context) error

// Run calls f.
func (f Func) Run(ctx context.Context) error { return f(ctx) }

// process is implemented by process-mode agents, so the executor can capture
// their exit status and stderr tail into the Result, on success too.
type process interface {
	runProcess(ctx context.Context, res *Result) error
}

// Outcome is how an agent ended. It is the executor's classification, so
// callers can count outcomes without inspecting error chains.
type Outcome uint8

// Outcomes. Canceled covers agents stopped by the batch's context being
// cancelled and agents that never started because it was done.
const (
	OK Outcome = iota
	Failed
	Panicked
	TimedOut
	Canceled

	numOutcomes = int(Canceled) + 1
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Failed:
		return "failed"
	case Panicked:
		return "panicked"
	case TimedOut:
		return "timed_out"
	case Canceled:
		return "canceled"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Result is what one agent did. The executor writes every field, so a
// results slice can be reused batch after batch (see RunInto).
type Result struct {
	Outcome Outcome
	// Err is the agent's error: nil when OK, a *PanicError when it panicked,
	// one matching ErrNotStarted when it never started.
	Err error
	// Start is when the agent started; zero if it never did.
	Start time.Time
	// Latency is the agent's own time, start to end.
	Latency time.Duration
	// ExitCode is a process agent's exit status: -1 when it was killed by a
	// signal (its timeout) or never ran. Goroutine agents leave it 0.
	ExitCode int
	// Stderr is the last StderrTailBytes of a process agent's standard error.
	// Its buffer is reused by the next batch written into the same Result.
	Stderr []byte
}

// Started reports whether the agent ran at all.
func (r *Result) Started() bool { return !r.Start.IsZero() }

// ErrNotStarted matches the error of an agent that never started because the
// batch's context was done first. The error also wraps the context's error.
var ErrNotStarted = errors.New("agent not started")

// notStartedError is ErrNotStarted with its cause: the batch's deadline, or
// its cancellation. One byte, so returning it allocates nothing.
type notStartedError struct{ deadline bool }

func (e notStartedError) Error() string        { return "agent not started: " + e.Unwrap().Error() }
func (e notStartedError) Is(target error) bool { return target == ErrNotStarted }

func (e notStartedError) Unwrap() error {
	if e.deadline {
		return context.DeadlineExceeded
	}
	return context.Canceled
}

// PanicError is the error of an agent that panicked (or called
// runtime.Goexit). Error is one line; Stack holds the agent's frames, from the
// panic up to the executor, for the log that needs them.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string {
	return "agent panicked: " + strings.ReplaceAll(fmt.Sprint(e.Value), "\n", `\n`)
}

// Unwrap returns the panic value when it is an error, so errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// goexitValue is the PanicError value of an agent that called runtime.Goexit
// (t.FailNow in a test agent, say).
const goexitValue = "runtime.Goexit called"

// Executor runs batches of agents on a bounded pool. It is safe for
// concurrent use: each Run gets its own pool of at most Workers goroutines,
// so n callers running batches at once run up to n×Workers agents. The zero
// Executor has DefaultWorkers() workers and no agent timeout; an Executor
// must not be copied after first use.
type Executor struct {
	workers int
	timeout time.Duration
	batches sync.Pool // *batch: a batch's bookkeeping, reused
}

// Option configures an Executor.
type Option func(*Executor)

// Workers sets the pool size: at most n agents of one batch run at once.
// n < 1 selects DefaultWorkers().
func Workers(n int) Option {
	return func(e *Executor) {
		if n < 1 {
			n = DefaultWorkers()
		}
		e.workers = n
	}
}

// AgentTimeout bounds each agent's run; 0 (the default) leaves only the
// batch's context. A goroutine agent sees its context expire; a process agent
// is killed with its process group.
func AgentTimeout(d time.Duration) Option {
	return func(e *Executor) { e.timeout = max(d, 0) }
}

// New returns an executor with DefaultWorkers() workers and no agent timeout,
// changed by opts.
func New(opts ...Option) *Executor {
	e := &Executor{workers: DefaultWorkers()}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Workers is the pool size: the most agents of one batch that run at once.
func (e *Executor) Workers() int {
	if e.workers < 1 {
		return DefaultWorkers()
	}
	return e.workers
}

// AgentTimeout is the per-agent timeout (0: none).
func (e *Executor) AgentTimeout() time.Duration { return e.timeout }

// Run runs agents and returns their results in input order. It returns when
// every started agent has returned; no goroutine it started outlives it.
func (e *Executor) Run(ctx context.Context, agents []Agent) []Result {
	results := make([]Result, len(agents))
	e.RunInto(ctx, agents, results)
	return results
}

// RunInto is Run writing into results (which must be at least as long as
// agents), so that a caller running batch after batch allocates nothing per
// agent. results[i] is agents[i]'s result.
func (e *Executor) RunInto(ctx context.Context, agents []Agent, results []Result) {
	if len(results) < len(agents) {
		panic(fmt.Sprintf("agents: RunInto: %d results for %d agents", len(results), len(agents)))
	}
	n := len(agents)
	if n == 0 {
		return
	}
	// A batch context of our own: agents stop watching it when the batch
	// ends, and its Err and Done are lock-free whatever the caller's context
	// is, so agents polling it don't contend on the caller's.
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()

	b, _ := e.batches.Get().(*batch)
	if b == nil {
		b = &batch{e: e}
		b.lane = b.work
	}
	b.ctx, b.agents, b.results = bctx, agents, results[:n]
	b.next.Store(0)
	lanes := min(e.Workers(), n)
	b.wg.Add(lanes)
	for range lanes {
		go b.lane()
	}
	b.wg.Wait()
	b.ctx, b.agents, b.results = nil, nil, nil
	e.batches.Put(b)
}

// batch is one RunInto: lanes take the next agent index until none is left,
// so results land by index (input order) and at most Workers run at once.
type batch struct {
	e       *Executor
	ctx     context.Context
	agents  []Agent
	results []Result
	next    atomic.Int64
	wg      sync.WaitGroup
	lane    func() // b.work, bound once so starting a lane allocates nothing
}

// work is one lane of the pool.
func (b *batch) work() {
	defer b.wg.Done()
	for {
		i := int(b.next.Add(1) - 1)
		if i >= len(b.agents) {
			return
		}
		b.runOne(i)
	}
}

// runOne runs agent i and fills its result. Its deferred part does the
// bookkeeping, so that it also runs when the agent panics or calls
// runtime.Goexit; after a Goexit the lane's goroutine is gone, and a new lane
// takes its place so the batch still finishes.
func (b *batch) runOne(i int) {
	a, res := b.agents[i], &b.results[i]
	_, isProc := a.(process)
	*res = Result{Stderr: res.Stderr[:0]}
	if isProc {
		res.ExitCode = -1
	}
	if err := b.ctx.Err(); err != nil {
		res.Outcome, res.Err = Canceled, notStartedError{deadline: errors.Is(err, context.DeadlineExceeded)}
		return
	}

	actx, cancel := b.ctx, context.CancelFunc(nil)
	if b.e.timeout > 0 {
		actx, cancel = context.WithTimeout(b.ctx, b.e.timeout)
	}
	var err error
	returned := false
	defer func() {
		outcome := OK
		goexit := false
		if !returned {
			v := recover()
			if v == nil { // panic(nil) recovers a *runtime.PanicNilError
				v, goexit = goexitValue, true
			}
			err, outcome = &PanicError{Value: v, Stack: agentStack()}, Panicked
		}
		res.Latency = time.Since(res.Start)
		if outcome != Panicked && err != nil {
			outcome = b.classify(actx)
		}
		res.Outcome, res.Err = outcome, err
		if cancel != nil {
			cancel()
		}
		if goexit {
			b.wg.Add(1)
			go b.lane()
		}
	}()
	res.Start = time.Now()
	if p, ok := a.(process); ok {
		err = p.runProcess(actx, res)
	} else {
		err = a.Run(actx)
	}
	returned = true
}

// classify names the outcome of an agent that returned an error: the batch's
// context or the agent's own timeout ending it, or a failure of its own.
func (b *batch) classify(actx context.Context) Outcome {
	switch err := b.ctx.Err(); {
	case errors.Is(err, context.Canceled):
		return Canceled
	case err != nil:
		return TimedOut
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		return TimedOut
	}
	return Failed
}

// maxStackFrames bounds PanicError.Stack: enough to find the bug, short
// enough to log per agent.
const maxStackFrames = 16

// agentStack formats the panicking agent's frames, innermost first, leaving
// out the runtime's panic machinery and stopping at the executor.
func agentStack() string {
	var pcs [64]uintptr
	n := runtime.Callers(3, pcs[:]) // skip Callers, agentStack, the deferred func
	frames := runtime.CallersFrames(pcs[:n])
	var sb strings.Builder
	kept := 0
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, ".(*batch).runOne") {
			break
		}
		if !strings.HasPrefix(f.Function, "runtime.") {
			if kept == maxStackFrames {
				sb.WriteString("...\n")
				break
			}
			fmt.Fprintf(&sb, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
			kept++
		}
		if !more {
			break
		}
	}
	return sb.String()
}

// Summary counts a batch's outcomes.
type Summary struct {
	OK, Failed, Panicked, TimedOut, Canceled int
	// Work is the sum of the started agents' latencies: the batch's run time
	// if its agents had run one after another. Work divided by the batch's
	// makespan is its speedup.
	Work time.Duration
}

// Summarize counts results by outcome.
func Summarize(results []Result) Summary {
	var s Summary
	for i := range results {
		r := &results[i]
		switch r.Outcome {
		case OK:
			s.OK++
		case Failed:
			s.Failed++
		case Panicked:
			s.Panicked++
		case TimedOut:
			s.TimedOut++
		case Canceled:
			s.Canceled++
		}
		if r.Started() {
			s.Work += r.Latency
		}
	}
	return s
}
