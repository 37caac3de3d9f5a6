package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/capacity"
	"github.com/perfkit/perfkit/bench/session"
	"github.com/perfkit/perfkit/report"
)

// runSearch is `perfkit run WORKLOAD --find-max-rate`: each step is printed
// on stderr as it is measured; the result keeps every step as a scenario
// NAME[rate=R] with its search object; stdout gets the usual report and,
// for table and markdown, the search's summary. Exit codes: 0 an answer
// (a lower bound when perfkit or the machine, not the target, set it); 1 no
// rate met the SLOs; 3 no rate passed and every step failed for perfkit's
// or the machine's sake.
func runSearch(ctx context.Context, opts *RunOptions) error {
	stderr := &lockedWriter{w: opts.IO.ErrOut}
	for _, w := range opts.Warnings {
		fmt.Fprintf(stderr, "perfkit: warning: %s\n", w)
	}
	if opts.Monitor.Active() {
		fmt.Fprintln(stderr, "perfkit: warning: alerts, thresholds, /metrics, the dashboard, --stream and --push-remote-write are not used by --find-max-rate")
	}
	so := opts.Search
	plan := opts.plan(stderr)
	if so.run != nil {
		plan.Run = func(ctx context.Context, sc bench.Scenario, _ ...bench.Observer) (bench.ScenarioResult, error) {
			return so.run(ctx, sc)
		}
	}
	s, err := session.New(plan)
	if err != nil {
		return err
	}
	runCtx, _, stop := handleSignals(ctx, opts, stderr)
	defer stop()

	sc := opts.Scenarios[0]
	var slos []string
	for _, e := range so.slos {
		slos = append(slos, e.Text)
	}
	bound := "no --max-rate"
	if so.maxRate > 0 {
		bound = "up to " + report.Rate(so.maxRate) + "/s"
	}
	fmt.Fprintf(stderr, "capacity search: %s, SLO %s, from %s/s (%s), precision %g%%, in-flight cap %d, %s warmup + %s per step\n",
		sc.Name, strings.Join(slos, ", "), report.Rate(so.start), bound, 100*so.precision, sc.Settings.Concurrency, sc.Settings.Warmup, sc.Settings.Duration)

	saved, out, serr := s.Search(runCtx, capacity.Options{
		SLOs: so.slos, Start: so.start, MaxRate: so.maxRate, Precision: so.precision,
		Retries: capacity.DefaultRetries,
		OnStep:  func(st capacity.Step) { fmt.Fprintln(stderr, stepLine(st, capacity.DefaultRetries)) },
	})
	res, saveErr := saved.Result, saved.SaveErr // saveErr is returned once the results are printed
	if saved.Path != "" {
		fmt.Fprintf(stderr, "result: %s\n", saved.Path)
	}
	if serr != nil {
		if saveErr != nil {
			fmt.Fprintf(stderr, "perfkit: %v\n", saveErr)
		}
		var se *bench.SetupError
		if errors.As(serr, &se) {
			return serr
		}
		return measureErr(serr)
	}
	summary := searchSummary(out, slos)
	var sumW io.Writer = stderr
	if opts.Format != report.JSON {
		if err := report.Write(opts.IO.Out, res, opts.Format); err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.Out)
		sumW = opts.IO.Out
	} else if err := report.Write(opts.IO.Out, res, opts.Format); err != nil {
		return err
	}
	for _, l := range summary {
		fmt.Fprintln(sumW, l)
	}
	if saveErr != nil {
		return saveErr
	}
	switch out.Stop {
	case capacity.Saturated:
		last := out.Steps[len(out.Steps)-1]
		return measureErr(fmt.Errorf("capacity search: no rate down to %s/s could be measured: %s", report.Rate(last.Rate), strings.Join(last.Reasons, "; ")))
	case capacity.NoneMet:
		return gateErr(fmt.Errorf("capacity search: no rate down to %s/s meets %s", report.Rate(out.Steps[len(out.Steps)-1].Rate), strings.Join(slos, ", ")))
	}
	return nil
}

// stepLine is one step as the search prints it:
//
//	step 4  800/s  fail  achieved 799.6/s  p50 1.2ms  p99 45.1ms  cpu 23%  (p99<20ms: 45.1ms)
//
// with the run-queue wait and CPU pressure when measured, and whether a
// contended step is run again (retries: how often at most).
func stepLine(st capacity.Step, retries int) string {
	line := fmt.Sprintf("step %d  %s/s  %-9s achieved %s/s  p50 %s  p99 %s  cpu %.0f%%",
		st.Result.Search.Index+1, report.Rate(st.Rate), st.Outcome, report.Rate(st.Achieved),
		report.Duration(st.P50Ns), report.Duration(st.P99Ns), 100*st.CPU)
	if len(st.Result.Runs) > 0 && st.Result.Runs[0].Contention != nil {
		line += fmt.Sprintf("  rq-wait %.0f%%  psi %.0f%%", st.WaitPct, st.PressurePct)
	}
	if len(st.Reasons) > 0 {
		line += "  (" + oneLine(strings.Join(st.Reasons, "; ")) + ")"
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

// searchSummary is the answer in a few lines: the rate that passed and the
// one above it that did not, with why, and the precision.
func searchSummary(out capacity.Outcome, slos []string) []string {
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
			what, report.Rate(b.Rate), meets, report.Duration(b.P50Ns), report.Duration(b.P99Ns), 100*b.CPU)
		if out.Stop == capacity.Converged && ceiling != nil {
			switch ceiling.Outcome {
			case bench.SearchSaturated:
				line += fmt.Sprintf(": perfkit saturated at %s/s; shard the load (--shard) or give perfkit more CPUs", report.Rate(ceiling.Rate))
			case bench.SearchContended:
				line += fmt.Sprintf(": other processes held the CPUs at %s/s (rq-wait %.0f%%, psi %.0f%%); rerun on a quieter machine or reserve CPUs",
					report.Rate(ceiling.Rate), ceiling.WaitPct, ceiling.PressurePct)
			case bench.SearchFail:
				line += fmt.Sprintf("; %s/s fails %s", report.Rate(ceiling.Rate), oneLine(strings.Join(ceiling.Reasons, "; ")))
			default:
				line += fmt.Sprintf("; %s/s is invalid: %s", report.Rate(ceiling.Rate), oneLine(strings.Join(ceiling.Reasons, "; ")))
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
