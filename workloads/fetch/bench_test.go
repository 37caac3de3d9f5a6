package fetch

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
)

// The target of the benchmarks: $PERFKIT_BENCH_URL (e.g. a local nginx
// serving a 200-byte JSON document) or, when unset, an allocation-free raw
// HTTP server in this process, so that allocs/op are the client's own.
func benchParams(b *testing.B) map[string]any {
	if u := os.Getenv("PERFKIT_BENCH_URL"); u != "" {
		return map[string]any{"url": u}
	}
	return map[string]any{"url": newRawServer(b) + "/"}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOp is one worker's op after op: the per-op cost and allocations
// of the HTTP/1.1 path (ns/op includes the round trip and the server).
func BenchmarkOp(b *testing.B) {
	benchOps(b, build(b, benchParams(b)))
}

// benchOps runs f's op on one worker b.N times, after one op that opens
// the connection, and returns the process's CPU time per op.
func benchOps(b *testing.B, f *fetch) (cpuNsPerOp float64) {
	s := start(b, f, 1, 10*time.Second)
	w := bench.NewTestWorker(0, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if _, err := f.Op(ctx, w); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := f.Op(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
	return float64(cpuTime()-cpu0) / float64(b.N)
}

// BenchmarkOpParallel drives 64 workers at once, as -c 64 would, and reports
// requests per CPU-second of this process (the load tool's efficiency, when
// the target is external).
func BenchmarkOpParallel(b *testing.B) {
	benchParallel(b, benchParams(b))
}

// BenchmarkEmbedded is BenchmarkOpParallel against the embedded server: how
// fast the default suite's target is (client and server share this process,
// so req/cpu-s counts both).
func BenchmarkEmbedded(b *testing.B) {
	b.Run("http1", func(b *testing.B) { benchParallel(b, map[string]any{}) })
	b.Run("h2c", func(b *testing.B) { benchParallel(b, map[string]any{"http2": true}) })
}

func benchParallel(b *testing.B, params map[string]any) {
	const workers = 64
	f := build(b, params)
	s := start(b, f, workers, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	var ids atomic.Int64
	var errs atomic.Int64
	b.SetParallelism((workers + 1) / 2) // × GOMAXPROCS=2
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	b.RunParallel(func(pb *testing.PB) {
		w := bench.NewTestWorker(int(ids.Add(1)-1), s)
		for pb.Next() {
			if _, err := f.Op(ctx, w); err != nil {
				errs.Add(1)
			}
		}
	})
	cpu, wall := cpuTime()-cpu0, time.Since(t0)
	b.StopTimer()
	if n := errs.Load(); n > 0 {
		b.Fatalf("%d ops failed", n)
	}
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "req/cpu-s")
	b.ReportMetric(float64(b.N)/wall.Seconds(), "req/s")
}

// BenchmarkOpChecks is BenchmarkOp with response checks and tags, beside
// none: the per-op cost of each (the raw server answers {"ok":true}).
// Checks read the body already in memory; none allocates.
func BenchmarkOpChecks(b *testing.B) {
	url := newRawServer(b) + "/"
	for _, c := range []struct {
		name  string
		extra map[string]any
	}{
		{"none", nil},
		{"status", map[string]any{"check-status": "200"}},
		{"contains", map[string]any{"check-body-contains": []string{`"ok"`}}},
		{"json", map[string]any{"check-json": []string{"ok == true"}}},
		{"all", map[string]any{"check-status": "2xx", "check-max-body-bytes": int64(1024),
			"check-body-contains": []string{`"ok"`}, "check-body-not-contains": []string{"error"}, "check-json": []string{"ok == true"}}},
		{"tagged", map[string]any{"url": []string{"a:3=" + url + "a", "b=" + url + "b"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := map[string]any{"url": []string{url}}
			for k, v := range c.extra {
				p[k] = v
			}
			benchOps(b, build(b, p))
		})
	}
}

// BenchmarkJudge is the checks alone on a response already read: what
// they add to an op, without the round trip's noise.
func BenchmarkJudge(b *testing.B) {
	body := []byte(`{"ok":true,"user":{"id":42,"name":"alice"},"items":[1,2,3],"padding":"` + strings.Repeat("x", 120) + `"}`)
	for _, c := range []struct {
		name  string
		extra map[string]any
	}{
		{"none", nil},
		{"status", map[string]any{"check-status": "200"}},
		{"contains", map[string]any{"check-body-contains": []string{`"name":"alice"`}}},
		{"json", map[string]any{"check-json": []string{"user.name == alice"}}},
		{"all", map[string]any{"check-status": "2xx", "check-max-body-bytes": int64(1024),
			"check-body-contains": []string{`"ok"`}, "check-body-not-contains": []string{"error"}, "check-json": []string{"user.name == alice", "items.# == 3"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := map[string]any{"url": []string{"http://127.0.0.1:1/"}}
			for k, v := range c.extra {
				p[k] = v
			}
			f := build(b, p)
			s := start(b, f, 1, time.Second)
			w := bench.NewTestWorker(0, s)
			t := &f.targets[0]
			b.ReportAllocs()
			for b.Loop() {
				if err := f.done(w, t, 200, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPhases is BenchmarkOp without and with phases=true: the cost of
// timing each request's phases (docs/http-client.md quotes it).
func BenchmarkPhases(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			p := benchParams(b)
			p["phases"] = on
			b.ReportMetric(benchOps(b, build(b, p)), "cpu-ns/op")
		})
	}
}

// BenchmarkPhaseClock is what phases=true adds to an op on a reused
// connection, alone: three clock reads and two recorded phases.
// BenchmarkPhases measures it inside a round trip, where it drowns in the
// noise of the network stack.
func BenchmarkPhaseClock(b *testing.B) {
	f := build(b, map[string]any{"phases": true})
	s := start(b, f, 1, 10*time.Second)
	w := bench.NewTestWorker(0, s)
	pc := newPhaseClock(f.phases, w)
	tc := &trackedConn{}
	tc.times.claimed.Store(true) // a reused connection
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		pc.connected(tc)
		pc.firstByte()
		pc.bodyRead()
		pc.record()
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}
