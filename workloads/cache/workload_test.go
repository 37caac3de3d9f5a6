package cache

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// build resolves raw params as the command line would and builds the workload.
func build(tb testing.TB, raw map[string]any) (*workload, bench.Values) {
	tb.Helper()
	def := Definition()
	v, err := def.Resolve(raw)
	if err != nil {
		tb.Fatalf("Resolve(%v): %v", raw, err)
	}
	w, err := def.New(v)
	if err != nil {
		tb.Fatalf("New(%v): %v", raw, err)
	}
	return w.(*workload), v
}

// buildErr returns the error that resolving or building raw params gives.
func buildErr(raw map[string]any) error {
	def := Definition()
	_, err := def.Build(raw)
	return err
}

// start sets wl up as the engine would and tears it down when the test ends.
func start(tb testing.TB, wl *workload, conc int) *bench.Setup {
	tb.Helper()
	s := &bench.Setup{Concurrency: conc, Model: bench.ModelClosed, Timeout: 10 * time.Second}
	if err := wl.Setup(context.Background(), s); err != nil {
		tb.Fatalf("Setup: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := wl.Teardown(ctx); err != nil {
			tb.Errorf("Teardown: %v", err)
		}
	})
	return s
}

// run measures raw params through the engine for d.
func run(t *testing.T, raw map[string]any, d time.Duration, during func()) bench.ScenarioResult {
	t.Helper()
	return runSet(t, raw, func(s *bench.Settings) { s.Duration = d }, during)
}

// runOps measures raw params through the engine for n ops: what a test
// needs to see happen (an L1 eviction, an L2 hit) takes ops, and a loaded
// machine runs few of them in a fixed time.
func runOps(t *testing.T, raw map[string]any, n int64) bench.ScenarioResult {
	t.Helper()
	return runSet(t, raw, func(s *bench.Settings) { s.Duration, s.Iterations = 0, n }, nil)
}

func runSet(t *testing.T, raw map[string]any, mod func(*bench.Settings), during func()) bench.ScenarioResult {
	t.Helper()
	wl, v := build(t, raw)
	set := bench.DefaultSettings()
	set.Concurrency = 8
	set.Warmup = 100 * time.Millisecond
	mod(&set)
	set.Interval = 100 * time.Millisecond
	set.Timeout = 5 * time.Second
	sc := bench.Scenario{Name: Name, Workload: Name, Params: v, Settings: set,
		New: func() (bench.Workload, error) { return wl, nil }}
	done := make(chan struct{})
	if during != nil {
		go func() { defer close(done); during() }()
	} else {
		close(done)
	}
	res, err := bench.Run(context.Background(), sc)
	<-done
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Runs) != 1 {
		t.Fatalf("%d runs", len(res.Runs))
	}
	return res
}

func TestDefinition(t *testing.T) {
	def := Definition()
	if def.Name != "cache" || def.Help == "" || strings.Contains(def.Help, "\n") {
		t.Errorf("Definition() = %q, %q", def.Name, def.Help)
	}
	want := []string{"redis", "l1-size", "l1-bytes", "ttl", "keys", "dist", "read-ratio", "value-bytes", "origin-latency", "deps", "coalesce", "l2-timeout"}
	if got := def.ParamNames(); !slices.Equal(got, want) {
		t.Errorf("params %q, want %q", got, want)
	}
	for _, p := range def.Params {
		if p.Help == "" {
			t.Errorf("param %s has no help", p.Name)
		}
	}
	wl, v := build(t, nil)
	if wl.cfg.redisURL != "" || wl.cfg.l1Size >= wl.cfg.keys || wl.cfg.ttl == 0 || wl.cfg.readRatio >= 1 || !wl.cfg.coalesce || wl.cfg.dist.S <= 1 {
		t.Errorf("defaults %+v do not exercise every path", wl.cfg)
	}
	rec := v.Record()
	for k, want := range map[string]any{"dist": "zipf:s=1.1", "ttl": "5s", "origin-latency": DefaultOriginLatency, "l2-timeout": "200ms", "coalesce": true} {
		if rec[k] != want {
			t.Errorf("default %s = %#v, want %#v", k, rec[k], want)
		}
	}
	if wl, _ := build(t, map[string]any{"read-ratio": "75%"}); wl.cfg.readRatio != 0.75 {
		t.Errorf("read-ratio 75%% = %v", wl.cfg.readRatio)
	}
}

func TestBadParams(t *testing.T) {
	for _, tc := range []struct {
		raw  map[string]any
		want []string
	}{
		{map[string]any{"dist": "zipf:s=1"}, []string{"param dist", "greater than 1", "accepted: uniform"}},
		{map[string]any{"dist": "zipf:s=0.7"}, []string{"greater than 1"}},
		{map[string]any{"dist": "pareto"}, []string{`"pareto"`, "unknown distribution"}},
		{map[string]any{"read-ratio": 1.5}, []string{"read-ratio 1.5", "[0,1]"}},
		{map[string]any{"read-ratio": "-10%"}, []string{"read-ratio -0.1", "[0,1]"}},
		{map[string]any{"origin-latency": "lognormal:p50="}, []string{"bad distribution"}},
		{map[string]any{"origin-latency": "lognormal:p50=10ms,p99=1ms"}, []string{"bad distribution", "p50 ≤ p99"}},
		{map[string]any{"origin-latency": "uniform:5ms"}, []string{"bad distribution"}},
		{map[string]any{"l1-size": 0}, []string{"l1-size 0", "no redis URL"}},
		{map[string]any{"l1-size": -1}, []string{"l1-size -1", "negative"}},
		{map[string]any{"l1-bytes": -5}, []string{"l1-bytes -5"}},
		{map[string]any{"keys": 0}, []string{"keys 0", "1.."}},
		{map[string]any{"value-bytes": 0}, []string{"value-bytes 0"}},
		{map[string]any{"deps": 20, "keys": 10}, []string{"deps 20", "less than keys 10"}},
		{map[string]any{"ttl": "-1s"}, []string{"ttl -1s"}},
		{map[string]any{"ttl": "100us"}, []string{"ttl 100µs", "at least 1ms"}},
		{map[string]any{"l2-timeout": "0s"}, []string{"l2-timeout 0s"}},
		{map[string]any{"coalesce": "maybe"}, []string{`"maybe" is not a bool`}},
		{map[string]any{"redis": "http://127.0.0.1:6379"}, []string{"bad redis URL", "redis://"}},
		{map[string]any{"redis": "127.0.0.1:6379"}, []string{"bad redis URL"}},
		{map[string]any{"redis": "redis://:hunter2@127.0.0.1:6379/x"}, []string{"bad redis URL", "xxxxx"}},
		{map[string]any{"redis": "redis://:hunter2@127.0.0.1:1/0"}, []string{"redis redis://:xxxxx@127.0.0.1:1/0: unreachable: ", "connection refused"}},
	} {
		err := buildErr(tc.raw)
		if err == nil {
			t.Errorf("%v: no error", tc.raw)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || strings.Contains(msg, "hunter2") {
			t.Errorf("%v: error %q is not one line without secrets", tc.raw, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: error %q does not contain %q", tc.raw, msg, w)
			}
		}
	}
}

// TestUnreachableRedisAtStart: New (a configuration error, exit 2) reports
// an unreachable Redis in one line, quickly.
func TestUnreachableRedisAtStart(t *testing.T) {
	start := time.Now()
	err := buildErr(map[string]any{"redis": "redis://127.0.0.1:1/0"})
	if err == nil {
		t.Fatal("no error for a Redis nobody listens on")
	}
	if want := "redis redis://127.0.0.1:1/0: unreachable: dial tcp 127.0.0.1:1: "; !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "connection refused") {
		t.Errorf("error %q, want %q…connection refused", err, want)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v", el)
	}
}

func TestRedaction(t *testing.T) {
	def := Definition()
	v, err := def.Resolve(map[string]any{"redis": "redis://:hunter2@127.0.0.1:1/0"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v.Record())
	if strings.Contains(string(b), "hunter2") || !strings.Contains(string(b), "xxxxx") {
		t.Errorf("record %s leaks or drops the URL", b)
	}
}

// TestDefaultRun: the defaults plus a Redis URL exercise every path and
// leave Redis as they found it.
func TestDefaultRun(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	ctx := t.Context()
	if err := c.Set(ctx, "foreign", "keep", 0).Err(); err != nil {
		t.Fatal(err)
	}
	defer c.Del(context.Background(), "foreign")

	// The L2 timeout is long: a loaded machine can hold a Redis round trip
	// past the 200ms default, and an L2 error here must mean a real one.
	res := runOps(t, map[string]any{"redis": srv.URL, "l2-timeout": "10s"}, 20000)
	r := res.Runs[0]
	for _, label := range []string{"l1_hit", "l2_hit", "miss", "write", "invalidate"} {
		if r.Latency[label].Count == 0 {
			t.Errorf("label %s: no ops (latency keys %v)", label, keys(r.Latency))
		}
	}
	for _, k := range []string{"l1_hits", "l2_hits", "origin_calls", "reads", "writes", "invalidations", "invalidated_keys"} {
		if r.Counters[k] == 0 {
			t.Errorf("counter %s = 0 (%v)", k, r.Counters)
		}
	}
	if r.Errors != 0 || r.Counters["l2_errors"] != 0 {
		t.Errorf("%d errors %v, %d L2 errors", r.Errors, r.ErrorsByKind, r.Counters["l2_errors"])
	}
	if inv := r.Counters["invalidations"]; r.Counters["invalidated_keys"] != inv*(DefaultDeps+1) {
		t.Errorf("%d invalidations removed %d keys, want %d each (a source and its chain)", inv, r.Counters["invalidated_keys"], DefaultDeps+1)
	}
	for _, k := range []string{"hit_ratio", "l1_hit_ratio", "l2_hit_ratio"} {
		if x, ok := r.Derived[k]; !ok || x <= 0 || x >= 1 {
			t.Errorf("derived %s = %v, %v; want in (0,1)", k, x, ok)
		}
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "keys under perfkit:") }) {
		t.Errorf("notes %q do not say where the keys went", res.Notes)
	}
	var prefix string
	for _, n := range res.Notes {
		if m := regexp.MustCompile(`keys under (perfkit:[0-9a-f]+:)`).FindStringSubmatch(n); m != nil {
			prefix = m[1]
		}
	}
	left, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if prefix == "" || len(left) != 0 {
		t.Errorf("%d keys left under %q after the run: %q", len(left), prefix, left[:min(10, len(left))])
	}
	if v := c.Get(ctx, "foreign").Val(); v != "keep" {
		t.Errorf("foreign key = %q", v)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestL1OnlyRun(t *testing.T) {
	res := runOps(t, map[string]any{"origin-latency": "100us"}, 2000)
	if !slices.Contains(res.Notes, "L1 only: no redis URL given (set --redis redis://127.0.0.1:6379/0)") {
		t.Errorf("notes %q", res.Notes)
	}
	r := res.Runs[0]
	if r.Latency["l2_hit"].Count != 0 || r.Latency["l1_hit"].Count == 0 || r.Latency["miss"].Count == 0 || r.Errors != 0 {
		t.Errorf("L1 only: l1 %d, l2 %d, miss %d, errors %d", r.Latency["l1_hit"].Count, r.Latency["l2_hit"].Count, r.Latency["miss"].Count, r.Errors)
	}
	if _, ok := r.Derived["l2_hit_ratio"]; ok {
		t.Error("l2_hit_ratio without L2")
	}
}

// hitRatio drives n reads through one worker, without the engine, and
// returns the hit ratio of the second half (the first warms L1).
func hitRatio(t *testing.T, raw map[string]any, n int) float64 {
	wl, _ := build(t, raw)
	s := start(t, wl, 1)
	w := bench.NewTestWorker(0, s)
	ctx := t.Context()
	var hits, reads int
	for i := range n {
		label, err := wl.Op(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if i >= n/2 {
			reads++
			if label == wl.l1Hit {
				hits++
			}
		}
	}
	return float64(hits) / float64(reads)
}

func TestHitRatioZipfOverUniform(t *testing.T) {
	base := map[string]any{"l1-size": 1000, "keys": 10000, "read-ratio": 1, "origin-latency": "0s", "ttl": "0s"}
	with := func(dist string) map[string]any {
		m := map[string]any{"dist": dist}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	uni := hitRatio(t, with("uniform"), 60_000)
	zipf := hitRatio(t, with("zipf:s=1.1"), 60_000)
	steep := hitRatio(t, with("zipf:s=1.5"), 60_000)
	t.Logf("L1 hit ratio, 1000 of 10000 keys: uniform %.3f, zipf s=1.1 %.3f, s=1.5 %.3f", uni, zipf, steep)
	if uni < 0.07 || uni > 0.13 {
		t.Errorf("uniform hit ratio %.3f, want about l1-size/keys = 0.10", uni)
	}
	if zipf < uni+0.3 || steep <= zipf {
		t.Errorf("hit ratios uniform %.3f, zipf 1.1 %.3f, zipf 1.5 %.3f: want each skew well above the last", uni, zipf, steep)
	}
}

// TestRedisKilledMidRun: Redis dies a third of the way into a run; the run
// completes, reads are still served (by L1 and the origin), and the L2
// failures are counted.
func TestRedisKilledMidRun(t *testing.T) {
	srv := killable(t)
	began := time.Now()
	var killedAt time.Time // written before run returns
	res := run(t, map[string]any{"redis": srv.URL, "origin-latency": "200us", "l2-timeout": "1s"}, time.Second, func() {
		time.Sleep(400 * time.Millisecond)
		srv.Kill()
		killedAt = time.Now()
	})
	r := res.Runs[0]
	killedAfter := killedAt.Sub(r.StartedAt)
	if el := time.Since(began); el > 5*time.Second {
		t.Errorf("run took %v with Redis gone", el)
	}
	if r.Counters["l2_errors"] == 0 {
		t.Errorf("no l2_errors counted (%v)", r.Counters)
	}
	if r.ErrorsByKind[KindL2Error] == 0 {
		t.Errorf("no write or invalidation failed as %s: %v", KindL2Error, r.ErrorsByKind)
	}
	for kind := range r.ErrorsByKind {
		if kind != KindL2Error {
			t.Errorf("errors of kind %s: %v (reads must not fail)", kind, r.ErrorsByKind)
		}
	}
	if failed, nonReads := r.Errors, r.Counters["writes"]+r.Counters["invalidations"]; failed > nonReads {
		t.Errorf("%d failed ops > %d writes and invalidations: reads failed", failed, nonReads)
	}
	if r.Latency["miss"].Count == 0 || r.Latency["l1_hit"].Count == 0 {
		t.Errorf("reads not served: miss %d, l1_hit %d", r.Latency["miss"].Count, r.Latency["l1_hit"].Count)
	}
	// Reads kept flowing after the kill: intervals that began after it
	// have ops. (Not "the last interval": a run that ends late on a loaded
	// machine may close with an empty one.)
	var after int64
	for _, iv := range r.Intervals {
		if time.Duration(iv.TMs)*time.Millisecond >= killedAfter {
			after += iv.Ops
		}
	}
	if after == 0 {
		t.Errorf("no ops in the intervals after the kill at %s: %+v", killedAfter, r.Intervals)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.HasPrefix(n, "teardown: removing keys under perfkit:") }) {
		t.Errorf("notes %q: want the failed cleanup reported", res.Notes)
	}
}

// TestOpAllocs: an op that hits L1 allocates nothing.
func TestOpAllocs(t *testing.T) {
	wl, _ := build(t, map[string]any{"keys": 10, "l1-size": 100, "read-ratio": 1, "origin-latency": "0s"})
	s := start(t, wl, 1)
	w := bench.NewTestWorker(0, s)
	ctx := t.Context()
	for range 1000 {
		if _, err := wl.Op(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(1000, func() { wl.Op(ctx, w) }); n != 0 {
		t.Errorf("L1-hit op: %v allocs, want 0", n)
	}
	if w.TestCounter(wl.l1Hits) == 0 {
		t.Error("no L1 hits counted")
	}
}

// TestSetupRedisGone: Redis vanishing between New and Setup is a setup
// error naming it.
func TestSetupRedisGone(t *testing.T) {
	srv := killable(t)
	wl, _ := build(t, map[string]any{"redis": srv.URL, "l2-timeout": "10s"}) // New pings it: no 200ms bound under load
	srv.Kill()
	s := &bench.Setup{Concurrency: 4}
	err := wl.Setup(t.Context(), s)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Setup with Redis gone: %v", err)
	}
	if err := wl.Teardown(t.Context()); err != nil {
		t.Errorf("Teardown after a failed Setup: %v", err)
	}
}

// killable starts a redis-server of the test's own, which it may kill; an
// existing server (PERFKIT_TEST_REDIS_URL) is never killed, so the test is
// skipped then.
func killable(t *testing.T) *redistest.Server {
	t.Helper()
	if os.Getenv("PERFKIT_TEST_REDIS_URL") != "" {
		t.Skip("kills redis-server: needs one of its own, not PERFKIT_TEST_REDIS_URL")
	}
	return redistest.Start(t)
}
