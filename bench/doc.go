// Package bench is perfkit's engine and the vocabulary every other package
// speaks: a Workload (declared once by a Definition and its Params) driven
// by a Scenario's Settings under a closed or open load model, its latencies
// recorded in HDR histograms, and the Result that a run produces and every
// later command (report, compare, merge, baselines) reads.
//
// Run measures a scenario. Workers run ops in a closed loop (op after op,
// latency = service time) or an open one (ops started on a schedule of
// intended start times, latency counted from the intended start, so
// coordinated omission is corrected). Each worker buffers its latencies in a
// 512-byte buffer of its own and flushes it into histograms sharded per CPU;
// a collector goroutine merges each interval, shows it to the Observers, and
// at the end summarises the run and marks it invalid (Validate) when its
// numbers cannot be trusted. The per-op path takes no shared lock and
// allocates nothing, and memory does not grow with the number of ops.
//
// Workload, Setup, Worker, Definition, Param, Values and KindError are the
// contract a workload is written to, stable API for code outside this
// module: the package's examples show one, and examples/ in the repository
// runs one through the whole command line (cli.Main) and one from a
// program of its own (Run).
//
// bench imports no other perfkit package: everything else builds on it.
// docs/design.md ("The per-op path", "Validity", "The result file") says how
// the parts fit together.
package bench
