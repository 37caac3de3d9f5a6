package bench_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// store is the code under test in these examples: a lookup that misses one
// key in four and fails one in a hundred.
type store struct{}

func (store) get(key int) (hit bool, err error) {
	if key%100 == 99 {
		return false, io.ErrUnexpectedEOF
	}
	return key%4 != 0, nil
}

// storeWorkload drives store: it declares two labels and a counter in Setup,
// keeps a per-worker cursor in Worker.State, and counts failures by kind.
type storeWorkload struct {
	s         store
	bytes     int64
	hit, miss bench.Label
	bytesRead bench.Counter
}

func (w *storeWorkload) Setup(_ context.Context, s *bench.Setup) error {
	s.Embedded = true // the store is code in this process
	w.hit, w.miss = s.Label("hit"), s.Label("miss")
	w.bytesRead = s.Counter("bytes_read")
	return nil
}

// errShortRead is preallocated: a failing op then allocates nothing.
var errShortRead = &bench.KindError{Kind: "short_read"}

func (w *storeWorkload) Op(_ context.Context, wk *bench.Worker) (bench.Label, error) {
	next, _ := wk.State.(*int)
	if next == nil {
		next = new(int)
		wk.State = next
	}
	*next++
	hit, err := w.s.get(*next)
	if err != nil {
		return w.miss, errShortRead
	}
	if !hit {
		return w.miss, nil
	}
	wk.Count(w.bytesRead, w.bytes)
	return w.hit, nil
}

func (w *storeWorkload) Teardown(context.Context) error { return nil }

// storeDefinition declares the workload once: its params become flags of
// perfkit run, keys of perfkit.yaml and entries of the result.
func storeDefinition() bench.Definition {
	return bench.Definition{
		Name: "store",
		Help: "gets from a store",
		Params: []bench.Param{
			{Name: "value-bytes", Kind: bench.Int, Default: "512", Help: "bytes per value", Check: bench.CheckIntRange("value-bytes", 1, 1<<20)},
			{Name: "ttl", Kind: bench.Duration, Default: "1m", Help: "entry lifetime"},
		},
		New: func(v bench.Values) (bench.Workload, error) {
			return &storeWorkload{bytes: v.Int("value-bytes")}, nil
		},
	}
}

// A Definition turns raw values (from flags, the environment or a config
// file) into typed Values, defaults filled in and checks applied.
func ExampleDefinition_Resolve() {
	def := storeDefinition()
	v, err := def.Resolve(map[string]any{"value-bytes": "4096"})
	fmt.Println(v.Int("value-bytes"), v.Duration("ttl"), err)

	_, err = def.Resolve(map[string]any{"value-bytes": 0})
	fmt.Println(err)
	_, err = def.Resolve(map[string]any{"size": 10})
	fmt.Println(err)
	// Output:
	// 4096 1m0s <nil>
	// param value-bytes of workload store: value-bytes 0: want 1..1048576
	// unknown param "size" for workload store (accepted: value-bytes, ttl)
}

// Run measures a scenario: here 400 ops on one worker, so the counts are
// exact. The latencies are in each run's Latency, by label ("op" holds
// every op), with percentiles and the HDR histogram itself.
func ExampleRun() {
	def := storeDefinition()
	vals, err := def.Resolve(nil)
	if err != nil {
		panic(err)
	}
	set := bench.DefaultSettings()
	set.Concurrency, set.Duration, set.Iterations, set.Warmup = 1, 0, 400, 0
	sc := bench.Scenario{
		Name: "store", Workload: def.Name, Params: vals, Settings: set,
		New: func() (bench.Workload, error) { return def.New(vals) },
	}
	sr, err := bench.Run(context.Background(), sc)
	if err != nil {
		panic(err)
	}
	run := sr.Runs[0]
	fmt.Println("labels:", sr.Labels)
	fmt.Println("ops:", run.Ops, "hit:", run.Latency["hit"].Count, "miss:", run.Latency["miss"].Count)
	fmt.Println("errors:", run.ErrorsByKind, "bytes_read:", run.Counters["bytes_read"])
	fmt.Println("p99 recorded:", time.Duration(run.Latency["op"].P99Ns) > 0)
	// Output:
	// labels: [hit miss]
	// ops: 400 hit: 296 miss: 104
	// errors: map[short_read:4] bytes_read: 151552
	// p99 recorded: true
}

// An op's error is counted under the kind of the KindError in its chain;
// context errors and others have kinds of their own.
func ExampleErrorKind() {
	refused := bench.Errorf("refused", errors.New("dial tcp: connection refused"))
	fmt.Println(bench.ErrorKind(refused))
	fmt.Println(bench.ErrorKind(fmt.Errorf("get /x: %w", refused)))
	fmt.Println(bench.ErrorKind(context.DeadlineExceeded))
	fmt.Println(bench.ErrorKind(io.EOF))
	// Output:
	// refused
	// refused
	// timeout
	// error
}
