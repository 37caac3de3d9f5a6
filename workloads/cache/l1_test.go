package cache

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is an L1 clock that moves only when told to.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() int64              { return c.ns.Load() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newL1(t *testing.T, cfg L1Config) *L1 {
	t.Helper()
	c, err := NewL1(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestL1EvictionOrder(t *testing.T) {
	c := newL1(t, L1Config{MaxEntries: 3, Shards: 1})
	for _, k := range []string{"a", "b", "c"} {
		c.Set(k, []byte(k), 0)
	}
	if _, ok := c.Get("a"); !ok { // a is now the most recent; b the least
		t.Fatal("a missing")
	}
	c.Set("d", []byte("d"), 0) // evicts b
	if _, ok := c.Get("b"); ok {
		t.Error("b survived: the least recently used entry should have been evicted")
	}
	if got, want := c.keys(), []string{"d", "a", "c"}; !slices.Equal(got, want) {
		t.Errorf("recency order %q, want %q", got, want)
	}
	c.Set("c", []byte("c2"), 0) // an update is a use
	c.Set("e", []byte("e"), 0)  // evicts a
	if got, want := c.keys(), []string{"e", "c", "d"}; !slices.Equal(got, want) {
		t.Errorf("recency order %q, want %q", got, want)
	}
	if v, _ := c.Get("c"); string(v) != "c2" {
		t.Errorf("c = %q, want the updated value c2", v)
	}
	if st := c.Stats(); st.Entries != 3 || st.Evicted != 2 {
		t.Errorf("stats %+v, want 3 entries, 2 evicted", st)
	}
}

func TestL1Bounds(t *testing.T) {
	for _, shards := range []int{0, 1, 4, 16} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			c := newL1(t, L1Config{MaxEntries: 100, Shards: shards})
			for i := range 10_000 {
				c.Set("k"+strconv.Itoa(i), []byte("v"), 0)
				if n := c.Len(); n > 100 {
					t.Fatalf("after %d sets: %d entries, bound 100", i+1, n)
				}
			}
			if n := c.Len(); n < 90 {
				t.Errorf("%d entries after 10000 sets: shards should fill to about the bound", n)
			}
		})
	}
	t.Run("bytes", func(t *testing.T) {
		const maxBytes = 64 << 10
		c := newL1(t, L1Config{MaxEntries: 1 << 20, MaxBytes: maxBytes})
		val := make([]byte, 1000)
		for i := range 1000 {
			c.Set("k"+strconv.Itoa(i), val, 0)
			if st := c.Stats(); st.Bytes > maxBytes {
				t.Fatalf("after %d sets: %d bytes, bound %d", i+1, st.Bytes, maxBytes)
			}
		}
		if st := c.Stats(); st.Entries < 50 || st.Entries > maxBytes/1000 {
			t.Errorf("%d entries of ~1100 B under a 64 KiB bound", st.Entries)
		}
		if c.Set("big", make([]byte, 2*maxBytes), 0) {
			t.Error("a value larger than the bound was stored")
		}
	})
}

func TestL1TTL(t *testing.T) {
	var clk fakeClock
	c := newL1(t, L1Config{MaxEntries: 10, Now: clk.now})
	c.Set("short", []byte("1"), time.Second)
	c.Set("long", []byte("2"), time.Minute)
	c.Set("forever", []byte("3"), 0)
	clk.advance(999 * time.Millisecond)
	if _, ok := c.Get("short"); !ok {
		t.Error("short expired before its TTL")
	}
	clk.advance(time.Millisecond)
	if _, ok := c.Get("short"); ok {
		t.Error("short still served at its TTL")
	}
	if c.Len() != 2 {
		t.Errorf("%d entries: an expired entry read should be removed", c.Len())
	}
	clk.advance(time.Hour)
	if _, ok := c.Get("long"); ok {
		t.Error("long still served after its TTL")
	}
	if _, ok := c.Get("forever"); !ok {
		t.Error("an entry without TTL expired")
	}
	c.Set("short", []byte("again"), time.Second) // a new TTL from now
	if v, ok := c.Get("short"); !ok || string(v) != "again" {
		t.Errorf("re-set entry = %q, %v", v, ok)
	}
}

func TestL1DeleteClear(t *testing.T) {
	c := newL1(t, L1Config{MaxEntries: 10})
	c.Set("a", []byte("1"), 0)
	c.Set("b", []byte("2"), 0)
	if !c.Delete("a") || c.Delete("a") {
		t.Error("Delete should report true once, then false")
	}
	c.Clear()
	if st := c.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Errorf("after Clear: %+v", st)
	}
	if _, ok := c.Get("b"); ok {
		t.Error("b served after Clear")
	}
}

func TestL1Config(t *testing.T) {
	for _, cfg := range []L1Config{{MaxEntries: 0}, {MaxEntries: 1, MaxBytes: -1}, {MaxEntries: 1, Shards: -1}} {
		if _, err := NewL1(cfg); err == nil {
			t.Errorf("NewL1(%+v): no error", cfg)
		}
	}
	for _, tc := range []struct {
		cfg  L1Config
		want int
	}{
		{L1Config{MaxEntries: 1, Shards: 64}, 1},
		{L1Config{MaxEntries: 3, Shards: 64}, 1},
		{L1Config{MaxEntries: 100, Shards: 64}, 2},
		{L1Config{MaxEntries: 1000, Shards: 5}, 8},
		{L1Config{MaxEntries: 1 << 20, Shards: 10_000}, MaxShards},
		{L1Config{MaxEntries: 1 << 20, Shards: 64, MaxBytes: 128 << 10}, 2},
	} {
		if got := len(newL1(t, tc.cfg).shards); got != tc.want {
			t.Errorf("NewL1(%+v): %d shards, want %d", tc.cfg, got, tc.want)
		}
	}
}

// TestL1Concurrent hammers a small L1 from many goroutines (run with -race)
// and checks the bound holds and values stay with their keys.
func TestL1Concurrent(t *testing.T) {
	c := newL1(t, L1Config{MaxEntries: 64, MaxBytes: 0})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				k := strconv.Itoa((i * (g + 1)) % 200)
				switch i % 3 {
				case 0:
					c.Set(k, []byte(k), time.Minute)
				case 1:
					if v, ok := c.Get(k); ok && string(v) != k {
						t.Errorf("key %s holds %q", k, v)
					}
				default:
					c.Delete(k)
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 64 {
		t.Errorf("%d entries, bound 64", n)
	}
	checkL1(t, c)
}

// TestL1HitAllocs guards the hit path's zero allocations.
func TestL1HitAllocs(t *testing.T) {
	c := newL1(t, L1Config{MaxEntries: 100})
	c.Set("key", []byte("v"), time.Minute)
	if n := testing.AllocsPerRun(1000, func() { c.Get("key") }); n != 0 {
		t.Errorf("L1 hit: %v allocs, want 0", n)
	}
	m := NewManager(Config{L1: c})
	ctx := t.Context()
	if n := testing.AllocsPerRun(1000, func() { m.Get(ctx, "key", nil) }); n != 0 {
		t.Errorf("Manager.Get on an L1 hit: %v allocs, want 0", n)
	}
}

// checkL1 verifies a quiescent L1's structure: each shard's list, counts and
// table agree.
func checkL1(t *testing.T, c *L1) {
	t.Helper()
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n, bytes := 0, int64(0)
		for e := s.head.next; e != &s.head; e = e.next {
			n++
			bytes += e.size
			if e.removed || s.find(c, e.h, e.key) != e {
				t.Errorf("shard %d: listed entry %q is not the table's", i, e.key)
			}
			if e.next.prev != e {
				t.Fatalf("shard %d: broken links at %q", i, e.key)
			}
		}
		live, used := 0, 0
		tab := s.tab.Load()
		for j := range tab.slots {
			if e := tab.slots[j].Load(); e != nil {
				used++
				if e != c.tomb {
					live++
				}
			}
		}
		if n != s.n || live != s.n || bytes != s.bytes || used != s.used || s.n > s.maxN {
			t.Errorf("shard %d: listed %d, in table %d (slots used %d/%d), counted %d (max %d), bytes %d/%d",
				i, n, live, used, s.used, s.n, s.maxN, bytes, s.bytes)
		}
		s.mu.Unlock()
	}
}

// TestL1ExactLRUModel compares a small one-shard L1 with a reference LRU
// over random operations: under 8 entries a shard, order is exact.
func TestL1ExactLRUModel(t *testing.T) {
	const size = 7
	c := newL1(t, L1Config{MaxEntries: size, Shards: 1})
	var model []string // most recent first
	touch := func(k string) {
		model = slices.DeleteFunc(model, func(x string) bool { return x == k })
		model = append([]string{k}, model...)
	}
	r := uint64(1)
	for i := range 20_000 {
		r = r*6364136223846793005 + 1442695040888963407
		k := strconv.Itoa(int(r>>33) % 12)
		switch (r >> 20) % 4 {
		case 0, 1:
			_, ok := c.Get(k)
			if want := slices.Contains(model, k); ok != want {
				t.Fatalf("op %d: Get(%s) = %v, model %v", i, k, ok, want)
			}
			if ok {
				touch(k)
			}
		case 2:
			c.Set(k, []byte(k), 0)
			touch(k)
			if len(model) > size {
				model = model[:size]
			}
		default:
			c.Delete(k)
			model = slices.DeleteFunc(model, func(x string) bool { return x == k })
		}
		if got := c.keys(); !slices.Equal(got, model) {
			t.Fatalf("op %d: order %q, model %q", i, got, model)
		}
	}
	checkL1(t, c)
}

// TestL1ConcurrentChurn mixes lock-free reads with sets, deletes, evictions,
// expiries and table rebuilds from many goroutines, then checks structure.
func TestL1ConcurrentChurn(t *testing.T) {
	var clk fakeClock
	c := newL1(t, L1Config{MaxEntries: 256, Shards: 4, Now: clk.now})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20_000 {
				k := "k" + strconv.Itoa((i*31+g*977)%1000)
				switch i % 5 {
				case 0:
					c.Set(k, []byte(k), time.Duration(1+i%3)*time.Millisecond)
				case 1:
					c.Delete(k)
				case 2:
					clk.advance(time.Microsecond)
					fallthrough
				default:
					if v, ok := c.Get(k); ok && string(v) != k {
						t.Errorf("key %s holds %q", k, v)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	checkL1(t, c)
	c.Clear()
	checkL1(t, c)
}

// TestL1HotSurvives: an entry read between every insert is never evicted,
// however many inserts pass (its promotion is skipped only while it is near
// the front).
func TestL1HotSurvives(t *testing.T) {
	c := newL1(t, L1Config{MaxEntries: 64, Shards: 1})
	c.Set("hot", []byte("h"), 0)
	for i := range 10_000 {
		c.Set("k"+strconv.Itoa(i), []byte("v"), 0)
		if _, ok := c.Get("hot"); !ok {
			t.Fatalf("hot evicted after %d inserts", i+1)
		}
	}
	if _, ok := c.Get("k0"); ok {
		t.Error("k0 survived 10000 inserts into 64 entries")
	}
}
