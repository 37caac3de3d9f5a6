package pool

import (
	"context"
	"runtime"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

// benchPool is a pool of max-open real TCP connections to an embedded echo
// server, warmed so that the loop measures Acquire and Release alone.
func benchPool(b *testing.B, maxOpen int) *Pool[*testConn] {
	srv := newEcho(b)
	p := newTestPool(b, srv, Config[*testConn]{MaxOpen: maxOpen})
	var ls []Lease[*testConn]
	for range maxOpen {
		l, err := p.Acquire(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		ls = append(ls, l)
	}
	for _, l := range ls {
		l.Release()
	}
	return p
}

// BenchmarkAcquireRelease is the pool's own cost per borrow: one goroutine
// on max-open 8 (the uncontended path, which allocates nothing), and 64
// goroutines on max-open 8 (waits/op is the share of borrows that queued).
func BenchmarkAcquireRelease(b *testing.B) {
	ctx := context.Background()
	b.Run("uncontended", func(b *testing.B) {
		p := benchPool(b, 8)
		b.ReportAllocs()
		for b.Loop() {
			l, err := p.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			l.Release()
		}
	})
	b.Run("contended-64", func(b *testing.B) {
		p := benchPool(b, 8)
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((64 + procs - 1) / procs)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l, err := p.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				l.Release()
			}
		})
		b.StopTimer()
		st := p.Stats()
		b.ReportMetric(float64(st.Waits)/float64(b.N), "waits/op")
		if st.Open > 8 {
			b.Errorf("%d open on max-open 8", st.Open)
		}
	})
}

// BenchmarkOp is one worker's whole op on the embedded echo server with no
// hold: acquire, a 32-byte loopback round trip, release.
func BenchmarkOp(b *testing.B) {
	wl := build(b, map[string]any{"hold": "0s"})
	s := setup(b, wl, 1)
	w := bench.NewTestWorker(0, s)
	ctx := context.Background()
	if _, err := wl.Op(ctx, w); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wl.Op(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
}
