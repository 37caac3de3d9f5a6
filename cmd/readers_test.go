package cmd

import (
	"os"
	"testing"

	"github.com/perfkit/perfkit/bench"
)

// A corrupt hdr is refused alike by compare, report, merge and baseline
// save (merge used to be the only one), naming scenario, run and label.
func TestCorruptHdrRefusedEverywhere(t *testing.T) {
	sandbox(t)
	h := bench.NewHistogram()
	h.RecordValue(1000)
	r := synthResult(3, 1, synthEnv)
	for i := range r.Scenarios[0].Runs {
		ls := bench.Summarize(h)
		if i == 2 {
			ls.Hdr = ls.Hdr[:len(ls.Hdr)/2]
		}
		r.Scenarios[0].Runs[i].Latency["op"] = ls
	}
	bad := writeResult(t, "bad.json", r)
	good := writeResult(t, "good.json", synthResult(3, 1, synthEnv))
	for _, args := range [][]string{
		{"compare", bad, good},
		{"report", bad},
		{"merge", bad, good, "-o", "m.json"},
		{"baseline", "save", "--from", bad},
	} {
		code, _, errOut := cli(t, args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
			continue
		}
		oneErrorLine(t, errOut, "bad.json", "scenario api run 2: latency op: hdr")
	}
}

// A negative Go benchmark value is invalid input (exit 2, file:line).
func TestNegativeGoBenchRefused(t *testing.T) {
	sandbox(t)
	os.WriteFile("old.txt", []byte("BenchmarkX-8 100 12 ns/op\nBenchmarkX-8 100 13 ns/op\n"), 0o644)
	os.WriteFile("new.txt", []byte("BenchmarkX-8 100 12 ns/op\nBenchmarkX-8 100 -13 ns/op\n"), 0o644)
	code, _, errOut := cli(t, "compare", "old.txt", "new.txt")
	if code != ExitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	oneErrorLine(t, errOut, "new.txt:2:", "-13 ns/op", "must not be negative")
}
