package cache

import (
	"errors"
	"fmt"
	"sync"
)

// flightShards is the number of independently locked parts of a flight
// group: concurrent misses on different keys rarely meet on one mutex.
const flightShards = 64

// flight coalesces concurrent loads of one key into one call (what
// golang.org/x/sync/singleflight does, sharded by key hash, with a way to
// drop a call that an invalidation made stale).
type flight struct {
	shards [flightShards]flightShard
	// joined, when set, is called with the key each time a caller joins a
	// load in flight: tests order their steps on it rather than sleeping.
	joined func(key string)
}

type flightShard struct {
	mu    sync.Mutex
	calls map[string]*call
	_     [40]byte
}

// call is one load in progress; done closes when res and err are set.
type call struct {
	done chan struct{}
	res  Result
	err  error
}

// panicError is what the callers who joined a load get when it panicked; the
// caller that ran it panics again with the original value.
type panicError struct{ v any }

// Error carries the panic value, so the joined callers see what happened.
func (p *panicError) Error() string { return fmt.Sprintf("cache load panicked: %v", p.v) }

func newFlight() *flight {
	f := &flight{}
	for i := range f.shards {
		f.shards[i].calls = make(map[string]*call)
	}
	return f
}

// join returns the call in progress for key, if any, or registers c as it.
func (f *flight) join(h uint64, key string) (c *call, leader bool) {
	s := &f.shards[h%flightShards]
	s.mu.Lock()
	if c := s.calls[key]; c != nil {
		s.mu.Unlock()
		if f.joined != nil {
			f.joined(key)
		}
		return c, false
	}
	c = &call{done: make(chan struct{})}
	s.calls[key] = c
	s.mu.Unlock()
	return c, true
}

// finish publishes a leader's outcome and lets the next miss start a new call.
func (f *flight) finish(h uint64, key string, c *call) {
	s := &f.shards[h%flightShards]
	s.mu.Lock()
	if s.calls[key] == c {
		delete(s.calls, key)
	}
	s.mu.Unlock()
	close(c.done)
}

// forget detaches key's call in progress, if any: callers that arrive after
// an invalidation start a fresh load instead of joining one that may return
// the old value. Those already waiting still get its result.
func (f *flight) forget(h uint64, key string) {
	s := &f.shards[h%flightShards]
	s.mu.Lock()
	delete(s.calls, key)
	s.mu.Unlock()
}

// errGoexit is what joined callers get when the leader's load called
// runtime.Goexit (t.FailNow in a test's loader, say).
var errGoexit = errors.New("cache load: the loading goroutine exited (runtime.Goexit)")

// run runs fn as c's leader: the outcome goes to every caller that joined,
// even if fn panics (then they get a *panicError and the leader re-panics)
// or calls runtime.Goexit (they get errGoexit and the leader goes on exiting).
func (f *flight) run(h uint64, key string, c *call, fn func() (Result, error)) (Result, error) {
	normal := false
	defer func() {
		if normal {
			return
		}
		p := recover()
		if p == nil {
			c.err = errGoexit
			f.finish(h, key, c)
			return // Goexit resumes once this returns
		}
		c.err = &panicError{p}
		f.finish(h, key, c)
		panic(p)
	}()
	c.res, c.err = fn()
	normal = true
	f.finish(h, key, c)
	return c.res, c.err
}
