package report

import (
	"fmt"
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/capacity"
)

// CapacityStep is one step of a capacity search as the search prints it:
//
//	step 4  800/s  fail  achieved 799.6/s  p50 1.2ms  p99 45.1ms  cpu 23%  (p99<20ms: 45.1ms)
//
// with the run-queue wait and CPU pressure when measured, and whether a
// contended step is run again (retries: how often at most).
func CapacityStep(st capacity.Step, retries int) string {
	line := fmt.Sprintf("step %d  %s/s  %-9s achieved %s/s  p50 %s  p99 %s  cpu %.0f%%",
		st.Result.Search.Index+1, Rate(st.Rate), st.Outcome, Rate(st.Achieved),
		Duration(st.P50Ns), Duration(st.P99Ns), 100*st.CPU)
	if len(st.Result.Runs) > 0 && st.Result.Runs[0].Contention != nil {
		line += fmt.Sprintf("  rq-wait %.0f%%  psi %.0f%%", st.WaitPct, st.PressurePct)
	}
	if len(st.Reasons) > 0 {
		line += "  (" + joinLines(strings.Join(st.Reasons, "; ")) + ")"
	}
	if st.Outcome == bench.SearchContended {
		if st.Attempt <= retries {
			line += fmt.Sprintf("  retrying (%d of %d)", st.Attempt, retries)
		} else {
			line += fmt.Sprintf("  counted as failed after %d retries", retries)
		}
	}
	return line
}

// CapacitySummary is a capacity search's answer in a few lines: the rate that passed and the
// one above it that did not, with why, and the precision.
func CapacitySummary(out capacity.Outcome, slos []string) []string {
	var lines []string
	meets := strings.Join(slos, ", ")
	var ceiling *capacity.Step
	for i := range out.Steps {
		if st := &out.Steps[i]; st.Rate == out.Ceiling && st.Outcome != bench.SearchPass {
			ceiling = st
		}
	}
	if out.Best >= 0 {
		b := out.Steps[out.Best]
		what := "max rate"
		switch {
		case out.Stop == capacity.Stopped:
			what = "at least"
		case out.Stop == capacity.AtMaxRate:
			what = "at least (--max-rate reached)"
		case out.Bounded():
			what = "≥"
		}
		line := fmt.Sprintf("capacity: %s %s/s meets %s  (p50 %s, p99 %s, perfkit cpu %.0f%%)",
			what, Rate(b.Rate), meets, Duration(b.P50Ns), Duration(b.P99Ns), 100*b.CPU)
		if out.Stop == capacity.Converged && ceiling != nil {
			switch ceiling.Outcome {
			case bench.SearchSaturated:
				line += fmt.Sprintf(": perfkit saturated at %s/s; shard the load (--shard) or give perfkit more CPUs", Rate(ceiling.Rate))
			case bench.SearchContended:
				line += fmt.Sprintf(": other processes held the CPUs at %s/s (rq-wait %.0f%%, psi %.0f%%); rerun on a quieter machine or reserve CPUs",
					Rate(ceiling.Rate), ceiling.WaitPct, ceiling.PressurePct)
			case bench.SearchFail:
				line += fmt.Sprintf("; %s/s fails %s", Rate(ceiling.Rate), joinLines(strings.Join(ceiling.Reasons, "; ")))
			default:
				line += fmt.Sprintf("; %s/s is invalid: %s", Rate(ceiling.Rate), joinLines(strings.Join(ceiling.Reasons, "; ")))
			}
			line += fmt.Sprintf("; precision %g%%", 100*out.Precision)
		}
		lines = append(lines, line)
	}
	if n := len(out.Retried); n > 0 {
		rates := map[float64]bool{}
		for _, st := range out.Retried {
			rates[st.Rate] = true
		}
		lines = append(lines, fmt.Sprintf("%d step(s) fell behind because other processes held the CPUs and were run again (retries: %d, at most %d per step)", len(rates), n, capacity.DefaultRetries))
	}
	switch out.Stop {
	case capacity.Saturated:
		lines = append(lines, "capacity: unknown: every step failed for perfkit's or the machine's sake (see the steps), not the target's")
	case capacity.NoneMet:
		lines = append(lines, "capacity: no rate tried meets "+meets)
	case capacity.Stopped:
		lines = append(lines, "stopped before the search converged")
	}
	return lines
}

// joinLines puts a step's reasons on one line: each line trimmed, joined
// with a space.
func joinLines(msg string) string {
	lines := strings.FieldsFunc(strings.TrimSpace(msg), func(r rune) bool { return r == '\n' || r == '\r' })
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}
