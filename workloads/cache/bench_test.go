package cache

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkL1Get is the L1 hit path: a Get of a present key (with a TTL, so
// the clock is read) from 1 and 2 goroutines, on keys spread over the
// shards. ns/op is wall time per Get over all goroutines (Go's convention);
// ns/get is each goroutine's own time per Get. The keys fill a sliver of
// the cache, so hits find their entry near the front: the lock-free path.
func BenchmarkL1Get(b *testing.B) {
	for _, g := range []int{1, 2} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) { benchL1Get(b, g, 1<<16) })
	}
}

// BenchmarkL1GetPromote is the L1 hit path when hits must reorder the
// recency list (1024 keys read in turn from a cache of 2048, so each shard
// holds several times its fresh share): most hits take the shard lock.
func BenchmarkL1GetPromote(b *testing.B) {
	for _, g := range []int{1, 2} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) { benchL1Get(b, g, 2048) })
	}
}

func benchL1Get(b *testing.B, g, size int) {
	const nkeys = 1024
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
	}
	c, err := NewL1(L1Config{MaxEntries: size})
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		c.Set(k, []byte("value"), time.Hour)
	}
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	var misses atomic.Int64
	for i := range g {
		n := b.N / g
		if i < b.N%g {
			n++
		}
		wg.Go(func() {
			j := i * (nkeys / 2)
			for range n {
				if _, ok := c.Get(keys[j%nkeys]); !ok {
					misses.Add(1)
				}
				j += 7
			}
		})
	}
	wg.Wait()
	wall := time.Since(t0)
	b.StopTimer()
	if m := misses.Load(); m > int64(b.N)/100 {
		b.Fatalf("%d misses in %d gets", m, b.N)
	}
	b.ReportMetric(float64(wall.Nanoseconds())*float64(g)/float64(b.N), "ns/get")
}

// BenchmarkCacheL2Only is the cache workload with L1 off (l1-size=0), all
// reads, against a local redis-server, driven by 50 goroutines as -c 50
// would: every op is one Redis GET through go-redis. Beside it,
// redis-benchmark (when on PATH) runs `-t get -c 50 -n N` against the same
// server; compare their ops/s.
func BenchmarkCacheL2Only(b *testing.B) {
	const workers = 50
	srv := redistest.Start(b)
	b.Run("perfkit/c=50", func(b *testing.B) {
		def := Definition()
		v, err := def.Resolve(map[string]any{"redis": srv.URL, "l1-size": 0, "read-ratio": 1, "keys": 1000,
			"dist": "uniform", "value-bytes": 3, "ttl": "0s", "deps": 0, "origin-latency": "0s"})
		if err != nil {
			b.Fatal(err)
		}
		w, err := def.New(v)
		if err != nil {
			b.Fatal(err)
		}
		wl := w.(*workload)
		s := start(b, wl, workers)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		ws := make([]*bench.Worker, workers)
		for i := range ws {
			ws[i] = bench.NewTestWorker(i, s)
		}
		for range 2000 { // fill L2, so every measured op is a hit
			if _, err := wl.Op(ctx, ws[0]); err != nil {
				b.Fatal(err)
			}
		}
		var left atomic.Int64
		left.Store(int64(b.N))
		var errs atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		t0 := time.Now()
		var wg sync.WaitGroup
		for _, w := range ws {
			wg.Go(func() {
				for left.Add(-1) >= 0 {
					if _, err := wl.Op(ctx, w); err != nil {
						errs.Add(1)
					}
				}
			})
		}
		wg.Wait()
		wall := time.Since(t0)
		b.StopTimer()
		if n := errs.Load(); n > 0 {
			b.Fatalf("%d ops failed", n)
		}
		var l2 int64
		for _, w := range ws {
			l2 += w.TestCounter(wl.l2Hits)
		}
		if b.N >= 1000 && l2 < int64(b.N)*9/10 {
			b.Fatalf("%d L2 hits in %d reads: the keys were not in Redis", l2, b.N)
		}
		b.ReportMetric(float64(b.N)/wall.Seconds(), "ops/s")
	})
	bin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		b.Log("redis-benchmark not on PATH: no comparison")
		return
	}
	b.Run("redis-benchmark/c=50", func(b *testing.B) {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr})
		defer c.Close()
		// redis-benchmark GETs this key; give it a value like the workload's.
		if err := c.Set(b.Context(), "key:__rand_int__", "xxx", 0).Err(); err != nil {
			b.Fatal(err)
		}
		defer c.Del(context.Background(), "key:__rand_int__")
		host, port := splitAddr(srv.Addr)
		b.ResetTimer()
		out, err := exec.CommandContext(b.Context(), bin, "-h", host, "-p", port, "-t", "get", "-c", "50", "-n", strconv.Itoa(max(b.N, 50)), "-q").CombinedOutput()
		b.StopTimer()
		if err != nil {
			b.Fatalf("redis-benchmark: %v: %q", err, tail(out))
		}
		m := regexp.MustCompile(`GET: ([0-9.]+) requests per second`).FindSubmatch(out)
		if m == nil {
			b.Fatalf("redis-benchmark said %q", tail(out))
		}
		rps, _ := strconv.ParseFloat(string(m[1]), 64)
		b.ReportMetric(rps, "ops/s")
	})
}

func splitAddr(addr string) (host, port string) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i], addr[i+1:]
		}
	}
	return addr, "6379"
}

// tail is the end of a command's output, past its progress lines.
func tail(out []byte) []byte {
	if i := bytes.LastIndexByte(out, '\r'); i >= 0 {
		out = out[i+1:]
	}
	return out[max(0, len(out)-500):]
}
