package main

import (
	"container/list"
	"sync"
)

// LRU is the code under test: a user's own cache, a least-recently-used map
// of fixed size behind one mutex. Swap in your own and keep the workload.
type LRU struct {
	mu    sync.Mutex
	size  int
	ll    *list.List // front: most recently used
	items map[uint64]*list.Element
}

type entry struct {
	key uint64
	val []byte
}

// NewLRU returns an empty cache of size entries.
func NewLRU(size int) *LRU {
	return &LRU{size: size, ll: list.New(), items: make(map[uint64]*list.Element, size)}
}

// Get returns the value of key and marks it recently used.
func (c *LRU) Get(key uint64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*entry).val, true
	}
	return nil, false
}

// Put stores key, evicting the least recently used entry when full; it
// reports whether it evicted one.
func (c *LRU) Put(key uint64, val []byte) (evicted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*entry).val = val
		c.ll.MoveToFront(e)
		return false
	}
	if c.ll.Len() >= c.size {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*entry).key)
		evicted = true
	}
	c.items[key] = c.ll.PushFront(&entry{key, val})
	return evicted
}
