package agents

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// Name is the workload's name on the command line and in results.
const Name = "agents"

// Workload defaults.
const (
	DefaultBatch   = 32
	DefaultKind    = kindMixed
	DefaultWork    = 200 // ~0.1 ms per cpu agent with SHA extensions, ~1 ms without
	DefaultLatency = "uniform:1ms..10ms"
)

// Bounds that keep a mistyped value from allocating the machine away.
const (
	maxWorkers = 1 << 16
	maxBatch   = 1 << 20
)

// Agent kinds (the kind param).
const (
	kindCPU   = "cpu"
	kindIO    = "io"
	kindMixed = "mixed"
	kindExec  = "exec"
	kindList  = "cpu, io, mixed, exec"
)

// shaBufBytes is the buffer a cpu agent hashes each round.
const shaBufBytes = 1024

// Names of what the workload records.
const (
	labelBatch         = "batch"
	phaseAgent         = "agent"
	counterOK          = "agents_ok"
	counterFailed      = "agents_failed"
	counterPanicked    = "agents_panicked"
	counterTimedOut    = "agents_timed_out"
	counterCanceled    = "agents_canceled"
	derivedSpeedup     = "speedup"
	derivedParallelEff = "parallel_efficiency"
)

// Definition declares the agents workload.
//
// One op runs one batch of `batch` agents through an executor of `workers`
// goroutines. The engine's workers (-c) each run their own batches, so up to
// concurrency × min(workers, batch) agents run at once: -c 1 measures one
// executor alone, -c 8 eight executors sharing the machine.
//
// A batch with failed, panicked or timed-out agents is not a failed op: the
// executor's contract is that agent failures are isolated and reported as
// data, so they are counted (agents_failed, agents_panicked,
// agents_timed_out) and the op succeeds. An op fails only when the op itself
// ran out of time (--timeout) or was cancelled before its agents finished.
func Definition() bench.Definition {
	return bench.Definition{
		Name: Name,
		Help: "batches of parallel agents (cpu, io, mixed or exec processes) on a bounded executor pool",
		Params: []bench.Param{
			{Name: "workers", Kind: bench.Int, Default: strconv.Itoa(DefaultWorkers()), Help: "executor pool size: agents of one batch running at once (default min(32, NumCPU+4)); each engine worker (-c) runs its own batch", Check: checkInt("workers", 1, maxWorkers)},
			{Name: "batch", Kind: bench.Int, Default: strconv.Itoa(DefaultBatch), Help: "agents per batch; one op runs one batch", Check: checkInt("batch", 1, maxBatch)},
			{Name: "kind", Kind: bench.String, Default: DefaultKind, Help: "agents: cpu (SHA-256 rounds), io (sleeps drawn from latency), mixed (half cpu, half io), exec (runs cmd as a process)", Check: checkKind},
			{Name: "work", Kind: bench.Int, Default: strconv.Itoa(DefaultWork), Help: "cpu agents: SHA-256 rounds over a 1 KiB buffer", Check: checkInt("work", 0, 1<<40)},
			{Name: "latency", Kind: bench.DistKind, Default: DefaultLatency, Help: "io agents: sleep per agent (e.g. fixed:5ms, uniform:1ms..10ms, lognormal:p50=50ms,p99=800ms)"},
			{Name: "fail-rate", Kind: bench.Float, Default: "0", Help: "share of agents that fail after their work (e.g. 0.05 or 5%)", Check: checkRate("fail-rate")},
			{Name: "panic-rate", Kind: bench.Float, Default: "0", Help: "share of agents that panic after their work (recovered by the executor)", Check: checkRate("panic-rate")},
			{Name: "cmd", Kind: bench.String, Help: "kind exec: command each agent runs, split into words like a shell without expansion (e.g. sh -c 'sleep 0.01'); its program must be on PATH", Redact: redactCommand, Check: checkCmd, Exec: true},
			{Name: "agent-timeout", Kind: bench.Duration, Default: "0s", Help: "per-agent timeout; a process past it is killed with its process group (0: only the op's --timeout)", Check: checkTimeout},
		},
		Memory: memory,
		New: func(v bench.Values) (bench.Workload, error) {
			cfg, err := newConfig(v)
			if err != nil {
				return nil, err
			}
			return newWorkload(cfg), nil
		},
	}
}

// What an engine worker's agents state keeps (measured by
// BenchmarkWorkerState, bounded by TestIOWorkerStateIsSmall): per agent of its
// batch a slot, a Result and a job (an exec agent's Result also keeps up to
// StderrTailBytes of its stderr); per lane (min(workers, batch), the agents
// running at once) a goroutine while the batch runs and, for io agents, an
// idle timer. cpu agents hash a buffer on their lane's stack.
const (
	stateBytes = 512 // the state itself, its generator, the timers' channel
	agentBytes = 144
	timerBytes = 320
	// goroutineBytes is a lane's goroutine: an io lane measures ~2.2 KiB of
	// stack and ~0.5 KiB of heap; a cpu lane's stack grows to 4 KiB for the
	// hash buffer.
	goroutineBytes = 5 << 10
)

// memory estimates the agents' own memory: every engine worker keeps a
// batch of agents and runs up to min(workers, batch) of them at once.
func memory(v bench.Values, engineWorkers int) (float64, string) {
	batch, lanes := float64(v.Int("batch")), float64(min(v.Int("workers"), v.Int("batch")))
	perAgent, perLane := float64(agentBytes), float64(goroutineBytes)
	switch v.String("kind") {
	case kindExec:
		perAgent += StderrTailBytes
	case kindIO, kindMixed:
		perLane += timerBytes
	}
	per := stateBytes + batch*perAgent + lanes*perLane
	return float64(engineWorkers) * per, fmt.Sprintf("%d batches of %d agents, %d at once each", engineWorkers, v.Int("batch"), int64(lanes))
}

// config is the validated form of the parameters.
type config struct {
	workers   int
	batch     int
	kind      string
	work      int64
	latency   bench.Dist
	failRate  float64
	panicRate float64
	cmd       *Command // kind exec only
	cmdLine   string
	timeout   time.Duration
}

func newConfig(v bench.Values) (config, error) {
	cfg := config{
		kind:      v.String("kind"),
		work:      v.Int("work"),
		latency:   v.Dist("latency"),
		failRate:  v.Float("fail-rate"),
		panicRate: v.Float("panic-rate"),
		cmdLine:   v.String("cmd"),
		timeout:   v.Duration("agent-timeout"),
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"workers", checkInt("workers", 1, maxWorkers)(v.Int("workers"))},
		{"batch", checkInt("batch", 1, maxBatch)(v.Int("batch"))},
		{"kind", checkKind(cfg.kind)},
		{"work", checkInt("work", 0, 1<<40)(cfg.work)},
		{"fail-rate", checkRate("fail-rate")(cfg.failRate)},
		{"panic-rate", checkRate("panic-rate")(cfg.panicRate)},
		{"agent-timeout", checkTimeout(cfg.timeout)},
	} {
		if c.err != nil {
			return config{}, fmt.Errorf("param %s: %w", c.name, c.err)
		}
	}
	cfg.workers, cfg.batch = int(v.Int("workers")), int(v.Int("batch"))
	if cfg.failRate+cfg.panicRate > 1 {
		return config{}, fmt.Errorf("params fail-rate %g and panic-rate %g: together at most 1 (100%%)", cfg.failRate, cfg.panicRate)
	}
	if cfg.kind == kindExec {
		if cfg.cmdLine == "" {
			return config{}, errors.New("param cmd: kind exec needs a command (e.g. cmd=\"sh -c 'sleep 0.01'\")")
		}
		c, err := ParseCommand(cfg.cmdLine)
		if err != nil {
			return config{}, fmt.Errorf("param cmd: %w", err)
		}
		cfg.cmd = c
	}
	return cfg, nil
}

func checkInt(name string, lo, hi int64) func(any) error { return bench.CheckIntRange(name, lo, hi) }

func checkRate(name string) func(any) error { return bench.CheckRatio(name) }

func checkKind(v any) error {
	switch s, _ := v.(string); s {
	case kindCPU, kindIO, kindMixed, kindExec:
		return nil
	}
	return fmt.Errorf("kind %q: accepted: %s", v, kindList)
}

func checkCmd(v any) error {
	s, _ := v.(string)
	if s == "" {
		return nil
	}
	_, err := ParseCommand(s)
	return err
}

func checkTimeout(v any) error {
	if d, _ := v.(time.Duration); d < 0 {
		return fmt.Errorf("agent-timeout %s: want 0 (none) or a positive duration", d)
	}
	return nil
}

// workload drives an Executor: each engine worker keeps its own agents and
// results and runs them batch after batch.
type workload struct {
	cfg  config
	exec *Executor

	// Set by Setup.
	batch    bench.Label
	agent    bench.Phase
	counters [numOutcomes]bench.Counter // indexed by Outcome

	// Op errors, built once: a batch cut short by its op's deadline or by
	// the run stopping.
	errTimeout  *bench.KindError
	errCanceled *bench.KindError
	// Agent errors, built once, for injected faults.
	errInjected error
}

func newWorkload(cfg config) *workload {
	return &workload{
		cfg:         cfg,
		exec:        New(Workers(cfg.workers), AgentTimeout(cfg.timeout)),
		errTimeout:  &bench.KindError{Kind: bench.KindTimeout, Err: errors.New("batch did not finish within the op's timeout")},
		errCanceled: &bench.KindError{Kind: bench.KindCanceled, Err: errors.New("batch cancelled before its agents finished")},
		errInjected: errors.New("injected failure (fail-rate)"),
	}
}

var (
	_ bench.Workload = (*workload)(nil)
	_ bench.Deriver  = (*workload)(nil)
)

// Setup declares the batch label, the agent phase and the outcome counters,
// and notes how many agents may run at once.
func (wl *workload) Setup(_ context.Context, s *bench.Setup) error {
	wl.batch = s.Label(labelBatch)
	wl.agent = s.Phase(phaseAgent)
	for o, name := range [...]string{OK: counterOK, Failed: counterFailed, Panicked: counterPanicked, TimedOut: counterTimedOut, Canceled: counterCanceled} {
		wl.counters[o] = s.Counter(name)
	}
	s.Embedded = true // the executor under test is perfkit's own process
	// Exec agents do their work in child processes, whose CPU and memory
	// perfkit's own figures leave out: per op they measure the spawning,
	// not the agents.
	s.External = wl.cfg.kind == kindExec

	conc := max(s.Concurrency, 1)
	lanes := min(wl.cfg.workers, wl.cfg.batch)
	desc := wl.cfg.kind + " agents"
	if wl.cfg.kind == kindExec {
		desc = "exec agents: " + wl.cfg.cmd.String()
	}
	s.Notes = append(s.Notes, fmt.Sprintf("%s; %d engine workers × %d executor workers: up to %d agents at once", desc, conc, lanes, conc*lanes))
	if cpu := wl.cfg.kind == kindCPU || wl.cfg.kind == kindMixed; cpu && conc*lanes > runtime.GOMAXPROCS(0) {
		s.Notes = append(s.Notes, fmt.Sprintf("cpu agents: %d at once on GOMAXPROCS=%d, so speedup is bounded by the CPUs each batch gets (-c 1: one executor alone)", conc*lanes, runtime.GOMAXPROCS(0)))
	}
	if wl.cfg.kind != kindExec && wl.cfg.cmdLine != "" {
		s.Notes = append(s.Notes, "cmd ignored: kind is "+wl.cfg.kind)
	}
	return nil
}

// Teardown has nothing to release: the executor keeps no goroutines between
// batches.
func (wl *workload) Teardown(context.Context) error { return nil }

// Op runs one batch and records each started agent's latency in the agent
// phase and each agent's outcome in its counter. The engine records the op
// itself, the batch's makespan, under the batch label.
func (wl *workload) Op(ctx context.Context, w *bench.Worker) (bench.Label, error) {
	st, _ := w.State.(*workerState)
	if st == nil {
		st = wl.newWorkerState(w.ID)
		w.State = st
	}
	st.plan(&wl.cfg)
	wl.exec.RunInto(ctx, st.agents, st.results)

	var counts [numOutcomes]int64
	for i := range st.results {
		r := &st.results[i]
		counts[r.Outcome]++
		if r.Started() {
			w.Phase(wl.agent, r.Latency)
		}
	}
	for o, n := range counts {
		if n > 0 {
			w.Count(wl.counters[o], n)
		}
	}
	if cut := counts[TimedOut] + counts[Canceled]; cut > 0 {
		switch err := ctx.Err(); {
		case errors.Is(err, context.DeadlineExceeded):
			return wl.batch, wl.errTimeout
		case err != nil:
			return wl.batch, wl.errCanceled
		}
	}
	return wl.batch, nil
}

// Derive reports the speedup of the run's batches over running their agents
// one after another, Σ agent latency / Σ batch makespan, and the parallel
// efficiency, speedup / min(workers, batch), the share of the pool's
// capacity used.
//
// Σ agent latency stands for the batch's serial time, which holds while an
// agent's latency is its own work. CPU-bound agents get at most the CPUs:
// with more of them than GOMAXPROCS, the speedup is bounded by the CPUs, and
// with -c > 1 by the share of them each batch gets. A CPU-bound agent longer
// than the Go scheduler's time slice (10ms) may be preempted; its latency then
// stretches and the speedup counts agents in flight rather than work saved.
func (wl *workload) Derive(run *bench.RunResult) map[string]float64 {
	a, b := run.Latency[phaseAgent], run.Latency[labelBatch]
	if a.Count == 0 || b.Count == 0 || b.MeanNs <= 0 {
		return nil
	}
	speedup := float64(a.Count) * a.MeanNs / (float64(b.Count) * b.MeanNs)
	return map[string]float64{
		derivedSpeedup:     speedup,
		derivedParallelEff: speedup / float64(min(wl.cfg.workers, wl.cfg.batch)),
	}
}

// workerState is one engine worker's batch, reused op after op: its agents,
// their results and the generator their faults and sleeps are drawn from.
type workerState struct {
	wl      *workload
	rng     *rand.Rand
	jobs    []job
	agents  []Agent // &jobs[i], or &procJobs[i] for kind exec
	results []Result
	procs   []procJob
	// timers holds the io agents' idle timers. At most min(workers, batch)
	// agents of a batch sleep at once, so that many timers serve the whole
	// batch: a timer per agent would cost ~250 B each for agents that are
	// mostly waiting their turn. Made on first use, so a batch whose
	// sleeps are all zero makes none.
	timers chan *time.Timer
}

// fault is what an agent does after its work.
type fault uint8

const (
	noFault fault = iota
	injectFail
	injectPanic
)

// job is one in-process agent: its kind, and what this batch drew for it.
// It holds no buffer or timer of its own: a cpu agent hashes a buffer on its
// goroutine's stack, an io agent borrows one of its worker's timers, so a
// batch costs what the agents running at once need, not what it holds.
type job struct {
	st    *workerState
	sleep time.Duration
	cpu   bool
	fault fault
}

// procJob is one exec agent: the command, then the drawn fault.
type procJob struct {
	wl    *workload
	fault fault
}

// seed makes each worker's draws reproducible run after run.
const seed = 0x6167656e7473 // "agents"

func (wl *workload) newWorkerState(id int) *workerState {
	n := wl.cfg.batch
	st := &workerState{
		wl:      wl,
		rng:     rand.New(rand.NewPCG(seed, uint64(id))),
		agents:  make([]Agent, n),
		results: make([]Result, n),
	}
	if wl.cfg.kind == kindExec {
		st.procs = make([]procJob, n)
		for i := range st.procs {
			st.procs[i].wl = wl
			st.agents[i] = &st.procs[i]
		}
		return st
	}
	st.jobs = make([]job, n)
	io := false
	for i := range st.jobs {
		j := &st.jobs[i]
		j.st = st
		j.cpu = wl.cfg.kind == kindCPU || (wl.cfg.kind == kindMixed && i%2 == 0)
		io = io || !j.cpu
		st.agents[i] = j
	}
	if io {
		st.timers = make(chan *time.Timer, min(wl.cfg.workers, n))
	}
	return st
}

// plan draws this batch's sleeps and faults, on the engine worker's
// goroutine, before any agent runs: the generator is not shared with them.
func (st *workerState) plan(cfg *config) {
	draw := func() fault {
		if cfg.failRate == 0 && cfg.panicRate == 0 {
			return noFault
		}
		switch u := st.rng.Float64(); {
		case u < cfg.panicRate:
			return injectPanic
		case u < cfg.panicRate+cfg.failRate:
			return injectFail
		}
		return noFault
	}
	for i := range st.procs {
		st.procs[i].fault = draw()
	}
	for i := range st.jobs {
		j := &st.jobs[i]
		if !j.cpu {
			j.sleep = cfg.latency.Sample(st.rng)
		}
		j.fault = draw()
	}
}

// Run does the agent's work (hashing or sleeping), then its fault.
func (j *job) Run(ctx context.Context) error {
	var err error
	if j.cpu {
		if n := j.st.wl.cfg.work; n > 0 { // no hash frame to grow the stack for
			err = hash(ctx, n)
		}
	} else {
		err = j.wait(ctx)
	}
	if err != nil {
		return err
	}
	return j.st.wl.apply(j.fault)
}

// hash chains SHA-256 rounds over a 1 KiB buffer, checking ctx every 16
// rounds (lock-free: the executor hands agents its own context). The buffer
// lives on the goroutine's stack for the agent's run only: what is hashed
// does not change the work, so agents need not keep one each.
func hash(ctx context.Context, rounds int64) error {
	var buf [shaBufBytes]byte
	for i := int64(0); i < rounds; i++ {
		if i&15 == 15 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		sum := sha256.Sum256(buf[:])
		copy(buf[:], sum[:])
	}
	return nil
}

// wait sleeps for the drawn time, or until ctx is done, on a timer borrowed
// from the worker's idle ones (or a new one while fewer exist than agents
// sleep at once) and handed back after.
func (j *job) wait(ctx context.Context) error {
	if j.sleep <= 0 {
		return nil
	}
	var t *time.Timer
	select {
	case t = <-j.st.timers:
		t.Reset(j.sleep)
	default:
		t = time.NewTimer(j.sleep)
	}
	var err error
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		err = ctx.Err()
	}
	select {
	case j.st.timers <- t:
	default: // not reached (no more agents sleep at once than lanes); never block on it
	}
	return err
}

// Run runs the command outside an executor, then the fault.
func (p *procJob) Run(ctx context.Context) error {
	var r Result
	return p.runProcess(ctx, &r)
}

// runProcess runs the command, capturing its exit status and stderr tail,
// then the fault: an injected failure or panic replaces a success.
func (p *procJob) runProcess(ctx context.Context, res *Result) error {
	if err := p.wl.cfg.cmd.runProcess(ctx, res); err != nil {
		return err
	}
	return p.wl.apply(p.fault)
}

// apply performs an injected fault.
func (wl *workload) apply(f fault) error {
	switch f {
	case injectFail:
		return wl.errInjected
	case injectPanic:
		panic("injected panic (panic-rate)")
	}
	return nil
}
