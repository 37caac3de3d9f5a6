package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/capacity"
	"github.com/perfkit/perfkit/report"
)

// runSearch is `perfkit run WORKLOAD --find-max-rate`: each step is printed
// on stderr as it is measured; the result keeps every step as a scenario
// NAME[rate=R] with its search object; stdout gets the usual report and,
// for table and markdown, the search's summary. Exit codes: 0 an answer;
// 1 no rate met the SLOs; 3 perfkit itself saturated before an answer.
func runSearch(ctx context.Context, opts *RunOptions) error {
	stderr := &lockedWriter{w: opts.IO.ErrOut}
	for _, w := range opts.Warnings {
		fmt.Fprintf(stderr, "perfkit: warning: %s\n", w)
	}
	if opts.Monitor.active() {
		fmt.Fprintln(stderr, "perfkit: warning: alerts, thresholds, /metrics and the dashboard are not used by --find-max-rate")
	}
	now := opts.Now()
	id := newID()
	path, err := prepareOut(opts.Out, opts.NoSave, now, id)
	if err != nil {
		return err
	}
	runCtx, _, stop := handleSignals(ctx, opts, stderr)
	defer stop()
	var obs []bench.Observer
	var prog *progress
	if opts.IO.IsStderrTTY() {
		prog = &progress{w: stderr}
		obs = append(obs, prog)
	}

	so := opts.Search
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

	out, serr := capacity.Search(runCtx, sc, capacity.Options{
		SLOs: so.slos, Start: so.start, MaxRate: so.maxRate, Precision: so.precision,
		Run: func(ctx context.Context, sc bench.Scenario) (bench.ScenarioResult, error) {
			sr, err := bench.Run(ctx, sc, obs...)
			if prog != nil {
				prog.clear()
			}
			return sr, err
		},
		OnStep: func(st capacity.Step) { fmt.Fprintln(stderr, stepLine(st)) },
	})
	res := &bench.Result{SchemaVersion: bench.SchemaVersion, ID: id, CreatedAt: now.UTC(), Scenarios: []bench.ScenarioResult{}}
	for _, st := range out.Steps {
		res.Scenarios = append(res.Scenarios, st.Result)
	}
	res.Partial = out.Stop == capacity.Stopped
	cwd, _ := os.Getwd()
	res.Env = bench.CurrentEnv(context.WithoutCancel(ctx), displayVersion(), cwd)
	var saveErr error // returned once the results are printed
	if path != "" && len(res.Scenarios) > 0 {
		if saveErr = saveResult(opts.WriteResult, res, path); saveErr == nil {
			fmt.Fprintf(stderr, "result: %s\n", path)
		}
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
		msg := fmt.Sprintf("capacity search stopped at %s/s: perfkit itself could not drive the step (%s), so it says nothing about the target",
			report.Rate(last.Rate), strings.Join(last.Reasons, "; "))
		if out.Best >= 0 {
			msg += fmt.Sprintf("; the target meets the SLO up to at least %s/s", report.Rate(out.Steps[out.Best].Rate))
		}
		return measureErr(errors.New(msg + ": shard the load over more machines (--shard) or give perfkit more CPUs"))
	case capacity.NoneMet:
		return gateErr(fmt.Errorf("capacity search: no rate down to %s/s meets %s", report.Rate(out.Steps[len(out.Steps)-1].Rate), strings.Join(slos, ", ")))
	}
	return nil
}

// stepLine is one step as the search prints it:
//
//	step 4  800/s  fail  achieved 799.6/s  p50 1.2ms  p99 45.1ms  cpu 23%  (p99<20ms: 45.1ms)
func stepLine(st capacity.Step) string {
	line := fmt.Sprintf("step %d  %s/s  %-9s achieved %s/s  p50 %s  p99 %s  cpu %.0f%%",
		st.Result.Search.Index+1, report.Rate(st.Rate), st.Outcome, report.Rate(st.Achieved),
		report.Duration(st.P50Ns), report.Duration(st.P99Ns), 100*st.CPU)
	if len(st.Reasons) > 0 {
		line += "  (" + oneLine(strings.Join(st.Reasons, "; ")) + ")"
	}
	return line
}

// searchSummary is the answer in a few lines.
func searchSummary(out capacity.Outcome, slos []string) []string {
	var lines []string
	meets := strings.Join(slos, ", ")
	if out.Best >= 0 {
		b := out.Steps[out.Best]
		what := "max rate"
		switch out.Stop {
		case capacity.Saturated, capacity.Stopped:
			what = "at least"
		case capacity.AtMaxRate:
			what = "at least (--max-rate reached)"
		}
		line := fmt.Sprintf("capacity: %s %s/s meets %s  (p50 %s, p99 %s, perfkit cpu %.0f%%)",
			what, report.Rate(b.Rate), meets, report.Duration(b.P50Ns), report.Duration(b.P99Ns), 100*b.CPU)
		if out.Stop == capacity.Converged && out.Ceiling > 0 {
			line += fmt.Sprintf("; %s/s did not", report.Rate(out.Ceiling))
		}
		lines = append(lines, line)
	}
	switch out.Stop {
	case capacity.Saturated:
		lines = append(lines, "stopped early: perfkit itself saturated (see the last step); this is not the target's ceiling")
	case capacity.NoneMet:
		lines = append(lines, "capacity: no rate tried meets "+meets)
	case capacity.Stopped:
		lines = append(lines, "stopped before the search converged")
	}
	return lines
}
