package cache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perfkit/perfkit/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// startRedis starts a redis-server and returns a client for it, both
// stopped when the test ends. The client's timeout is 10s, not the 200ms
// default: a loaded machine can hold a round trip past 200ms (an "i/o
// timeout" failed a test so), and these tests are not about timeouts.
func startRedis(t *testing.T) (*redistest.Server, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	c, err := OpenRedis(t.Context(), RedisConfig{URL: srv.URL, PoolSize: 64, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

// prefixOf is a prefix unique to the test, so tests sharing one
// PERFKIT_TEST_REDIS_URL never see each other's keys.
func prefixOf(t *testing.T) string {
	return fmt.Sprintf("perfkit-test:%s:%d:", t.Name(), time.Now().UnixNano())
}

// origin is a Loader that counts its calls, reports each on entered when
// set, and, when gate is set, waits for it before answering.
type origin struct {
	calls   atomic.Int64
	entered chan struct{}
	gate    chan struct{}
}

func (o *origin) load(ctx context.Context, key string) ([]byte, error) {
	o.calls.Add(1)
	if o.entered != nil {
		o.entered <- struct{}{}
	}
	if o.gate != nil {
		select {
		case <-o.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return []byte("v:" + key), nil
}

// joinSignal makes m report on the returned channel each caller that joins
// a load in flight (buffered for n), so a test knows a follower joined
// without sleeping. Call it before any Get.
func joinSignal(m *Manager, n int) <-chan struct{} {
	joined := make(chan struct{}, n)
	m.flight.joined = func(string) { joined <- struct{}{} }
	return joined
}

// await receives from ch, failing the test if nothing comes within a bound
// far beyond any scheduling delay: a broken coalescer fails rather than
// hangs.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("waiting for %s: nothing after a minute", what)
	}
}

func newManager(t *testing.T, c *redis.Client, cfg Config) *Manager {
	t.Helper()
	if cfg.L1 == nil {
		cfg.L1 = newL1(t, L1Config{MaxEntries: 1000})
	}
	if c != nil {
		l2, err := NewL2(c, prefixOf(t), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		cfg.L2 = l2
		t.Cleanup(func() {
			if _, err := l2.Clear(context.Background()); err != nil {
				t.Errorf("clear: %v", err)
			}
		})
	}
	return NewManager(cfg)
}

func mustGet(t *testing.T, m *Manager, key string, load Loader) Result {
	t.Helper()
	res, err := m.Get(t.Context(), key, load)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return res
}

func TestReadThroughAndBackfill(t *testing.T) {
	_, c := startRedis(t)
	m := newManager(t, c, Config{L1TTL: time.Minute})
	var o origin
	if r := mustGet(t, m, "k", o.load); r.Source != FromOrigin || string(r.Value) != "v:k" {
		t.Fatalf("first read: %v %q, want origin v:k", r.Source, r.Value)
	}
	// The miss filled both levels.
	if v, err := c.Get(t.Context(), m.L2().Prefix()+"k").Result(); err != nil || v != "v:k" {
		t.Fatalf("L2 after a miss: %q, %v", v, err)
	}
	if ttl := c.PTTL(t.Context(), m.L2().Prefix()+"k").Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("L2 TTL %v, want (0, 1m]", ttl)
	}
	if r := mustGet(t, m, "k", o.load); r.Source != FromL1 {
		t.Fatalf("second read from %v, want l1", r.Source)
	}
	// Dropped from L1 only: served by L2, which back-fills L1.
	m.L1().Delete("k")
	if r := mustGet(t, m, "k", o.load); r.Source != FromL2 || string(r.Value) != "v:k" {
		t.Fatalf("read after L1 drop: %v %q, want l2", r.Source, r.Value)
	}
	if v, ok := m.L1().Get("k"); !ok || string(v) != "v:k" {
		t.Fatal("an L2 hit did not back-fill L1")
	}
	if n := o.calls.Load(); n != 1 {
		t.Errorf("%d origin calls, want 1", n)
	}
}

func TestCoalescing(t *testing.T) {
	_, c := startRedis(t)
	for _, coalesce := range []bool{true, false} {
		t.Run(fmt.Sprintf("coalesce=%v", coalesce), func(t *testing.T) {
			m := newManager(t, c, Config{NoCoalesce: !coalesce})
			const n = 50
			joined := joinSignal(m, n)
			o := origin{entered: make(chan struct{}, n), gate: make(chan struct{})}
			var (
				wg      sync.WaitGroup
				start   = make(chan struct{})
				results [n]Result
				errs    [n]error
			)
			for i := range n {
				wg.Go(func() {
					<-start
					results[i], errs[i] = m.Get(t.Context(), "hot", o.load)
				})
			}
			close(start)
			// The load answers once every caller is in: with coalescing
			// one load and n-1 callers joined to it, without n loads.
			await(t, o.entered, "the first load")
			what := "a caller joining the load"
			if !coalesce {
				joined, what = o.entered, "a caller loading for itself"
			}
			for range n - 1 {
				await(t, joined, what)
			}
			close(o.gate)
			wg.Wait()
			shared := 0
			for i := range n {
				if errs[i] != nil || string(results[i].Value) != "v:hot" {
					t.Fatalf("caller %d: %q, %v", i, results[i].Value, errs[i])
				}
				if results[i].Shared {
					shared++
				}
			}
			calls := o.calls.Load()
			if coalesce && (calls != 1 || shared != n-1) {
				t.Errorf("%d concurrent misses: %d origin calls (want 1), %d shared (want %d)", n, calls, shared, n-1)
			}
			if !coalesce && calls != n {
				t.Errorf("coalescing off: %d origin calls for %d concurrent misses, want a stampede (%d)", calls, n, n)
			}
			t.Logf("%d concurrent misses: %d origin calls", n, calls)
		})
	}
}

func TestInvalidateTransitiveWithCycle(t *testing.T) {
	_, c := startRedis(t)
	m := newManager(t, c, Config{})
	// user:1 → profile:1 → page:1 → profile:1 (a cycle), page:1 → feed;
	// other stays.
	m.Depend("profile:1", "user:1")
	m.Depend("page:1", "profile:1")
	m.Depend("profile:1", "page:1")
	m.Depend("feed", "page:1")
	keys := []string{"user:1", "profile:1", "page:1", "feed", "other"}
	var o origin
	for _, k := range keys {
		mustGet(t, m, k, o.load)
	}
	n, err := m.Invalidate(t.Context(), "user:1")
	if err != nil || n != 4 {
		t.Fatalf("Invalidate(user:1) = %d, %v; want 4 keys", n, err)
	}
	for _, k := range keys {
		_, inL1 := m.L1().Get(k)
		inL2 := c.Exists(t.Context(), m.L2().Prefix()+k).Val() == 1
		want := k == "other"
		if inL1 != want || inL2 != want {
			t.Errorf("%s: in L1 %v, in L2 %v; want %v", k, inL1, inL2, want)
		}
	}
	if r := mustGet(t, m, "feed", o.load); r.Source != FromOrigin {
		t.Errorf("feed after invalidation from %v, want origin", r.Source)
	}
}

func TestUpdateScope(t *testing.T) {
	m := newManager(t, nil, Config{})
	m.Depend("total", "row:1", "row:2")
	var o origin
	for _, k := range []string{"row:1", "row:2", "total", "row:3"} {
		mustGet(t, m, k, o.load)
	}
	boom := errors.New("commit failed")
	err := m.Update(t.Context(), func(u *Scope) error {
		u.Touch("row:1")
		return boom // half-done: still invalidated
	})
	if !errors.Is(err, boom) {
		t.Errorf("Update error %v, want fn's", err)
	}
	for k, want := range map[string]bool{"row:1": false, "row:2": true, "total": false, "row:3": true} {
		if _, ok := m.L1().Get(k); ok != want {
			t.Errorf("after the update: %s cached %v, want %v", k, ok, want)
		}
	}
}

func TestSetWritesThroughAndInvalidatesDependents(t *testing.T) {
	_, c := startRedis(t)
	m := newManager(t, c, Config{})
	m.Depend("derived", "base")
	var o origin
	mustGet(t, m, "derived", o.load)
	if err := m.Set(t.Context(), "base", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if v := c.Get(t.Context(), m.L2().Prefix()+"base").Val(); v != "new" {
		t.Errorf("L2 base = %q, want new", v)
	}
	if r := mustGet(t, m, "base", o.load); r.Source != FromL1 || string(r.Value) != "new" {
		t.Errorf("base: %v %q", r.Source, r.Value)
	}
	if _, ok := m.L1().Get("derived"); ok {
		t.Error("derived survived a write of its source")
	}
}

// TestInvalidateDuringLoad: an invalidation that lands while a load is in
// flight must not be undone by that load's fill.
func TestInvalidateDuringLoad(t *testing.T) {
	_, c := startRedis(t)
	m := newManager(t, c, Config{})
	o := origin{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	done := make(chan Result)
	go func() {
		r, _ := m.Get(context.Background(), "k", o.load)
		done <- r
	}()
	await(t, o.entered, "the load")
	if _, err := m.Invalidate(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	close(o.gate)
	if r := <-done; r.Source != FromOrigin || string(r.Value) != "v:k" {
		t.Errorf("in-flight read: %v %q", r.Source, r.Value)
	}
	if _, ok := m.L1().Get("k"); ok {
		t.Error("a load that raced an invalidation filled L1")
	}
	if n := c.Exists(t.Context(), m.L2().Prefix()+"k").Val(); n != 0 {
		t.Error("a load that raced an invalidation filled L2")
	}
}

func TestLeaderCanceledFollowerLoads(t *testing.T) {
	m := newManager(t, nil, Config{})
	joined := joinSignal(m, 1)
	o := origin{entered: make(chan struct{}, 2), gate: make(chan struct{})} // the leader's load, then the follower's
	lctx, cancel := context.WithCancel(context.Background())
	lerr := make(chan error)
	go func() {
		_, err := m.Get(lctx, "k", o.load)
		lerr <- err
	}()
	await(t, o.entered, "the leader's load")
	ferr := make(chan error)
	var fres Result
	go func() {
		var err error
		fres, err = m.Get(context.Background(), "k", o.load)
		ferr <- err
	}()
	await(t, joined, "the follower joining the load")
	cancel()
	if err := <-lerr; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: %v, want canceled", err)
	}
	close(o.gate)
	if err := <-ferr; err != nil || string(fres.Value) != "v:k" {
		t.Errorf("follower: %q, %v; want it to load for itself", fres.Value, err)
	}
}

// A follower that joined a load gets its panic as an error; the leader
// panics again.
func TestLoaderPanic(t *testing.T) {
	m := newManager(t, nil, Config{})
	joined := joinSignal(m, 1)
	gate := make(chan struct{})
	started := make(chan struct{})
	load := func(ctx context.Context, key string) ([]byte, error) {
		close(started)
		<-gate
		panic("boom")
	}
	leader := make(chan any)
	go func() {
		defer func() { leader <- recover() }()
		m.Get(context.Background(), "k", load)
	}()
	await(t, started, "the leader's load")
	ferr := make(chan error)
	var o origin // the follower's own loader runs only if it failed to join
	go func() {
		_, err := m.Get(context.Background(), "k", o.load)
		ferr <- err
	}()
	await(t, joined, "the follower joining the load")
	close(gate)
	if p := <-leader; p != "boom" {
		t.Errorf("leader recovered %v, want the loader's panic", p)
	}
	err := <-ferr
	if n := o.calls.Load(); n != 0 {
		t.Errorf("the follower ran its own loader %d times; want it to share the leader's", n)
	}
	if err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Errorf("follower error %v, want the panic as an error", err)
	}
	if r := mustGet(t, m, "k", o.load); string(r.Value) != "v:k" {
		t.Error("the key stays unloadable after a panicking load")
	}
}

// TestClearOnlyPrefix: clearing removes the manager's keys and leaves every
// other key in the database alone.
func TestClearOnlyPrefix(t *testing.T) {
	_, c := startRedis(t)
	ctx := t.Context()
	foreign := []string{"user:data", "perfkit:other-run:k1", "perfkit-test:x"}
	for _, k := range foreign {
		if err := c.Set(ctx, k, "keep", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { c.Del(context.Background(), foreign...) })
	// A prefix with glob characters must match only itself.
	l2, err := NewL2(c, "perfkit:r*n[1]:", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "perfkit:run1:k", "keep", 0).Err(); err != nil { // what an unescaped glob would match
		t.Fatal(err)
	}
	foreign = append(foreign, "perfkit:run1:k")
	m := NewManager(Config{L1: newL1(t, L1Config{MaxEntries: 10}), L2: l2})
	var o origin
	for i := range 2500 { // several SCAN batches
		if err := m.Set(ctx, fmt.Sprint("k", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	mustGet(t, m, "loaded", o.load)
	if err := m.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	// Another run's keys, and keys an unescaped glob would have matched,
	// are all still there; the manager's own are gone.
	if n := c.Exists(ctx, "perfkit:r*n[1]:k1", "perfkit:r*n[1]:loaded").Val(); n != 0 {
		t.Errorf("%d of the manager's keys left after Clear", n)
	}
	var cursor uint64
	for {
		ks, next, err := c.Scan(ctx, cursor, "perfkit:r\\*n\\[1\\]:*", 1000).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) > 0 {
			t.Fatalf("keys under the prefix after Clear: %q", ks)
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	for _, k := range foreign {
		if v := c.Get(ctx, k).Val(); v != "keep" {
			t.Errorf("foreign key %s = %q after Clear", k, v)
		}
	}
}

func TestJSON(t *testing.T) {
	_, c := startRedis(t)
	m := newManager(t, c, Config{})
	type user struct {
		Name string `json:"name"`
		Age  int    `json:"age"`
	}
	load := func(ctx context.Context, key string) (user, error) { return user{"ada", 36}, nil }
	u, r, err := GetJSON(t.Context(), m, "u", load)
	if err != nil || u != (user{"ada", 36}) || r.Source != FromOrigin {
		t.Fatalf("GetJSON: %+v %v %v", u, r.Source, err)
	}
	if v := c.Get(t.Context(), m.L2().Prefix()+"u").Val(); v != `{"name":"ada","age":36}` {
		t.Errorf("stored %q, want JSON", v)
	}
	if err := SetJSON(t.Context(), m, "u", user{"bob", 7}); err != nil {
		t.Fatal(err)
	}
	m.L1().Delete("u")
	u, r, err = GetJSON(t.Context(), m, "u", load)
	if err != nil || u != (user{"bob", 7}) || r.Source != FromL2 {
		t.Errorf("GetJSON after SetJSON: %+v %v %v", u, r.Source, err)
	}
}

// TestRedisDown: with Redis gone, reads fall through to the origin within
// the timeout and report the L2 failure; writes and invalidations fail with
// ErrL2.
func TestRedisDown(t *testing.T) {
	srv := killable(t)
	c, err := OpenRedis(t.Context(), RedisConfig{URL: srv.URL, Timeout: 100 * time.Millisecond, PoolSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l2, err := NewL2(c, prefixOf(t), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m := NewManager(Config{L1: newL1(t, L1Config{MaxEntries: 100}), L2: l2})
	var o origin
	mustGet(t, m, "a", o.load)
	srv.Kill()
	for i := range 20 {
		start := time.Now()
		r := mustGet(t, m, fmt.Sprint("b", i), o.load)
		if r.Source != FromOrigin || r.L2Errors == 0 || !errors.Is(r.L2Err, ErrL2) {
			t.Fatalf("read with Redis down: %v, %d L2 errors (%v)", r.Source, r.L2Errors, r.L2Err)
		}
		if el := time.Since(start); el > time.Second {
			t.Fatalf("read with Redis down took %v: L2 should fail within its timeout", el)
		}
	}
	if r := mustGet(t, m, "a", o.load); r.Source != FromL1 {
		t.Errorf("L1 hit with Redis down: %v", r.Source)
	}
	if err := m.Set(t.Context(), "a", []byte("x")); !errors.Is(err, ErrL2) {
		t.Errorf("Set with Redis down: %v, want ErrL2", err)
	}
	if _, err := m.Invalidate(t.Context(), "a"); !errors.Is(err, ErrL2) {
		t.Errorf("Invalidate with Redis down: %v, want ErrL2", err)
	}
	if _, ok := m.L1().Get("a"); ok {
		t.Error("Invalidate with Redis down left L1 holding the key")
	}
}

func TestOpenRedisErrors(t *testing.T) {
	ctx := t.Context()
	_, err := OpenRedis(ctx, RedisConfig{URL: "redis://:hunter2@127.0.0.1:1/0"})
	if err == nil || !strings.Contains(err.Error(), "redis redis://:xxxxx@127.0.0.1:1/0: unreachable: ") ||
		!strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable: %v", err)
	}
	if _, err := OpenRedis(ctx, RedisConfig{URL: "http://x"}); err == nil || !strings.Contains(err.Error(), "bad URL") {
		t.Errorf("bad scheme: %v", err)
	}
	if _, err := NewL2(nil, "", 0); err == nil {
		t.Error("NewL2 with an empty prefix: no error")
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"redis://:pw@h:6379/0":         "redis://:xxxxx@h:6379/0",
		"redis://user:pw@h:6379/0":     "redis://user:xxxxx@h:6379/0",
		"redis://h:6379/0?password=pw": "redis://h:6379/0?password=xxxxx",
		"redis://h:6379/0":             "redis://h:6379/0",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoaderGoexit(t *testing.T) {
	m := newManager(t, nil, Config{})
	joined := joinSignal(m, 1)
	gate := make(chan struct{})
	started := make(chan struct{})
	load := func(ctx context.Context, key string) ([]byte, error) {
		close(started)
		<-gate
		runtime.Goexit()
		return nil, nil
	}
	leaderDone := make(chan struct{})
	go func() {
		defer close(leaderDone)
		m.Get(context.Background(), "k", load)
	}()
	await(t, started, "the leader's load")
	ferr := make(chan error)
	var o origin // the follower's own loader runs only if it failed to join
	go func() {
		_, err := m.Get(context.Background(), "k", o.load)
		ferr <- err
	}()
	await(t, joined, "the follower joining the load")
	close(gate)
	<-leaderDone
	err := <-ferr
	if n := o.calls.Load(); n != 0 {
		t.Errorf("the follower ran its own loader %d times; want it to share the leader's", n)
	}
	if !errors.Is(err, errGoexit) {
		t.Errorf("follower error %v, want errGoexit", err)
	}
}
