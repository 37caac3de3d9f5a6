// Command lrucache is perfkit with one more workload: "lru", a user's own
// cache (lru.go) under concurrent gets, with its own params and labels.
//
//	go run ./examples/lrucache run lru --size 1000 --hit-ratio 0.9 -c 8 -d 5s --count 6
package main

import (
	"context"
	"math/rand/v2"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/cli"
)

func main() { cli.Main(definition()) }

// definition declares the workload once: its name, params and constructor.
func definition() bench.Definition {
	return bench.Definition{
		Name: "lru",
		Help: "an in-process LRU cache: get a key, put it on a miss",
		Params: []bench.Param{
			{Name: "size", Kind: bench.Int, Default: "10000", Help: "cache entries", Check: bench.CheckIntRange("size", 1, 1<<24)},
			{Name: "hit-ratio", Kind: bench.Float, Default: "0.9", Help: "size / key space: the expected share of hits", Check: bench.CheckRatio("hit-ratio")},
		},
		New: func(v bench.Values) (bench.Workload, error) {
			size, ratio := v.Int("size"), max(v.Float("hit-ratio"), 0.001)
			return &lruWorkload{cache: NewLRU(int(size)), keys: uint64(float64(size) / ratio)}, nil
		},
	}
}

type lruWorkload struct {
	cache     *LRU
	keys      uint64 // keys are drawn uniformly from 0..keys-1
	hit, miss bench.Label
	evictions bench.Counter
}

func (l *lruWorkload) Setup(_ context.Context, s *bench.Setup) error {
	s.Embedded = true // the cache runs in this process: its CPU is not the generator's
	l.hit, l.miss = s.Label("hit"), s.Label("miss")
	l.evictions = s.Counter("evictions")
	for k := range uint64(l.cache.size) { // start full: a warm cache
		l.cache.Put(k*l.keys/uint64(l.cache.size), nil)
	}
	return nil
}

func (l *lruWorkload) Op(_ context.Context, w *bench.Worker) (bench.Label, error) {
	rng, _ := w.State.(*rand.Rand)
	if rng == nil { // one RNG per worker: no lock shared by the workers but the cache's
		rng = rand.New(rand.NewPCG(uint64(w.ID), 42))
		w.State = rng
	}
	key := rng.Uint64N(l.keys)
	if _, ok := l.cache.Get(key); ok {
		return l.hit, nil
	}
	if l.cache.Put(key, nil) {
		w.Count(l.evictions, 1)
	}
	return l.miss, nil
}

func (l *lruWorkload) Teardown(context.Context) error { return nil }
