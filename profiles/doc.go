// Package profiles captures, fetches, merges, summarises and compares pprof
// profiles for perfkit: the *why* beside the numbers of a run.
//
// Capture records a profile of this process over the measured part of a run
// (runtime/pprof); StartRemote fetches one from a Go service's
// /debug/pprof over the same window, so a load test can see where the
// target spends its time. Top and Diff summarise profiles by function, as
// `go tool pprof -top` does and as `-diff_base` would, normalised per op
// when both profiles carry the op count perfkit writes into their comments.
//
// The package imports only the standard library and github.com/google/pprof
// (docs/design.md, "Import direction"). Its renderers (WriteTop, WriteDiff)
// live here, as plain aligned text, markdown and JSON, rather than in package
// report: report renders bench results and may import only bench and stats,
// and a profile table needs nothing of either.
package profiles
