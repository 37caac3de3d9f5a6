package bench

import (
	"fmt"
	"runtime"
	"strconv"
)

// validate marks a run whose numbers cannot be trusted (docs/design.md, "Validity").
func (c *collector) validate(run *RunResult) {
	r := c.r
	Validate(run, r.set, runtime.GOMAXPROCS(0), runtime.NumCPU(), r.setup.Embedded)
}

// Validate marks run invalid, with reasons, when its numbers cannot be
// trusted (docs/design.md, "Validity"): no ops, the achieved rate under
// MinAchievedRatio of the target, more ops than set.MaxLate started late
// while a worker was free, errors over set.MaxErrorRate, or perfkit's CPU
// over MaxCPUSaturation of procs (not checked for an embedded target,
// whose CPU is perfkit's too). A schedule reason names its cause (Diagnose):
// perfkit saturated, the machine contended, or the target slow. It reads
// only the run's figures, so it is tested with injected ones. A staged run
// is judged stage by stage (the rate and the lag of each).
func Validate(run *RunResult, set Settings, procs, numCPU int, embedded bool) {
	bad := func(format string, args ...any) {
		run.Valid = false
		run.InvalidReasons = append(run.InvalidReasons, fmt.Sprintf(format, args...))
	}
	if run.Ops == 0 {
		bad("no ops measured")
		return
	}
	if run.Schedule != nil && set.staged() && len(run.Intervals) > 0 {
		validateStages(run, set, procs, numCPU, bad)
	} else if st := run.Schedule; st != nil && ScheduleMissed(*run, set.MaxLate) {
		cause, f := DiagnoseRun(*run, set, procs, numCPU)
		why := f.Explain(cause)
		if st.AchievedRate < MinAchievedRatio*st.TargetRate {
			msg := fmt.Sprintf("achieved rate %.1f/s is under %.0f%% of the target %.1f/s", st.AchievedRate, MinAchievedRatio*100, st.TargetRate)
			if !f.GeneratorBehind { // else the lag reason below explains both
				msg += ": " + why
			}
			bad("%s", msg)
		}
		if f.GeneratorBehind {
			bad("schedule lag: %d ops (%.1f%%, over --max-late %s) started over %s late while a worker was free: %s",
				st.GeneratorLate, 100*float64(st.GeneratorLate)/float64(run.Ops), sharePct(set.MaxLate), LateThreshold, why)
		}
	}
	if run.ErrorRate > set.MaxErrorRate {
		bad("error rate %.2f%% is over the bound %.2f%%", 100*run.ErrorRate, 100*set.MaxErrorRate)
	}
	if !embedded && run.ElapsedNs > 0 && procs > 0 {
		cpu := run.Resources.CPUUserS + run.Resources.CPUSysS
		if share := cpu / (float64(run.ElapsedNs) / 1e9) / float64(procs); share > MaxCPUSaturation {
			bad("perfkit's CPU was saturated (%.0f%% of %d CPUs): the load generator may be the bottleneck; shard the load or give perfkit more CPUs", 100*share, procs)
		}
	}
}

// sharePct prints a share as a percentage without trailing zeros: 0.05 → "5%".
func sharePct(x float64) string { return strconv.FormatFloat(100*x, 'g', 4, 64) + "%" }
