package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

type sleepWorkload struct{}

func (sleepWorkload) Setup(context.Context, *bench.Setup) error { return nil }
func (sleepWorkload) Teardown(context.Context) error            { return nil }
func (sleepWorkload) Op(context.Context, *bench.Worker) (bench.Label, error) {
	time.Sleep(100 * time.Microsecond)
	return bench.Label(0), nil
}

func scenario(d time.Duration, count int) bench.Scenario {
	set := bench.DefaultSettings()
	set.Concurrency = 2
	set.Duration = d
	set.Warmup = 0
	set.Count = count
	set.Interval = 50 * time.Millisecond
	return bench.Scenario{Name: "sleep", Workload: "sleep", New: func() (bench.Workload, error) { return sleepWorkload{}, nil }, Settings: set}
}

// TestStreamLive reads lines while the run is still going: the run is an
// hour long and ends only when the test, having read three lines, cancels
// it. Every line is valid JSON with the interval fields; the lines the
// whole run streamed are the intervals its result records, field for field.
func TestStreamLive(t *testing.T) {
	pr, pw := io.Pipe()
	s := New(pw, "pipe", 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var returned atomic.Bool
	var sr bench.ScenarioResult
	var runErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		sr, runErr = bench.Run(ctx, scenario(time.Hour, 1), s)
		returned.Store(true)
		s.Close()
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) == 3 {
			if returned.Load() {
				t.Fatal("the run returned before the test cancelled it")
			}
			cancel() // the lines arrived while the run was going
		}
	}
	<-done
	if runErr != nil {
		t.Fatal(runErr)
	}
	if len(lines) < 3 {
		t.Fatalf("got %d lines, want at least 3", len(lines))
	}
	var got []bench.IntervalSummary
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		for _, k := range []string{"scenario", "run", "time", "t_ms", "ops", "errors", "p50_ns", "p99_ns"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d %q: no %q", i+1, l, k)
			}
		}
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Scenario != "sleep" || r.Run != 0 {
			t.Errorf("line %d: scenario %q run %d", i+1, r.Scenario, r.Run)
		}
		if last := i == len(lines)-1; r.Final != last {
			t.Errorf("line %d: final %v, want %v", i+1, r.Final, last)
		}
		got = append(got, r.IntervalSummary)
	}
	want := sr.Runs[0].Intervals
	if len(got) != len(want) {
		t.Fatalf("streamed %d intervals, the result records %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("interval %d: streamed %+v, result %+v", i, got[i], want[i])
		}
	}
}

// TestStreamLineShape pins a line's fields and order.
func TestStreamLineShape(t *testing.T) {
	var buf bytes.Buffer
	s := New(&buf, "buf", 0)
	s.Interval(&bench.Snapshot{Scenario: "api", Run: 1, Final: true, Start: time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC),
		Point: bench.IntervalSummary{TMs: 1000, Ops: 250, Errors: 2, P50Ns: 1200, P99Ns: 9000}})
	st := s.Close()
	want := `{"scenario":"api","run":1,"time":"2026-12-05T02:00:00Z","t_ms":1000,"ops":250,"errors":2,"p50_ns":1200,"p99_ns":9000,"final":true}` + "\n"
	if buf.String() != want {
		t.Errorf("got  %s want %s", buf.String(), want)
	}
	if st.Written != 1 || st.Dropped != 0 || st.Err != nil {
		t.Errorf("stats %+v", st)
	}
}

// blockingWriter blocks every Write until released.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// TestStreamNeverBlocks: a reader that does not read never stalls
// Interval; lines past the queue are dropped and counted, and the queued
// ones are written at Close.
func TestStreamNeverBlocks(t *testing.T) {
	bw := &blockingWriter{release: make(chan struct{})}
	s := New(bw, "slow", 2)
	for i := range 10 {
		s.Interval(&bench.Snapshot{Scenario: "x", Point: bench.IntervalSummary{TMs: int64(i)}})
	}
	close(bw.release)
	st := s.Close()
	// One line may be in the writer's hands, two in the queue.
	if st.Written+st.Dropped != 10 || st.Written < 2 || st.Written > 3 {
		t.Errorf("written %d dropped %d, want 2 or 3 written and the rest dropped", st.Written, st.Dropped)
	}
	if n := strings.Count(bw.buf.String(), "\n"); int64(n) != st.Written {
		t.Errorf("%d lines in the file, %d counted written", n, st.Written)
	}
	if w := st.Warnings("slow"); len(w) != 1 || !strings.Contains(w[0], "dropped") {
		t.Errorf("warnings %q", w)
	}
	s.Interval(&bench.Snapshot{Scenario: "late"}) // after Close: counted, no panic
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("disk full")
}

// flushWriter counts flushes: a buffering writer is flushed once per line.
type flushWriter struct {
	bytes.Buffer
	flushes int
}

func (f *flushWriter) Flush() error { f.flushes++; return nil }

func TestStreamFlushAndErrors(t *testing.T) {
	fw := &flushWriter{}
	s := New(fw, "f", 0)
	for range 3 {
		s.Interval(&bench.Snapshot{Scenario: "x"})
	}
	s.Close()
	if fw.flushes != 3 || strings.Count(fw.String(), "\n") != 3 {
		t.Errorf("%d flushes for %d lines, want one per line", fw.flushes, strings.Count(fw.String(), "\n"))
	}

	bad := &failWriter{}
	s = New(bad, "out.ndjson", 0)
	for range 3 {
		s.Interval(&bench.Snapshot{Scenario: "x"})
	}
	st := s.Close()
	if st.Err == nil || !strings.Contains(st.Err.Error(), "stream out.ndjson: disk full") {
		t.Errorf("err %v", st.Err)
	}
	if bad.n != 1 {
		t.Errorf("%d writes after an error, want 1 (no more after the first failure)", bad.n)
	}
}
