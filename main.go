// Command perfkit benchmarks concurrent systems: it runs workload scenarios,
// records latency and throughput, and keeps the results as JSON.
package main

import (
	"context"
	"os"

	"github.com/perfkit/perfkit/cmd"
)

func main() { os.Exit(cmd.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }
