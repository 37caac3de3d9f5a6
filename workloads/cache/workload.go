package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/redis/go-redis/v9"
)

// Name is the workload's name on the command line and in results.
const Name = "cache"

// KindL2Error is the error kind of an op that failed because L2 did: a write
// or an invalidation that could not reach Redis. A read that fell through to
// the origin succeeded and is not an error (the l2_errors counter has it).
const KindL2Error = "l2_error"

// Defaults: a run given no params exercises every path. L1 holds a tenth of
// the keyspace, so Zipf's warm tail lives in L2; a TTL shorter than a
// default run keeps misses coming; one op in twenty writes or invalidates.
const (
	DefaultL1Size        = 1000
	DefaultKeys          = 10000
	DefaultTTL           = 5 * time.Second
	DefaultDist          = "zipf:s=1.1"
	DefaultReadRatio     = 0.95
	DefaultValueBytes    = 256
	DefaultOriginLatency = "lognormal:p50=1ms,p99=5ms"
	DefaultDeps          = 4
)

// Bounds of the sizes: keys are built up front (a string each), and a value
// is allocated on every origin call.
const (
	maxKeys       = 10_000_000
	maxL1Size     = 100_000_000
	maxValueBytes = 4 << 20
	maxL2Timeout  = time.Minute
)

// checkTimeout bounds New's reachability check (and so how long a bad URL
// holds up a run's start).
const checkTimeout = 2 * time.Second

// teardownTimeout bounds clearing the run's keys from Redis.
const teardownTimeout = 30 * time.Second

// Definition declares the cache workload: its parameters and constructor.
// New checks that the redis URL, if any, answers: an unreachable Redis at
// start is a configuration error, not a failed measurement.
func Definition() bench.Definition {
	return bench.Definition{
		Name: Name,
		Help: "two-level cache (in-process LRU, then Redis, then a slow origin) with coalescing and dependency invalidation",
		Params: []bench.Param{
			{Name: "redis", Kind: bench.String, Help: "L2 Redis URL (redis://[user:password@]host:port/db); empty: L1 only. Keys go under perfkit:RUNID: and are removed at the end", Redact: RedactURL, Check: bench.Check(checkRedisURL)},
			{Name: "l1-size", Kind: bench.Int, Default: strconv.Itoa(DefaultL1Size), Help: "L1 capacity in entries; 0 turns L1 off (needs redis)", Check: bench.Check(nonNegative("l1-size")), Max: maxL1Size, MaxWhy: "entries; the L1 table for them is allocated up front"},
			{Name: "l1-bytes", Kind: bench.Int, Default: "0", Help: "L1 capacity in bytes (keys, values and ~96 B per entry); 0: bounded by entries only", Check: bench.Check(nonNegative("l1-bytes")), Max: 1 << 40, MaxWhy: "1 TiB"},
			{Name: "ttl", Kind: bench.Duration, Default: DefaultTTL.String(), Help: "time to live of an entry in both levels; 0: no expiry (then keys a killed run leaves in Redis stay until deleted)", Check: bench.Check(checkTTL)},
			{Name: "keys", Kind: bench.Int, Default: strconv.Itoa(DefaultKeys), Help: "keyspace size", Check: bench.Check(checkKeys)},
			{Name: "dist", Kind: bench.String, Default: DefaultDist, Help: "key popularity: uniform, zipf or zipf:s=S (S > 1; higher is more skewed)", Check: bench.Check(func(s string) error { _, err := ParseKeyDist(s); return err })},
			{Name: "read-ratio", Kind: bench.Float, Default: strconv.FormatFloat(DefaultReadRatio, 'g', -1, 64), Help: "share of ops that read (0..1 or 0%..100%); the rest are split evenly between writes and invalidations", Check: bench.Check(checkReadRatio)},
			{Name: "value-bytes", Kind: bench.Int, Default: strconv.Itoa(DefaultValueBytes), Help: "size of each value", Check: bench.Check(checkValueBytes)},
			{Name: "origin-latency", Kind: bench.DistKind, Default: DefaultOriginLatency, Help: "latency of an origin load, a distribution (e.g. 2ms, uniform:1ms..5ms, lognormal:p50=1ms,p99=5ms)"},
			{Name: "deps", Kind: bench.Int, Default: strconv.Itoa(DefaultDeps), Help: "keys derived (in a chain) from each source key; invalidating a source invalidates them all", Check: bench.Check(nonNegative("deps")), Max: maxKeys - 1, MaxWhy: "less than the most keys"},
			{Name: "coalesce", Kind: bench.Bool, Default: "true", Help: "concurrent misses of one key make one origin call; false shows the stampede"},
			{Name: "l2-timeout", Kind: bench.Duration, Default: DefaultL2Timeout.String(), Help: "bound on each Redis dial, read and write; past it the read goes to the origin", Check: bench.Check(checkL2Timeout)},
		},
		Memory: memory,
		New: func(v bench.Values) (bench.Workload, error) {
			cfg, err := newConfig(v)
			if err != nil {
				return nil, err
			}
			if cfg.redisURL != "" {
				ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
				defer cancel()
				c, err := OpenRedis(ctx, RedisConfig{URL: cfg.redisURL, Timeout: cfg.l2Timeout, PoolSize: 1})
				if err != nil {
					return nil, err
				}
				if err := c.Close(); err != nil {
					return nil, fmt.Errorf("redis %s: closing the check connection: %w", RedactURL(cfg.redisURL), err)
				}
			}
			return &workload{cfg: cfg}, nil
		},
	}
}

// Memory per cache entry besides its value: the entry itself (~96 B, as
// l1-bytes counts it), its key, and its share of the table (at most half
// full, rounded up to a power of two: 2 to 4 slots of 8 B).
const (
	entryOverhead = 96 + 24 + 32
	keyBytes      = 40 // a key string and its slice slot
)

// memory estimates the cache's own memory: the L1 table, allocated up front
// for l1-size entries; the entries it fills, at most one per key (l1-bytes
// caps their bytes); the keyspace's names. Origin values are drawn per op.
func memory(v bench.Values, _ int) (float64, string) {
	l1, keys, value := float64(v.Int("l1-size")), float64(v.Int("keys")), float64(v.Int("value-bytes"))
	var table float64
	if l1 > 0 {
		table = 8 * math.Exp2(math.Ceil(math.Log2(max(2*l1, 8))))
	}
	entries := min(l1, keys) * (value + entryOverhead)
	if b := float64(v.Int("l1-bytes")); b > 0 {
		entries = min(entries, b)
	}
	return table + entries + keys*keyBytes, fmt.Sprintf("the L1 (l1-size %d, value-bytes %d) and %d keys", v.Int("l1-size"), v.Int("value-bytes"), v.Int("keys"))
}

// config is the validated form of the parameters.
type config struct {
	redisURL      string
	l1Size        int
	l1Bytes       int64
	ttl           time.Duration
	keys          int
	dist          KeyDist
	readRatio     float64
	valueBytes    int
	originLatency bench.Dist
	deps          int
	coalesce      bool
	l2Timeout     time.Duration
}

// newConfig validates every parameter, defaults included, and the ones that
// only make sense together.
func newConfig(v bench.Values) (config, error) {
	cfg := config{
		redisURL:      v.String("redis"),
		l1Size:        int(v.Int("l1-size")),
		l1Bytes:       v.Int("l1-bytes"),
		ttl:           v.Duration("ttl"),
		keys:          int(v.Int("keys")),
		readRatio:     v.Float("read-ratio"),
		valueBytes:    int(v.Int("value-bytes")),
		originLatency: v.Dist("origin-latency"),
		deps:          int(v.Int("deps")),
		coalesce:      v.Bool("coalesce"),
		l2Timeout:     v.Duration("l2-timeout"),
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"redis", checkRedisURL(cfg.redisURL)},
		{"l1-size", nonNegative("l1-size")(v.Int("l1-size"))},
		{"l1-bytes", nonNegative("l1-bytes")(cfg.l1Bytes)},
		{"ttl", checkTTL(cfg.ttl)},
		{"keys", checkKeys(v.Int("keys"))},
		{"read-ratio", checkReadRatio(cfg.readRatio)},
		{"value-bytes", checkValueBytes(v.Int("value-bytes"))},
		{"deps", nonNegative("deps")(v.Int("deps"))},
		{"l2-timeout", checkL2Timeout(cfg.l2Timeout)},
	} {
		if c.err != nil {
			return config{}, fmt.Errorf("param %s: %w", c.name, c.err)
		}
	}
	d, err := ParseKeyDist(v.String("dist"))
	if err != nil {
		return config{}, fmt.Errorf("param dist: %w", err)
	}
	cfg.dist = d
	if cfg.l1Size == 0 && cfg.redisURL == "" {
		return config{}, errors.New("param l1-size 0 turns L1 off, and no redis URL is given: nothing would cache (set l1-size ≥ 1, or --redis redis://127.0.0.1:6379/0)")
	}
	if cfg.deps >= cfg.keys {
		return config{}, fmt.Errorf("param deps %d: must be less than keys %d (each source and its dependents are keys)", cfg.deps, cfg.keys)
	}
	return cfg, nil
}

func checkRedisURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") || (u.Scheme != "unix" && u.Host == "") {
		return fmt.Errorf("bad redis URL %q: want redis://[user:password@]host:port/db, rediss://… or unix:///path", RedactURL(s))
	}
	if err := bench.CheckURLPort(u); err != nil {
		return fmt.Errorf("bad redis URL %q: %w", RedactURL(s), err)
	}
	if _, err := redis.ParseURL(s); err != nil {
		return fmt.Errorf("bad redis URL %q: %w", RedactURL(s), err)
	}
	return nil
}

func nonNegative(name string) func(int64) error {
	return func(n int64) error {
		if n < 0 {
			return fmt.Errorf("%s %d: must not be negative", name, n)
		}
		return nil
	}
}

func checkTTL(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("ttl %s: must be 0 (no expiry) or positive", d)
	}
	if d > 0 && d < time.Millisecond {
		return fmt.Errorf("ttl %s: must be at least 1ms (Redis's resolution)", d)
	}
	return nil
}

func checkKeys(n int64) error {
	if n < 1 || n > maxKeys {
		return fmt.Errorf("keys %d: must be in 1..%d", n, maxKeys)
	}
	return nil
}

func checkReadRatio(f float64) error {
	if f < 0 || f > 1 {
		return fmt.Errorf("read-ratio %g: must be in [0,1] (or 0%%..100%%)", f)
	}
	return nil
}

func checkValueBytes(n int64) error {
	if n < 1 || n > maxValueBytes {
		return fmt.Errorf("value-bytes %d: must be in 1..%d", n, maxValueBytes)
	}
	return nil
}

func checkL2Timeout(d time.Duration) error {
	if d <= 0 || d > maxL2Timeout {
		return fmt.Errorf("l2-timeout %s: must be in (0, %s] (e.g. 200ms)", d, maxL2Timeout)
	}
	return nil
}

// workload drives a Manager: each op is one read, one write, or one
// invalidation of a source, picked per read-ratio.
type workload struct {
	cfg config

	// Set by Setup.
	client *redis.Client
	m      *Manager
	keys   []string
	seed   uint64

	l1Hit, l2Hit, miss, write, invalidate bench.Label

	l1Hits, l2Hits, originCalls, l2Errors, reads, writes, invalidations, coalesced, invalidated bench.Counter
}

// worker is the per-worker state kept in bench.Worker.State.
type worker struct {
	wl    *workload
	w     *bench.Worker
	rng   *rand.Rand
	keys  keySampler
	load  Loader // st.origin, bound once so a miss allocates no closure
	timer *time.Timer
}

var (
	_ bench.Workload = (*workload)(nil)
	_ bench.Deriver  = (*workload)(nil)
)

// Setup connects to Redis (pool sized to the concurrency), builds the
// levels, the keys and their dependency chains, under a prefix of the run's
// own.
func (wl *workload) Setup(ctx context.Context, s *bench.Setup) error {
	wl.l1Hit = s.Label("l1_hit")
	wl.l2Hit = s.Label("l2_hit")
	wl.miss = s.Label("miss")
	wl.write = s.Label("write")
	wl.invalidate = s.Label("invalidate")
	wl.l1Hits = s.Counter("l1_hits")
	wl.l2Hits = s.Counter("l2_hits")
	wl.originCalls = s.Counter("origin_calls")
	wl.l2Errors = s.Counter("l2_errors")
	wl.reads = s.Counter("reads")
	wl.writes = s.Counter("writes")
	wl.invalidations = s.Counter("invalidations")
	wl.coalesced = s.Counter("coalesced")
	wl.invalidated = s.Counter("invalidated_keys")
	// The system under test is the cache manager, in perfkit's own process:
	// its CPU use is what is measured, not a sign of a saturated generator.
	s.Embedded = true

	cfg := wl.cfg
	conc := s.Concurrency
	if conc <= 0 {
		conc = bench.DefaultConcurrency
	}
	wl.seed = rand.Uint64()
	prefix := fmt.Sprintf("perfkit:%016x:", wl.seed)

	mc := Config{L1TTL: cfg.ttl, NoCoalesce: !cfg.coalesce}
	if cfg.l1Size > 0 {
		l1, err := NewL1(L1Config{MaxEntries: cfg.l1Size, MaxBytes: cfg.l1Bytes})
		if err != nil {
			return err
		}
		mc.L1 = l1
	} else {
		s.Notes = append(s.Notes, "L1 off (l1-size=0): every read goes to Redis")
	}
	if cfg.redisURL != "" {
		c, err := OpenRedis(ctx, RedisConfig{URL: cfg.redisURL, Timeout: cfg.l2Timeout, PoolSize: conc})
		if err != nil {
			return err
		}
		wl.client = c
		l2, err := NewL2(c, prefix, cfg.ttl)
		if err != nil {
			return err
		}
		mc.L2 = l2
		s.Notes = append(s.Notes, fmt.Sprintf("L2: %s, keys under %s, removed at the end", RedactURL(cfg.redisURL), prefix))
	} else {
		s.Notes = append(s.Notes, "L1 only: no redis URL given (set --redis redis://127.0.0.1:6379/0)")
	}
	if !cfg.coalesce {
		s.Notes = append(s.Notes, "coalescing off (coalesce=false): concurrent misses of a key each call the origin")
	}
	wl.m = NewManager(mc)

	wl.keys = make([]string, cfg.keys)
	for i := range wl.keys {
		wl.keys[i] = "k" + strconv.Itoa(i)
	}
	// Keys come in groups of deps+1: a source, then a chain of dependents,
	// each derived from the one before, so invalidating the source walks
	// the chain transitively.
	if g := cfg.deps + 1; cfg.deps > 0 {
		for base := 0; base < cfg.keys; base += g {
			for j := 1; j < g && base+j < cfg.keys; j++ {
				wl.m.Depend(wl.keys[base+j], wl.keys[base+j-1])
			}
		}
	}
	return nil
}

// Teardown removes the run's keys from Redis (SCAN + UNLINK under the run's
// prefix; never FLUSHDB) and closes the client. If Redis is gone, the keys
// left behind expire with the TTL.
func (wl *workload) Teardown(ctx context.Context) error {
	var errs []error
	if wl.m != nil && wl.m.L2() != nil {
		cctx, cancel := context.WithTimeout(ctx, teardownTimeout)
		if _, err := wl.m.L2().Clear(cctx); err != nil {
			errs = append(errs, fmt.Errorf("removing keys under %s (they expire after ttl %s): %w", wl.m.L2().Prefix(), wl.cfg.ttl, err))
		}
		cancel()
	}
	if wl.client != nil {
		if err := wl.client.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing redis client: %w", err))
		}
		wl.client = nil
	}
	wl.m = nil
	return errors.Join(errs...)
}

func (wl *workload) state(w *bench.Worker) *worker {
	if st, ok := w.State.(*worker); ok {
		return st
	}
	rng := rand.New(rand.NewPCG(wl.seed, uint64(w.ID)))
	st := &worker{wl: wl, w: w, rng: rng, keys: wl.cfg.dist.sampler(rng, len(wl.keys))}
	st.load = st.origin
	w.State = st
	return st
}

// Op runs one read, write or invalidation, as read-ratio mixes them, and
// returns the label of what happened.
func (wl *workload) Op(ctx context.Context, w *bench.Worker) (bench.Label, error) {
	st := wl.state(w)
	p := st.rng.Float64()
	switch {
	case p < wl.cfg.readRatio:
		return wl.read(ctx, st)
	case p < wl.cfg.readRatio+(1-wl.cfg.readRatio)/2:
		return wl.doWrite(ctx, st)
	default:
		return wl.doInvalidate(ctx, st)
	}
}

func (wl *workload) read(ctx context.Context, st *worker) (bench.Label, error) {
	w := st.w
	w.Count(wl.reads, 1)
	res, err := wl.m.Get(ctx, wl.keys[st.keys.next()], st.load)
	if res.L2Errors > 0 {
		w.Count(wl.l2Errors, int64(res.L2Errors))
	}
	if err != nil {
		return wl.miss, err
	}
	switch res.Source {
	case FromL1:
		w.Count(wl.l1Hits, 1)
		return wl.l1Hit, nil
	case FromL2:
		w.Count(wl.l2Hits, 1)
		return wl.l2Hit, nil
	}
	if res.Shared {
		w.Count(wl.coalesced, 1)
	}
	return wl.miss, nil
}

func (wl *workload) doWrite(ctx context.Context, st *worker) (bench.Label, error) {
	st.w.Count(wl.writes, 1)
	key := wl.keys[st.keys.next()]
	if err := wl.m.Set(ctx, key, wl.value(key)); err != nil {
		return wl.write, wl.l2Failed(st.w, err)
	}
	return wl.write, nil
}

func (wl *workload) doInvalidate(ctx context.Context, st *worker) (bench.Label, error) {
	st.w.Count(wl.invalidations, 1)
	i := st.keys.next()
	i -= i % (wl.cfg.deps + 1) // the source of the key's group
	n, err := wl.m.Invalidate(ctx, wl.keys[i])
	st.w.Count(wl.invalidated, int64(n))
	if err != nil {
		return wl.invalidate, wl.l2Failed(st.w, err)
	}
	return wl.invalidate, nil
}

// l2Failed counts a write or invalidation that L2 failed as an l2_error.
func (wl *workload) l2Failed(w *bench.Worker, err error) error {
	if errors.Is(err, ErrL2) {
		w.Count(wl.l2Errors, 1)
		return bench.Errorf(KindL2Error, err)
	}
	return err
}

// value is a fresh value for key: the levels keep it, so it is never reused.
func (wl *workload) value(key string) []byte {
	v := make([]byte, wl.cfg.valueBytes)
	copy(v, key)
	return v
}

// origin is the worker's Loader: it waits one draw of origin-latency (or
// until ctx ends) and returns the key's value.
func (st *worker) origin(ctx context.Context, key string) ([]byte, error) {
	st.w.Count(st.wl.originCalls, 1)
	if d := st.wl.cfg.originLatency.Sample(st.rng); d > 0 {
		if st.timer == nil {
			st.timer = time.NewTimer(d)
		} else {
			st.timer.Reset(d)
		}
		select {
		case <-st.timer.C:
		case <-ctx.Done():
			st.timer.Stop()
			return nil, ctx.Err()
		}
	}
	return st.wl.value(key), nil
}

// Derive adds the hit ratios: of all reads per level, and of the reads that
// reached L2 (missed L1) for l2_hit_ratio.
func (wl *workload) Derive(run *bench.RunResult) map[string]float64 {
	c := run.Counters
	reads := c["reads"]
	if reads == 0 {
		return nil
	}
	l1, l2 := c["l1_hits"], c["l2_hits"]
	out := map[string]float64{"hit_ratio": float64(l1+l2) / float64(reads)}
	if wl.cfg.l1Size > 0 {
		out["l1_hit_ratio"] = float64(l1) / float64(reads)
	}
	if wl.cfg.redisURL != "" && reads > l1 {
		out["l2_hit_ratio"] = float64(l2) / float64(reads-l1)
	}
	return out
}
