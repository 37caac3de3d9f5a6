// Command perfkit benchmarks concurrent systems: it runs workload scenarios,
// records latency and throughput, and keeps the results as JSON. Its
// command line is the cli package's, which a program of your own can run
// with its own workloads added.
package main

import "github.com/perfkit/perfkit/cli"

func main() { cli.Main() }
