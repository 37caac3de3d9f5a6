package cache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync/atomic"
	"time"
)

// Loader fetches a key's value from the origin (the database or service the
// cache fronts) on a miss of every level. The value it returns is cached and
// handed to other callers, so it must not be modified afterwards.
type Loader func(ctx context.Context, key string) ([]byte, error)

// Source says which level served a read.
type Source uint8

// Levels a read can be served from.
const (
	FromL1 Source = iota + 1
	FromL2
	FromOrigin
)

// String names the level as tables and logs show it.
func (s Source) String() string {
	switch s {
	case FromL1:
		return "l1"
	case FromL2:
		return "l2"
	case FromOrigin:
		return "origin"
	}
	return "none"
}

// Result is a read's outcome. A read that reached the origin because L2
// failed still succeeds: L2Errors and L2Err say the cache was degraded, so
// the caller can count it without failing the read.
type Result struct {
	// Value must not be modified: it is the cached copy.
	Value  []byte
	Source Source
	// Shared is set when the read joined another caller's load of the same
	// key instead of making its own (request coalescing).
	Shared bool
	// L2Errors is the number of L2 calls that failed for this read (the get,
	// the fill); 0 when Shared, as they are the other caller's.
	L2Errors int
	// L2Err is the first of them.
	L2Err error
}

func (r *Result) noteL2(err error) {
	if r.L2Errors == 0 {
		r.L2Err = err
	}
	r.L2Errors++
}

// Config assembles a Manager.
type Config struct {
	// L1 is the in-process level; nil for none.
	L1 *L1
	// L2 is the Redis level; nil for none.
	L2 *L2
	// L1TTL is how long a value stays in L1 (0: until evicted). L2's TTL is
	// its own (NewL2).
	L1TTL time.Duration
	// NoCoalesce makes every concurrent miss of a key call the origin itself
	// (the stampede coalescing prevents); for measuring, not for production.
	NoCoalesce bool
	// Graph holds the dependencies between keys; nil starts an empty one.
	Graph *Graph
}

// genStripes is the number of invalidation counters. A key maps to one by
// hash; a collision only makes a concurrent fill more cautious.
const genStripes = 4096

// Manager is a two-level read-through cache: L1 (in process) then L2
// (Redis) then the origin, with coalesced misses and dependency-driven
// invalidation. It is safe for concurrent use.
//
// Invalidation is race-free against reads in flight: every write or
// invalidation bumps a counter for the key, and a load that finds the counter
// moved while it ran serves its value but leaves both levels without it, so a
// slow load can never put back a value an invalidation removed.
//
// No lock spans the cache: an L1 hit takes none (see L1), concurrent misses
// meet only on their key's shard of the coalescing table, and invalidation
// walks the graph under per-shard read locks.
type Manager struct {
	l1       *L1
	l2       *L2
	l1TTL    time.Duration
	coalesce bool
	graph    *Graph
	seed     maphash.Seed
	flight   *flight
	gens     [genStripes]atomic.Uint64
}

// NewManager returns a manager over cfg's levels. With neither level every
// read goes to the origin (still coalesced).
func NewManager(cfg Config) *Manager {
	m := &Manager{
		l1:       cfg.L1,
		l2:       cfg.L2,
		l1TTL:    cfg.L1TTL,
		coalesce: !cfg.NoCoalesce,
		graph:    cfg.Graph,
		flight:   newFlight(),
	}
	if m.graph == nil {
		m.graph = NewGraph()
	}
	if m.l1 != nil {
		m.seed = m.l1.seed // one hash per op serves L1, the flight and the counters
	} else {
		m.seed = maphash.MakeSeed()
	}
	return m
}

// L1 is the in-process level, or nil.
func (m *Manager) L1() *L1 { return m.l1 }

// L2 is the Redis level, or nil.
func (m *Manager) L2() *L2 { return m.l2 }

// Graph is the dependency graph Invalidate follows.
func (m *Manager) Graph() *Graph { return m.graph }

// Depend records that dependent derives from sources (see Graph.Depend).
func (m *Manager) Depend(dependent string, sources ...string) {
	m.graph.Depend(dependent, sources...)
}

func (m *Manager) hash(key string) uint64 { return maphash.String(m.seed, key) }

func (m *Manager) gen(h uint64) *atomic.Uint64 { return &m.gens[(h>>32)%genStripes] }

// Get returns key's value from the first level that has it, else from load,
// filling the levels that missed. Concurrent misses of one key make one load
// (unless coalescing is off). The error is non-nil only when no value could
// be had: the origin failed or ctx ended; an L2 failure alone is reported in
// the Result.
func (m *Manager) Get(ctx context.Context, key string, load Loader) (Result, error) {
	h := m.hash(key)
	if m.l1 != nil {
		if v, ok := m.l1.get(h, key); ok {
			return Result{Value: v, Source: FromL1}, nil
		}
	}
	if !m.coalesce {
		return m.miss(ctx, h, key, load)
	}
	for {
		c, leader := m.flight.join(h, key)
		if leader {
			return m.flight.run(h, key, c, func() (Result, error) { return m.miss(ctx, h, key, load) })
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return Result{}, fmt.Errorf("cache get %s: waiting for a load in flight: %w", key, ctx.Err())
		}
		if c.err != nil && isCtxErr(c.err) && ctx.Err() == nil {
			continue // the leader's context ended, not ours: load it ourselves
		}
		res := c.res
		res.Shared, res.L2Errors, res.L2Err = true, 0, nil
		return res, c.err
	}
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// miss reads L2, then the origin, and fills the levels that missed.
func (m *Manager) miss(ctx context.Context, h uint64, key string, load Loader) (Result, error) {
	var res Result
	g := m.gen(h)
	gen := g.Load()
	if m.l2 != nil {
		v, ok, err := m.l2.Get(ctx, key)
		if err != nil {
			res.noteL2(err)
		} else if ok {
			res.Value, res.Source = v, FromL2
			if m.l1 != nil && g.Load() == gen {
				m.l1.set(h, key, v, m.l1TTL)
				if g.Load() != gen {
					m.l1.delete(h, key)
				}
			}
			return res, nil
		}
	}
	if load == nil {
		return res, fmt.Errorf("cache get %s: missed every level and no loader given", key)
	}
	v, err := load(ctx, key)
	if err != nil {
		return res, fmt.Errorf("cache get %s: origin: %w", key, err)
	}
	res.Value, res.Source = v, FromOrigin
	if g.Load() != gen {
		return res, nil // written or invalidated meanwhile: serve it, cache nothing
	}
	if m.l1 != nil {
		m.l1.set(h, key, v, m.l1TTL)
	}
	if m.l2 != nil {
		if err := m.l2.Set(ctx, key, v); err != nil {
			res.noteL2(err)
		}
	}
	// An invalidation bumps the counter before it deletes, so if it ran
	// while we filled, either its delete came after our writes or we see the
	// bump now and undo them.
	if g.Load() != gen {
		if m.l1 != nil {
			m.l1.delete(h, key)
		}
		if m.l2 != nil {
			if err := m.l2.Delete(ctx, key); err != nil {
				res.noteL2(err)
			}
		}
	}
	return res, nil
}

// Set writes val under key to both levels (the caller has already written
// its source of truth) and invalidates everything that derives from key. The
// error says a level could not be written or a dependent invalidated; L2 may
// then hold an older value until its TTL.
func (m *Manager) Set(ctx context.Context, key string, val []byte) error {
	h := m.hash(key)
	m.gen(h).Add(1) // a load in flight must not overwrite this value
	if m.coalesce {
		m.flight.forget(h, key)
	}
	if m.l1 != nil {
		m.l1.set(h, key, val, m.l1TTL)
	}
	var errs []error
	if m.l2 != nil {
		if err := m.l2.Set(ctx, key, val); err != nil {
			errs = append(errs, err)
		}
	}
	if deps := m.graph.Dependents(key); len(deps) > 0 {
		if err := m.drop(ctx, deps); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Invalidate removes sources and everything that transitively derives from
// them from both levels, and returns how many keys that was. On an error
// (ErrL2) L1 is clean but L2 may serve the removed values until their TTL.
func (m *Manager) Invalidate(ctx context.Context, sources ...string) (int, error) {
	keys := m.graph.Closure(sources...)
	return len(keys), m.drop(ctx, keys)
}

// l2Batch bounds the keys of one UNLINK.
const l2Batch = 512

// drop removes keys from both levels.
func (m *Manager) drop(ctx context.Context, keys []string) error {
	for _, k := range keys {
		h := m.hash(k)
		m.gen(h).Add(1) // before the deletes: see miss
		if m.coalesce {
			m.flight.forget(h, k)
		}
		if m.l1 != nil {
			m.l1.delete(h, k)
		}
	}
	if m.l2 == nil {
		return nil
	}
	for len(keys) > 0 {
		n := min(len(keys), l2Batch)
		if err := m.l2.Delete(ctx, keys[:n]...); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// Scope collects the sources an update changes; see Manager.Update.
type Scope struct {
	touched []string
}

// Touch marks sources as changed by the update.
func (s *Scope) Touch(sources ...string) { s.touched = append(s.touched, sources...) }

// Update runs fn, an update of the source of truth, and then invalidates
// every source fn touched and all that derives from them. The invalidation
// runs even when fn fails or panics, since a half-done update has changed
// data too, and even when ctx has ended (L2's own timeouts bound it); the
// error joins fn's and the invalidation's.
func (m *Manager) Update(ctx context.Context, fn func(*Scope) error) (err error) {
	s := &Scope{}
	defer func() {
		if len(s.touched) == 0 {
			return
		}
		if _, ierr := m.Invalidate(context.WithoutCancel(ctx), s.touched...); ierr != nil {
			err = errors.Join(err, fmt.Errorf("cache update: invalidating %d sources: %w", len(s.touched), ierr))
		}
	}()
	return fn(s)
}

// Clear empties L1 and removes every key under L2's prefix (SCAN + UNLINK;
// never FLUSHDB). The dependency graph is kept.
func (m *Manager) Clear(ctx context.Context) error {
	if m.l1 != nil {
		m.l1.Clear()
	}
	if m.l2 != nil {
		if _, err := m.l2.Clear(ctx); err != nil {
			return err
		}
	}
	return nil
}
