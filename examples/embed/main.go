// Command embed measures code with perfkit's engine from a program of its
// own, without the command line: it builds scenarios, runs them with
// bench/session (the orchestration `perfkit run` uses: the result's ID,
// environment, validity checks and atomic save), reads p99 and throughput
// from the result, and can save it as a result file that `perfkit compare`
// and `perfkit report` read.
//
//	go run ./examples/embed -d 2s -count 3 -o /tmp/maps.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/session"
)

// lockedMap and syncMap are the two implementations compared: a map behind
// a RWMutex and a sync.Map, under the same read-mostly load.
type store interface {
	Load(k int) (int, bool)
	Store(k, v int)
}

type lockedMap struct {
	mu sync.RWMutex
	m  map[int]int
}

func (l *lockedMap) Load(k int) (int, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	v, ok := l.m[k]
	return v, ok
}

func (l *lockedMap) Store(k, v int) {
	l.mu.Lock()
	l.m[k] = v
	l.mu.Unlock()
}

type syncMap struct{ m sync.Map }

func (s *syncMap) Load(k int) (int, bool) {
	v, ok := s.m.Load(k)
	i, _ := v.(int)
	return i, ok
}

func (s *syncMap) Store(k, v int) { s.m.Store(k, v) }

// mapWorkload reads 1024 keys round-robin and writes one op in 64.
type mapWorkload struct{ s store }

type cursor struct{ n int }

func (m *mapWorkload) Setup(_ context.Context, s *bench.Setup) error {
	s.Embedded = true // the maps run in this process: their CPU is not the generator's
	for k := range 1024 {
		m.s.Store(k, k)
	}
	return nil
}

func (m *mapWorkload) Op(_ context.Context, w *bench.Worker) (bench.Label, error) {
	c, _ := w.State.(*cursor)
	if c == nil {
		c = &cursor{n: w.ID * 7919}
		w.State = c
	}
	c.n++
	if c.n%64 == 0 {
		m.s.Store(c.n%1024, c.n)
	} else if _, ok := m.s.Load(c.n % 1024); !ok {
		return 0, bench.Errorf("missing", nil)
	}
	return 0, nil // the zero Label: the workload declared none
}

func (m *mapWorkload) Teardown(context.Context) error { return nil }

func main() {
	dur := flag.Duration("d", time.Second, "measured time per run")
	count := flag.Int("count", 3, "runs per scenario")
	conc := flag.Int("c", 4, "workers")
	out := flag.String("o", "", "also save the result to this file (for perfkit compare)")
	flag.Parse()
	if err := run(*dur, *count, *conc, *out); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(dur time.Duration, count, conc int, out string) error {
	ctx := context.Background()
	set := bench.DefaultSettings()
	set.Duration, set.Warmup, set.Count, set.Concurrency = dur, dur/10, count, conc

	stores := []struct {
		name string
		new  func() store
	}{
		{"rwmutex-map", func() store { return &lockedMap{m: map[int]int{}} }},
		{"sync-map", func() store { return &syncMap{} }},
	}
	var scenarios []bench.Scenario
	for _, st := range stores {
		scenarios = append(scenarios, bench.Scenario{Name: st.name, Workload: "maps", Settings: set,
			New: func() (bench.Workload, error) { return &mapWorkload{s: st.new()}, nil }})
	}
	s, err := session.New(session.Plan{Scenarios: scenarios, Out: out, NoSave: out == ""})
	if err != nil {
		return err
	}
	o, err := s.Run(ctx)
	if err != nil {
		return err
	}
	for _, sr := range o.Result.Scenarios {
		report(sr)
	}
	// A scenario whose setup failed is not in the result; invalid runs are
	// (report shows how many), so only the setup error stops the program.
	var se *bench.SetupError
	if errors.As(o.Failed, &se) {
		return se
	}
	return o.SaveErr
}

// report prints a scenario's p99 over all its runs (their histograms
// merged) and its mean throughput.
func report(sr bench.ScenarioResult) {
	var tput float64
	valid := 0
	for _, r := range sr.Runs {
		tput += r.Throughput / float64(len(sr.Runs))
		if r.Valid {
			valid++
		}
	}
	h, err := bench.MergeHistograms(bench.RunLatencies(sr.Runs, bench.DefaultLabel))
	if h == nil || err != nil {
		fmt.Printf("%-12s no latency recorded: %v\n", sr.Name, err)
		return
	}
	p99 := time.Duration(h.ValueAtQuantile(99))
	fmt.Printf("%-12s p99 %-8v throughput %.0f ops/s  (%d of %d runs valid)\n", sr.Name, p99, tput, valid, len(sr.Runs))
}
