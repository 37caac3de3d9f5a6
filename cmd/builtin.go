package cmd

import (
	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/workloads/agents"
	"github.com/perfkit/perfkit/workloads/cache"
	"github.com/perfkit/perfkit/workloads/fetch"
	"github.com/perfkit/perfkit/workloads/pool"
)

// builtinWorkloads is the registry of this build: every workload `perfkit
// run` accepts by name, and the default suite when no config file exists.
func builtinWorkloads() []bench.Definition {
	return []bench.Definition{agents.Definition(), cache.Definition(), fetch.Definition(), pool.Definition()}
}
