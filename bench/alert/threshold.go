package alert

import (
	"fmt"
	"runtime"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/perfkit/perfkit/bench"
)

// CheckThresholds evaluates end-of-run thresholds over a whole scenario, k6
// style: every run's ops together (latency from the merged histograms,
// throughput as total ops over total measured time, rss the largest peak,
// cpu as a share of procs CPUs; procs ≤ 0 means GOMAXPROCS). A threshold
// whose metric has no data fails: a gate never passes on nothing.
func CheckThresholds(sr *bench.ScenarioResult, thresholds []Expr, procs int) []bench.ThresholdResult {
	if len(thresholds) == 0 {
		return nil
	}
	if procs <= 0 {
		procs = runtime.GOMAXPROCS(0)
	}
	f := scenarioFigures(sr, procs)
	out := make([]bench.ThresholdResult, 0, len(thresholds))
	for _, t := range thresholds {
		res := bench.ThresholdResult{Expr: t.Text, Unit: t.Unit}
		v, ok := t.eval(f)
		switch {
		case len(sr.Runs) == 0:
			res.Note = "no run completed"
		case !ok && t.usesLatency():
			res.Note = fmt.Sprintf("no ops recorded under %q", t.key())
		case !ok:
			res.Note = "no data"
		default:
			res.Value = finite(v)
			res.Passed = t.Op.holds(v, t.Value)
		}
		out = append(out, res)
	}
	return out
}

// scenarioFigures totals a scenario's runs.
func scenarioFigures(sr *bench.ScenarioResult, procs int) *figures {
	f := &figures{procs: procs, counters: map[string]int64{}}
	for _, run := range sr.Runs {
		f.ops += run.Ops
		f.errs += run.Errors
		f.seconds += float64(run.ElapsedNs) / 1e9
		f.cpuSeconds += run.Resources.CPUUserS + run.Resources.CPUSysS
		f.rss = max(f.rss, run.Resources.MaxRSSBytes)
		for k, v := range run.Counters {
			f.counters[k] += v
		}
	}
	merged := map[string]*hdrhistogram.Histogram{}
	f.latency = func(key string) *hdrhistogram.Histogram {
		if h, ok := merged[key]; ok {
			return h
		}
		h, _ := bench.MergeHistograms(bench.RunLatencies(sr.Runs, key)) // a run that does not decode is left out
		merged[key] = h
		return h
	}
	return f
}

// Failures lists why a scenario fails the gate (exit 1): each failed
// threshold, each fired critical alert, and an alert that aborted the run.
func Failures(sr *bench.ScenarioResult) []string {
	var out []string
	for _, t := range sr.Thresholds {
		if t.Passed {
			continue
		}
		if t.Note != "" {
			out = append(out, fmt.Sprintf("scenario %s: threshold %q failed: %s", sr.Name, t.Expr, t.Note))
		} else {
			out = append(out, fmt.Sprintf("scenario %s: threshold %q failed (%s)", sr.Name, t.Expr, FormatValue(t.Value, t.Unit)))
		}
	}
	fired := map[string]int{}
	var order []bench.AlertEvent
	for _, ev := range sr.Alerts {
		if ev.State != bench.AlertFiring || !ev.Abort && ev.Severity != string(Critical) {
			continue
		}
		if fired[ev.Rule] == 0 || ev.Abort {
			order = append(order, ev)
		}
		fired[ev.Rule]++
	}
	for _, ev := range order {
		times := ""
		if n := fired[ev.Rule]; n > 1 {
			times = fmt.Sprintf(" %d times", n)
		}
		if ev.Abort {
			out = append(out, fmt.Sprintf("scenario %s: alert %s (%s) fired and aborted the run", sr.Name, ev.Rule, ev.Expr))
		} else {
			out = append(out, fmt.Sprintf("scenario %s: critical alert %s (%s) fired%s", sr.Name, ev.Rule, ev.Expr, times))
		}
	}
	return out
}
