package cache

import (
	"fmt"
	"hash/maphash"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// EntryOverhead is what L1 charges each entry against MaxBytes beyond its
// key and value bytes: the entry's own fields, the list links and its map
// slot. Counting it keeps a byte bound honest for small values.
const EntryOverhead = 96

// MaxShards caps L1's shard count: beyond it, more shards only cost memory.
const MaxShards = 256

// minShardEntries is the least room a shard gets: bounds split thinner make
// hash imbalance evict long before the cache is full.
const minShardEntries = 32

// freshShare sets how near the front a hit entry may be and stay put: within
// the 1/freshShare most recently promoted entries of its shard. Hot keys then
// cost a hit no list writes, and an inversion of recency can only happen
// between entries that are both that recent, far from the evicting end.
const freshShare = 8

// minShardBytes is the least byte bound a shard gets when MaxBytes is set:
// fewer shards, rather than shards too small for an ordinary value.
const minShardBytes = 64 << 10

// L1Config sizes an L1.
type L1Config struct {
	// MaxEntries bounds the number of entries (required, ≥ 1).
	MaxEntries int
	// MaxBytes, when > 0, also bounds the key and value bytes held, plus
	// EntryOverhead per entry. Each shard holds its share of it, and a value
	// larger than a shard's share is not stored.
	MaxBytes int64
	// Shards is the number of independently locked parts, rounded up to a
	// power of two, and fewer if a shard would hold under 32 entries. 0 picks
	// 4×GOMAXPROCS (at most MaxShards). The bounds are
	// split evenly between shards and each evicts its own least recently used
	// entry, so LRU order holds within a shard (see L1 for its one
	// relaxation) and only approximately across them; use 1 for one order.
	Shards int
	// Now, when set, is the clock TTLs are measured on, in nanoseconds of any
	// monotonic origin. Tests inject one to expire entries without sleeping.
	Now func() int64
}

// L1 is an in-process LRU cache with per-entry TTL, safe for concurrent use.
// Get and Set are O(1), and a hit allocates nothing.
//
// Keys hash (maphash, with a seed of the cache's own) to shards. A shard
// keeps its entries in an open-addressing table of atomic pointers, so a
// lookup takes no lock and writes no shared memory; writers (Set, Delete,
// eviction) and the recency list are under the shard's mutex. A hit takes
// that mutex only to move its entry to the front of the list, and not at all
// when the entry is already among the shard's most recently promoted eighth:
// hot keys are then read by any number of goroutines without contention. The
// price is that recency order among those most recent entries is not
// refreshed (they are far from the end that evicts); caches of under 8
// entries a shard keep exact LRU order.
//
// L1 stores the value slice it is given and Get returns that same slice:
// callers must treat values as immutable once stored.
type L1 struct {
	seed   maphash.Seed
	mask   uint64
	shards []shard
	now    func() int64
	tomb   *entry // marks a deleted slot in every shard's table
}

// shard is one part of an L1. Lookups read only tab and fresh; writers hold
// mu. The padding keeps what lookups read off the lines writers dirty, and
// shards off each other's lines.
type shard struct {
	tab   atomic.Pointer[table]
	fresh uint64 // a hit on an entry fewer promotions than this from the front leaves it there
	_     [48]byte

	mu       sync.Mutex
	head     entry // sentinel: head.next is the most recently used entry
	n        int
	used     int // table slots not nil: entries and tombstones
	bytes    int64
	maxN     int
	maxBytes int64 // 0: unbounded
	evicted  int64
	_        [64]byte

	tick atomic.Uint64 // entries pushed to the front so far (written under mu)
	_    [56]byte
}

// table is a linear-probing hash table. Writers replace slots under the
// shard's mutex; a rehash publishes a new table, and a lookup still probing
// the old one sees a consistent (if just outdated) set of entries.
type table struct {
	slots []atomic.Pointer[entry]
	mask  uint64
}

// entry is one cached value. key, val, exp, h and size never change once the
// entry is published in a table (a Set of the key publishes a new entry), so
// lookups read them without a lock. prev, next and removed are the shard's,
// under its mutex.
type entry struct {
	key        string
	val        []byte
	exp        int64 // expiry on the cache's clock; 0: never
	h          uint64
	size       int64
	tick       atomic.Uint64 // the shard's tick when it was last pushed to the front
	prev, next *entry
	removed    bool
}

// NewL1 returns an empty L1 bounded by cfg.
func NewL1(cfg L1Config) (*L1, error) {
	if cfg.MaxEntries < 1 {
		return nil, fmt.Errorf("L1 max entries %d: must be at least 1", cfg.MaxEntries)
	}
	if cfg.MaxBytes < 0 {
		return nil, fmt.Errorf("L1 max bytes %d: must be 0 (unbounded) or positive", cfg.MaxBytes)
	}
	n := cfg.Shards
	if n < 0 {
		return nil, fmt.Errorf("L1 shards %d: must be 0 (automatic) or positive", n)
	}
	if n == 0 {
		n = 4 * runtime.GOMAXPROCS(0)
	}
	n = min(n, MaxShards)
	n = 1 << bits.Len(uint(n-1)) // round up to a power of two
	for n > 1 && cfg.MaxEntries/n < minShardEntries {
		n >>= 1 // tiny shards would evict long before the cache is full
	}
	for n > 1 && cfg.MaxBytes > 0 && cfg.MaxBytes/int64(n) < minShardBytes {
		n >>= 1 // a small byte bound split too thin would refuse ordinary values
	}
	now := cfg.Now
	if now == nil {
		base := time.Now()
		now = func() int64 { return int64(time.Since(base)) }
	}
	c := &L1{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]shard, n), now: now, tomb: new(entry)}
	for i := range c.shards {
		s := &c.shards[i]
		s.head.next, s.head.prev = &s.head, &s.head
		// Split the bounds so that the shards' sum is exactly the cache's.
		s.maxN = cfg.MaxEntries / n
		if i < cfg.MaxEntries%n {
			s.maxN++
		}
		s.fresh = uint64(s.maxN / freshShare)
		if cfg.MaxBytes > 0 {
			s.maxBytes = cfg.MaxBytes / int64(n)
			if int64(i) < cfg.MaxBytes%int64(n) {
				s.maxBytes++
			}
		}
		s.tab.Store(newTable(s.maxN))
	}
	return c, nil
}

// newTable sizes a table for up to maxN entries at most half full, so that
// probes stay short and tombstones have room before a rehash.
func newTable(maxN int) *table {
	size := 1 << bits.Len(uint(2*maxN-1))
	size = max(size, 8)
	return &table{slots: make([]atomic.Pointer[entry], size), mask: uint64(size - 1)}
}

// slot is where a key's probe starts: hash bits other than the shard's.
func (t *table) slot(h uint64) uint64 { return bits.RotateLeft64(h, 32) & t.mask }

// hash is the key's hash; Manager computes it once per op and reuses it for
// the shard, the coalescing group and the invalidation stripe.
func (c *L1) hash(key string) uint64 { return maphash.String(c.seed, key) }

func (c *L1) shardOf(h uint64) *shard { return &c.shards[h&c.mask] }

// Get returns the value stored under key, if present and not expired, and
// marks it most recently used.
func (c *L1) Get(key string) ([]byte, bool) { return c.get(c.hash(key), key) }

func (c *L1) get(h uint64, key string) ([]byte, bool) {
	s := c.shardOf(h)
	t := s.tab.Load()
	for i := t.slot(h); ; i = (i + 1) & t.mask {
		e := t.slots[i].Load()
		if e == nil {
			return nil, false
		}
		if e == c.tomb || e.h != h || e.key != key {
			continue
		}
		if e.exp != 0 && c.now() >= e.exp {
			s.mu.Lock()
			if !e.removed {
				s.remove(c, e)
			}
			s.mu.Unlock()
			return nil, false
		}
		if s.tick.Load()-e.tick.Load() > s.fresh {
			s.mu.Lock()
			if !e.removed {
				e.unlink()
				s.pushFront(e)
			}
			s.mu.Unlock()
		}
		return e.val, true
	}
}

// Set stores val under key for ttl (0: no expiry), evicting least recently
// used entries of its shard to stay within the bounds. It reports false when
// the entry alone is larger than a shard's byte bound, and so is not stored
// (an older value under key is removed then).
func (c *L1) Set(key string, val []byte, ttl time.Duration) bool {
	return c.set(c.hash(key), key, val, ttl)
}

func (c *L1) set(h uint64, key string, val []byte, ttl time.Duration) bool {
	var exp int64
	if ttl > 0 {
		exp = c.now() + int64(ttl)
	}
	e := &entry{key: key, val: val, exp: exp, h: h, size: int64(len(key)+len(val)) + EntryOverhead}
	s := c.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxBytes > 0 && e.size > s.maxBytes {
		if old := s.find(c, h, key); old != nil {
			s.remove(c, old)
		}
		return false
	}
	old := s.find(c, h, key)
	if old != nil {
		s.unaccount(old)
	}
	for s.n >= s.maxN || (s.maxBytes > 0 && s.bytes+e.size > s.maxBytes) {
		victim := s.head.prev
		if victim == old {
			victim = old.prev // old is replaced below, not evicted
			if victim == &s.head {
				break
			}
		}
		s.remove(c, victim)
		s.evicted++
	}
	if old != nil {
		old.unlink()
		old.removed = true
	}
	s.put(c, e)
	s.pushFront(e)
	s.n++
	s.bytes += e.size
	return true
}

// Delete removes key and reports whether it was present.
func (c *L1) Delete(key string) bool { return c.delete(c.hash(key), key) }

func (c *L1) delete(h uint64, key string) bool {
	s := c.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(c, h, key)
	if e != nil {
		s.remove(c, e)
	}
	return e != nil
}

// Clear removes every entry.
func (c *L1) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for e := s.head.next; e != &s.head; e = e.next {
			e.removed = true
		}
		s.head.next, s.head.prev = &s.head, &s.head
		s.n, s.used, s.bytes = 0, 0, 0
		s.tab.Store(newTable(s.maxN))
		s.mu.Unlock()
	}
}

// L1Stats is a snapshot of an L1's occupancy.
type L1Stats struct {
	Entries int
	Bytes   int64 // key and value bytes plus EntryOverhead per entry
	Evicted int64 // entries dropped to make room (not expiries or deletes)
}

// Stats takes each shard's lock in turn; it is for reports, not the op path.
func (c *L1) Stats() L1Stats {
	var st L1Stats
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Entries += s.n
		st.Bytes += s.bytes
		st.Evicted += s.evicted
		s.mu.Unlock()
	}
	return st
}

// Len is the number of entries held, expired ones included until they are
// touched or evicted.
func (c *L1) Len() int { return c.Stats().Entries }

// keys lists the shard's keys from most to least recently used (tests).
func (c *L1) keys() []string {
	var out []string
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for e := s.head.next; e != &s.head; e = e.next {
			out = append(out, e.key)
		}
		s.mu.Unlock()
	}
	return out
}

// find returns key's entry, under s.mu.
func (s *shard) find(c *L1, h uint64, key string) *entry {
	t := s.tab.Load()
	for i := t.slot(h); ; i = (i + 1) & t.mask {
		e := t.slots[i].Load()
		if e == nil {
			return nil
		}
		if e != c.tomb && e.h == h && e.key == key {
			return e
		}
	}
}

// put publishes e in the table, in place of an entry with its key if there
// is one, under s.mu. The table is rebuilt without tombstones when fewer than
// a quarter of its slots are left nil, so probes always end.
func (s *shard) put(c *L1, e *entry) {
	t := s.tab.Load()
	free := -1
	for i := t.slot(e.h); ; i = (i + 1) & t.mask {
		cur := t.slots[i].Load()
		if cur == nil {
			if free < 0 {
				free = int(i)
				s.used++
			}
			break
		}
		if cur == c.tomb {
			if free < 0 {
				free = int(i)
			}
			continue
		}
		if cur.h == e.h && cur.key == e.key {
			t.slots[i].Store(e)
			return
		}
	}
	t.slots[free].Store(e)
	if s.used > len(t.slots)*3/4 {
		s.rehash(c)
	}
}

// rehash publishes a fresh table holding the live entries, under s.mu.
// Lookups on the old table still find what it held.
func (s *shard) rehash(c *L1) {
	old := s.tab.Load()
	t := newTable(s.maxN)
	n := 0
	for i := range old.slots {
		e := old.slots[i].Load()
		if e == nil || e == c.tomb {
			continue
		}
		j := t.slot(e.h)
		for t.slots[j].Load() != nil {
			j = (j + 1) & t.mask
		}
		t.slots[j].Store(e)
		n++
	}
	s.used = n
	s.tab.Store(t)
}

// unpublish replaces e's slot with a tombstone, under s.mu.
func (s *shard) unpublish(c *L1, e *entry) {
	t := s.tab.Load()
	for i := t.slot(e.h); ; i = (i + 1) & t.mask {
		cur := t.slots[i].Load()
		if cur == nil {
			return
		}
		if cur == e {
			t.slots[i].Store(c.tomb)
			return
		}
	}
}

func (s *shard) pushFront(e *entry) {
	e.tick.Store(s.tick.Add(1))
	e.prev = &s.head
	e.next = s.head.next
	s.head.next.prev = e
	s.head.next = e
}

func (e *entry) unlink() {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

// unaccount takes e out of the shard's counts (it stays linked).
func (s *shard) unaccount(e *entry) {
	s.n--
	s.bytes -= e.size
}

// remove takes e out of the table, the list and the counts, under s.mu.
func (s *shard) remove(c *L1, e *entry) {
	s.unpublish(c, e)
	e.unlink()
	e.removed = true
	s.unaccount(e)
}
