package cache

import (
	"hash/maphash"
	"sync"
)

// graphShards is the number of independently locked parts of a Graph.
const graphShards = 64

// Graph records which cache keys derive from which sources (a rendered page
// from the rows it shows, an aggregate from its inputs), so invalidating a
// source reaches everything built from it, however indirectly. It is safe for
// concurrent use; cycles are allowed and harmless.
type Graph struct {
	seed   maphash.Seed
	shards [graphShards]graphShard
}

type graphShard struct {
	mu   sync.RWMutex
	deps map[string]map[string]struct{} // source → its direct dependents
	_    [32]byte
}

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	g := &Graph{seed: maphash.MakeSeed()}
	for i := range g.shards {
		g.shards[i].deps = make(map[string]map[string]struct{})
	}
	return g
}

func (g *Graph) shard(key string) *graphShard {
	return &g.shards[maphash.String(g.seed, key)%graphShards]
}

// Depend records that dependent derives from each of sources. Recording an
// edge twice is the same as once.
func (g *Graph) Depend(dependent string, sources ...string) {
	for _, src := range sources {
		s := g.shard(src)
		s.mu.Lock()
		set := s.deps[src]
		if set == nil {
			set = make(map[string]struct{})
			s.deps[src] = set
		}
		set[dependent] = struct{}{}
		s.mu.Unlock()
	}
}

// Forget drops every edge out of source: what derived from it no longer does
// (call it when source is gone for good, to keep the graph bounded).
func (g *Graph) Forget(source string) {
	s := g.shard(source)
	s.mu.Lock()
	delete(s.deps, source)
	s.mu.Unlock()
}

// Edges is the number of source → dependent edges recorded.
func (g *Graph) Edges() int {
	n := 0
	for i := range g.shards {
		s := &g.shards[i]
		s.mu.RLock()
		for _, set := range s.deps {
			n += len(set)
		}
		s.mu.RUnlock()
	}
	return n
}

// Closure returns sources and every key that transitively derives from any
// of them, each once, sources first. A visited set makes cycles terminate.
func (g *Graph) Closure(sources ...string) []string {
	return g.walk(sources, true)
}

// Dependents returns every key that transitively derives from any of
// sources, each once, without the sources themselves (even when a cycle
// leads back to one).
func (g *Graph) Dependents(sources ...string) []string {
	return g.walk(sources, false)
}

func (g *Graph) walk(sources []string, includeSources bool) []string {
	seen := make(map[string]struct{}, len(sources))
	queue := make([]string, 0, len(sources))
	for _, s := range sources {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			queue = append(queue, s)
		}
	}
	nsrc := len(queue)
	for i := 0; i < len(queue); i++ {
		s := g.shard(queue[i])
		s.mu.RLock()
		for d := range s.deps[queue[i]] {
			if _, dup := seen[d]; !dup {
				seen[d] = struct{}{}
				queue = append(queue, d)
			}
		}
		s.mu.RUnlock()
	}
	if includeSources {
		return queue
	}
	return queue[nsrc:]
}
