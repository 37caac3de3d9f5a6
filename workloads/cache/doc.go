// Package cache is perfkit's cache workload and the component it measures: a
// two-level read-through cache manager, usable on its own.
//
//   - L1 is an in-process LRU bounded by entries (and optionally bytes), with
//     a TTL per entry. It is sharded by key hash; a lookup reads a shard's
//     lock-free hash table and takes the shard's mutex only to move an entry
//     that is not already near the front of the recency list, so hot keys are
//     read from any number of goroutines without contention, and a hit
//     allocates nothing.
//   - L2 is Redis (github.com/redis/go-redis/v9), every key under a prefix of
//     its own and written with a TTL. Every call is bounded by a short
//     timeout and never retried: when Redis goes away, reads fall through to
//     the origin within the timeout instead of stalling.
//   - The origin is the caller's Loader. Concurrent misses of one key make
//     one origin call (request coalescing).
//
// Invalidation follows a dependency Graph: invalidating a source removes, from
// both levels, every key that derives from it, however indirectly (cycles are
// safe). Manager.Update runs an update of the source of truth and invalidates
// what it touched when it ends. Values are bytes, or JSON through GetJSON and
// SetJSON; never gob or another format that can run code or build arbitrary
// types on decode. Clearing removes only the prefix's keys, with SCAN and
// UNLINK: never FLUSHDB or FLUSHALL on a user's Redis.
//
// The workload (Definition) mixes reads, writes and invalidations over a
// uniform or Zipf keyspace. Ops are labelled l1_hit, l2_hit, miss, write and
// invalidate; counters count hits per level, origin calls, L2 errors and
// coalesced reads, and Derive adds hit ratios per level. A read served by the
// origin because L2 failed succeeded (l2_errors counts the failure); a write
// or invalidation that could not reach L2 failed, as kind l2_error.
package cache
