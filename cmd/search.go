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
		OnStep:  func(st capacity.Step) { fmt.Fprintln(stderr, report.CapacityStep(st, capacity.DefaultRetries)) },
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
	summary := report.CapacitySummary(out, slos)
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
