package agents

import (
	"context"
	"strconv"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

// BenchmarkExecutor is the executor's own cost: one batch of 32 agents that
// do nothing, per op, at several pool sizes (ns/op is the batch's makespan;
// divide by 32 for the cost per agent).
func BenchmarkExecutor(b *testing.B) {
	const n = 32
	agents := make([]Agent, n)
	for i := range agents {
		agents[i] = Func(func(context.Context) error { return nil })
	}
	results := make([]Result, n)
	for _, workers := range []int{1, 8, DefaultWorkers(), 32} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			e := New(Workers(workers))
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				e.RunInto(ctx, agents, results)
			}
			if s := Summarize(results); s.OK != n {
				b.Fatalf("%+v", s)
			}
		})
	}
}

// BenchmarkExecutorTimeout is BenchmarkExecutor with an agent timeout, which
// costs each agent a context and a timer.
func BenchmarkExecutorTimeout(b *testing.B) {
	const n = 32
	agents := make([]Agent, n)
	for i := range agents {
		agents[i] = Func(func(context.Context) error { return nil })
	}
	results := make([]Result, n)
	e := New(Workers(8), AgentTimeout(10e9))
	b.ReportAllocs()
	for b.Loop() {
		e.RunInto(context.Background(), agents, results)
	}
}

// BenchmarkProcess runs batches of 8 `true` processes: the cost of process
// mode per agent is a fork, an exec and a wait.
func BenchmarkProcess(b *testing.B) {
	c, err := ParseCommand("true")
	if err != nil {
		b.Skip(err)
	}
	agents := make([]Agent, 8)
	for i := range agents {
		agents[i] = c
	}
	results := make([]Result, len(agents))
	e := New(Workers(8))
	b.ReportAllocs()
	for b.Loop() {
		e.RunInto(context.Background(), agents, results)
	}
	if s := Summarize(results); s.OK != len(agents) {
		b.Fatalf("%+v", s)
	}
}

// BenchmarkOp is the workload's op, a batch of 32 cpu agents with no work:
// the per-batch cost perfkit adds around the executor.
func BenchmarkOp(b *testing.B) {
	wl := build(b, map[string]any{"kind": "cpu", "work": 0, "batch": 32, "workers": 8})
	s := setup(b, wl, 1)
	w := bench.NewTestWorker(0, s)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wl.Op(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpIO is BenchmarkOp with io agents sleeping 1µs: what a batch of
// sleeps costs around the sleeping, timers included (allocs/op must stay
// those of the batch's context, however many agents sleep).
func BenchmarkOpIO(b *testing.B) {
	wl := build(b, map[string]any{"kind": "io", "latency": "fixed:1us", "batch": 32, "workers": 8})
	s := setup(b, wl, 1)
	w := bench.NewTestWorker(0, s)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wl.Op(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpCPU is BenchmarkOp with one SHA-256 round per agent: the hash
// buffer included (on each lane's stack, so allocs/op stay the batch's own).
func BenchmarkOpCPU(b *testing.B) {
	wl := build(b, map[string]any{"kind": "cpu", "work": 1, "batch": 32, "workers": 8})
	s := setup(b, wl, 1)
	w := bench.NewTestWorker(0, s)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wl.Op(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
}
