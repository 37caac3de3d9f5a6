package bench

import (
	"fmt"
	"time"
)

// StageFigure is what one stage of a staged run asked and got, from the
// run's intervals (an interval straddling two stages counts in each by its
// overlap).
type StageFigure struct {
	// Index is the stage's place, from 0; Start and End bound it, from the
	// measured start.
	Index      int
	Start, End time.Duration
	// From and To are the target at the stage's start and end (rate or
	// workers); Target and Achieved the means over the stage, as in
	// IntervalSummary.
	From, To         float64
	Target, Achieved float64
	// Ops ended in the stage; Late and GeneratorLate as in ScheduleStats.
	Ops, Errors         int64
	Late, GeneratorLate int64
	// P99Ns is the highest interval p99 in the stage.
	P99Ns int64
}

// Stages splits a run of a staged load by stage (nil without stages). The
// figures are the whole load's when the settings are (a merged result) and
// the shard's for one shard's result, like the intervals they come from.
func (run RunResult) Stages(set Settings) []StageFigure {
	st := set.ParsedStages()
	if len(st) == 0 || len(run.Intervals) == 0 {
		return nil
	}
	ivLen := int64(set.Interval)
	if ivLen <= 0 {
		ivLen = int64(DefaultInterval)
	}
	start := float64(set.Concurrency)
	if set.Rate > 0 {
		start = set.Rate
	}
	out := make([]StageFigure, len(st))
	var t0 int64
	for k, g := range st {
		t1 := t0 + int64(g.Duration)
		f := StageFigure{Index: k, Start: time.Duration(t0), End: time.Duration(t1), From: start, To: g.Target}
		var covered float64
		for i, iv := range run.Intervals {
			a := iv.TMs * 1e6
			b := a + ivLen
			if i == len(run.Intervals)-1 && run.ElapsedNs > a {
				b = min(b, run.ElapsedNs)
			}
			o := min(b, t1) - max(a, t0)
			if o <= 0 {
				continue
			}
			w := float64(o) / float64(b-a)
			covered += float64(o)
			f.Target += iv.Target * float64(o)
			f.Achieved += iv.Achieved * float64(o)
			f.Ops += int64(float64(iv.Ops)*w + 0.5)
			f.Errors += int64(float64(iv.Errors)*w + 0.5)
			f.Late += int64(float64(iv.Late)*w + 0.5)
			f.GeneratorLate += int64(float64(iv.GeneratorLate)*w + 0.5)
			f.P99Ns = max(f.P99Ns, iv.P99Ns)
		}
		if covered > 0 {
			f.Target /= covered
			f.Achieved /= covered
		}
		out[k] = f
		t0, start = t1, g.Target
	}
	return out
}

// validateStages judges an open staged run stage by stage: each stage's
// achieved rate against its own target, and its own schedule lag, so a
// stage the target could not keep up with is not hidden by the others.
func validateStages(run *RunResult, set Settings, procs, numCPU int, bad func(string, ...any)) {
	var why string
	explain := func() string {
		if why == "" {
			cause, f := DiagnoseRun(*run, set, procs, numCPU)
			why = f.Explain(cause)
		}
		return why
	}
	figs := run.Stages(set)
	for _, f := range figs {
		name := fmt.Sprintf("stage %d/%d (%s, %g→%g/s)", f.Index+1, len(figs), f.End-f.Start, f.From, f.To)
		if f.Target > 0 && f.Achieved < MinAchievedRatio*f.Target {
			bad("%s: achieved rate %.1f/s is under %.0f%% of the target %.1f/s: %s", name, f.Achieved, MinAchievedRatio*100, f.Target, explain())
		}
		started := int64(f.Achieved*(f.End-f.Start).Seconds() + 0.5)
		if GeneratorBehind(f.GeneratorLate, started, set.MaxLate) {
			bad("%s: schedule lag: %d ops (%.1f%%, over --max-late %s) started over %s late while a worker was free: %s",
				name, f.GeneratorLate, 100*float64(f.GeneratorLate)/float64(max(started, 1)), sharePct(set.MaxLate), LateThreshold, explain())
		}
	}
}
