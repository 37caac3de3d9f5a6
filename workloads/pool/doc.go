// Package pool is perfkit's connection pool workload, and the pool it
// measures.
//
// Pool is a generic, production-grade connection pool: MaxOpen is a hard cap
// that counts dials in progress; waiters queue in FIFO order, bounded by an
// acquire timeout and their context, and a released connection goes straight
// to the longest waiter (a newcomer can never overtake the queue); the
// FailFast policy sheds load with ErrExhausted instead. A maintenance
// goroutine keeps MinIdle connections warm and retires connections past
// MaxLifetime or IdleTimeout; an optional health check replaces a connection
// the peer dropped before the borrower sees it. Close closes everything the
// pool ever opened: idle connections at once, lent ones on release, dials
// in progress when they finish. The uncontended Acquire and Release allocate
// nothing.
//
// The workload drives a Pool of real TCP connections: to an embedded echo
// server on a loopback port (the default), to an echo service
// (tcp://HOST:PORT), or to Redis (redis://HOST:PORT, a PING round trip). One
// op acquires a connection, makes one round trip on it, holds it for a draw
// of the hold distribution, and releases it. The engine's -c is the number of
// borrowers. Each op records the phases acquire_wait, round_trip and hold;
// the run counts conns_opened, conns_closed, exhausted and acquire_timeouts,
// and derives the pool's utilisation, peak in use and conns_warm (the
// connections already open when the window began). A failed op is counted
// under exhausted, acquire_timeout, timeout, conn_refused, conn_reset,
// protocol or io; a connection whose round trip failed is discarded.
//
// The system under test is the pool, in perfkit's own process, even against
// an external echo service or Redis: the result records its target as
// in-process, so compare gates on perfkit's CPU and allocations per op.
package pool
